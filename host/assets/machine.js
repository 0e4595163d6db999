// The cards of issue 14's sections: network, disk I/O, load, sensors and top
// processes. Like view.js, each interface, device, sensor and process row gets its
// elements once and a tick changes only text, widths and classes; a card whose
// section is absent stays hidden.

import { bytes, bytesPerSecond, celsius, duration, inOrder, num, percent, setText } from "./format.js";
import { watch } from "./plot.js";

/** Line colours for several interfaces or devices, as palette keys. */
const SERIES = ["cpu", "disk", "mem", "gpu", "temp"];

const $ = (id) => document.getElementById(id);
const el = {
  netCard: $("net-card"), netValue: $("net-value"), netList: $("net-list"),
  ioCard: $("io-card"), ioValue: $("io-value"), ioPlot: $("io-plot"), ioList: $("io-list"),
  loadCard: $("load-card"), loadValue: $("load-value"), loadPlot: $("load-plot"),
  load1: $("load-1"), load5: $("load-5"), load15: $("load-15"), loadCpus: $("load-cpus"),
  loadTasks: $("load-tasks"), loadUptime: $("load-uptime"),
  sensorsCard: $("sensors-card"), sensorsValue: $("sensors-value"), tempList: $("temp-list"), fanList: $("fan-list"),
  procsCard: $("procs-card"), procsTotal: $("procs-total"), procsCpu: $("procs-cpu"), procsMem: $("procs-mem"),
};

/** The cards by section, for alert highlighting. */
export const machineCards = {
  network: el.netCard, disk_io: el.ioCard, load: el.loadCard, sensors: el.sensorsCard, processes: el.procsCard,
};

const interfaces = new Map(); // name → elements (with its own plot)
const devices = new Map(); // name → row elements
const temperatures = new Map(); // chip|label|n → row elements
const fans = new Map(); // chip|label|n → row elements
const processRows = { cpu: new Map(), mem: new Map() }; // pid → row elements, per table
let cpuCount = null;
let layoutChanged = false;

function make(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.append(node);
  return node;
}

function setWidth(element, value) {
  const width = `${Math.max(0, Math.min(100, num(value) ?? 0))}%`;
  if (element.__width !== width) {
    element.__width = width;
    element.style.width = width;
  }
}

/** Sets `element.dataset.level` (`ok`, `warning`, `critical`) only when it changed. */
function setLevel(element, level) {
  if (element.dataset.level !== level) element.dataset.level = level;
}

const list = (value) => (Array.isArray(value) ? value.filter((v) => v && typeof v === "object") : []);
const section = (value) => (value && typeof value === "object" && !Array.isArray(value) ? value : null);

/** What one snapshot adds to a plotted sample. */
export function machineSample(data) {
  const net = new Map();
  for (const i of list(section(data.network)?.interfaces)) {
    net.set(String(i.name), { rx: num(i.rx_bytes_per_sec), tx: num(i.tx_bytes_per_sec) });
  }
  const io = new Map();
  for (const d of list(section(data.disk_io)?.devices)) io.set(String(d.name), num(d.busy_percent));
  return { net, io, load: num(section(data.load)?.load1) };
}

/** Interface plots: [{ canvas, name }], in row order. */
export const netPlots = () => [...interfaces].map(([name, row]) => ({ canvas: row.plot, name }));
/** Devices in the order of their rows (and busy lines). */
export const ioNames = () => [...devices.keys()];
/** Logical CPUs the load is compared with, or null. */
export const loadCpus = () => cpuCount;
export const ioPlot = el.ioPlot;
export const loadPlot = el.loadPlot;
export const seriesColor = (i) => SERIES[i % SERIES.length];

/** How many of each thing are shown, for the test hook. */
export const machineCounts = () => ({
  interfaces: interfaces.size, devices: devices.size, temperatures: temperatures.size, fans: fans.size,
  processes: processRows.cpu.size + processRows.mem.size,
});

/** Shows the five sections of `data`; returns whether an interface or device came or went. */
export function applyMachine(data) {
  layoutChanged = false;
  applyNetwork(section(data.network));
  applyDiskIo(section(data.disk_io));
  applyLoad(section(data.load));
  applySensors(section(data.sensors));
  applyProcesses(section(data.processes));
  return layoutChanged;
}

/** Shows a card when its section is there; returns whether it is. */
function show(card, present) {
  if (card.hidden === present) {
    card.hidden = !present;
    layoutChanged = true;
  }
  return present;
}

/** Removes the rows of `rows` whose key is not in `seen`. */
function prune(rows, seen, element = (row) => row.li) {
  for (const [key, row] of rows) {
    if (!seen.has(key)) {
      element(row).remove();
      rows.delete(key);
      layoutChanged = true;
    }
  }
}

// ---- Network -------------------------------------------------------------------

