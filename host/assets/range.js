// Which time the plots show: live (the default, the WebSocket's last minutes) or a
// past range, chosen from the picker (5 min … 1 y, ending now) or by dragging across a
// plot. Zooming keeps the ranges it came from, so "zoom out" walks back through them
// (and then widens), and "Live" is one click from anywhere.

import { moment, setText, span } from "./format.js";

const MINUTE = 60000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The picker's ranges, each ending now. */
const PRESETS = {
  "5m": 5 * MINUTE, "1h": HOUR, "6h": 6 * HOUR, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY, "1y": 365 * DAY,
};
/** The narrowest zoom: below this a point of any tier is wider than the plot. */
const MIN_SPAN_MS = 5000;

const $ = (id) => document.getElementById(id);
const picker = $("range");
const label = $("range-label");
const zoomOutButton = $("zoom-out");

/** `{ live: true }` or `{ live: false, from, to, preset }` (ms; preset: a PRESETS key or null). */
let current = { live: true };
/** The ranges zoomed in from, newest last. */
const earlier = [];
let listener = () => {};

/** The range shown now. */
export const currentRange = () => current;

/** `callback(range)` runs after every change of range. */
export function onRangeChange(callback) {
  listener = callback;
}

/** Back to live plots, forgetting the zoom trail. */
export function showLive() {
  earlier.length = 0;
  set({ live: true });
}

/** The last `key` (a PRESETS key) up to now. */
export function showPreset(key) {
  const width = PRESETS[key];
  if (!width) return;
  earlier.length = 0;
  const to = Date.now();
  set({ live: false, from: to - width, to, preset: key });
}

/** Narrows (or moves) to [`from`, `to`] (ms), remembering where it came from. */
export function zoomTo(from, to) {
  const [a, b] = from <= to ? [from, to] : [to, from];
  const middle = (a + b) / 2;
  const width = Math.max(MIN_SPAN_MS, b - a);
  earlier.push(current);
  set({ live: false, from: middle - width / 2, to: middle + width / 2, preset: null });
}

/** Back to the range before the last zoom; with none, twice as wide, ending no later than now. */
export function zoomOut() {
  if (current.live) return;
  const previous = earlier.pop();
  if (previous) {
    set(previous);
    return;
  }
  const width = (current.to - current.from) * 2;
  const to = Math.min(Date.now(), (current.from + current.to) / 2 + width / 2);
  set({ live: false, from: to - width, to, preset: null });
}

function set(range) {
  current = range;
  for (const button of picker.querySelectorAll("button[data-range]")) {
    const pressed = range.live ? button.dataset.range === "live" : button.dataset.range === range.preset;
    button.setAttribute("aria-pressed", String(pressed));
  }
  zoomOutButton.disabled = range.live;
  setText(label, describe(range));
  listener(range);
}

/** `live`, or `1 h: 04:40 – 05:40`, or `2 min: 05:01:10 – 05:03:20` for a zoom. */
export function describe(range) {
  if (range.live) return "live";
  const width = range.to - range.from;
  return `${span(width)}: ${moment(range.from, width)} – ${moment(range.to, width)}`;
}

picker.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button === zoomOutButton) zoomOut();
  else if (button.dataset.range === "live") showLive();
  else showPreset(button.dataset.range);
});
