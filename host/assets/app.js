// The live dashboard: one WebSocket to this server's /ws, plots seeded from
// /api/history when the server has it, the alert rules' thresholds on them (rules.js),
// active alerts and the alerts panel (alerts.js), and reconnection with back-off.
// A past range (range.js) draws the same plots from the history API instead (past.js,
// timeline.js) while the cards' numbers stay live.
//
// Messages only record data; the screen is brought up to date at most once per
// animation frame (requestAnimationFrame), however fast messages come, and the DOM
// is updated in place: elements are made once per core, disk, GPU or alert and then
// only their text or width changes.

import { panelCounts, snapshotAlerts, startAlertsPanel } from "./alerts.js";
import { askForToken, authHeaders, protocols, refusedForToken } from "./auth.js";
import { demoMessage } from "./demo.js";
import { drawFleet, fleetCounts, fleetMessage, onFleetDraw } from "./fleet.js";
import { onFilterChange } from "./fleetfilter.js";
import { bytesPerSecond, num, parseTime, percent, setText } from "./format.js";
import { ioNames, ioPlot, loadCpus, loadPlot, machineCounts, machineSample, netPlots, seriesColor } from "./machine.js";
import { hideMoment, momentCounts, momentShown, onMomentChange, showMoment } from "./moment.js";
import { genericCounts } from "./generic.js";
import { initPast, pastCounts, plotData, rangeEvents, resetPast } from "./past.js";
import { colors, coreAt, drawCores, drawSeries, onResize, sizeOf, watch } from "./plot.js";
import { currentRange, describe, onRangeChange, zoomTo } from "./range.js";
import { loadRules, rulesCounts, setRules, thresholdsOf } from "./rules.js";
import { drawRange } from "./timeline.js";
import {
  apply, coreUsage, counts, diskList, diskPaths, diskSeries, el, gpuList, gpuSeries, seedAlertStarts, SERIES, trackAlerts,
} from "./view.js";
import { enableZoom } from "./zoom.js";

/** How far back the plots reach; a young server's plots zoom out from the minimum. */
const WINDOW_MS = 5 * 60 * 1000;
const MIN_WINDOW_MS = 60 * 1000;
/** Snapshots asked of /api/history: the window at the default 0.5 s tick. */
const HISTORY_COUNT = 600;
/** A longer silence between two samples breaks the plotted line. */
const GAP_MS = 5000;
/** Reconnection back-off: first delay, doubled per failed attempt up to the cap. */
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
/** Connected but nothing received for this long: shown as stalled. */
const STALE_MS = 3000;
/** The rules are asked again this often (another client may have changed a threshold). */
const RULES_MS = 60 * 1000;

/** `?host=NAME` on a fleet gateway: that host's full view, fed by the gateway. */
const fleetHost = new URLSearchParams(location.search).get("host");
/** Whether this page is a gateway's fleet overview (when `/api/hosts` answers). */
let fleetView = false;

const errors = [];
addEventListener("error", (event) => errors.push(String(event.message)));
addEventListener("unhandledrejection", (event) => errors.push(String(event.reason)));

// ---- State -------------------------------------------------------------------

/**
 * One point per snapshot, oldest first: { t, cpu, mem, disks: Map(path → %), gpus: [{u, m}],
 * net: Map(interface → {rx, tx} bytes/s), io: Map(device → busy %), load }.
 */
const samples = [];
let pending = null; // the newest monitoring_data not yet on screen
let plotsDirty = true;
/** A past range's plots need drawing again (an answer came, the layout or size changed). */
let pastDirty = true;
let framePending = false;
let lastFrameMs = 0;
let lastDataAt = 0;

function sampleOf(t, data) {
  const disks = new Map();
  for (const disk of diskList(data)) disks.set(String(disk.path), num(disk.percentage));
  return {
    t,
    cpu: num(data.processor?.usage_percent),
    mem: num(data.memory?.percentage),
    disks,
    gpus: gpuList(data).map((g) => ({ u: num(g.gpu_usage_percent), m: num(g.memory_percentage) })),
    ...machineSample(data),
  };
}

function trim() {
  const cutoff = samples[samples.length - 1].t - WINDOW_MS - GAP_MS;
  let drop = 0;
  while (drop < samples.length && samples[drop].t < cutoff) drop += 1;
  if (drop > 0) samples.splice(0, drop);
}

/** Adds samples in any order, keeping one per timestamp. */
function merge(list) {
  if (list.length === 0) return;
  const all = samples.concat(list).sort((a, b) => a.t - b.t);
  samples.length = 0;
  for (const sample of all) {
    if (samples.length === 0 || samples[samples.length - 1].t !== sample.t) samples.push(sample);
  }
  trim();
}

