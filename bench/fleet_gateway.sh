# Sourced by the fleet benchmarks (fleet_summary.sh, fleet_phone.sh): a real
# nats-server and a gateway with a few real collectors on 127.0.0.1, both ended when
# the script exits, and a real frame of this machine in $OUT/frame.json for
# `fleetbench publish`.
#
#   start_fleet_gateway OUT BIN NATS_PORT GW_PORT [PREFIX...]
#
# PREFIX (e.g. `taskset -c 0`) runs before both servers. Sets and exports
# FLEET_BENCH_TOKEN (the bus's token) and GW_PID; PIDS holds what to stop.

PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

start_fleet_gateway() {
    local out="$1" bin nats_port="$3" gw_port="$4" nats lib
    bin="$(cd "$2" && pwd)"
    shift 4
    nats="$(command -v nats-server || echo /usr/sbin/nats-server)"
    FLEET_BENCH_TOKEN="fleet-bench-token-$RANDOM$RANDOM"
    export FLEET_BENCH_TOKEN
    "$@" "$nats" -a 127.0.0.1 -p "$nats_port" --auth "$FLEET_BENCH_TOKEN" >"$out/nats.log" 2>&1 &
    PIDS+=($!)
    sleep 1
    # A few real collectors (the build folder also holds the deliberately broken
    # fixtures), and a fresh history store (`data` beside gateway.toml).
    rm -rf "$out/plugins" "$out/data"
    mkdir -p "$out/plugins"
    for lib in collector_cpu collector_memory collector_disk collector_system collector_load collector_network; do
        ln -sf "$bin/lib$lib.so" "$out/plugins/lib$lib.so"
    done
    cat >"$out/gateway.toml" <<CONF
[monitor]
plugins_dir = "$(cd "$out" && pwd)/plugins"

[fleet]
nats_url = "nats://127.0.0.1:$nats_port"
host_name = "gateway"
token_env = "FLEET_BENCH_TOKEN"
gateway = true
publish = false
CONF
    RUST_LOG=warn "$@" "$bin/monitoring-websocket-server" --config "$out/gateway.toml" \
        --host 127.0.0.1 --port "$gw_port" >"$out/gateway.log" 2>&1 &
    GW_PID=$!
    PIDS+=($GW_PID)
    sleep 3
    python3 - "$gw_port" >"$out/frame.json" <<'PY'
import json, sys, urllib.request
m = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/current"))
m["type"] = "monitoring_data"
print(json.dumps(m))
PY
}
