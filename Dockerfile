# Build: docker build -t socialgate .
# Try:   docker run -p 8080:8080 socialgate      (the demo login at http://127.0.0.1:8080/)
# Run:   docker run -p 8080:8080 -v $PWD/config.toml:/etc/socialgate/config.toml:ro \
#          -v socialgate-data:/var/lib/socialgate socialgate
# (your config.toml: listen = "0.0.0.0:8080", data_dir = "/var/lib/socialgate"; see the README)
# Base images pinned to exact releases (the toolchain CI builds with, a Debian point release):
# bump them on purpose, together, not by a rebuild picking up whatever the tag means today.
FROM rust:1.95.0-bookworm AS build
WORKDIR /src
# Dependencies first, in a layer of their own: a change to the source does not rebuild them.
COPY Cargo.toml Cargo.lock build.rs ./
COPY providers providers
RUN mkdir src bench && echo 'fn main() {}' > src/main.rs && cp src/main.rs bench/main.rs \
    && touch src/lib.rs && cargo build --release --locked --bin socialgate && rm -rf src bench
COPY . .
# Newer than the placeholder build, so cargo rebuilds the crate itself.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin socialgate
# The image's default config: the shipped demo, listening on all interfaces, key in the volume.
RUN sed -e 's|^listen = .*|listen = "0.0.0.0:8080"|' \
        -e 's|^data_dir = .*|data_dir = "/var/lib/socialgate"|' config.toml > docker-config.toml

FROM debian:12.11-slim
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
# `socialgate health` asks the running gateway's /readyz (the slim image has no curl).
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s \
    CMD ["/usr/local/bin/socialgate", "health"]
ENTRYPOINT ["/usr/local/bin/socialgate"]
CMD ["serve"]
