// What a past range's plots draw, from the history API: one `/api/query` per plot
// (all of its series in one request) and one `/api/events` per range, asked once
// when the range changes (or a plot first shows in it), never polled. Answers for a
// range no longer shown are dropped.

import { apiUrl, getJson } from "./api.js";

/** `?host=NAME` on a fleet gateway: that host's history; null for this server's own. */
let host = null;
/** Bumped on every range change: answers from an older one are stale. */
let generation = 0;
/** canvas → { key, state: "loading" | "ok" | "error", results: [{ series, step_seconds, points }], error }. */
const plots = new Map();
/** The range's events, once `/api/events` answered. */
let events = [];
let eventsAsked = false;
let loaded = () => {};
/** For the test hook: requests made and the last failure. */
const stats = { queries: 0, events: 0, error: "" };

/** Which host's history to ask for (`null`: this server's), and what to call when an answer arrived. */
export function initPast(hostName, onLoaded) {
  host = hostName;
  loaded = onLoaded;
}

/** Forgets every answer: the range changed (or went live). */
export function resetPast() {
  generation += 1;
  plots.clear();
  events = [];
  eventsAsked = false;
}

/** A URL of the history API with `params`, for this page's host. */
export const historyUrl = (path, params) => apiUrl(path, { ...params, host });

/** Unix seconds, as the API takes them (to the millisecond: a zoom may be narrow). */
export const seconds = (ms) => (ms / 1000).toFixed(3);

/**
 * The answer for `canvas` showing `series` over `range` at about `points` points:
 * the entry (possibly still loading), asking for it when this plot has none for
 * these series yet.
 */
export function plotData(canvas, series, range, points) {
  const key = series.join("\n");
  const known = plots.get(canvas);
  if (known && known.key === key) return known;
  const entry = { key, state: "loading", results: [], error: "" };
  plots.set(canvas, entry);
  const asked = generation;
  stats.queries += 1;
  const url = historyUrl("/api/query", {
    series, from: seconds(range.from), to: seconds(range.to), points: Math.max(10, Math.min(1000, Math.round(points))),
  });
  getJson(url).then((body) => {
    // One series answers with itself, several with `results` in the order asked.
    const results = Array.isArray(body?.results) ? body.results : [body];
    entry.results = series.map((name, i) => {
      const result = results[i];
      return { step: Number(result?.step_seconds) || 0, points: Array.isArray(result?.points) ? result.points : [] };
    });
    entry.state = "ok";
  }, (error) => {
    entry.state = "error";
    entry.error = String(error.message ?? error);
    stats.error = entry.error;
  }).finally(() => {
    if (asked === generation) loaded();
  });
  return entry;
}

/** The range's events (alerts, reloads, starts, stops, plugin events), asked once per range. */
export function rangeEvents(range) {
  if (!eventsAsked) {
    eventsAsked = true;
    const asked = generation;
    stats.events += 1;
    getJson(historyUrl("/api/events", { from: seconds(range.from), to: seconds(range.to) })).then((body) => {
      if (asked !== generation) return;
      events = Array.isArray(body?.events) ? body.events.filter((e) => e && typeof e === "object") : [];
      loaded();
    }, (error) => {
      stats.error = String(error.message ?? error);
    });
  }
  return events;
}

/** Requests made and plots answered, for the test hook. */
export const pastCounts = () => ({
  ...stats,
  plots: plots.size,
  answered: [...plots.values()].filter((p) => p.state === "ok").length,
  eventsShown: events.length,
});
