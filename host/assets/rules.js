// The alert rules as the server states them (`GET /api/rules`): the value each one
// watches (a path into the snapshot, e.g. `disks[*].percentage`) and its warning and
// critical thresholds, so a plot can draw the lines an alert fires at before any
// alert has fired. Rules change at run time (`set_threshold`, a reload): app.js asks
// again after those answers and every minute.

import { getJson } from "./api.js";
import { num } from "./format.js";

/** Rules kept at most: a plot draws a few lines, not thousands. */
const MAX_RULES = 500;

/** Each rule as drawn: its path's segments and its thresholds in the plot's units. */
let rules = [];
let loads = 0;
let error = "";
/** The last answer's text: a poll that changes nothing redraws nothing. */
let lastText = "";

/**
 * A path's segments: names, and bracketed parts kept with their brackets, so a disk
 * called `/var/lib.d` stays one segment: `disks[/var].percentage` →
 * `["disks", "[/var]", "percentage"]`.
 */
export function segments(path) {
  return String(path).match(/\[[^\]]*\]|[^.[\]]+/g) ?? [];
}

/**
 * Whether a rule's path names the series a plot line draws: the same segments, where
 * the rule's `[*]` stands for any one bracketed part (`disks[*].percentage` names
 * `disks[/var].percentage`).
 */
export function matches(rulePath, series) {
  const rule = Array.isArray(rulePath) ? rulePath : segments(rulePath);
  const line = segments(series);
  if (rule.length !== line.length) return false;
  return rule.every((part, i) => part === line[i] || (part === "[*]" && line[i].startsWith("[")));
}

/**
 * A rule's thresholds in the units the plot shows: the rule compares the value times
 * its `scale` (e.g. bytes as GiB), so the line sits at threshold / scale.
 */
function marksOf(rule) {
  const scale = num(rule.scale) ?? 1;
  const marks = [];
  for (const level of ["warning", "critical"]) {
    const threshold = num(rule[level]);
    if (threshold !== null && scale > 0) marks.push({ level, value: threshold / scale });
  }
  return marks;
}

/**
 * Takes the rules from a `GET /api/rules` answer or a WebSocket `rules` message (the
 * same body); returns whether they changed (the plots must redraw).
 */
export function setRules(body) {
  const list = Array.isArray(body?.rules) ? body.rules.slice(0, MAX_RULES) : [];
  const text = JSON.stringify(list);
  if (text === lastText) return false;
  lastText = text;
  rules = list
    .filter((rule) => rule && typeof rule.metric === "string")
    .map((rule) => ({ path: segments(rule.metric), marks: marksOf(rule) }));
  return true;
}

/** Asks the server for its rules; resolves to whether they changed. */
export async function loadRules() {
  loads += 1;
  try {
    const body = await getJson("/api/rules");
    error = "";
    return setRules(body);
  } catch (failure) {
    // Kept and shown in the state: a server without rules support still draws its plots.
    error = String(failure.message ?? failure);
    return false;
  }
}

/** The thresholds to draw on a plot whose lines draw `series` (paths), without repeats. */
export function thresholdsOf(series) {
  const seen = new Set();
  const marks = [];
  for (const rule of rules) {
    if (!series.some((path) => matches(rule.path, path))) continue;
    for (const mark of rule.marks) {
      const key = `${mark.level}:${mark.value}`;
      if (!seen.has(key)) {
        seen.add(key);
        marks.push(mark);
      }
    }
  }
  return marks;
}

/** How many rules are known, how often they were asked for, and the last failure. */
export const rulesCounts = () => ({ rules: rules.length, loads, error });
