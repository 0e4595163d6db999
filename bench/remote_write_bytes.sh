#!/usr/bin/env bash
# Prometheus's bytes on disk per sample for our series, fed by the remote-write sink:
# the server with every shipped collector writes into Debian's Prometheus
# (--web.enable-remote-write-receiver, a throwaway TSDB, nothing else written or
# scraped), for MINUTES; then each persisted block's size over its sample count
# (meta.json), and the WAL's bytes per head sample for comparison.
#
#   bench/remote_write_bytes.sh [MINUTES]     (default 14; blocks are cut at 5 minutes)
#
# Needs: cargo, Debian's prometheus, curl, python3. Runs only on 127.0.0.1.
# Output on stdout; the TSDB and logs stay in target/bench/remote-write/.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${1:-14}"
OUT=target/bench/remote-write
TARGET="${CARGO_TARGET_DIR:-target}"
rm -rf "$OUT"
mkdir -p "$OUT/plugins"

echo "== building: server and plugins (the sink's build profile does not change what Prometheus stores)"
cargo build --quiet --workspace --exclude monitoring-tests --exclude xtask --exclude monitoring-test-support
for lib in "$TARGET"/debug/libcollector_*.so "$TARGET"/debug/libsink_remote_write.so; do
    case "$lib" in *gpu*) continue ;; esac
    cp "$lib" "$OUT/plugins/"
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PROM_PORT=$(free_port)
PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

printf 'global: {}\n' >"$OUT/prometheus.yml"
prometheus --config.file="$OUT/prometheus.yml" --storage.tsdb.path="$OUT/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-remote-write-receiver \
    --storage.tsdb.min-block-duration=5m --storage.tsdb.max-block-duration=5m \
    >"$OUT/prometheus.log" 2>&1 &
PIDS+=($!)

cat >"$OUT/plugins.toml" <<TOML
[server]
host = "127.0.0.1"
port = 0

[plugins.remote-write]
enabled = true
url = "http://127.0.0.1:$PROM_PORT/api/v1/write"
flush_interval_secs = 1
TOML
RUST_LOG=warn "$TARGET/debug/monitoring-websocket-server" --config "$OUT/plugins.toml" \
    >"$OUT/server.log" 2>&1 &
PIDS+=($!)

echo "== writing for $MINUTES minutes"
sleep $((MINUTES * 60))

# A metric of Prometheus's own /metrics, summed over its label sets (2.x splits
# samples appended by `type`).
metric() {
    curl -s "http://127.0.0.1:$PROM_PORT/metrics" |
        awk -v m="$1" 'index($1, m) == 1 && (length($1) == length(m) || substr($1, length(m) + 1, 1) == "{") { s += $2 } END { print s + 0 }'
}
APPENDED=$(metric prometheus_tsdb_head_samples_appended_total)
SERIES=$(metric prometheus_tsdb_head_series)
python3 - "$OUT/data" "$APPENDED" "$SERIES" "$MINUTES" <<'PY'
import glob, json, os, sys
data, appended, series, minutes = sys.argv[1], float(sys.argv[2] or 0), sys.argv[3], sys.argv[4]
def size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
blocks = [os.path.dirname(m) for m in glob.glob(os.path.join(data, "*", "meta.json"))]
samples = sum(json.load(open(os.path.join(b, "meta.json")))["stats"]["numSamples"] for b in blocks)
block_bytes = sum(size(b) for b in blocks)
wal = size(os.path.join(data, "wal"))
print(f"series in head: {series}; samples appended: {appended:.0f} in {minutes} min "
      f"({appended / (float(minutes) * 60):.0f}/s)")
if samples:
    print(f"persisted blocks: {len(blocks)}, {samples} samples, {block_bytes} bytes "
          f"-> {block_bytes / samples:.3f} bytes/sample (chunks + index)")
else:
    print("no block persisted yet: run longer (blocks are cut after ~7.5 minutes)")
if appended:
    print(f"WAL: {wal} bytes -> {wal / appended:.3f} bytes/sample appended (uncompacted)")
PY
