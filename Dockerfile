# syntax=docker/dockerfile:1
# Multi-stage build: compile the release binary, ship it on a slim base as a
# non-root user. Config and data are volumes; every setting can also be given
# through the environment (AGENTD_SECTION__FIELD, see README).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ make cmake perl \
    && rm -rf /var/lib/apt/lists/*
# Dependencies first, in their own layer: a change to agentd's own code
# does not rebuild them.
# The workspace names the bench crate (bench/), so cargo needs its manifest
# to read the workspace; it is never built here (`-p agentd` alone).
COPY Cargo.toml Cargo.lock ./
COPY bench/Cargo.toml bench/Cargo.toml
RUN mkdir -p src bench/src \
    && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
    && echo 'fn main() {}' > bench/src/main.rs \
    && cargo build --release --locked -p agentd --bin agentd \
    && rm -rf src
COPY src ./src
COPY migrations ./migrations
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked -p agentd --bin agentd \
    && strip target/release/agentd

FROM debian:bookworm-slim
# CA certificates for HTTPS upstreams; nothing else (the health check is
# `agentd health`, so no curl).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    && useradd --system --uid 10001 --home-dir /var/lib/agentd --create-home agentd
COPY --from=build /src/target/release/agentd /usr/local/bin/agentd
COPY config /etc/agentd
WORKDIR /var/lib/agentd
USER agentd
# Listen on every interface inside the container; keep data in the volume.
ENV AGENTD_CONFIG=/etc/agentd/agentd.toml \
    AGENTD_BIND=0.0.0.0:7777 \
    AGENTD_DB_PATH=/var/lib/agentd/agentd.db
VOLUME ["/var/lib/agentd"]
EXPOSE 7777
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
    CMD ["agentd", "health"]
ENTRYPOINT ["agentd"]
CMD ["serve"]
