#!/usr/bin/env bash
# Issue 22's history benchmarks (figures in BENCHMARKS.md, "History on disk"):
#
#   1. record: this machine's real snapshots, every shipped collector, at 2 Hz, for
#      RECORD_SECONDS (default 1800) from a release server; skipped when RECORDING names
#      an existing gzipped JSON-lines file of `data` objects.
#   2. replay: the recording cycled with shifted timestamps into a fresh store for
#      REPLAY_HOURS (default 24) as fast as the store takes them (host/examples/
#      history_replay.rs): bytes per sample (file and tick-tier chunks), CPU per tick;
#      then, in a new process, open time and query times (1 series × 30 d × 1000 points,
#      20 series × 24 h), first after opening ("cold") and the median of 10 ("warm").
#   3. live: two release servers side by side on core 0, history on and off, every
#      shipped collector, 2 Hz, LIVE_SECONDS (default 120): the CPU of the store's own
#      thread (`history-writer`, read from /proc) per tick, and each whole server's CPU.
#   4. gateway: a fleet gateway taking GATEWAY_HOSTS (default 500) synthetic hosts at 2 Hz
#      through a real nats-server (bench/fleet.sh's generator), history on and then off,
#      GATEWAY_SECONDS (default 60) each: the gateway's CPU and its writer thread's.
#
#   bench/history.sh [SECTIONS]     SECTIONS: any of record,replay,live,gateway (default all)
#
# Needs: cargo, python3 with `websockets`, nats-server for the gateway section.
# Prometheus's own bytes per sample for the same series: bench/remote_write_bytes.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
SECTIONS="${1:-record,replay,live,gateway}"
OUT=target/bench/history
mkdir -p "$OUT"
RECORDING="${RECORDING:-$OUT/snapshots.jsonl.gz}"
RECORD_SECONDS="${RECORD_SECONDS:-1800}"
REPLAY_HOURS="${REPLAY_HOURS:-24}"
LIVE_SECONDS="${LIVE_SECONDS:-120}"
GATEWAY_HOSTS="${GATEWAY_HOSTS:-500}"
GATEWAY_SECONDS="${GATEWAY_SECONDS:-60}"
has() { [[ ",$SECTIONS," == *",$1,"* ]]; }

if [ -z "${HISTORY_BENCH_NO_BUILD:-}" ]; then
    echo "== building (release): server, plugins, history_replay, fleetbench"
    cargo xtask install >/dev/null
    cargo build --release --quiet -p monitoring-websocket-server --example history_replay
    cargo build --release --quiet -p monitoring-tests --bin fleetbench
fi
if [ "$(nproc)" -ge 2 ]; then SERVER_CPU=(taskset -c 0); CLIENT_CPU=(taskset -c 1); else SERVER_CPU=(); CLIENT_CPU=(); fi
PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# A config for a release server on PORT with its store in DIR ("off" for none).
config() { # port dir
    sed -e "s|^plugins_dir = .*|plugins_dir = \"$PWD/plugins\"|" -e "s|^port = .*|port = $1|" \
        -e 's/^host = .*/host = "127.0.0.1"/' -e '/^\[history\]/,/^hour_days/d' plugins.toml
    if [ "$2" = off ]; then printf '\n[history]\nenabled = false\n'; else printf '\n[history]\ndir = "%s"\n' "$2"; fi
}

