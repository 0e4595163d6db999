// The fleet overview a gateway's dashboard shows (issue 12): one tile per host with
// CPU, memory, worst disk and alert state, live, trouble first, and its last hour as
// a sparkline (sparkline.js); a click opens that host's full view (`/?host=NAME`, the
// usual page fed by the gateway).
//
// Like the single-host page, messages only record; tiles are brought up to date at
// most once per animation frame, each tile made once and then only its text, classes
// and order changed, so 100 hosts at 2 Hz are 200 small records a second and a few
// hundred text updates per frame at most.

import { clock, inOrder, num, percent, setText } from "./format.js";
import { filterOf, optionsSeen, sortKey } from "./fleetfilter.js";
import { forgetTableRow, showTable, tableCount, tableRow } from "./fleettable.js";
import { forgetSparkline, sparklineCount, sparklineSeen, wantSparkline } from "./sparkline.js";

/**
 * The newest record per host: { name, state, cpu, mem, disk, load, rx, tx, alertCount,
 * rank (2 critical, 1 warning, 0 none), tags, group, dirty }.
 * A host's state comes only from the gateway's `hosts` table (never from a frame: the
 * newest frame of a host that has since died is replayed to a page that subscribes),
 * so a tile is never greener than `/api/hosts`.
 */
const hosts = new Map();
/** host name → its tile's elements. */
const tiles = new Map();
let orderDirty = true;
/** Whether a number a by-value sort follows (CPU, memory, …) moved since the last draw. */
let valuesMoved = false;
/** Fleet messages taken in, for the browser tests (a draw that came without one). */
let received = 0;

const $ = (id) => document.getElementById(id);

/** Asks for a frame (app.js's scheduler, given by `onFleetDraw`). */
let requestDraw = () => {};
/**
 * Hosts whose tile is on the screen or near it. Only their numbers are written as
 * they move; a tile off screen is brought up to date when it comes into view, so a
 * phone showing 5 of 2,000 tiles writes 5 tiles' text a second, not 2,000. The browser
 * already tracks this for tiles (`content-visibility: auto` skips drawing those off
 * screen) and says so with `contentvisibilityautostatechange`; where it does not, every
 * tile counts as on screen.
 */
const onScreen = new Set();
const TRACKS_SCREEN = "oncontentvisibilityautostatechange" in document.documentElement;

/** A tile's contents started or stopped being drawn (it came near the screen or left). */
function seen(name, visible) {
  if (!tiles.has(name)) return;
  if (!visible) {
    onScreen.delete(name);
    return;
  }
  onScreen.add(name);
  sparklineSeen(name);
  const host = hosts.get(name);
  if (host?.behind) {
    host.dirty = true;
    requestDraw();
  }
}

/** Gives the overview the page's frame scheduler, for tiles that come into view. */
export function onFleetDraw(schedule) {
  requestDraw = schedule;
}

/** The worst alert level among `alerts` (2 critical, 1 warning, 0 none). */
function alertRank(alerts) {
  let rank = 0;
  for (const alert of alerts ?? []) {
    if (alert?.level === "CRITICAL") return 2;
    if (alert?.level === "WARNING") rank = 1;
  }
  return rank;
}

/** How much trouble a host is in: gone 4, stale 3, critical 2, warning 1, none 0. */
export function trouble(host) {
  const state = host.state === "gone" ? 4 : host.state === "stale" ? 3 : 0;
  return Math.max(state, host.rank);
}

function record(name) {
  let host = hosts.get(name);
  if (!host) {
    // Unknown to the table yet: only a live frame makes a new host, so it is up.
    host = {
      name, state: "up", cpu: null, mem: null, disk: null, load: null, rx: null, tx: null,
      alertCount: 0, rank: 0, tags: [], group: null, dirty: true, behind: false,
    };
    hosts.set(name, host);
    orderDirty = true;
  }
  return host;
}

function worstDisk(data) {
  const values = [num(data?.disk?.percentage)];
  for (const disk of Array.isArray(data?.disks) ? data.disks : []) values.push(num(disk?.percentage));
  const known = values.filter((v) => v !== null);
  return known.length > 0 ? Math.max(...known) : null;
}

function forget(name) {
  hosts.delete(name);
  forgetTableRow(name);
  tiles.get(name)?.root.remove();
  tiles.delete(name);
  onScreen.delete(name);
  forgetSparkline(name);
}

