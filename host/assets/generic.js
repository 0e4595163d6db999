// A card for every section the dashboard has no card of its own for (issue 24):
// a script's Nagios check (its state in its colour and its message), a Prometheus
// section (its unlabelled values), Influx measurements (their number fields), the
// `exec` status (each command's last run) and any other plugin's section (its top
// numbers and a `state` or `status` text). Script output is hostile: every text goes
// in through textContent, never as markup, and cards, rows and texts are capped.
// Like the other cards, each card and row is made once and a tick changes its text.

import { num, setText } from "./format.js";

/** Sections drawn by their own cards (view.js, machine.js). */
const OWN_CARDS = new Set([
  "processor", "memory", "disk", "disks", "system", "gpu", "network", "disk_io", "load", "sensors", "processes",
]);
/** The most generic cards, rows per card and characters per text. */
const MAX_CARDS = 32;
const MAX_ROWS = 12;
const MAX_TEXT = 200;
/** Nagios states as the levels style.css colours. */
const NAGIOS_LEVEL = { OK: "ok", WARNING: "warning", CRITICAL: "critical", UNKNOWN: "unknown" };

const cards = new Map(); // section → { article, state, message, list, rows: Map(label → {dt, dd}) }
let layoutChanged = false;

const clip = (text) => {
  const s = String(text ?? "");
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
};

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function make(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.append(node);
  return node;
}

function cardFor(section) {
  let card = cards.get(section);
  if (card) return card;
  const article = make("article", "card generic-card");
  article.dataset.section = section;
  const header = make("header", null, article);
  make("h2", null, header).textContent = clip(section);
  const state = make("span", "big", header);
  const message = make("p", "generic-message muted", article);
  const list = make("dl", "facts wide", article);
  document.querySelector("main.grid")?.append(article);
  card = { article, state, message, list, rows: new Map() };
  cards.set(section, card);
  layoutChanged = true;
  return card;
}

/** The key numbers of one section, as [label, text] pairs, and its state, if any. */
function summary(value) {
  const rows = [];
  const add = (label, text) => {
    if (rows.length < MAX_ROWS) rows.push([clip(label), clip(text)]);
  };
  const number = (v) => {
    const n = num(v);
    return n === null ? null : String(Math.round(n * 1000) / 1000);
  };
  if (value.format === "nagios") {
    for (const [label, p] of Object.entries(isObject(value.perfdata) ? value.perfdata : {})) {
      const n = number(p?.value);
      if (n !== null) add(label, `${n}${p.unit ? ` ${p.unit}` : ""}`);
    }
    const state = String(value.state ?? "UNKNOWN");
    return { rows, state, level: NAGIOS_LEVEL[state] ?? "unknown", message: value.message };
  }
  if (value.format === "prometheus") {
    for (const [name, v] of Object.entries(isObject(value.values) ? value.values : {})) {
      const n = number(v);
      if (n !== null) add(name, n);
    }
    return { rows };
  }
  if (value.format === "influx") {
    for (const [measurement, points] of Object.entries(isObject(value.measurements) ? value.measurements : {})) {
      const point = Array.isArray(points) ? points[0] : null;
      for (const [field, v] of Object.entries(isObject(point?.fields) ? point.fields : {})) {
        const n = typeof v === "boolean" ? String(v) : number(v);
        if (n !== null) add(`${measurement}.${field}`, n);
      }
    }
    return { rows };
  }
  if (isObject(value.commands)) {
    let failing = 0;
    for (const [name, c] of Object.entries(value.commands)) {
      if (!isObject(c)) continue;
      if (c.error) failing += 1;
      const ms = number(c.duration_ms);
      add(name, c.error ? `failed: ${c.error}` : `exit ${c.exit_code ?? "—"} · ${ms ?? "—"} ms`);
    }
    return { rows, state: failing ? `${failing} failing` : "ok", level: failing ? "warning" : "ok" };
  }
  for (const [key, v] of Object.entries(value)) {
    const n = number(v);
    if (n !== null) add(key, n);
    else if (isObject(v)) {
      for (const [inner, w] of Object.entries(v)) {
        const m = number(w);
        if (m !== null) add(`${key}.${inner}`, m);
      }
    }
  }
  const text = typeof value.state === "string" ? value.state : typeof value.status === "string" ? value.status : null;
  return { rows, state: text };
}

function fill(card, { rows, state, level, message }) {
  setText(card.state, clip(state ?? ""));
  const lvl = level ?? "";
  if (card.state.dataset.level !== lvl) card.state.dataset.level = lvl;
  setText(card.message, clip(String(message ?? "").split("\n")[0]));
  card.message.hidden = !message;
  const seen = new Set();
  for (const [label, text] of rows) {
    seen.add(label);
    let row = card.rows.get(label);
    if (!row) {
      const div = make("div", null, card.list);
      row = { div, dt: make("dt", null, div), dd: make("dd", null, div) };
      row.dt.textContent = label;
      card.rows.set(label, row);
      layoutChanged = true;
    }
    setText(row.dd, text);
  }
  for (const [label, row] of card.rows) {
    if (!seen.has(label)) {
      row.div.remove();
      card.rows.delete(label);
      layoutChanged = true;
    }
  }
}

/** Brings the generic cards up to date with `data`; returns whether the layout changed. */
export function applyGeneric(data) {
  layoutChanged = false;
  const present = new Set();
  for (const [section, value] of Object.entries(data ?? {})) {
    if (OWN_CARDS.has(section) || !isObject(value)) continue;
    if (present.size >= MAX_CARDS) break;
    present.add(section);
    fill(cardFor(section), summary(value));
  }
  for (const [section, card] of cards) {
    if (!present.has(section)) {
      card.article.remove();
      cards.delete(section);
      layoutChanged = true;
    }
  }
  return layoutChanged;
}

/** The cards by section (for alert highlighting) and their count (for tests). */
export const genericCards = () => new Map([...cards].map(([s, c]) => [s, c.article]));
export const genericCounts = () => ({ genericCards: cards.size });
