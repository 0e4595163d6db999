#!/usr/bin/env bash
# Issue 26: what one overview client of a gateway costs, in bytes per second, with
# `subscribe {"hosts":["*"],"detail":"summary"}` against N synthetic hosts at 2 Hz
# (fleetbench publish, through a real nats-server), next to what the same client
# costs with whole frames (`hosts: ["*"]`). fleetbench's hosts move their CPU and
# network rates every frame and their memory every few seconds, as real machines do,
# so every row changes every second: a busy fleet's figure, not a calm one's.
#
#   bench/fleet_summary.sh [HOSTS] [SECONDS]      BIN=target/release (default target/debug)
#
# Needs: nats-server, python3 with `websockets`. Only 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS="${1:-2000}"
SECONDS_RUN="${2:-20}"
BIN="${BIN:-target/debug}"
OUT=target/bench/fleet_summary
mkdir -p "$OUT"
NATS_PORT=14322; GW_PORT=18970
. bench/fleet_gateway.sh
start_fleet_gateway "$OUT" "$BIN" "$NATS_PORT" "$GW_PORT"
"$BIN/fleetbench" publish --nats "nats://127.0.0.1:$NATS_PORT" --token "$FLEET_BENCH_TOKEN" \
    --hosts "$HOSTS" --template "$OUT/frame.json" 2>>"$OUT/publish.log" &
PIDS+=($!)
sleep 5
python3 - "$GW_PORT" "$SECONDS_RUN" <<'PY'
import asyncio, json, sys, time
import websockets

async def watch(port, seconds, subscribe):
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as ws:
        await ws.send(json.dumps(subscribe))
        start = time.monotonic(); first = None; total = 0; kinds = {}; row = 0
        while time.monotonic() - start < seconds:
            try:
                text = await asyncio.wait_for(ws.recv(), timeout=1)
            except asyncio.TimeoutError:
                continue
            message = json.loads(text)
            kind = message.get("type")
            if first is None and kind == "host_summaries":
                first = len(text)
                rows = message.get("hosts") or [{}]
                row = max(len(json.dumps(r, separators=(",", ":"))) for r in rows)
            total += len(text); kinds[kind] = kinds.get(kind, 0) + 1
        return total, first, kinds, row

async def main():
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    total, first, kinds, row = await watch(port, seconds, {"type": "subscribe", "hosts": ["*"], "detail": "summary"})
    print(f"summary: {total / seconds:,.0f} B/s over {seconds:.0f} s (greeting row batch {first} B, largest row {row} B), messages {kinds}")
    total, _, kinds, _ = await watch(port, min(seconds, 5), {"type": "subscribe", "hosts": ["*"]})
    print(f"whole frames: {total / min(seconds, 5):,.0f} B/s, messages {kinds}")

asyncio.run(main())
PY
echo "hosts=$HOSTS; every row changing every second would cost about hosts × (largest row + 1) B/s"
