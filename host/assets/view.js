// The page's elements and how a `monitoring_data` message is shown in them. Each
// core, disk, GPU and alert gets its elements once; a tick changes only text and
// widths, and only where they changed. The cards of network, disk I/O, load, sensors
// and processes are machine.js's; every other section gets generic.js's card.

import { bytes, bytesOf, celsius, clock, duration, megahertz, num, parseTime, percent, setText, watts } from "./format.js";
import { applyGeneric, genericCards } from "./generic.js";
import { applyMachine, machineCards } from "./machine.js";
import { watch } from "./plot.js";

/** Line colours for several disks, as palette keys. */
export const SERIES = ["disk", "cpu", "mem", "gpu", "temp"];

const $ = (id) => document.getElementById(id);
export const el = {
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
  windowMin: $("window-min"), windowNote: $("window-note"), historyNote: $("history-note"),
};

const diskRows = new Map(); // path → row elements
const gpuCards = new Map(); // GPU id → card elements
const alertRows = new Map(); // component|metric|instance|n → row elements
/** When each active alert's episode began, as the snapshots tell: key → timestamp text. */
const alertStarts = new Map();
let coreValues = [];
let layoutChanged = false; // a disk or GPU came or went: the plots' set changed
/** Whether the newest snapshot listed `disks` and `gpu.gpus` (else the single `disk`, `gpu`). */
let disksListed = false;
let gpusListed = false;

export function diskList(data) {
  if (Array.isArray(data.disks) && data.disks.length > 0) return data.disks;
  return data.disk && typeof data.disk === "object" ? [data.disk] : [];
}

export function gpuList(data) {
  const gpu = data.gpu;
  if (!gpu || typeof gpu !== "object") return [];
  if (Array.isArray(gpu.gpus)) return gpu.gpus.filter((g) => g && typeof g === "object");
  return "name" in gpu || "gpu_usage_percent" in gpu ? [gpu] : [];
}

/** Disk paths in the order their rows (and plot lines) appear. */
export const diskPaths = () => [...diskRows.keys()];
/**
 * The stored series of a disk's percentage, in the store's (and alert rules') path
 * syntax: `disks[/var].percentage`, or `disk.percentage` for a single-disk snapshot.
 */
export const diskSeries = (path) => (disksListed ? `disks[${path}].percentage` : "disk.percentage");
/** Each GPU plot with the path of its GPU's series: `gpu.gpus[0]` (its id), or `gpu`. */
export const gpuSeries = () =>
  [...gpuCards].map(([id, card]) => ({ plot: card.plot, path: gpusListed ? `gpu.gpus[${id}]` : "gpu" }));
/** The newest per-core usage. */
export const coreUsage = () => coreValues;
/** How many of each thing are shown. */
export const counts = () => ({ cores: coreValues.length, disks: diskRows.size, gpus: gpuCards.size, alerts: alertRows.size });

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

/** Shows `message`; returns whether a disk, GPU, interface or device came or went (the plots must follow). */
export function apply(message) {
  layoutChanged = false;
  const data = message.data;
  const alerts = alertsOf(message);
  disksListed = Array.isArray(data.disks) && data.disks.length > 0;
  gpusListed = Array.isArray(data.gpu?.gpus);
  setText(el.lastUpdate, clock(message.timestamp));
  el.lastUpdate.dateTime = String(message.timestamp ?? "");
  applyCpu(data.processor);
  applyMemory(data.memory);
  applyDisks(diskList(data), alerts);
  applySystem(data.system, parseTime(message.timestamp));
  applyGpus(data.gpu, gpuList(data));
  if (applyMachine(data)) layoutChanged = true;
  if (applyGeneric(data)) layoutChanged = true;
  applyAlerts(alerts);
  return layoutChanged;
}

const alertsOf = (message) => (Array.isArray(message.alerts) ? message.alerts.filter((a) => a && typeof a === "object") : []);

/**
 * What an alert is about: the instance the engine names in parentheses before the
 * colon (`High disk usage (/data): …`), or "" for a single value.
 */
function instanceOf(alert) {
  const match = /^[^:(]*\(([^)]*)\):/.exec(String(alert.message ?? ""));
  return match ? match[1] : "";
}

/** One key per alerting thing, whatever its level: an episode may go WARNING → CRITICAL. */
const episodeKey = (alert) => `${alert.component}|${alert.metric}|${instanceOf(alert)}`;

/**
 * Follows alert episodes through snapshots given oldest first (history, then live):
 * an alert's "since" is the timestamp of the first snapshot of its unbroken run. A
 * snapshot's alerts carry that snapshot's time, so the first sight of an alert opened
 * long ago is not its start; the history before it is.
 */
export function trackAlerts(message) {
  const active = new Set();
  for (const alert of alertsOf(message)) {
    const key = episodeKey(alert);
    active.add(key);
    if (!alertStarts.has(key)) alertStarts.set(key, String(alert.timestamp ?? message.timestamp ?? ""));
  }
  for (const key of [...alertStarts.keys()]) if (!active.has(key)) alertStarts.delete(key);
}

/**
 * Takes earlier starts from history snapshots (oldest first) that run up to now: for
 * each alert still active, the start of its run in `history` if that is earlier.
 */