/** Records a `monitoring_data` message; returns whether it was one. */
function ingest(message) {
  if (!message || message.type !== "monitoring_data") return false;
  if (!message.data || typeof message.data !== "object") return false;
  const t = parseTime(message.timestamp) ?? Date.now();
  const sample = sampleOf(t, message.data);
  trackAlerts(message);
  const last = samples[samples.length - 1];
  if (!last || t > last.t) {
    samples.push(sample);
    trim();
  } else {
    merge([sample]);
  }
  pending = message;
  plotsDirty = true; // the live plots move; a past range's stay (only the cores bars redraw)
  lastDataAt = performance.now();
  return true;
}

// ---- Drawing -----------------------------------------------------------------

function schedule() {
  if (!framePending) {
    framePending = true;
    requestAnimationFrame(frame);
  }
}

function frame() {
  framePending = false;
  const started = performance.now();
  if (fleetView) drawFleet();
  if (pending) {
    if (apply(pending)) redraw();
    pending = null;
  }
  if (plotsDirty) {
    plotsDirty = false;
    draw();
  }
  lastFrameMs = performance.now() - started;
}

/** Every plot (live or past) is drawn again at the next frame. */
function redraw() {
  plotsDirty = true;
  pastDirty = true;
  schedule();
}

/**
 * Every time plot with its lines; each line has its getter for live samples and its
 * stored series (the alert rules' path syntax) for a past range and the rules'
 * thresholds (`marksOf`).
 */
function plotSpecs() {
  const c = colors();
  const bytesScale = { base: 1024, min: 1024, label: bytesPerSecond };
  const specs = [
    { canvas: el.cpuPlot, lines: [{ color: c.cpu, fill: true, get: (s) => s.cpu, series: "processor.usage_percent" }] },
    { canvas: el.memPlot, lines: [{ color: c.mem, fill: true, get: (s) => s.mem, series: "memory.percentage" }] },
    {
      canvas: el.diskPlot,
      lines: diskPaths().map((path, i) => ({
        color: c[SERIES[i % SERIES.length]], fill: i === 0, get: (s) => s.disks.get(path) ?? null, series: diskSeries(path),
      })),
    },
  ];
  gpuSeries().forEach(({ plot, path }, i) => specs.push({
    canvas: plot,
    lines: [
      { color: c.gpu, fill: true, get: (s) => s.gpus[i]?.u ?? null, series: `${path}.gpu_usage_percent` },
      { color: c.mem, get: (s) => s.gpus[i]?.m ?? null, series: `${path}.memory_percentage` },
    ],
  }));
  for (const { canvas, name } of netPlots()) {
    const path = `network.interfaces[${name}]`;
    specs.push({
      canvas,
      scale: bytesScale,
      lines: [
        { color: c.cpu, fill: true, get: (s) => s.net?.get(name)?.rx ?? null, series: `${path}.rx_bytes_per_sec` },
        { color: c.gpu, get: (s) => s.net?.get(name)?.tx ?? null, series: `${path}.tx_bytes_per_sec` },
      ],
    });
  }
  specs.push({
    canvas: ioPlot,
    lines: ioNames().map((name, i) => ({
      color: c[seriesColor(i)], fill: i === 0, get: (s) => s.io?.get(name) ?? null,
      series: `disk_io.devices[${name}].busy_percent`,
    })),
  });
  const cpus = loadCpus();
  specs.push({
    canvas: loadPlot,
    scale: { reference: cpus ?? undefined, min: 1, label: (top) => `load ${top}` },
    lines: [{ color: c.mem, fill: true, get: (s) => s.load ?? null, series: "load.load1" }],
  });
  return specs;
}

function draw() {
  const range = currentRange();
  if (range.live) {
    const end = samples.length > 0 ? samples[samples.length - 1].t : Date.now();
    const span = samples.length > 0 ? end - samples[0].t : 0;
    const windowMs = Math.min(WINDOW_MS, Math.max(MIN_WINDOW_MS, span));
    for (const { canvas, lines, scale } of plotSpecs()) {
      drawSeries(canvas, samples, lines, end, windowMs, GAP_MS, scale ?? null, marksOf(lines));
    }
  } else if (pastDirty) {
    pastDirty = false;
    drawPast(range);
  }
  drawCores(el.cores, coreUsage());
}

/** The thresholds of the rules on the values a plot's `lines` draw. */
const marksOf = (lines) => thresholdsOf(lines.map((line) => line.series));

/** Asks for the rules again; the plots redraw when they changed. */
async function reloadRules() {
  if (await loadRules()) redraw();
}