# utime + stime of a process (or one of its threads), in seconds.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "$1"; }
# The stat file of PID's thread named NAME.
thread_stat() { for t in /proc/"$1"/task/*; do if [ "$(cat "$t/comm")" = "$2" ]; then echo "$t/stat"; fi; done; }

if has record && [ -z "${RECORDING_GIVEN:-}" ] && [ ! -s "$RECORDING" ]; then
    echo "== record: $RECORD_SECONDS s of this machine's snapshots into $RECORDING"
    config 18970 off >"$OUT/record.toml"
    RUST_LOG=warn target/release/monitoring-websocket-server --config "$OUT/record.toml" >"$OUT/record.log" 2>&1 &
    PIDS+=($!); REC_PID=$!
    sleep 3
    python3 - "$RECORDING" "$RECORD_SECONDS" <<'EOF'
import asyncio, gzip, json, sys, time
import websockets
async def main(out, seconds):
    end, n = time.time() + float(seconds), 0
    with gzip.open(out, "wt") as f:
        async with websockets.connect("ws://127.0.0.1:18970/", max_size=None) as ws:
            while time.time() < end:
                msg = json.loads(await ws.recv())
                if msg.get("type") == "monitoring_data":
                    f.write(json.dumps(msg["data"]) + "\n"); n += 1
    print(f"   {n} snapshots")
asyncio.run(main(*sys.argv[1:]))
EOF
    kill "$REC_PID"
fi

if has replay; then
    echo "== replay: $REPLAY_HOURS h of $RECORDING into a fresh store"
    rm -rf "$OUT/store"
    "${SERVER_CPU[@]}" target/release/examples/history_replay "$RECORDING" "$REPLAY_HOURS" "$OUT/store" | tee "$OUT/replay.txt"
    echo "== the same store, a new process (cold)"
    "${SERVER_CPU[@]}" target/release/examples/history_replay "$RECORDING" 0 "$OUT/store" | tee -a "$OUT/replay.txt"
fi

if has live; then
    echo "== live: history on and off side by side, $LIVE_SECONDS s, core 0"
    rm -rf "$OUT/live-data"
    config 18971 "$PWD/$OUT/live-data" >"$OUT/live-on.toml"
    config 18972 off >"$OUT/live-off.toml"
    RUST_LOG=warn "${SERVER_CPU[@]}" target/release/monitoring-websocket-server --config "$OUT/live-on.toml" >"$OUT/live-on.log" 2>&1 &
    PIDS+=($!); ON=$!
    RUST_LOG=warn "${SERVER_CPU[@]}" target/release/monitoring-websocket-server --config "$OUT/live-off.toml" >"$OUT/live-off.log" 2>&1 &
    PIDS+=($!); OFF=$!
    sleep 5
    WRITER=$(thread_stat "$ON" history-writer)
    W0=$(cpu_of "$WRITER"); A0=$(cpu_of /proc/$ON/stat); B0=$(cpu_of /proc/$OFF/stat)
    sleep "$LIVE_SECONDS"
    W1=$(cpu_of "$WRITER"); A1=$(cpu_of /proc/$ON/stat); B1=$(cpu_of /proc/$OFF/stat)
    TICKS=$((LIVE_SECONDS * 2))
    awk -v w="$(echo "$W1 - $W0" | bc -l)" -v a="$(echo "$A1 - $A0" | bc -l)" -v b="$(echo "$B1 - $B0" | bc -l)" \
        -v t="$TICKS" -v s="$LIVE_SECONDS" 'BEGIN {
        printf "writer thread: %.0f us per tick, %.3f %% of a core\n", w / t * 1e6, w / s * 100
        printf "server, history on:  %.2f %% of a core\nserver, history off: %.2f %% of a core\n", a / s * 100, b / s * 100 }' \
        | tee "$OUT/live.txt"
    du -b "$OUT/live-data"/history.db* | tee -a "$OUT/live.txt"
    kill "$ON" "$OFF"
fi

if has gateway; then
    NATS="$(command -v nats-server || echo /usr/sbin/nats-server)"
    TOKEN="history-bench-$RANDOM$RANDOM"; export HISTORY_BENCH_TOKEN="$TOKEN"
    "${SERVER_CPU[@]}" "$NATS" -a 127.0.0.1 -p 14232 --auth "$TOKEN" >"$OUT/nats.log" 2>&1 &
    PIDS+=($!)
    sleep 1
    : >"$OUT/gateway.txt"
    for state in on off; do
        rm -rf "$OUT/gateway-data"
        if [ $state = on ]; then config 18973 "$PWD/$OUT/gateway-data"; else config 18973 off; fi >"$OUT/gateway-$state.toml"
        printf '\n[fleet]\nnats_url = "nats://127.0.0.1:14232"\nhost_name = "gateway"\ntoken_env = "HISTORY_BENCH_TOKEN"\ngateway = true\npublish = false\n' >>"$OUT/gateway-$state.toml"
        RUST_LOG=warn "${SERVER_CPU[@]}" target/release/monitoring-websocket-server --config "$OUT/gateway-$state.toml" >"$OUT/gateway-$state.log" 2>&1 &
        PIDS+=($!); GW=$!
        sleep 3
        curl -s http://127.0.0.1:18973/api/current \
            | python3 -c 'import json,sys; m=json.load(sys.stdin); m["type"]="monitoring_data"; print(json.dumps(m))' >"$OUT/frame.json"
        "${CLIENT_CPU[@]}" target/release/fleetbench publish --nats nats://127.0.0.1:14232 --token "$TOKEN" \
            --hosts "$GATEWAY_HOSTS" --template "$OUT/frame.json" 2>>"$OUT/publish.log" &
        PIDS+=($!); PUB=$!
        sleep 10
        G0=$(cpu_of /proc/$GW/stat)
        [ $state = on ] && WRITER=$(thread_stat "$GW" history-writer) && W0=$(cpu_of "$WRITER")
        sleep "$GATEWAY_SECONDS"
        G1=$(cpu_of /proc/$GW/stat)
        LINE="history $state: gateway $(echo "($G1 - $G0) / $GATEWAY_SECONDS * 100" | bc -l | xargs printf '%.1f') % of a core"
        if [ $state = on ]; then
            W1=$(cpu_of "$WRITER")
            LINE="$LINE, writer thread $(echo "($W1 - $W0) / $GATEWAY_SECONDS * 100" | bc -l | xargs printf '%.1f') %"
            LINE="$LINE, hosts stored $(curl -s 'http://127.0.0.1:18973/api/series?host=synthetic-0001&prefix=memory.' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["series"]))') memory series of synthetic-0001"
            LINE="$LINE, ticks dropped $(curl -s http://127.0.0.1:18973/health | python3 -c 'import json,sys; print(json.load(sys.stdin)["history"]["ticks_dropped"])')"
        fi
        echo "$LINE" | tee -a "$OUT/gateway.txt"
        kill "$PUB" "$GW"; wait "$PUB" "$GW" 2>/dev/null || true
    done
fi
