# Issue 20's attacks, sourced by bench/security.sh (which builds, pins the cores and
# defines OUT, BEFORE, SERVER_CPU, CLIENT_CPU, PIDS, config and lift). Each attack runs
# for ATTACK_SECONDS against a fresh server, the build from before the fix (when BEFORE
# is given) and this tree, one after the other; the table gives the server's RSS
# before the attack, its peak RSS (VmHWM) and the CPU time it spent during the attack,
# and whether it survived. The attack programs are the black-box tests' own
# (tests/attacks/*.rs, run as the `attack-*` binaries).
#
# Old builds grow without bound under some of these, so every server runs with a
# memory ceiling (ATTACK_MEMORY_MB, default 3072, through `prlimit --data`); a server the
# ceiling stopped is reported as such.

ATTACK_SECONDS="${ATTACK_SECONDS:-10}"
ATTACK_MEMORY_MB="${ATTACK_MEMORY_MB:-3072}"
CLK_TCK="$(getconf CLK_TCK)"
NATS="$(command -v nats-server || echo /usr/sbin/nats-server)"
ATTACK_TOKEN="attack-bench-token-$RANDOM$RANDOM"
export ATTACK_BENCH_TOKEN="$ATTACK_TOKEN"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# attack_server LABEL BINARY CONFIG PORT: starts a server under the memory ceiling.
attack_server() {
    local label=$1 binary=$2 config=$3 port=$4
    RUST_LOG=warn "${SERVER_CPU[@]}" prlimit --data=$((ATTACK_MEMORY_MB * 1024 * 1024)) \
        "$binary" --config "$config" --host 127.0.0.1 --port "$port" >"$OUT/$label.log" 2>&1 &
    SERVER_PID=$!
    SERVER_LOG="$OUT/$label.log"
    PIDS+=("$SERVER_PID")
    for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "$label: the server did not start; see $OUT/$label.log" >&2
    return 1
}

# measure LABEL COMMAND…: runs the attack on the client core against SERVER_PID and
# prints one table row. The server's CPU and peak RSS are sampled every 0.2 s, so a
# server killed by the ceiling still shows what it had spent until then.
measure() {
    local label=$1; shift
    local rss0 t0 t1 peak alive sampler samples="$OUT/$label.samples"
    sleep "${ATTACK_SETTLE:-3}"
    rss0=$(rss_mb "$SERVER_PID"); t0=$(cpu_ticks "$SERVER_PID")
    (
        while kill -0 "$SERVER_PID" 2>/dev/null; do
            # A dying process (a zombie) has no VmHWM any more: keep the last full sample.
            ticks=$(cpu_ticks "$SERVER_PID" 2>/dev/null || true)
            hwm=$(hwm_mb "$SERVER_PID" 2>/dev/null || true)
            if [ -n "$ticks" ] && [ -n "$hwm" ]; then echo "$ticks $hwm" >"$samples"; fi
            sleep 0.2
        done
    ) &
    sampler=$!
    "${CLIENT_CPU[@]}" "$@" >"$OUT/$label.attack.txt" 2>&1 || true
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        t1=$(cpu_ticks "$SERVER_PID"); peak=$(hwm_mb "$SERVER_PID"); alive=yes
        kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
    else
        read -r t1 peak <"$samples" || true
        peak="> ${peak:-?}"
        alive="no: $(grep -v '^ *[0-9]*: \|^ *at \|^$\|^Stack\|^stack\|^skipping' "$SERVER_LOG" | tail -n 1 | cut -c1-60)"
    fi
    kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
    printf '| %s | %s MB | %s MB | %s s | %s | %s |\n' "$label" "$rss0" "$peak" \
        "$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t / hz}')" "$alive" \
        "$(tail -n 3 "$OUT/$label.attack.txt" 2>/dev/null | tr '\n' ' ' | cut -c1-200 || true)" | tee -a "$OUT/attacks.md"
}

# builds: "before" when BEFORE is set, then "after".
attack_builds() {
    if [ -n "$BEFORE" ]; then echo "before target/bench-before-target/release/monitoring-websocket-server $PWD/target/bench-before/plugins"; fi
    echo "after target/release/monitoring-websocket-server $PWD/plugins"
}

echo "== issue 20 attacks, ${ATTACK_SECONDS} s each, memory ceiling ${ATTACK_MEMORY_MB} MB"
printf '| attack | RSS before | peak RSS | server CPU | survived | attacker saw |\n|---|---|---|---|---|---|\n' | tee "$OUT/attacks.md"

# 1. /api/history: a full history, then concurrent readers and slow readers.
while read -r build binary plugins; do
    config "$plugins" >"$OUT/history-$build.toml"; lift "$OUT/history-$build.toml"
    # A tick every 0.05 s fills 1000 snapshots in 50 s.
    sed -i -e '/^\[monitor\]/,/^\[/{s/^interval = .*/interval = 0.05/;s/^collect_timeout = .*/collect_timeout = 0.04/;s/^history_size = .*/history_size = 1000/}' \
        "$OUT/history-$build.toml"
    attack_server "history-$build" "$binary" "$OUT/history-$build.toml" 18921
    ATTACK_SETTLE=55 measure "1-history-$build" target/release/attack-history --port 18921 --seconds "$ATTACK_SECONDS"
done < <(attack_builds)

# 4 and 5. The fleet gateway: a flood of new host names, and oversize frames.
"${SERVER_CPU[@]}" "$NATS" -a 127.0.0.1 -p 14232 --auth "$ATTACK_TOKEN" >"$OUT/nats.log" 2>&1 &
PIDS+=($!)
sleep 1
for mode in names big; do
    while read -r build binary plugins; do
        config "$plugins" >"$OUT/fleet-$build.toml"; lift "$OUT/fleet-$build.toml"
        cat >>"$OUT/fleet-$build.toml" <<EOF

[fleet]
nats_url = "nats://127.0.0.1:14232"
host_name = "gateway"
token_env = "ATTACK_BENCH_TOKEN"
gateway = true
publish = false
EOF
        attack_server "fleet-$mode-$build" "$binary" "$OUT/fleet-$build.toml" 18922
        measure "$([ $mode = names ] && echo 4 || echo 5)-fleet-$mode-$build" target/release/attack-fleet \
            --nats nats://127.0.0.1:14232 --token "$ATTACK_TOKEN" --viewer ws://127.0.0.1:18922/ws \
            --mode "$mode" --seconds "$ATTACK_SECONDS"
    done < <(attack_builds)
done

# 6. WebSocket floods: empty continuation frames, and pings with their pongs drained.
for mode in continuation ping; do
    while read -r build binary plugins; do
        config "$plugins" >"$OUT/ws-$build.toml"; lift "$OUT/ws-$build.toml"
        attack_server "ws-$mode-$build" "$binary" "$OUT/ws-$build.toml" 18923
        measure "6-ws-$mode-$build" target/release/attack-ws --port 18923 --mode "$mode" \
            --connections 2 --reconnect --seconds "$ATTACK_SECONDS"
    done < <(attack_builds)
done
echo "== the table is in $OUT/attacks.md"