/** The seconds between two snapshots, from the live samples (0.5 s until there are some). */
function tickSeconds() {
  const n = Math.min(10, samples.length - 1);
  if (n < 1) return 0.5;
  return (samples[samples.length - 1].t - samples[samples.length - 1 - n].t) / n / 1000;
}

/** Draws every plot over a past `range` from what the history API answered (asking once per plot). */
function drawPast(range) {
  const events = rangeEvents(range);
  const marker = momentShown();
  const tick = tickSeconds();
  for (const { canvas, lines, scale } of plotSpecs()) {
    if (lines.length === 0) {
      drawRange(canvas, { lines: [], from: range.from, to: range.to, events, scale, marker, marks: [] });
      continue;
    }
    const entry = plotData(canvas, lines.map((line) => line.series), range, sizeOf(canvas).w);
    const past = lines.map((line, i) => {
      const result = entry.results[i] ?? { step: 0, points: [] };
      // A band only where a point stands for several snapshots.
      return { ...line, points: result.points, step: result.step, band: result.step > tick * 1.5 };
    });
    const note = entry.state === "loading" ? "loading…" : entry.state === "error" ? "history unavailable" : "";
    canvas.title = entry.error;
    drawRange(canvas, { lines: past, from: range.from, to: range.to, events, scale, marker, note, marks: marksOf(lines) });
  }
}

// ---- Connection ---------------------------------------------------------------

let state = "connecting";
let socket = null;
let attempt = 0;
let retryAt = 0;
let retryTimer = 0;

function showState() {
  let label = state === "connecting" ? "connecting…" : state === "locked" ? "token needed" : state;
  let eta = "";
  if (state === "reconnecting") {
    // The countdown is for the eye only: a screen reader hears the state change once.
    const left = Math.max(0, Math.ceil((retryAt - performance.now()) / 1000));
    eta = left > 0 ? ` in ${left} s` : "…";
  }
  let shown = state;
  if (state === "live" && performance.now() - lastDataAt > STALE_MS) {
    label = "stalled";
    shown = "stale";
  }
  if (el.conn.dataset.state !== shown) {
    el.conn.dataset.state = shown;
    el.conn.className = `pill ${shown}`;
  }
  setText(el.connLabel, label);
  setText(el.connEta, eta);
}

function setState(next) {
  state = next;
  showState();
}

function connect() {
  clearTimeout(retryTimer);
  retryAt = 0;
  showState();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let ws;
  try {
    ws = new WebSocket(`${scheme}://${location.host}/ws`, protocols());
  } catch (error) {
    errors.push(String(error));
    retry();
    return;
  }
  socket = ws;
  let opened = false;
  ws.onopen = () => {
    opened = true;
    // Once the token is known good: a page still asking for one must not poll with a wrong one.
    startAlertsPanel();
    reloadRules();
    if (fleetView || fleetHost) {
      // The overview takes summary rows (issue 26); a host's own page its full frames.
      const subscribe = fleetView ? { hosts: ["*"], detail: "summary" } : { hosts: [fleetHost] };
      ws.send(JSON.stringify({ type: "subscribe", ...subscribe }));
      return; // The gateway's history is its own, not the fleet's.
    }
    // On every (re)connect: fills the plots, including any gap while we were away.
    seedHistory();
  };
  ws.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (fleetView && fleetMessage(message)) {
      lastDataAt = performance.now();
      attempt = 0;
      if (state !== "live") setState("live");
      schedule();
      return;
    }
    if (fleetHost && message?.type === "monitoring_data" && message.host !== fleetHost) return;
    if (ingest(message)) {
      snapshotAlerts(message);
      attempt = 0;
      if (state !== "live") setState("live");
      schedule();
    } else if (message?.type === "connection") {
      lastDataAt = performance.now();
      setState("live");
    } else if (message?.type === "reload_result" || message?.type === "thresholds_updated") {
      reloadRules();
    } else if (message?.type === "rules") {
      if (setRules(message)) redraw();
    }
  };
  ws.onclose = async () => {
    if (socket !== ws) return;
    socket = null;
    // A refused upgrade looks like any failure to a page: ask the server why.
    if (!opened && (await refusedForToken())) {
      setState("locked");
      await askForToken();
      attempt = 0;
      connect();
      return;
    }
    retry();
  };
}

function retry() {
  attempt += 1;
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (attempt - 1));
  const delay = base / 2 + Math.random() * (base / 2); // jitter: many tabs do not reconnect in step
  retryAt = performance.now() + delay;
  setState("reconnecting");
  retryTimer = setTimeout(connect, delay);
}

addEventListener("online", () => {
  if (!socket && state === "reconnecting") connect();
});

