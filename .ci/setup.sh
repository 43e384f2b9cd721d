#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, only when it is missing:
# tmux, the real terminal in which the full-screen client's end-to-end test runs, and nats-server.
set -euo pipefail

command -v tmux >/dev/null || (apt-get update && apt-get install -y tmux)
# nats-server: the cluster tests start a private one per test (to stop and restart it at will).
[ -x /usr/sbin/nats-server ] || (apt-get update && apt-get install -y nats-server)