function makeInterface(name, index) {
  const li = make("li", "iface");
  const head = make("div", "iface-head", li);
  const label = make("span", "path", head);
  label.append(name);
  label.title = name;
  const rx = make("span", "rx", head);
  const tx = make("span", "tx", head);
  const plot = make("canvas", "plot small", li);
  plot.setAttribute("aria-label", `${name}: received and sent bytes per second, last minutes`);
  watch(plot);
  const detail = make("span", "detail muted", li);
  li.style.setProperty("--line", `var(--${SERIES[index % SERIES.length]})`);
  return { li, rx, tx, plot, detail };
}

function applyNetwork(n) {
  if (!show(el.netCard, n !== null)) return;
  const seen = new Set();
  for (const i of list(n.interfaces)) {
    const name = String(i.name ?? "?");
    seen.add(name);
    let row = interfaces.get(name);
    if (!row) {
      row = makeInterface(name, interfaces.size);
      interfaces.set(name, row);
      el.netList.append(row.li);
      layoutChanged = true;
    }
    setText(row.rx, `↓ ${bytesPerSecond(i.rx_bytes_per_sec)}`);
    setText(row.tx, `↑ ${bytesPerSecond(i.tx_bytes_per_sec)}`);
    const errors = (num(i.rx_errors_per_sec) ?? 0) + (num(i.tx_errors_per_sec) ?? 0);
    const drops = (num(i.rx_drops_per_sec) ?? 0) + (num(i.tx_drops_per_sec) ?? 0);
    setText(row.detail, `${bytes(i.rx_bytes)} received, ${bytes(i.tx_bytes)} sent` +
      (errors > 0 || drops > 0 ? ` · ${errors.toFixed(1)} errors/s, ${drops.toFixed(1)} drops/s` : ""));
    setLevel(row.li, errors > 0 ? "warning" : "ok");
  }
  prune(interfaces, seen);
  setText(el.netValue, `↓ ${bytesPerSecond(n.rx_bytes_per_sec)} ↑ ${bytesPerSecond(n.tx_bytes_per_sec)}`);
}

// ---- Disk I/O ------------------------------------------------------------------

function makeDevice(name, index) {
  const li = make("li");
  const label = make("span", "path", li);
  make("i", "swatch", label).style.background = `var(--${SERIES[index % SERIES.length]})`;
  label.append(name);
  label.title = name;
  const meter = make("div", "meter", li);
  const bar = make("span", "", meter);
  const pct = make("span", "pct", li);
  const detail = make("span", "detail muted", li);
  return { li, bar, pct, detail };
}

function applyDiskIo(d) {
  if (!show(el.ioCard, d !== null)) return;
  const seen = new Set();
  for (const device of list(d.devices)) {
    const name = String(device.name ?? "?");
    seen.add(name);
    let row = devices.get(name);
    if (!row) {
      row = makeDevice(name, devices.size);
      devices.set(name, row);
      el.ioList.append(row.li);
      layoutChanged = true;
    }
    setText(row.pct, percent(device.busy_percent));
    row.pct.title = "busy";
    setWidth(row.bar, device.busy_percent);
    const busy = num(device.busy_percent) ?? 0;
    setLevel(row.li, busy >= 90 ? "critical" : busy >= 75 ? "warning" : "ok");
    setText(row.detail, `read ${bytesPerSecond(device.read_bytes_per_sec)} (${rate(device.reads_per_sec)} ops/s) · ` +
      `write ${bytesPerSecond(device.write_bytes_per_sec)} (${rate(device.writes_per_sec)} ops/s)`);
  }
  prune(devices, seen);
  setText(el.ioValue, `R ${bytesPerSecond(d.read_bytes_per_sec)} W ${bytesPerSecond(d.write_bytes_per_sec)}`);
}

