// The panel a click on a plot opens: the top processes by CPU and by memory at that
// moment, from `/api/processes?at=` (the store keeps them at a coarser step than the
// plots, so the answer names the moment it has, which is shown).

import { getJson } from "./api.js";
import { moment, setText } from "./format.js";
import { applyTable } from "./machine.js";
import { historyUrl, seconds } from "./past.js";

const $ = (id) => document.getElementById(id);
const panel = $("moment");
const title = $("moment-time");
const note = $("moment-note");
const cpuTable = $("moment-cpu");
const memTable = $("moment-mem");
const rows = { cpu: new Map(), mem: new Map() };

/** The moment shown (ms), for a marker on the plots; null while the panel is closed. */
let shown = null;
/** Bumped per click: only the newest click's answer is shown. */
let asked = 0;
let changed = () => {};

/** `Dec 7 05:12:30`: a moment, with its day (it may be weeks ago). */
const when = (ms) => `${new Date(ms).toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${moment(ms, 0)}`;

export const momentShown = () => shown;

/** `callback` runs when the moment shown changes (to redraw the marker). */
export function onMomentChange(callback) {
  changed = callback;
}

function fill(top) {
  const list = (value) => (Array.isArray(value) ? value.filter((p) => p && typeof p === "object") : []);
  applyTable(cpuTable.tBodies[0], rows.cpu, list(top?.top_cpu));
  applyTable(memTable.tBodies[0], rows.mem, list(top?.top_memory));
}

/** Opens the panel on the processes at `t` (ms). */
export async function showMoment(t) {
  const mine = ++asked;
  shown = t;
  changed();
  panel.hidden = false;
  setText(title, when(t));
  setText(note, "loading…");
  let body;
  try {
    body = await getJson(historyUrl("/api/processes", { at: seconds(t) }));
  } catch (error) {
    if (mine !== asked) return;
    fill(null);
    setText(note, error.status === 404 ? "No processes were recorded at or before this moment." : String(error.message));
    return;
  }
  if (mine !== asked) return;
  fill(body);
  const at = typeof body?.time === "number" ? body.time * 1000 : t;
  setText(title, when(at));
  setText(note, Math.abs(at - t) >= 1000 ? `the last record before ${moment(t, 0)}` : "");
}

/** Closes the panel. */
export function hideMoment() {
  asked += 1;
  shown = null;
  panel.hidden = true;
  changed();
}

$("moment-close").addEventListener("click", hideMoment);

/** Rows shown, for the test hook. */
export const momentCounts = () => ({ open: !panel.hidden, processes: rows.cpu.size + rows.mem.size, title: title.textContent });
