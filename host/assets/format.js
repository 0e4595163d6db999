// Formatting of the wire protocol's values for people: percent, bytes, bytes/s,
// MHz, °C, W and the seed's ISO 8601 local timestamps.

/** A finite number, or null for anything else (the server sends null for readings a device cannot give). */
export function num(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

export function percent(value) {
  const v = num(value);
  return v === null ? "—" : `${v.toFixed(1)}%`;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** The unit (power of 1024) that shows `value` with one to three integer digits. */
function unitOf(value) {
  let unit = 0;
  let v = Math.abs(value);
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit += 1;
  }
  return unit;
}

/** `value` in `unit`: whole numbers from `whole` up (and for bytes), else one decimal. */
function scaled(value, unit, whole = 100) {
  const v = value / 1024 ** unit;
  return v.toFixed(unit === 0 || Math.abs(v) >= whole ? 0 : 1);
}

export function bytes(value) {
  const v = num(value);
  if (v === null) return "—";
  const unit = unitOf(v);
  return `${scaled(v, unit)} ${UNITS[unit]}`;
}

/** A rate in bytes per second, e.g. `1.2 MiB/s`. */
export function bytesPerSecond(value) {
  const text = bytes(value);
  return text === "—" ? text : `${text}/s`;
}

/** `53 / 80 GiB`: a part and its whole in the whole's unit, short enough for a narrow column. */
export function bytesOf(part, whole) {
  const p = num(part);
  const w = num(whole);
  if (w === null) return bytes(p);
  const unit = unitOf(w);
  return `${p === null ? "—" : scaled(p, unit, 10)} / ${scaled(w, unit, 10)} ${UNITS[unit]}`;
}

export function megahertz(value) {
  const v = num(value);
  if (v === null || v <= 0) return "—";
  return v >= 1000 ? `${(v / 1000).toFixed(2)} GHz` : `${v.toFixed(0)} MHz`;
}

export function celsius(value) {
  const v = num(value);
  return v === null ? "—" : `${v.toFixed(0)} °C`;
}

export function watts(draw, limit) {
  const d = num(draw);
  if (d === null) return "—";
  const l = num(limit);
  return l === null ? `${d.toFixed(0)} W` : `${d.toFixed(0)} / ${l.toFixed(0)} W`;
}

/** `2025-01-03T10:15:30.123456` (server local time) to milliseconds, or null. */
export function parseTime(text) {
  if (typeof text !== "string") return null;
  // Date.parse reads a date-time without offset as local time; it wants at most ms.
  const ms = Date.parse(text.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isFinite(ms) ? ms : null;
}

/** The clock part of a timestamp, to a tenth of a second: `10:15:30.1`. */
export function clock(text) {
  if (typeof text !== "string") return "—";
  const match = /T(\d\d:\d\d:\d\d)(\.\d)?/.exec(text);
  return match ? match[1] + (match[2] || "") : text;
}

export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  const minutes = Math.floor(ms / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${mins} min`;
  return `${mins} min`;
}

/** Sets an element's text only when it changed, so a tick touches only what moved. */
export function setText(element, text) {
  if (element.__text !== text) {
    element.__text = text;
    element.textContent = text;
  }
}

/**
 * Puts `parent`'s children in the order of `nodes` (missing ones skipped), moving only
 * those out of place. One walk with a cursor: indexing the live `children` after each
 * move walks the list again, 2,000 times over for 2,000 tiles.
 */
export function inOrder(parent, nodes) {
  let cursor = parent.firstElementChild;
  for (const node of nodes) {
    if (!node) continue;
    if (node === cursor) cursor = cursor.nextElementSibling;
    else parent.insertBefore(node, cursor);
  }
}

/**
 * A moment (ms) as a time axis of `spanMs` needs it: seconds for a few minutes,
 * the clock for a day or two, the date beyond that (in the browser's time zone).
 */
export function moment(ms, spanMs) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  const clockText = `${p(d.getHours())}:${p(d.getMinutes())}`;
  if (spanMs <= 15 * 60000) return `${clockText}:${p(d.getSeconds())}`;
  if (spanMs <= 36 * 3600000) return clockText;
  const date = d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  return spanMs <= 10 * 86400000 ? `${date} ${clockText}` : date;
}

/** A span of time for a label: `45 s`, `12 min`, `6 h`, `1.5 h`, `30 d`. */
export function span(ms) {
  const s = Math.round(ms / 1000);
  const unit = (value, name) => `${Number.isInteger(value) || value >= 10 ? Math.round(value) : value.toFixed(1)} ${name}`;
  if (s < 120) return `${s} s`;
  if (s < 3600) return unit(s / 60, "min");
  if (s < 2 * 86400) return unit(s / 3600, "h");
  return unit(s / 86400, "d");
}