async function seedHistory() {
  const get = (url) => fetch(url, { headers: authHeaders({ accept: "application/json" }) });
  let response;
  try {
    response = await get(`/api/history?count=${HISTORY_COUNT}`);
    // A server with a smaller `history_size` refuses the count: then take all it has.
    if (response.status === 400) response = await get("/api/history");
  } catch {
    setText(el.historyNote, "History is unavailable; plots start now.");
    return;
  }
  if (!response.ok) {
    setText(el.historyNote, `No history from the server (HTTP ${response.status}); plots start now.`);
    return;
  }
  let body;
  try {
    body = await response.json();
  } catch {
    return;
  }
  const list = Array.isArray(body) ? body : body?.snapshots ?? body?.history ?? body?.items ?? body?.data;
  if (!Array.isArray(list)) return;
  const seeded = [];
  const messages = [];
  let newest = null;
  for (const item of list) {
    const data = item?.data;
    const t = parseTime(item?.timestamp);
    if (data && typeof data === "object" && t !== null) {
      seeded.push(sampleOf(t, data));
      messages.push(item);
      if (!newest || t >= newest.t) newest = { t, item };
    }
  }
  merge(seeded);
  seedAlertStarts(messages);
  if (!pending && lastDataAt === 0 && newest) {
    pending = { type: "monitoring_data", ...newest.item };
  }
  const n = seeded.length;
  setText(el.historyNote, `Seeded with ${n} snapshot${n === 1 ? "" : "s"} from /api/history.`);
  plotsDirty = true;
  schedule();
}

// ---- Demo and test hook -------------------------------------------------------

function startDemo(spec) {
  const match = /^(\d{1,4})x(\d{1,2})$/.exec(spec);
  const cores = match ? Number(match[1]) : 64;
  const gpus = match ? Number(match[2]) : 8;
  state = "demo";
  const now = Date.now();
  const history = Array.from({ length: HISTORY_COUNT }, (_, i) => demoMessage(cores, gpus, now - (HISTORY_COUNT - i) * 500));
  merge(history.map((m) => sampleOf(parseTime(m.timestamp), m.data)));
  history.forEach(trackAlerts);
  const tick = () => {
    ingest(demoMessage(cores, gpus));
    showState();
    schedule();
  };
  tick();
  setInterval(tick, 500);
  setText(el.historyNote, `Demo: a synthetic machine with ${cores} cores and ${gpus} GPUs.`);
}

window.__dashboard = {
  /** Shows `message` now (without waiting for a frame); returns the milliseconds it took. */
  render(message) {
    const started = performance.now();
    ingest(message);
    frame();
    return performance.now() - started;
  },
  /** Records fleet `messages` and draws the tiles now; returns the milliseconds it took. */
  renderFleet(messages) {
    const started = performance.now();
    for (const message of messages) fleetMessage(message);
    drawFleet();
    return performance.now() - started;
  },
  demoMessage,
  state: () => ({
    connection: state, samples: samples.length, ...counts(), ...machineCounts(), ...genericCounts(), fleet: fleetCounts(), lastFrameMs,
    errors: errors.slice(), range: { ...currentRange(), label: describe(currentRange()) }, past: pastCounts(),
    moment: momentCounts(), alertsPanel: panelCounts(), rules: rulesCounts(),
  }),
};

// ---- Start --------------------------------------------------------------------

for (const canvas of [el.cpuPlot, el.memPlot, el.diskPlot, el.cores, ioPlot, loadPlot]) watch(canvas);
onResize(redraw);
initPast(fleetHost, redraw);
onMomentChange(redraw);
onRangeChange((range) => {
  resetPast();
  el.windowNote.hidden = !range.live;
  if (range.live) hideMoment();
  redraw();
});
enableZoom({ onZoom: zoomTo, onPick: showMoment });
onFilterChange(schedule);
onFleetDraw(schedule);
el.cores.addEventListener("mousemove", (event) => {
  const index = coreAt(el.cores, event.offsetX, event.offsetY);
  el.cores.title = index < 0 ? "" : `Core ${index}: ${percent(coreUsage()[index])}`;
});
setText(el.windowMin, String(WINDOW_MS / 60000));
setInterval(showState, 500);
const demo = new URLSearchParams(location.search).get("demo");
if (demo !== null) startDemo(demo);
else start();

/** Connects as a gateway's fleet overview, one fleet host's view, or this server's own. */
async function start() {
  if (fleetHost) {
    document.getElementById("fleet-back").hidden = false;
  } else {
    try {
      const reply = await fetch("/api/hosts", { headers: authHeaders({ accept: "application/json" }) });
      fleetView = reply.ok;
    } catch {
      fleetView = false;
    }
    if (fleetView) {
      document.body.classList.add("fleet-mode");
      document.getElementById("fleet").hidden = false;
    }
  }
  connect();
  setInterval(reloadRules, RULES_MS);
}
