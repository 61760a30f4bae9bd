# Build: docker build -t socialgate .
# Run:   docker run -p 8080:8080 -v $PWD/config.toml:/etc/socialgate/config.toml:ro \
#          -v socialgate-data:/var/lib/socialgate socialgate
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/socialgate

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/socialgate socialgate \
    && mkdir -p /etc/socialgate /var/lib/socialgate \
    && chown socialgate /var/lib/socialgate
COPY --from=build /src/target/release/socialgate /usr/local/bin/socialgate
COPY config.toml /etc/socialgate/config.toml
USER socialgate
# The mounted config should set `listen = "0.0.0.0:8080"` and `data_dir = "/var/lib/socialgate"`.
ENV SOCIALGATE_CONFIG=/etc/socialgate/config.toml
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/socialgate"]
CMD ["serve"]
