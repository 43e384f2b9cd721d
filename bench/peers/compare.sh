#!/usr/bin/env bash
# Run the same chat-fanout load against the Python peer, the tokio peer and sockhub, one server at
# a time, each as its own process beside the load generator, and print one JSON summary per run
# (with the machine's load average when it started).
#
#   bench/peers/compare.sh CLIENTS SENDERS RATE [DURATION] [TARGETS]
#   bench/peers/compare.sh 100 10 1000 5 "python tokio sockhub"
#
# Expects release builds: target/release/sockhub and target/release/tokio-chat
# (`cargo build --release --bin sockhub -p tokio-chat`). SOCKHUB and TOKIO_CHAT override the paths.
set -euo pipefail
cd "$(dirname "$0")/../.."

clients=${1:?clients}
senders=${2:?senders}
rate=${3:?rate per sender}
duration=${4:-5}
targets=${5:-python tokio sockhub}
sockhub=${SOCKHUB:-target/release/sockhub}
tokio_chat=${TOKIO_CHAT:-target/release/tokio-chat}
port=17190

for target in $targets; do
    case $target in
        python) python3 bench/peers/python_threaded_chat.py "$port" >/dev/null & mode=raw addr=127.0.0.1:$port ;;
        tokio) "$tokio_chat" "127.0.0.1:$port" >/dev/null & mode=raw addr=127.0.0.1:$port ;;
        sockhub) "$sockhub" serve --config bench/sockhub-bench.toml >/dev/null 2>&1 & mode=sockhub addr=127.0.0.1:7001 ;;
        *) echo "unknown target $target" >&2; exit 2 ;;
    esac
    server=$!
    sleep 1
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    set +e
    result=$("$sockhub" bench chat-fanout --target "$mode" --addr "$addr" --clients "$clients" \
        --senders "$senders" --rate "$rate" --warmup 1 --duration "$duration" --drain 10 --json | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)))')
    set -e
    kill "$server"
    wait "$server" 2>/dev/null || true
    echo "{\"target\":\"$target\",\"load\":\"$load\",\"report\":$result}"
    sleep 1
done
