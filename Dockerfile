# Build: docker build -t socialgate .
# Try:   docker run -p 8080:8080 socialgate      (the demo login at http://127.0.0.1:8080/)
# Run:   docker run -p 8080:8080 -v $PWD/config.toml:/etc/socialgate/config.toml:ro \
#          -v socialgate-data:/var/lib/socialgate socialgate
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked
# The image's default config: the shipped demo, listening on all interfaces, key in the volume.
RUN sed -e 's|^listen = .*|listen = "0.0.0.0:8080"|' \
        -e 's|^data_dir = .*|data_dir = "/var/lib/socialgate"|' config.toml > docker-config.toml

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/socialgate socialgate \
    && mkdir -p /etc/socialgate /var/lib/socialgate \
    && chown socialgate /var/lib/socialgate
COPY --from=build /src/target/release/socialgate /usr/local/bin/socialgate
COPY --from=build /src/docker-config.toml /etc/socialgate/config.toml
USER socialgate
# Mount your own config over /etc/socialgate/config.toml; keep /var/lib/socialgate in a volume.
VOLUME /var/lib/socialgate
ENV SOCIALGATE_CONFIG=/etc/socialgate/config.toml
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/socialgate"]
CMD ["serve"]