/** Records one message of the gateway's fleet stream; whether it was one. */
export function fleetMessage(message) {
  if (message?.type === "monitoring_data" && typeof message.host === "string") {
    const host = record(message.host);
    const before = trouble(host);
    host.cpu = num(message.data?.processor?.usage_percent);
    host.mem = num(message.data?.memory?.percentage);
    host.disk = worstDisk(message.data);
    setAlerts(host, message.alerts);
    if (Array.isArray(message.tags)) host.tags = message.tags.map(String);
    if (typeof message.group === "string") host.group = message.group;
    host.dirty = true;
    valuesMoved = true;
    showUpdated(message.timestamp);
    if (trouble(host) !== before) orderDirty = true;
    received += 1;
    return true;
  }
  if (message?.type === "hosts" && Array.isArray(message.hosts)) {
    // `full: false` lists only the hosts that changed since the last message; a host
    // forgotten is then only in `changes` (`to: null`). Without `full` (older
    // gateways) every message is the whole table.
    const full = message.full !== false;
    const seen = new Set();
    if (typeof message.gateway === "string") showGateway(message.gateway);
    showUpdated(message.timestamp);
    if (!full) {
      for (const change of Array.isArray(message.changes) ? message.changes : []) {
        if (typeof change?.host === "string" && change.to === null) forget(change.host);
      }
    }
    for (const info of message.hosts) {
      if (typeof info?.name !== "string") continue;
      seen.add(info.name);
      const host = record(info.name);
      if (info.state === "up" || info.state === "stale" || info.state === "gone") host.state = info.state;
      if (Array.isArray(info.tags)) host.tags = info.tags.map(String);
      if (typeof info.group === "string") host.group = info.group;
      if (Array.isArray(info.alerts)) setAlerts(host, info.alerts);
      host.cpu = num(info.summary?.cpu_percent) ?? host.cpu;
      host.mem = num(info.summary?.memory_percent) ?? host.mem;
      host.disk = num(info.summary?.worst_disk_percent) ?? host.disk;
      host.dirty = true;
    }
    if (full) {
      for (const name of [...hosts.keys()]) {
        if (!seen.has(name)) forget(name);
      }
    }
    orderDirty = true;
    received += 1;
    return true;
  }
  if (message?.type === "host_summaries" && Array.isArray(message.hosts)) {
    // Rows of the overview's summary stream (`detail: "summary"`): the whole row of
    // every host first (`full`), then once a second only the hosts that changed, each
    // with its name and only the fields that changed. Forgetting is the `hosts`
    // table's business.
    for (const name of Array.isArray(message.forgotten) ? message.forgotten : []) {
      if (typeof name === "string") forget(name);
    }
    for (const row of message.hosts) {
      if (typeof row?.name !== "string") continue;
      const host = record(row.name);
      const before = trouble(host);
      const has = (field) => Object.prototype.hasOwnProperty.call(row, field);
      if (row.state === "up" || row.state === "stale" || row.state === "gone") host.state = row.state;
      if (has("cpu_percent")) host.cpu = num(row.cpu_percent);
      if (has("memory_percent")) host.mem = num(row.memory_percent);
      if (has("worst_disk_percent")) host.disk = num(row.worst_disk_percent);
      if (has("load1")) host.load = num(row.load1);
      if (has("rx_bytes_per_sec")) host.rx = num(row.rx_bytes_per_sec);
      if (has("tx_bytes_per_sec")) host.tx = num(row.tx_bytes_per_sec);
      if (has("alerts")) host.alertCount = Number.isInteger(row.alerts) ? row.alerts : 0;
      if (has("level")) host.rank = row.level === "critical" ? 2 : row.level === "warning" ? 1 : 0;
      if (has("tags")) host.tags = Array.isArray(row.tags) ? row.tags.map(String) : [];
      if (has("group")) host.group = typeof row.group === "string" ? row.group : null;
      if (has("tags") || has("group") || trouble(host) !== before) orderDirty = true;
      host.dirty = true;
    }
    // Rows carry only what changed; most carry a moving number.
    if (message.hosts.length > 0) valuesMoved = true;
    showUpdated(message.timestamp);
    received += 1;
    return true;
  }
  return false;
}

function setAlerts(host, alerts) {
  const list = Array.isArray(alerts) ? alerts : [];
  host.alertCount = list.length;
  host.rank = alertRank(list);
}

/** The header on a gateway: which gateway, and when the fleet last said something. */
function showGateway(name) {
  setText($("host"), `${name} · fleet gateway`);
  const title = `${name} · fleet · System monitor`;
  if (document.title !== title) document.title = title;
}

function showUpdated(timestamp) {
  const text = clock(timestamp);
  if (!text || text === "—") return;
  const time = $("last-update");
  if (!time) return;
  setText(time, text);
  time.dateTime = String(timestamp);
}

