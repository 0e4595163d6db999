#!/usr/bin/env bash
# Side-by-side fan-out benchmark: this server and the seed's published Python server
# (monitoring-websocket-server 1.0.83.87), measured by the same load generator in one
# run. Results go to stdout and target/bench/; BENCHMARKS.md quotes them.
#
#   bench/compare.sh [DURATION_SECONDS]
#
# Needs: cargo, python3 (for a venv with the seed). Runs only on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-30}"
OUT=target/bench
mkdir -p "$OUT"

echo "== building (release): server, plugins, loadgen"
cargo xtask install >/dev/null
cargo build --release --quiet -p monitoring-tests --bin loadgen
if [ ! -x target/seed-venv/bin/monitoring-websocket-server ]; then
    python3 -m venv target/seed-venv
    target/seed-venv/bin/pip install --quiet monitoring-websocket-server==1.0.83.87
fi
ulimit -n "$(ulimit -Hn)"
# Our server with room for the 10,000-client run; everything else as shipped.
# All clients come from 127.0.0.1, so the per-address limit is lifted.
sed -e '/^max_clients_per_ip = /d' -e 's/^max_clients = .*/max_clients = 20000\nmax_clients_per_ip = 0/' \
    -e "s|^plugins_dir = .*|plugins_dir = \"$PWD/plugins\"|" plugins.toml >"$OUT/plugins.toml"

# On a machine with two or more cores the server runs on core 0 and the load generator
# on core 1, so neither steals the other's CPU and the figures describe the server.
if [ "$(nproc)" -ge 2 ]; then SERVER_CPU=(taskset -c 0); CLIENT_CPU=(taskset -c 1); else SERVER_CPU=(); CLIENT_CPU=(); fi

PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

start_ours() {
    RUST_LOG=warn "${SERVER_CPU[@]}" target/release/monitoring-websocket-server --config "$OUT/plugins.toml" \
        --host 127.0.0.1 --port "$1" >"$OUT/ours-$1.log" 2>&1 &
    PIDS+=($!); SERVER_PID=$!
    sleep 2
}
start_seed() {
    "${SERVER_CPU[@]}" target/seed-venv/bin/monitoring-websocket-server --host 127.0.0.1 --port "$1" >"$OUT/seed-$1.log" 2>&1 &
    PIDS+=($!); SERVER_PID=$!
    sleep 4
}
run() { # label port clients stalled warmup
    "${CLIENT_CPU[@]}" target/release/loadgen --label "$1" --url "ws://127.0.0.1:$2/" --pid "$SERVER_PID" \
        --clients "$3" --stalled "$4" --warmup "$5" --duration "$DURATION" --pingers 50 | tee "$OUT/$1.txt"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
}

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
start_ours 18901; run ours-1000 18901 1000 0 5
start_seed 18902; run seed-1000 18902 1000 0 5
# 995 + 5 stalled: the seed refuses clients past its fixed 1000.
start_ours 18903; run ours-1000-stalled5 18903 995 5 5
start_seed 18904; run seed-1000-stalled5 18904 995 5 5
start_ours 18905; run ours-10000 18905 10000 0 20
