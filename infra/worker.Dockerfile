# The worker image: `nightshift worker --job <id>` on Fargate, with git and the
# common toolchains the builder's `run` / `run_tests` tools call.
#
#   docker build -f infra/worker.Dockerfile -t nightshift-worker .
#
# The task gets only the job id (container override) and a short-lived,
# repository-scoped token; long-lived secrets stay in SSM.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p nightshift && cp target/release/nightshift /nightshift

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates git make build-essential pkg-config \
      python3 python3-pip python3-venv \
      nodejs npm golang \
      curl \
 && rm -rf /var/lib/apt/lists/*
# A Rust toolchain for Rust repositories (the most common case for Nightshift).
ENV RUSTUP_HOME=/opt/rustup CARGO_HOME=/opt/cargo PATH=/opt/cargo/bin:$PATH
COPY --from=build /usr/local/cargo /opt/cargo
COPY --from=build /usr/local/rustup /opt/rustup
COPY --from=build /nightshift /usr/local/bin/nightshift
RUN useradd --create-home --uid 10001 worker
USER worker
WORKDIR /home/worker/job
ENTRYPOINT ["nightshift", "worker"]
