// The live dashboard: one WebSocket to this server's /ws, plots seeded from
// /api/history when the server has it, active alerts, and reconnection with back-off.
//
// Messages only record data; the screen is brought up to date at most once per
// animation frame (requestAnimationFrame), however fast messages come, and the DOM
// is updated in place: elements are made once per core, disk, GPU or alert and then
// only their text or width changes.

import { bytes, bytesOf, celsius, clock, duration, megahertz, num, parseTime, percent, setText, watts } from "./format.js";
import { colors, coreAt, drawCores, drawSeries, onResize, watch } from "./plot.js";

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
/** Line colours for several disks, as palette keys. */
const SERIES = ["disk", "cpu", "mem", "gpu", "temp"];

const errors = [];
addEventListener("error", (event) => errors.push(String(event.message)));
addEventListener("unhandledrejection", (event) => errors.push(String(event.reason)));

const $ = (id) => document.getElementById(id);
const el = {
  conn: $("conn"), connLabel: $("conn-label"), connEta: $("conn-eta"), lastUpdate: $("last-update"), host: $("host"),
  alerts: $("alerts"), alertList: $("alert-list"),
  cpuCard: $("cpu-card"), cpuValue: $("cpu-value"), cpuPlot: $("cpu-plot"),
  cpuCores: $("cpu-cores"), cpuThreads: $("cpu-threads"), cpuFreq: $("cpu-freq"),
  cpuFreqMax: $("cpu-freq-max"), cores: $("cores"),
  memCard: $("mem-card"), memValue: $("mem-value"), memPlot: $("mem-plot"), memBar: $("mem-bar"),
  memUsed: $("mem-used"), memAvail: $("mem-avail"), memTotal: $("mem-total"),
  diskCard: $("disk-card"), diskValue: $("disk-value"), diskPlot: $("disk-plot"), diskList: $("disk-list"),
  sysHostname: $("sys-hostname"), sysPlatform: $("sys-platform"), sysProcessor: $("sys-processor"),
  sysArch: $("sys-arch"), sysProcesses: $("sys-processes"), sysBoot: $("sys-boot"), sysUptime: $("sys-uptime"),
  gpuSection: $("gpu-section"), gpuSummary: $("gpu-summary"), gpuList: $("gpu-list"),
  windowMin: $("window-min"), historyNote: $("history-note"),
};

// ---- State -------------------------------------------------------------------

/** One point per snapshot, oldest first: { t, cpu, mem, disks: Map(path → %), gpus: [{u, m}] }. */
const samples = [];
let pending = null; // the newest monitoring_data not yet on screen
let plotsDirty = true;
let framePending = false;
let lastFrameMs = 0;
let lastDataAt = 0;
let coreValues = [];
const diskRows = new Map(); // path → row elements
const gpuCards = new Map(); // GPU id → card elements
const alertRows = new Map(); // component|metric|n → row elements

function diskList(data) {
  if (Array.isArray(data.disks) && data.disks.length > 0) return data.disks;
  return data.disk && typeof data.disk === "object" ? [data.disk] : [];
}

function gpuList(data) {
  const gpu = data.gpu;
  if (!gpu || typeof gpu !== "object") return [];
  if (Array.isArray(gpu.gpus)) return gpu.gpus.filter((g) => g && typeof g === "object");
  return "name" in gpu || "gpu_usage_percent" in gpu ? [gpu] : [];
}