function rate(value) {
  const v = num(value);
  return v === null ? "—" : v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

// ---- Load ----------------------------------------------------------------------

function applyLoad(l) {
  if (!show(el.loadCard, l !== null)) return;
  const load = (v) => (num(v) === null ? "—" : num(v).toFixed(2));
  cpuCount = num(l.cpu_count);
  setText(el.loadValue, load(l.load1));
  setText(el.load1, load(l.load1));
  setText(el.load5, load(l.load5));
  setText(el.load15, load(l.load15));
  setText(el.loadCpus, cpuCount === null ? "—" : String(cpuCount));
  const total = num(l.total_tasks);
  setText(el.loadTasks, total ? `${num(l.runnable_tasks) ?? "—"} / ${total}` : "—");
  const up = num(l.uptime_seconds);
  setText(el.loadUptime, up === null ? "—" : duration(up * 1000));
  // Past one runnable task per CPU the machine is saturated: the headline says so.
  const ratio = cpuCount ? (num(l.load1) ?? 0) / cpuCount : 0;
  setLevel(el.loadValue, ratio >= 2 ? "critical" : ratio >= 1 ? "warning" : "ok");
}

// ---- Sensors -------------------------------------------------------------------

function makeSensorRow(name, parent, meter) {
  const li = make("li", "", parent);
  const label = make("span", "path", li);
  label.append(name);
  label.title = name;
  const bar = meter ? make("span", "", make("div", "meter", li)) : null;
  const value = make("span", "pct", li);
  const detail = meter ? make("span", "detail muted", li) : null;
  layoutChanged = true;
  return { li, bar, value, detail };
}

/** Rows keyed by chip and label, numbered when a chip repeats a label (two sockets). */
function keyed(items) {
  const count = new Map();
  return items.map((item) => {
    const base = `${item.chip ?? "?"}|${item.label ?? "?"}`;
    const n = (count.get(base) ?? 0) + 1;
    count.set(base, n);
    return { key: `${base}|${n}`, name: `${item.chip ?? "?"} · ${item.label ?? "?"}${n > 1 ? ` #${n}` : ""}`, item };
  });
}

function temperatureLevel(t) {
  const c = num(t.celsius);
  if (c === null) return "ok";
  if (num(t.critical) !== null && c >= t.critical) return "critical";
  if (num(t.high) !== null && c >= t.high) return "warning";
  return "ok";
}

function applySensors(s) {
  if (!show(el.sensorsCard, s !== null)) return;
  const seen = new Set();
  let hottest = null;
  for (const { key, name, item: t } of keyed(list(s.temperatures))) {
    seen.add(key);
    let row = temperatures.get(key);
    if (!row) {
      row = makeSensorRow(name, el.tempList, true);
      temperatures.set(key, row);
    }
    const c = num(t.celsius);
    if (c !== null && (hottest === null || c > hottest.c)) hottest = { c, level: temperatureLevel(t) };
    setText(row.value, celsius(t.celsius));
    // The bar runs to the critical point (or the high one, or 100 °C).
    const scale = num(t.critical) ?? num(t.high) ?? 100;
    setWidth(row.bar, c === null ? 0 : (c / scale) * 100);
    setLevel(row.li, temperatureLevel(t));
    const limits = [["high", t.high], ["critical", t.critical]]
      .filter(([, v]) => num(v) !== null)
      .map(([k, v]) => `${k} ${celsius(v)}`);
    setText(row.detail, limits.length > 0 ? limits.join(" · ") : "no thresholds");
  }
  prune(temperatures, seen);
  const fanSeen = new Set();
  for (const { key, name, item: f } of keyed(list(s.fans))) {
    fanSeen.add(key);
    let row = fans.get(key);
    if (!row) {
      row = makeSensorRow(name, el.fanList, false);
      fans.set(key, row);
    }
    setText(row.value, num(f.rpm) === null ? "—" : `${Math.round(f.rpm)} rpm`);
  }
  prune(fans, fanSeen);
  el.fanList.hidden = fans.size === 0;
  setText(el.sensorsValue, hottest === null ? "—" : celsius(hottest.c));
  setLevel(el.sensorsValue, hottest?.level ?? "ok");
}

// ---- Processes -----------------------------------------------------------------

function makeProcessRow(pid) {
  const tr = make("tr");
  tr.dataset.pid = String(pid);
  const cell = (className) => make("td", className, tr);
  const pidCell = cell("num muted");
  pidCell.textContent = String(pid);
  const nameCell = cell("pname");
  const name = make("span", "", nameCell);
  const command = make("small", "cmd muted", nameCell);
  return { tr, name, command, user: cell("user muted"), cpu: cell("num"), rss: cell("num"), mem: cell("num") };
}

/**
 * Brings `tbody` to `processes`' order, one row per pid: a row that stays is moved (if
 * at all) rather than rebuilt, so nothing flickers and a selection survives. (The
 * panel of a past moment, moment.js, fills its tables with it too.)
 */
export function applyTable(tbody, rows, processes) {
  const seen = new Set();
  const ordered = [];
  processes.forEach((p) => {
    const pid = num(p.pid);
    if (pid === null || seen.has(pid)) return;
    seen.add(pid);
    let row = rows.get(pid);
    if (!row) {
      row = makeProcessRow(pid);
      rows.set(pid, row);
    }
    ordered.push(row.tr);
    setText(row.name, String(p.name ?? "?"));
    const command = String(p.command ?? "");
    setText(row.command, command);
    if (row.command.title !== command) row.command.title = command;
    setText(row.user, p.user == null ? "—" : String(p.user));
    setText(row.cpu, percent(p.cpu_percent));
    setText(row.rss, bytes(p.memory_rss));
    setText(row.mem, percent(p.memory_percent));
  });
  inOrder(tbody, ordered);
  prune(rows, seen, (row) => row.tr);
}

function applyProcesses(p) {
  if (!show(el.procsCard, p !== null)) return;
  applyTable(el.procsCpu.tBodies[0], processRows.cpu, list(p.top_cpu));
  applyTable(el.procsMem.tBodies[0], processRows.mem, list(p.top_memory));
  const total = num(p.total);
  setText(el.procsTotal, total === null ? "" : `of ${total}`);
}
