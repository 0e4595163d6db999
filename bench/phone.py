#!/usr/bin/env python3
"""The fleet overview in a browser on a phone (issue 26: "the overview of 2,000 hosts
usable in a browser on a phone"), next to the same page on a desktop, in one run.

Drives headless Chromium over the DevTools protocol (`websockets`, no other package).
The phone is a 390 x 844 touch screen at device scale 3 with the CPU slowed 4 times,
Lighthouse's mobile setting for a mid-range phone against a desktop core; the desktop
is 1400 x 1000 at full speed. For each it reports:

- how long from opening the page until every host has its tile;
- over SECONDS of live updates, the page left alone: the main thread's busy share
  (DevTools' TaskDuration), long tasks (over 50 ms) per minute, JS heap, DOM nodes;
- while scrolling down for 5 s at 2,000 px/s: frame intervals p50/p95/max;
- three things a person does, each timed from the input to the frame that shows it:
  a search by name, the table view, sort by CPU.

    bench/phone.py URL HOSTS SECONDS        CHROMIUM=/path/to/chromium (default: chromium)
"""

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets

PROFILES = {
    "desktop": {"width": 1400, "height": 1000, "scale": 1, "mobile": False, "slowdown": 1},
    "phone": {"width": 390, "height": 844, "scale": 3, "mobile": True, "slowdown": 4},
}

# Installed before the page's own scripts: every long task's duration.
PROBE = """
window.__phone = { longTasks: [] };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__phone.longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
"""

# Scrolls down the page for `ms` as a thumb does (a steady 2,000 px/s, 60 frames a
# second), recording each animation frame's time; returns the frame times.
SCROLL = """
(async (ms) => {
  const frames = [];
  const started = performance.now();
  await new Promise((done) => {
    const step = (t) => {
      frames.push(t);
      window.scrollBy(0, 33);
      if (t - started < ms) requestAnimationFrame(step); else done();
    };
    requestAnimationFrame(step);
  });
  window.scrollTo(0, 0);
  return frames;
})(%d)
"""

# Each action is timed from the input event to the second frame after it (the first
# frame after the input draws it, the second has it painted).
ACTIONS = """
(async () => {
  const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const set = (id, value) => {
    const e = document.getElementById(id);
    e.value = value;
    e.dispatchEvent(new Event("input", { bubbles: true }));
  };
  const time = async (id, value) => {
    await frames();
    const started = performance.now();
    set(id, value);
    await frames();
    return performance.now() - started;
  };
  const searched = await time("fleet-search", "synthetic-01");
  const shown = window.__dashboard.state().fleet.shown;
  await time("fleet-search", "");
  const table = await time("fleet-view", "table");
  const rows = window.__dashboard.state().fleet.rows;
  const sorted = await time("fleet-sort", "cpu");
  await time("fleet-view", "tiles");
  await time("fleet-sort", "trouble");
  return { searched, shown, table, rows, sorted };
})()
"""


class DevTools:
    """One page's DevTools connection: calls by id, events skipped."""

    def __init__(self, ws):
        self.ws = ws
        self.last_id = 0

    async def call(self, method, **params):
        self.last_id += 1
        await self.ws.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == self.last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def evaluate(self, expression):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def metrics(self):
        reply = await self.call("Performance.getMetrics")
        return {m["name"]: m["value"] for m in reply["metrics"]}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def measure(chromium, url, hosts, seconds, profile):
    port = free_port()
    profile_dir = tempfile.mkdtemp(prefix="phone-bench-")
    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage",
         f"--remote-debugging-port={port}", f"--user-data-dir={profile_dir}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
                page = next(t for t in targets if t["type"] == "page")
                break
            except (OSError, StopIteration):
                if time.monotonic() > deadline:
                    raise SystemExit(f"{chromium} did not open its DevTools port")
                await asyncio.sleep(0.1)
        async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
            tools = DevTools(ws)
            await tools.call("Performance.enable")
            await tools.call("Page.enable")
            await tools.call("Emulation.setDeviceMetricsOverride", width=profile["width"], height=profile["height"],
                             deviceScaleFactor=profile["scale"], mobile=profile["mobile"])
            await tools.call("Emulation.setTouchEmulationEnabled", enabled=profile["mobile"])
            await tools.call("Emulation.setCPUThrottlingRate", rate=profile["slowdown"])
            await tools.call("Page.addScriptToEvaluateOnNewDocument", source=PROBE)
            opened = time.monotonic()
            await tools.call("Page.navigate", url=url)
            while True:
                tiles = await tools.evaluate("window.__dashboard?.state().fleet.tiles ?? 0")
                if tiles >= hosts:
                    break
                if time.monotonic() - opened > 180:
                    raise SystemExit(f"only {tiles} of {hosts} tiles after 180 s")
                await asyncio.sleep(0.05)
            all_tiles = time.monotonic() - opened
            await asyncio.sleep(3)
            await tools.evaluate("window.__phone.longTasks = []; true")
            before = await tools.metrics()
            await asyncio.sleep(seconds)
            after = await tools.metrics()
            probe = await tools.evaluate("window.__phone")
            frames = await tools.evaluate(SCROLL % 5000)
            actions = await tools.evaluate(ACTIONS)
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile_dir, ignore_errors=True)
    gaps = [b - a for a, b in zip(frames, frames[1:])]
    return {
        "all_tiles_s": all_tiles,
        "busy": (after["TaskDuration"] - before["TaskDuration"]) / seconds,
        "script_share": (after["ScriptDuration"] - before["ScriptDuration"]) / seconds,
        "layout_style_share": (after["LayoutDuration"] - before["LayoutDuration"]
                               + after["RecalcStyleDuration"] - before["RecalcStyleDuration"]) / seconds,
        "frame_p50": percentile(gaps, 50), "frame_p95": percentile(gaps, 95), "frame_max": max(gaps, default=0),
        "long_tasks_per_min": len(probe["longTasks"]) * 60 / seconds,
        "longest_task": max(probe["longTasks"], default=0),
        "heap_mib": after["JSHeapUsedSize"] / 2**20, "nodes": int(after["Nodes"]),
        "thread_share": (after["ThreadTime"] - before["ThreadTime"]) / seconds,
        "other_share": (after["TaskOtherDuration"] - before["TaskOtherDuration"]) / seconds,
        **actions,
    }


async def main():
    url, hosts, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "chromium"
    for name, profile in PROFILES.items():
        r = await measure(chromium, url, hosts, seconds, profile)
        print(f"{name}: hosts={hosts} all_tiles={r['all_tiles_s']:.1f}s busy={r['busy']:.0%} "
              f"(script {r['script_share']:.0%}, layout+style {r['layout_style_share']:.0%}, other {r['other_share']:.0%}; cpu {r['thread_share']:.0%}) "
              f"scroll_frame_ms_p50={r['frame_p50']:.1f} p95={r['frame_p95']:.1f} max={r['frame_max']:.0f} "
              f"long_tasks_per_min={r['long_tasks_per_min']:.0f} longest={r['longest_task']:.0f}ms "
              f"heap={r['heap_mib']:.1f}MiB nodes={r['nodes']} "
              f"search={r['searched']:.0f}ms (shown {r['shown']}) table={r['table']:.0f}ms ({r['rows']} rows) "
              f"sort_cpu={r['sorted']:.0f}ms", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
