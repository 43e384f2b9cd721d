#!/usr/bin/env bash
# The same `chat-fanout --proto irc` load against InspIRCd and against sockhub's IRC listener,
# alternately (A/B: InspIRCd first in odd rounds, sockhub first in even ones, so that both see the
# same machine load), each server as its own process beside the load generator. Prints one JSON
# line per run: the server, the load average when it started, what was sent and delivered, the
# missing deliveries, p50/p99, and the server's CPU time during the run (user + system seconds,
# from /proc: a figure that depends much less on the machine's other load than latency does).
#
#   bench/peers/compare-irc.sh CLIENTS SENDERS "RATE..." [DURATION] [ROUNDS] [TARGETS]
#   bench/peers/compare-irc.sh 100 10 "100 300 1000" 5 2
#   bench/peers/compare-irc.sh 1000 1 100 5 2 "inspircd sockhub"
#
# RATE is messages per second per sender. Both servers are asked for echo-message (both offer it
# here), so every message counts at every client of the channel, the sender included.
#
# sockhub: `SOCKHUB` (default target/release/sockhub) serves bench/sockhub-bench.toml, IRC on
# 6667; `GENERATOR` (default: the same binary) runs `bench`. InspIRCd: Debian's `inspircd`
# package, installed here when missing (its packaged service is stopped and disabled: this script
# runs it in the foreground on 127.0.0.1:16667 with bench/peers/inspircd/inspircd.conf).
set -euo pipefail
cd "$(dirname "$0")/../.."

clients=${1:?clients}
senders=${2:?senders}
rates=${3:?rates per sender}
duration=${4:-5}
rounds=${5:-1}
targets=${6:-inspircd sockhub}
sockhub=${SOCKHUB:-target/release/sockhub}
generator=${GENERATOR:-$sockhub}
insp_conf=$PWD/bench/peers/inspircd/inspircd.conf
insp_port=16667
sockhub_irc=6667

if [[ " $targets " == *" inspircd "* ]] && ! command -v inspircd >/dev/null; then
    as_root=(); [ "$(id -u)" -eq 0 ] || as_root=(sudo)
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y inspircd >&2
    # Never leave the packaged service running on a port: this script runs its own.
    "${as_root[@]}" systemctl disable --now inspircd >/dev/null 2>&1 ||
        "${as_root[@]}" service inspircd stop >/dev/null 2>&1 || true
fi
insp_flags=(--config="$insp_conf" --nofork --nopid --nolog)
[ "$(id -u)" -ne 0 ] || insp_flags+=(--runasroot)

# Wait until something listens on 127.0.0.1:$1.
wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}

# CPU seconds (user + system) the process $1 has used so far.
cpu_secs() {
    python3 -c 'import os, sys; f = open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split(); print((int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"))' "$1"
}

run_one() {
    local target=$1 rate=$2 round=$3 server addr
    # Measure our own server, never one that someone else left on the port.
    for p in $insp_port $sockhub_irc 7001 8080; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "port $p is already in use; stop what listens there first" >&2
            exit 1
        fi
    done
    case $target in
        inspircd) inspircd "${insp_flags[@]}" >/dev/null 2>&1 & server=$! addr=127.0.0.1:$insp_port port=$insp_port ;;
        sockhub) "$sockhub" serve --config bench/sockhub-bench.toml >/dev/null 2>&1 & server=$! addr=127.0.0.1:$sockhub_irc port=$sockhub_irc ;;
        *) echo "unknown target $target" >&2; exit 2 ;;
    esac
    wait_port "$port"
    sleep 1
    local load cpu_before cpu_after result
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    cpu_before=$(cpu_secs "$server")
    set +e
    result=$("$generator" bench chat-fanout --proto irc --addr "$addr" --clients "$clients" \
        --senders "$senders" --rate "$rate" --warmup 1 --duration "$duration" --drain 10 --json)
    set -e
    cpu_after=$(cpu_secs "$server")
    kill "$server"
    wait "$server" 2>/dev/null || true
    python3 - "$target" "$round" "$load" "$cpu_before" "$cpu_after" "$result" <<'PY'
import json, sys
target, rnd, load, before, after, raw = sys.argv[1:]
try:
    rep = json.loads(raw)
except ValueError:
    print(json.dumps({"target": target, "round": int(rnd), "load": load, "error": raw[-300:]}))
    sys.exit()
r, c = rep["results"], rep["config"]
lat = r.get("latency", {})
print(json.dumps({
    "target": target, "round": int(rnd), "load": load,
    "clients": c["clients"], "senders": c["senders"], "rate": c["rate"],
    "messages_per_sec": r.get("messages_per_sec"), "deliveries_per_sec": r.get("deliveries_per_sec"),
    "expected": r.get("expected_deliveries"), "missing": r.get("missing_deliveries"),
    "echo_clients": r.get("irc_echo_clients"),
    "p50_ms": lat.get("p50_us", 0) / 1000, "p99_ms": lat.get("p99_us", 0) / 1000,
    "max_ms": lat.get("max_us", 0) / 1000, "drain_ms": r.get("drain_ms"),
    "server_cpu_secs": round(float(after) - float(before), 2),
    "problems": rep.get("problems", []),
}))
PY
    sleep 1
}

for rate in $rates; do
    for round in $(seq "$rounds"); do
        order=$targets
        # A/B: every other round the other server goes first.
        if [ $((round % 2)) -eq 0 ]; then order=$(echo "$targets" | tr ' ' '\n' | tac | tr '\n' ' '); fi
        for target in $order; do
            run_one "$target" "$rate" "$round"
        done
    done
done