export function seedAlertStarts(history) {
  const runs = new Map();
  for (const message of history) {
    const active = new Set();
    for (const alert of alertsOf(message)) {
      const key = episodeKey(alert);
      active.add(key);
      if (!runs.has(key)) runs.set(key, String(alert.timestamp ?? message.timestamp ?? ""));
    }
    for (const key of [...runs.keys()]) if (!active.has(key)) runs.delete(key);
  }
  for (const [key, start] of runs) {
    const known = alertStarts.get(key);
    const earlier = known === undefined || (parseTime(start) ?? Infinity) < (parseTime(known) ?? Infinity);
    if (alertStarts.has(key) && earlier) alertStarts.set(key, start);
  }
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

const LEVEL_RANK = { ok: 0, warning: 1, critical: 2 };

/**
 * The thresholds of disk usage alerts as the active alerts tell them (the page knows
 * no rule that is not firing), and the level each alert names a disk at.
 */
function diskAlertLevels(alerts) {
  const thresholds = { warning: null, critical: null };
  const byPath = new Map();
  for (const alert of alerts) {
    if (alert.component !== "disk" || alert.metric !== "usage_percent") continue;
    const level = String(alert.level).toUpperCase() === "CRITICAL" ? "critical" : "warning";
    const threshold = num(alert.threshold);
    if (threshold !== null) thresholds[level] = Math.min(thresholds[level] ?? Infinity, threshold);
    const path = instanceOf(alert);
    if (path && LEVEL_RANK[level] > LEVEL_RANK[byPath.get(path) ?? "ok"]) byPath.set(path, level);
  }
  return (path, value) => {
    let level = byPath.get(path) ?? "ok";
    const v = num(value);
    for (const candidate of ["warning", "critical"]) {
      const t = thresholds[candidate];
      if (v !== null && t !== null && v > t && LEVEL_RANK[candidate] > LEVEL_RANK[level]) level = candidate;
    }
    return level;
  };
}

function applyDisks(list, alerts) {
  const levelOf = diskAlertLevels(alerts);
  let worst = null;
  const seen = new Set();
  list.forEach((disk, i) => {
    const path = String(disk.path ?? `disk ${i}`);
    seen.add(path);
    let row = diskRows.get(path);
    if (!row) {
      row = makeDiskRow(path, diskRows.size);
      diskRows.set(path, row);
      el.diskList.append(row.li);
      layoutChanged = true;
    }
    setText(row.pct, percent(disk.percentage));
    setWidth(row.bar, disk.percentage);
    const level = levelOf(path, disk.percentage);
    if (row.li.dataset.level !== level) row.li.dataset.level = level;
    const value = num(disk.percentage);
    if (value !== null && (worst === null || value > worst.value)) worst = { value, path, level };
    setText(row.detail, `${bytes(disk.used)} used of ${bytes(disk.total)}, ${bytes(disk.free)} free`);
  });
  for (const [path, row] of diskRows) {
    if (!seen.has(path)) {
      row.li.remove();
      diskRows.delete(path);
      layoutChanged = true;
    }
  }
  // The fullest disk is the headline: one at 96 % is news even if `/` is fine.
  setText(el.diskValue, worst === null ? "—" : percent(worst.value));
  el.diskValue.title = worst === null ? "" : `fullest: ${worst.path}`;
  if (el.diskValue.dataset.level !== (worst?.level ?? "ok")) el.diskValue.dataset.level = worst?.level ?? "ok";
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
      layoutChanged = true;
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
      layoutChanged = true;
    }
  }
  el.gpuSection.hidden = gpuCards.size === 0;
  const backend = section && typeof section.backend === "string" ? ` via ${section.backend}` : "";
  setText(el.gpuSummary, gpuCards.size > 0 ? `${gpuCards.size}${backend}` : "");
}

const CARD_OF = { cpu: "cpuCard", processor: "cpuCard", memory: "memCard", disk: "diskCard" };
const cardOf = (component) =>
  CARD_OF[component] ? el[CARD_OF[component]] : machineCards[component] ?? genericCards().get(component);

function applyAlerts(list) {
  const seen = new Set();
  const occurrences = new Map();
  const cardLevel = new Map();
  for (const alert of list) {
    const base = episodeKey(alert);
    const n = occurrences.get(base) ?? 0;
    occurrences.set(base, n + 1);
    const key = `${base}|${n}`;
    seen.add(key);
    let row = alertRows.get(key);
    if (!row) {
      const li = make("li", "alert");
      row = { li, level: make("span", "level", li), text: make("span", "text", li), since: make("time", "since", li) };
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
    const since = alertStarts.get(base) ?? String(alert.timestamp ?? "");
    setText(row.since, `since ${clock(since)}`);
    if (row.since.dateTime !== since) row.since.dateTime = since;
    const card = cardOf(alert.component);
    if (card && cardLevel.get(card) !== "critical") cardLevel.set(card, level);
  }
  for (const [key, row] of alertRows) {
    if (!seen.has(key)) {
      row.li.remove();
      alertRows.delete(key);
    }
  }
  el.alerts.hidden = alertRows.size === 0;
  const cards = [...new Set(Object.values(CARD_OF))]
    .map((name) => el[name])
    .concat(Object.values(machineCards), [...genericCards().values()]);
  for (const card of cards) {
    const level = cardLevel.get(card);
    card.classList.toggle("alerting", level !== undefined);
    card.classList.toggle("critical", level === "critical");
  }
}
