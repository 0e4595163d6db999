#!/usr/bin/env bash
# What the collectors of issue 14 cost: each new collector's `collect()` (median and
# p90 of 200 calls, release build), the processes collector again with ~500 processes
# running, and the idle server's CPU and RSS with every shipped collector enabled,
# side by side with today's four (cpu, memory, disk, system) in the same run.
#
#   bench/collectors.sh [SECONDS_PER_IDLE_RUN]
#
# Needs: cargo. Runs only on 127.0.0.1. Results go to stdout and target/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-60}"
OUT=target/bench
mkdir -p "$OUT"

echo "== building (release): server and plugins"
cargo xtask install >/dev/null

PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

echo "== machine: $(nproc) cores, $(uname -sr), $(ls /proc | grep -c '^[0-9]') processes"
echo "== collect() per call"
for crate in network disk-io load sensors processes; do
    cargo run --release --quiet -p "collector-$crate" --example cost || echo "$crate: unavailable here"
done

echo "== processes with ~500 processes running"
SLEEPERS=()
while [ "$(ls /proc | grep -c '^[0-9]')" -lt 500 ]; do sleep 300 & SLEEPERS+=($!); done
cargo run --release --quiet -p collector-processes --example cost
echo "   ($(ls /proc | grep -c '^[0-9]') processes)"
kill "${SLEEPERS[@]}" 2>/dev/null || true
wait "${SLEEPERS[@]}" 2>/dev/null || true

# Today's four only: every other collector disabled in a copy of the shipped file.
sed -e "s|^plugins_dir = .*|plugins_dir = \"$PWD/plugins\"|" plugins.toml >"$OUT/all.toml"
awk '
  /^\[plugins\.(network|disk-io|load|sensors|processes|gpu-nvml|gpu-smi)\]$/ { print; print "enabled = false"; skip = 1; next }
  /^\[/ { skip = 0 }
  skip && /^enabled *=/ { next }
  { print }
' "$OUT/all.toml" >"$OUT/four.toml"

# CPU seconds (user + system) of a process, from /proc/PID/stat.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

idle() { # label config port
    RUST_LOG=warn target/release/monitoring-websocket-server --config "$2" --host 127.0.0.1 --port "$3" \
        >"$OUT/idle-$1.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    sleep 5 # start-up and priming are not idling
    local before after
    before=$(cpu_seconds "$pid")
    sleep "$SECONDS_PER_RUN"
    after=$(cpu_seconds "$pid")
    printf '%-6s CPU %5.2f %% of one core, RSS %s MB, sections: %s\n' "$1" \
        "$(echo "($after - $before) * 100 / $SECONDS_PER_RUN" | bc -l)" "$(rss_mb "$pid")" \
        "$(curl -s "http://127.0.0.1:$3/api/current" | python3 -c 'import json,sys; print(",".join(sorted(json.load(sys.stdin).get("data", {}))))' 2>/dev/null)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "== start-up checks per plugin (issue 11): probe child, and the private copy"
python3 - <<'PY'
import glob, hashlib, os, shutil, statistics, subprocess, tempfile, time
files = sorted(glob.glob("plugins/*.so"))
probe, stage = [], []
for _ in range(10):
    for f in files:
        t = time.perf_counter()
        subprocess.run(["target/release/monitoring-websocket-server", "--probe-plugin", f],
                       stdout=subprocess.DEVNULL, check=True)
        probe.append(time.perf_counter() - t)
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            data = open(f, "rb").read()
            hashlib.sha256(data).hexdigest()
            open(os.path.join(d, "copy.so"), "wb").write(data)
            stage.append(time.perf_counter() - t)
size = statistics.median(os.path.getsize(f) for f in files) / 1e6
print(f"{len(files)} plugins (median {size:.1f} MB): probe median {statistics.median(probe)*1e3:.1f} ms, "
      f"read+SHA-256+copy median {statistics.median(stage)*1e3:.2f} ms per plugin; the probes run 4 at a time")
PY

echo "== idle server, ${SECONDS_PER_RUN} s each, alternated twice"
for round in 1 2; do
    idle four "$OUT/four.toml" 18931
    idle all "$OUT/all.toml" 18932
done
