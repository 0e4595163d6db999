#!/usr/bin/env bash
# Issue 26: the overview of a 2,000-host fleet in a browser on a phone. A real gateway
# (a few real collectors) and `fleetbench publish` with HOSTS synthetic hosts at 2 Hz
# through a real nats-server; bench/phone.py opens the gateway's dashboard in headless
# Chromium as a phone (390 x 844, CPU slowed 4x) and as a desktop, one after the other,
# and reports for each the time until every tile is on the page, the main thread's
# busy share and frame times while the fleet updates, and a search, the table view and
# a sort, each timed to the frame that shows it.
#
#   bench/fleet_phone.sh [HOSTS] [SECONDS]      BIN=target/release (the default)
#
# Needs: a release build (`cargo xtask install`, then `cargo build --release -p
# monitoring-tests --bin fleetbench`), nats-server, chromium, python3 with `websockets`.
# Only 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS="${1:-2000}"
SECONDS_RUN="${2:-20}"
BIN="${BIN:-target/release}"
OUT=target/bench/fleet_phone
mkdir -p "$OUT"
for need in "$BIN/monitoring-websocket-server" "$BIN/fleetbench"; do
    [ -x "$need" ] || { echo "missing $need: build it first (see the header)" >&2; exit 1; }
done
# The gateway and NATS on core 0, the publisher and the browser on core 1 (on 2+ cores).
if [ "$(nproc)" -ge 2 ]; then SERVER_CPU=(taskset -c 0); CLIENT_CPU=(taskset -c 1); else SERVER_CPU=(); CLIENT_CPU=(); fi
NATS_PORT=14422; GW_PORT=18980
. bench/fleet_gateway.sh
start_fleet_gateway "$OUT" "$BIN" "$NATS_PORT" "$GW_PORT" "${SERVER_CPU[@]}"
"${CLIENT_CPU[@]}" nice -n 10 "$BIN/fleetbench" publish --nats "nats://127.0.0.1:$NATS_PORT" --token "$FLEET_BENCH_TOKEN" \
    --hosts "$HOSTS" --template "$OUT/frame.json" 2>>"$OUT/publish.log" &
PIDS+=($!)
sleep 5
echo "== $(nproc) cores, $(uname -sr), $(chromium --version 2>/dev/null | head -1); $HOSTS hosts at 2 Hz" | tee "$OUT/results.txt"
# The gateway does not publish itself (publish = false): one tile per synthetic host.
"${CLIENT_CPU[@]}" python3 bench/phone.py "http://127.0.0.1:$GW_PORT/" "$HOSTS" "$SECONDS_RUN" | tee -a "$OUT/results.txt"