function makeTile(name) {
  const root = document.createElement("a");
  root.className = "tile";
  root.href = `/?host=${encodeURIComponent(name)}`;
  root.dataset.host = name;
  const title = document.createElement("h3");
  title.textContent = name;
  const state = document.createElement("span");
  state.className = "tile-state";
  title.append(" ", state);
  const facts = document.createElement("dl");
  facts.className = "facts";
  const fact = (label) => {
    const row = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    row.append(dt, dd);
    facts.append(row);
    return dd;
  };
  const tags = document.createElement("p");
  tags.className = "tile-tags muted";
  const tile = { root, state, tags, cpu: fact("CPU"), mem: fact("Memory"), disk: fact("Worst disk"), alerts: fact("Alerts") };
  const spark = document.createElement("canvas");
  spark.className = "spark";
  spark.setAttribute("aria-label", `${name}: CPU and memory, last hour`);
  root.append(title, tags, facts, spark);
  tiles.set(name, tile);
  wantSparkline(name, spark, () => onScreen.has(name));
  if (TRACKS_SCREEN) root.addEventListener("contentvisibilityautostatechange", (event) => seen(name, !event.skipped));
  else seen(name, true);
  return tile;
}

/** Sorts that follow the live numbers, and so may change with every summary batch. */
const BY_VALUE = new Set(["cpu", "mem", "disk", "load", "net"]);
/**
 * How often a by-value sort follows the numbers: every second would move most tiles
 * every second (no one can read that, and 2,000 moves are a long task on a phone).
 */
const VALUE_SORT_MS = 5000;
let valueSortedAt = 0;

/**
 * Brings `host`'s tile up to date, making it on first sight. Whether it is shown and
 * its colours are always kept; its text only on screen (or when just made), else the
 * host is `behind` until its tile comes into view.
 */
function drawTile(host, level, shown) {
  const made = tiles.get(host.name);
  const tile = made ?? makeTile(host.name);
  if (tile.root.hidden === shown) tile.root.hidden = !shown;
  const className = `tile ${host.state} ${level}`;
  if (tile.root.className !== className) tile.root.className = className;
  host.behind = made !== undefined && !onScreen.has(host.name);
  if (host.behind) return;
  setText(tile.state, host.state);
  setText(tile.cpu, percent(host.cpu));
  setText(tile.mem, percent(host.mem));
  setText(tile.disk, percent(host.disk));
  setText(tile.tags, [host.group, ...host.tags].filter(Boolean).join(" · "));
  setText(tile.alerts, host.rank === 0 ? "none" : `${host.alertCount} ${level}`);
}

/**
 * Brings the tiles (or the table, whichever is shown) up to date; call once per
 * animation frame. Only what is shown is drawn: switching views is a change of the
 * form, which draws every host again. The order is worked out again only when it can
 * have changed: a host came, went or changed its trouble, the form changed, or (at
 * most every `VALUE_SORT_MS`) the numbers a by-value sort follows moved.
 */
export function drawFleet() {
  const container = $("fleet-tiles");
  if (!container) return;
  const filter = filterOf();
  const now = performance.now();
  if (valuesMoved && BY_VALUE.has(filter.sort) && now - valueSortedAt >= VALUE_SORT_MS) orderDirty = true;
  if (filter.changed) orderDirty = true;
  if (orderDirty) {
    valuesMoved = false;
    valueSortedAt = now;
  }
  const table = showTable(filter.view === "table");
  for (const host of hosts.values()) {
    if (!host.dirty && !filter.changed) continue;
    host.dirty = false;
    const shown = filter.accepts(host);
    const level = host.rank === 2 ? "critical" : host.rank === 1 ? "warning" : "ok";
    if (table) tableRow(host, level, shown);
    else drawTile(host, level, shown);
  }
  if (orderDirty) {
    orderDirty = false;
    optionsSeen(hosts.values());
    const ordered = [...hosts.values()].sort((a, b) => sortKey(filter.sort, a, b, trouble));
    if (table) table.order(ordered);
    else inOrder(container, ordered.map((host) => tiles.get(host.name)?.root));
    const counts = { up: 0, stale: 0, gone: 0 };
    for (const host of hosts.values()) counts[host.state] = (counts[host.state] ?? 0) + 1;
    setText($("fleet-summary"), `${hosts.size} hosts: ${counts.up} up, ${counts.stale} stale, ${counts.gone} gone`);
  }
}

/** Tiles shown, for the browser test hook. */
export const fleetCounts = () => ({
  hosts: hosts.size, messages: received, tiles: tiles.size, sparklines: sparklineCount(), rows: tableCount(),
  shown: [...tiles.values()].filter((tile) => !tile.root.hidden).length,
});