function sampleOf(t, data) {
  const disks = new Map();
  for (const disk of diskList(data)) disks.set(String(disk.path), num(disk.percentage));
  return {
    t,
    cpu: num(data.processor?.usage_percent),
    mem: num(data.memory?.percentage),
    disks,
    gpus: gpuList(data).map((g) => ({ u: num(g.gpu_usage_percent), m: num(g.memory_percentage) })),
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
  const last = samples[samples.length - 1];
  if (!last || t > last.t) {
    samples.push(sample);
    trim();
  } else {
    merge([sample]);
  }
  pending = message;
  plotsDirty = true;
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
  if (pending) {
    apply(pending);
    pending = null;
  }
  if (plotsDirty) {
    plotsDirty = false;
    draw();
  }
  lastFrameMs = performance.now() - started;
}

function draw() {
  const end = samples.length > 0 ? samples[samples.length - 1].t : Date.now();
  const span = samples.length > 0 ? end - samples[0].t : 0;
  const windowMs = Math.min(WINDOW_MS, Math.max(MIN_WINDOW_MS, span));
  const c = colors();
  const plot = (canvas, lines) => drawSeries(canvas, samples, lines, end, windowMs, GAP_MS);
  plot(el.cpuPlot, [{ color: c.cpu, fill: true, get: (s) => s.cpu }]);
  plot(el.memPlot, [{ color: c.mem, fill: true, get: (s) => s.mem }]);
  plot(el.diskPlot, [...diskRows.keys()].map((path, i) => ({
    color: c[SERIES[i % SERIES.length]], fill: i === 0, get: (s) => s.disks.get(path) ?? null,
  })));
  let index = 0;
  for (const card of gpuCards.values()) {
    const i = index;
    plot(card.plot, [
      { color: c.gpu, fill: true, get: (s) => s.gpus[i]?.u ?? null },
      { color: c.mem, get: (s) => s.gpus[i]?.m ?? null },
    ]);
    index += 1;
  }
  drawCores(el.cores, coreValues);
}

function setWidth(element, value) {
  const width = `${Math.max(0, Math.min(100, num(value) ?? 0))}%`;
  if (element.__width !== width) {
    element.__width = width;
    element.style.width = width;
  }
}

function make(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.append(node);
  return node;
}

function apply(message) {
  const data = message.data;
  setText(el.lastUpdate, clock(message.timestamp));
  el.lastUpdate.dateTime = String(message.timestamp ?? "");
  applyCpu(data.processor);
  applyMemory(data.memory);
  applyDisks(diskList(data));
  applySystem(data.system, parseTime(message.timestamp));
  applyGpus(data.gpu, gpuList(data));
  applyAlerts(Array.isArray(message.alerts) ? message.alerts : []);
}

function applyCpu(p = {}) {
  setText(el.cpuValue, percent(p.usage_percent));
  setText(el.cpuCores, String(num(p.core_count) ?? "—"));
  setText(el.cpuThreads, String(num(p.logical_count) ?? "—"));
  setText(el.cpuFreq, megahertz(p.frequency_current));
  setText(el.cpuFreqMax, megahertz(p.frequency_max));
  coreValues = Array.isArray(p.per_core_usage) ? p.per_core_usage.map(num) : [];
  const label = `Usage per core (${coreValues.length})`;
  if (el.cores.getAttribute("aria-label") !== label) el.cores.setAttribute("aria-label", label);
}

function applyMemory(m = {}) {
  setText(el.memValue, percent(m.percentage));
  setWidth(el.memBar, m.percentage);
  setText(el.memUsed, bytes(m.used));
  setText(el.memAvail, bytes(m.available));
  setText(el.memTotal, bytes(m.total));
}

function makeDiskRow(path, index) {
  const li = make("li");
  const name = make("span", "path", li);
  const swatch = make("i", "swatch", name);
  swatch.style.background = `var(--${SERIES[index % SERIES.length]})`;
  name.append(path);
  name.title = path;
  const meter = make("div", "meter", li);
  const bar = make("span", "", meter);
  const pct = make("span", "pct", li);
  const detail = make("span", "detail muted", li);
  return { li, bar, pct, detail };
}

function applyDisks(list) {
  const seen = new Set();
  list.forEach((disk, i) => {
    const path = String(disk.path ?? `disk ${i}`);
    seen.add(path);
    let row = diskRows.get(path);
    if (!row) {
      row = makeDiskRow(path, diskRows.size);
      diskRows.set(path, row);
      el.diskList.append(row.li);
      plotsDirty = true;
    }
    setText(row.pct, percent(disk.percentage));
    setWidth(row.bar, disk.percentage);
    setText(row.detail, `${bytes(disk.used)} used of ${bytes(disk.total)}, ${bytes(disk.free)} free`);
  });
  for (const [path, row] of diskRows) {
    if (!seen.has(path)) {
      row.li.remove();
      diskRows.delete(path);
      plotsDirty = true;
    }
  }
  setText(el.diskValue, list.length > 0 ? percent(list[0].percentage) : "—");
}

function applySystem(s = {}, now) {
  const hostname = s.hostname ? String(s.hostname) : "—";
  setText(el.host, hostname);
  setText(el.sysHostname, hostname);
  const title = s.hostname ? `${hostname} · System monitor` : "System monitor";
  if (document.title !== title) document.title = title;
  setText(el.sysPlatform, String(s.platform ?? s.os_name ?? "—"));
  setText(el.sysProcessor, String(s.processor || "—"));
  setText(el.sysArch, String(s.architecture ?? s.machine ?? "—"));
  setText(el.sysProcesses, num(s.processes) === null ? "—" : String(s.processes));
  const boot = typeof s.boot_time === "string" ? s.boot_time : null;
  setText(el.sysBoot, boot ? boot.slice(0, 16).replace("T", " ") : "—");
  const bootMs = parseTime(boot);
  setText(el.sysUptime, bootMs === null || now === null ? "—" : duration(now - bootMs));
}

function makeGpuCard(gpu) {
  const card = make("article", "card gpu-card");
  const header = make("header", "", card);
  const name = make("h3", "", header);
  const usage = make("span", "big", header);
  const plot = make("canvas", "plot", card);
  plot.setAttribute("aria-label", "GPU and memory usage, last minutes");
  const legend = make("div", "legend muted", card);
  for (const [key, text] of [["gpu", "utilization"], ["mem", "memory"]]) {
    const item = make("span", "", legend);
    make("i", "swatch", item).style.background = `var(--${key})`;
    item.append(text);
  }
  const facts = make("dl", "facts", card);
  const fact = (label) => {
    const div = make("div", "", facts);
    make("dt", "", div).textContent = label;
    return make("dd", "", div);
  };
  const memory = fact("Memory");
  const out = {
    card, name, usage, plot, memory: make("span", "", memory), memoryBytes: make("small", "muted", memory),
    temp: fact("Temp"), power: fact("Power"),
  };
  watch(plot);
  return out;
}

function applyGpus(section, list) {
  const seen = new Set();
  list.forEach((gpu, i) => {
    const id = num(gpu.id) ?? i;
    seen.add(id);
    let card = gpuCards.get(id);
    if (!card) {
      card = makeGpuCard(gpu);
      gpuCards.set(id, card);
      el.gpuList.append(card.card);
      plotsDirty = true;
    }
    const name = `GPU ${id} · ${gpu.name ?? "unknown"}`;
    setText(card.name, name);
    card.name.title = name;
    setText(card.usage, percent(gpu.gpu_usage_percent));
    setText(card.memory, percent(gpu.memory_percentage));
    setText(card.memoryBytes, bytesOf(gpu.memory_used, gpu.memory_total));
    setText(card.temp, celsius(gpu.temperature));
    setText(card.power, watts(gpu.power_draw, gpu.power_limit));
  });
  for (const [id, card] of gpuCards) {
    if (!seen.has(id)) {
      card.card.remove();
      gpuCards.delete(id);
      plotsDirty = true;
    }
  }
  el.gpuSection.hidden = gpuCards.size === 0;
  const backend = section && typeof section.backend === "string" ? ` via ${section.backend}` : "";
  setText(el.gpuSummary, gpuCards.size > 0 ? `${gpuCards.size}${backend}` : "");
}

const CARD_OF = { cpu: "cpuCard", processor: "cpuCard", memory: "memCard", disk: "diskCard" };

function applyAlerts(list) {
  const seen = new Set();
  const occurrences = new Map();
  const cardLevel = new Map();
  for (const alert of list) {
    if (!alert || typeof alert !== "object") continue;
    const base = `${alert.component}|${alert.metric}`;
    const n = occurrences.get(base) ?? 0;
    occurrences.set(base, n + 1);
    const key = `${base}|${n}`;
    seen.add(key);
    let row = alertRows.get(key);
    if (!row) {
      const li = make("li", "alert");
      row = { li, level: make("span", "level", li), text: make("span", "text", li), since: make("span", "since", li) };
      row.since.textContent = `since ${clock(alert.timestamp)}`;
      alertRows.set(key, row);
      el.alertList.append(li);
    }
    const level = String(alert.level).toUpperCase() === "CRITICAL" ? "critical" : "warning";
    if (row.li.dataset.level !== level) {
      row.li.dataset.level = level;
      row.li.className = `alert ${level}`;
      setText(row.level, level.toUpperCase());
    }
    setText(row.text, String(alert.message ?? `${alert.component} ${alert.metric}: ${alert.value}`));
    const card = CARD_OF[alert.component];
    if (card && cardLevel.get(card) !== "critical") cardLevel.set(card, level);
  }
  for (const [key, row] of alertRows) {
    if (!seen.has(key)) {
      row.li.remove();
      alertRows.delete(key);
    }
  }
  el.alerts.hidden = alertRows.size === 0;
  for (const card of new Set(Object.values(CARD_OF))) {
    const level = cardLevel.get(card);
    el[card].classList.toggle("alerting", level !== undefined);
    el[card].classList.toggle("critical", level === "critical");
  }
}

// ---- Connection ---------------------------------------------------------------

let state = "connecting";
let socket = null;
let attempt = 0;
let retryAt = 0;
let retryTimer = 0;

function showState() {
  let label = state === "connecting" ? "connecting…" : state;
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
    ws = new WebSocket(`${scheme}://${location.host}/ws`);
  } catch (error) {
    errors.push(String(error));
    retry();
    return;
  }
  socket = ws;
  ws.onopen = () => {
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
    if (ingest(message)) {
      attempt = 0;
      if (state !== "live") setState("live");
      schedule();
    } else if (message?.type === "connection") {
      lastDataAt = performance.now();
      setState("live");
    }
  };
  ws.onclose = () => {
    if (socket === ws) {
      socket = null;
      retry();
    }
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
  const get = (url) => fetch(url, { headers: { accept: "application/json" } });
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
  let newest = null;
  for (const item of list) {
    const data = item?.data;
    const t = parseTime(item?.timestamp);
    if (data && typeof data === "object" && t !== null) {
      seeded.push(sampleOf(t, data));
      if (!newest || t >= newest.t) newest = { t, item };
    }
  }
  merge(seeded);
  if (!pending && lastDataAt === 0 && newest) {
    pending = { type: "monitoring_data", ...newest.item };
  }
  setText(el.historyNote, `Seeded with ${seeded.length} snapshots from /api/history.`);
  plotsDirty = true;
  schedule();
}

// ---- Demo and test hook -------------------------------------------------------

function isoLocal(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`;
}

/** A synthetic snapshot of a big machine: `cores` cores, `gpus` GPUs, three disks. */
function demoMessage(cores = 64, gpus = 8, t = Date.now()) {
  const s = t / 1000;
  // Slow swells with a little ripple, each core and GPU out of phase with the others.
  const wave = (i, base, amp) =>
    base + amp * Math.sin(s * 0.05 + i * 1.7) + (amp / 5) * Math.sin(s * 0.3 + i * 0.6);
  const pct = (v) => Math.round(Math.max(0, Math.min(100, v)) * 10) / 10;
  const perCore = Array.from({ length: cores }, (_, i) => pct(wave(i, 45, 40)));
  const usage = perCore.reduce((a, b) => a + b, 0) / Math.max(1, cores);
  const GiB = 1024 ** 3;
  const disk = (path, total, p) => ({ path, total, used: (total * p) / 100, free: total * (1 - p / 100), percentage: p });
  const gpuList = Array.from({ length: gpus }, (_, i) => {
    const memory = pct(wave(i + 3, 60, 25));
    return {
      id: i, name: "NVIDIA H100 80GB HBM3", memory_total: 80 * GiB, memory_used: (80 * GiB * memory) / 100,
      memory_percentage: memory, gpu_usage_percent: pct(wave(i, 60, 35)),
      temperature: Math.round(wave(i, 66, 12)), power_draw: Math.round(wave(i, 420, 220)), power_limit: 700,
    };
  });
  const disks = [disk("/", 512 * GiB, 62.5), disk("/home", 2048 * GiB, 41.2), disk("/data", 16384 * GiB, 96.1)];
  const gpuTop = gpuList[0] ?? {};
  return {
    type: "monitoring_data",
    timestamp: isoLocal(t),
    data: {
      processor: { usage_percent: Math.round(usage * 10) / 10, per_core_usage: perCore, core_count: cores / 2,
        logical_count: cores, frequency_current: 2450, frequency_max: 3700 },
      memory: { total: 1024 * GiB, available: 380 * GiB, used: 644 * GiB, percentage: 62.9 },
      disk: disks[0], disks,
      system: { os_name: "Linux", os_release: "6.1.0-18-amd64", architecture: "x86_64", machine: "x86_64",
        processor: "AMD EPYC 9554 64-Core Processor", platform: "Linux-6.1.0-18-amd64-x86_64-with-glibc2.36",
        hostname: "demo-64x8", processes: 1423, boot_time: isoLocal(t - 3 * 86400000 - 4 * 3600000) },
      ...(gpus > 0 ? { gpu: { count: gpus, backend: "nvml", gpus: gpuList, ...gpuTop } } : {}),
    },
    alerts: [
      { timestamp: isoLocal(t), component: "disk", metric: "usage_percent", value: 96.1, threshold: 95,
        level: "CRITICAL", message: "Critical disk usage: 96.1% (threshold: 95.0%)" },
    ],
  };
}

function startDemo(spec) {
  const match = /^(\d{1,4})x(\d{1,2})$/.exec(spec);
  const cores = match ? Number(match[1]) : 64;
  const gpus = match ? Number(match[2]) : 8;
  state = "demo";
  const now = Date.now();
  merge(Array.from({ length: HISTORY_COUNT }, (_, i) => {
    const m = demoMessage(cores, gpus, now - (HISTORY_COUNT - i) * 500);
    return sampleOf(parseTime(m.timestamp), m.data);
  }));
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
  demoMessage,
  state: () => ({
    connection: state, samples: samples.length, cores: coreValues.length, disks: diskRows.size,
    gpus: gpuCards.size, alerts: alertRows.size, lastFrameMs, errors: errors.slice(),
  }),
};

// ---- Start --------------------------------------------------------------------

for (const canvas of [el.cpuPlot, el.memPlot, el.diskPlot, el.cores]) watch(canvas);
onResize(() => {
  plotsDirty = true;
  schedule();
});
el.cores.addEventListener("mousemove", (event) => {
  const index = coreAt(el.cores, event.offsetX, event.offsetY);
  el.cores.title = index < 0 ? "" : `Core ${index}: ${percent(coreValues[index])}`;
});
setText(el.windowMin, String(WINDOW_MS / 60000));
setInterval(showState, 500);
const demo = new URLSearchParams(location.search).get("demo");
if (demo !== null) startDemo(demo);
else connect();
