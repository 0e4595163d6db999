#!/usr/bin/env bash
# Issue 13's side-by-side fan-out benchmark, in one run: this server (release, the
# shipped plugins.toml), the Node.js `ws` broadcast server (bench/fanout/node-ws) and
# the raw-write floor (bench/fanout/floor: one prebuilt frame, one write() per client),
# each against the same load generator at 1000 and 10,000 clients, three repeats
# (interleaved, so the machine's drift hits all three alike; medians reported).
# The server runs on core 0, the load generator on core 1; ~700-byte messages at 2 Hz;
# 20 s measured windows. It prints, per run and as a summary, the server's CPU per
# delivered message, its ratio to the floor's, RSS and the broadcast interval p50/p99.
#
#   bench/fanout.sh [DURATION_SECONDS] [REPEATS]
#
# Needs: cargo, node + npm (for `ws`), taskset. Runs only on 127.0.0.1. Results go to
# stdout and target/bench/fanout/.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-20}"
REPEATS="${2:-3}"
OUT=target/bench/fanout
mkdir -p "$OUT"

echo "== building (release): server, plugins, loadgen, floor; npm ci for ws"
cargo xtask install >/dev/null 2>&1
cargo build --release --quiet -p monitoring-tests --bin loadgen --bin fanout-floor
(cd bench/fanout/node-ws && npm ci --silent --no-audit --no-fund)

# 10,000 clients are 10,000 sockets in the server and as many in the load generator
# (each process has its own limit), plus their own files.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 12000 ]; then
    echo "fanout.sh: needs 12000 open files per process for 10,000 clients, the hard limit is $(ulimit -Hn)" >&2
    exit 1
fi
# Our server with room for 10,000 clients, all from 127.0.0.1, and the seed's four
# collectors (cpu, memory, disk, system: the issue's ~700-byte message); everything
# else as shipped. FANOUT_ALL_COLLECTORS=1 keeps every shipped collector (~5.6 KB).
sed -e '/^max_clients_per_ip = /d' -e '/^max_connections = /d' \
    -e 's/^max_clients = .*/max_clients = 20000\nmax_clients_per_ip = 0\nmax_connections = 25000/' \
    -e "s|^plugins_dir = .*|plugins_dir = \"$PWD/plugins\"|" plugins.toml |
    awk -v all="${FANOUT_ALL_COLLECTORS:-0}" '
        /^\[/ { table = $0 }
        all != 1 && /^enabled = true/ && table ~ /^\[plugins\.(network|disk-io|gpu-nvml|gpu-smi|load|sensors|processes)\]/ {
            print "enabled = false"; next }
        { print }' >"$OUT/plugins.toml"

if [ "$(nproc)" -ge 2 ]; then SERVER_CPU=(taskset -c 0); CLIENT_CPU=(taskset -c 1); else SERVER_CPU=(); CLIENT_CPU=(); fi

PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

PORT=18960
start() { # server port [size]
    case "$1" in
        ours) RUST_LOG=warn "${SERVER_CPU[@]}" target/release/monitoring-websocket-server \
                  --config "$OUT/plugins.toml" --host 127.0.0.1 --port "$2" >"$OUT/$1-$2.log" 2>&1 & ;;
        node) "${SERVER_CPU[@]}" node bench/fanout/node-ws/server.js "$2" "$3" >"$OUT/$1-$2.log" 2>&1 & ;;
        floor) "${SERVER_CPU[@]}" target/release/fanout-floor "$2" "$3" >"$OUT/$1-$2.log" 2>&1 & ;;
    esac
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    sleep 2
}

# The size of our server's message, which the other two copy.
start ours $PORT
SIZE=$(python3 - "$PORT" <<'PY' || echo 700
import asyncio, json, sys, websockets
async def main():
    async with websockets.connect(f"ws://127.0.0.1:{sys.argv[1]}/", compression=None) as ws:
        while True:
            text = await asyncio.wait_for(ws.recv(), 10)
            if json.loads(text)["type"] == "monitoring_data":
                print(len(text.encode())); return
asyncio.run(main())
PY
)
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
echo "== machine: $(nproc) cores, $(uname -sr); message size $SIZE bytes; node $(node --version), ws $(node -p "require('./bench/fanout/node-ws/node_modules/ws/package.json').version")"

RESULTS="$OUT/results.tsv"
: >"$RESULTS"
for clients in 1000 10000; do
    warmup=$([ "$clients" -ge 10000 ] && echo 15 || echo 5)
    for repeat in $(seq 1 "$REPEATS"); do
        for server in ours node floor; do
            PORT=$((PORT + 1))
            start "$server" "$PORT" "$SIZE"
            label="$server-$clients-r$repeat"
            "${CLIENT_CPU[@]}" target/release/loadgen --label "$label" --url "ws://127.0.0.1:$PORT/" \
                --pid "$SERVER_PID" --clients "$clients" --warmup "$warmup" --duration "$DURATION" \
                --pingers 0 >"$OUT/$label.txt"
            kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
            # server clients repeat µs/msg RSS-MB interval-p50 interval-p99 messages
            awk -v s="$server" -v c="$clients" -v r="$repeat" '
                /^messages delivered:/ { msgs = $3 }
                /^broadcast interval ms:/ { p50 = $5; p99 = $7 }
                /^server: CPU/ { for (i = 1; i <= NF; i++) { if ($i == "µs") us = $(i-1); if ($i == "RSS") rss = $(i+1) } }
                END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s, c, r, us, rss, p50, p99, msgs }' \
                "$OUT/$label.txt" | tee -a "$RESULTS"
        done
    done
done

echo
echo "== summary (median of $REPEATS runs, p99 the worst run's; ratio = median CPU per message / the floor's median)"
awk -F'\t' '
    function median(list,    n, v, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j] + 0 < v[j-1] + 0; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    { key = $1 "\t" $2; us[key] = us[key] " " $4; rss[key] = rss[key] " " $5; p50[key] = p50[key] " " $6;
      if ($7 > p99[key]) p99[key] = $7 }
    END {
        print "| server | clients | CPU per message | vs. floor | RSS | interval p50 | interval p99 (worst) |"
        print "|---|---|---|---|---|---|---|"
        split("ours node floor", order, " ")
        for (c = 1000; c <= 10000; c *= 10) for (i = 1; i <= 3; i++) {
            key = order[i] "\t" c
            if (!(key in us)) continue
            floor = median(us["floor\t" c]); mid = median(us[key])
            printf "| %s | %d | %.1f µs | %.2f× | %.0f MB | %.1f ms | %.1f ms |\n",
                order[i], c, mid, mid / floor, median(rss[key]), median(p50[key]), p99[key]
        }
    }' "$RESULTS" | tee "$OUT/summary.md"
