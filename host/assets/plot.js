// Hand-drawn canvas plots: time series of percentages and the per-core bars.
// Canvas sizes come from a ResizeObserver (never read during a draw, so drawing
// forces no layout); backing stores follow devicePixelRatio for crisp lines.

const sizes = new WeakMap();
let resized = () => {};
const observer = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const box = entry.contentRect;
    sizes.set(entry.target, { w: box.width, h: box.height });
  }
  resized();
});

/** Starts tracking a canvas's size. */
export function watch(canvas) {
  observer.observe(canvas);
}

/** `callback` runs after any watched canvas changed size (to schedule a redraw). */
export function onResize(callback) {
  resized = callback;
}

let theme = null;

/** The palette, from the stylesheet's custom properties (re-read when the scheme flips). */
export function colors() {
  if (!theme) {
    const css = getComputedStyle(document.documentElement);
    const get = (name) => css.getPropertyValue(name).trim();
    theme = {
      grid: get("--grid"), muted: get("--muted"), text: get("--text"), card: get("--card"), cpu: get("--cpu"), mem: get("--mem"),
      disk: get("--disk"), gpu: get("--gpu"), temp: get("--temp"),
      warn: get("--warn-bg"), crit: get("--crit-bg"),
    };
  }
  return theme;
}
matchMedia("(prefers-color-scheme: light)").addEventListener("change", () => {
  theme = null;
  resized();
});

/** A canvas's size in CSS pixels, as last observed. */
export function sizeOf(canvas) {
  let size = sizes.get(canvas);
  if (!size) {
    // Before the observer's first report (e.g. the very first frame): measure once.
    size = { w: canvas.clientWidth, h: canvas.clientHeight };
    sizes.set(canvas, size);
  }
  return size;
}

/**
 * A cleared canvas of the size it is shown at, scaled for devicePixelRatio:
 * `{ ctx, w, h }` in CSS pixels (timeline.js and sparkline.js draw on it too).
 */
export function canvasContext(canvas) {
  const size = sizeOf(canvas);
  return { ctx: prepare(canvas, size), w: size.w, h: size.h };
}

function prepare(canvas, size) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(size.w * ratio));
  const height = Math.max(1, Math.round(size.h * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, size.w, size.h);
  return ctx;
}

/** Index of the first sample at or after `t` (samples are sorted by `t`). */
function firstFrom(samples, t) {
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  return Math.max(0, lo - 1);
}

/** Height of the strip under a plot that holds its time label: lines never reach it. */
export const AXIS_H = 12;

/** The horizontal grid lines every time plot has, over a plotted area `h` high. */
export function drawGrid(ctx, w, h) {
  ctx.lineWidth = 1;
  ctx.strokeStyle = colors().grid;
  ctx.beginPath();
  for (const f of [0.25, 0.5, 0.75, 1]) {
    const y = Math.min(h - 0.5, Math.round(h * f) + 0.5);
    ctx.moveTo(0, y);
    ctx.lineTo(w, y);
  }
  ctx.stroke();
}

/** A round number at or above `v`: 1, 2 or 5 times a power of ten (or of 1024 for bytes). */
export function niceCeiling(v, base = 10) {
  if (!(v > 0)) return 1;
  const power = base ** Math.floor(Math.log(v) / Math.log(base));
  for (const step of base === 1024 ? [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] : [1, 2, 5, 10]) {
    if (power * step >= v) return power * step;
  }
  return power * base;
}

/**
 * Draws each alert threshold in `marks` (`[{ level: "warning"|"critical", value }]`, in
 * the plot's units) as a dashed line across the plotted area: amber for a warning, red
 * for a critical. One above the plot's `top` is left out rather than drawn at the
 * edge, where it would claim a value it does not have. Records what was drawn as
 * `data-thresholds` (`warning:80,critical:90`), for tests and for the curious.
 */
export function drawThresholds(canvas, ctx, marks, y, w, top) {
  const palette = colors();
  const drawn = [];
  ctx.save();
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = 1.5;
  for (const mark of marks) {
    if (!(mark.value >= 0 && mark.value <= top)) continue;
    const py = Math.round(y(mark.value)) + 0.5;
    ctx.strokeStyle = mark.level === "critical" ? palette.crit : palette.warn;
    ctx.beginPath();
    ctx.moveTo(0, py);
    ctx.lineTo(w, py);
    ctx.stroke();
    drawn.push(`${mark.level}:${mark.value}`);
  }
  ctx.restore();
  const text = drawn.join(",");
  if (canvas.dataset.thresholds !== text) canvas.dataset.thresholds = text;
}

/** The largest value `lines` take in `samples` from index `from` on. */
function peak(samples, from, lines) {
  let max = 0;
  for (let i = from; i < samples.length; i += 1) {
    for (const line of lines) {
      const v = line.get(samples[i]);
      if (v !== null && v > max) max = v;
    }
  }
  return max;
}

/**
 * Draws lines over the last `windowMs` before `end`.
 * `lines`: [{ color, get(sample) -> number|null, fill }]. A gap longer than `gapMs`
 * or a missing value breaks the line rather than joining across it.
 * `scale` (optional): `{ max, label(max) }` for values that are not percentages; without
 * `max` the top is the peak in view, rounded up (`base` 1024 for bytes), and
 * `reference` draws a dashed line at that value (e.g. the CPU count under a load plot).
 * The time label sits in a strip of its own below the plotted area. `marks`: the
 * alert rules' thresholds on this plot's values (see drawThresholds).
 */
export function drawSeries(canvas, samples, lines, end, windowMs, gapMs, scale = null, marks = []) {
  const size = sizeOf(canvas);
  const ctx = prepare(canvas, size);
  const { w } = size;
  const h = Math.max(1, size.h - AXIS_H);
  const pad = 2;
  const start = end - windowMs;
  const from = firstFrom(samples, start);
  let top = 100;
  if (scale) {
    const floor = Math.max(scale.min ?? 0, scale.reference ?? 0);
    top = scale.max ?? niceCeiling(Math.max(floor, peak(samples, from, lines)), scale.base ?? 10);
  }
  drawGrid(ctx, w, h);
  // The span shown, for drag-to-zoom and a click on a moment (zoom.js).
  canvas.__span = { from: start, to: end };
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = colors().muted;
  ctx.textBaseline = "bottom";
  const minutes = windowMs / 60000;
  ctx.fillText(minutes >= 1.5 ? `${Math.round(minutes)} min` : `${Math.round(windowMs / 1000)} s`, 3, size.h - 1);
  ctx.textAlign = "right";
  ctx.fillText("now", w - 3, size.h - 1);
  if (scale?.label) {
    ctx.textBaseline = "top";
    ctx.fillText(scale.label(top), w - 3, 1);
  }
  ctx.textAlign = "left";
  canvas.dataset.top = String(top);
  const y = (v) => h - pad - (Math.max(0, Math.min(top, v)) / top) * (h - 2 * pad);
  // Thresholds are known before any sample is: drawn even on an empty plot.
  drawThresholds(canvas, ctx, marks, y, w, top);
  if (samples.length === 0) return;
  const x = (t) => ((t - start) / windowMs) * w;
  if (scale?.reference) {
    ctx.save();
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = colors().muted;
    ctx.beginPath();
    ctx.moveTo(0, Math.round(y(scale.reference)) + 0.5);
    ctx.lineTo(w, Math.round(y(scale.reference)) + 0.5);
    ctx.stroke();
    ctx.restore();
  }
  for (const line of lines) {
    const path = new Path2D();
    const area = line.fill ? new Path2D() : null;
    let open = false;
    let firstX = 0;
    let lastX = 0;
    let lastT = -Infinity;
    const close = () => {
      if (open && area) {
        area.lineTo(lastX, h - pad);
        area.lineTo(firstX, h - pad);
        area.closePath();
      }
      open = false;
    };
    for (let i = from; i < samples.length; i += 1) {
      const sample = samples[i];
      const value = line.get(sample);
      if (value === null || sample.t - lastT > gapMs) close();
      lastT = sample.t;
      if (value === null) continue;
      const px = x(sample.t);
      const py = y(value);
      if (open) {
        path.lineTo(px, py);
        if (area) area.lineTo(px, py);
      } else {
        path.moveTo(px, py);
        if (area) area.moveTo(px, py);
        firstX = px;
        open = true;
      }
      lastX = px;
    }
    close();
    if (area) {
      ctx.globalAlpha = 0.18;
      ctx.fillStyle = line.color;
      ctx.fill(area);
      ctx.globalAlpha = 1;
    }
    ctx.lineWidth = 1.5;
    ctx.lineJoin = "round";
    ctx.strokeStyle = line.color;
    ctx.stroke(path);
  }
}

/**
 * Draws one bar per core in a balanced grid (one row up to what fits, then as many
 * rows as needed) and sizes the canvas's height to it. Records the layout on the
 * canvas for hit-testing (`coreAt`).
 */
export function drawCores(canvas, values) {
  const n = values.length;
  const size = sizeOf(canvas);
  const gap = 2;
  const minCell = 8;
  const maxCols = Math.max(1, Math.floor((size.w + gap) / (minCell + gap)));
  const rows = Math.max(1, Math.ceil(n / maxCols));
  const cols = Math.max(1, Math.ceil(n / rows));
  const rowH = rows === 1 ? 44 : rows === 2 ? 30 : 22;
  const height = rows * rowH + (rows - 1) * gap;
  if (size.h !== height) {
    canvas.style.height = `${height}px`;
    size.h = height;
  }
  const ctx = prepare(canvas, size);
  const cellW = (size.w - (cols - 1) * gap) / cols;
  const palette = colors();
  canvas.__layout = { cols, cellW, rowH, gap, n };
  canvas.dataset.count = String(n);
  for (let i = 0; i < n; i += 1) {
    const cx = (i % cols) * (cellW + gap);
    const cy = Math.floor(i / cols) * (rowH + gap);
    ctx.fillStyle = palette.grid;
    ctx.fillRect(cx, cy, cellW, rowH);
    const v = values[i];
    if (v === null) continue;
    const fillH = (Math.max(0, Math.min(100, v)) / 100) * rowH;
    ctx.fillStyle = v >= 90 ? palette.crit : v >= 75 ? palette.warn : palette.cpu;
    ctx.fillRect(cx, cy + rowH - fillH, cellW, fillH);
  }
  if (cellW >= 48) {
    // Few cores: room to name each bar and its value.
    ctx.font = "600 11px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.lineWidth = 3;
    ctx.strokeStyle = palette.card;
    ctx.fillStyle = palette.text;
    for (let i = 0; i < n; i += 1) {
      const label = `${i}: ${values[i] === null ? "—" : `${Math.round(values[i])}%`}`;
      const cx = (i % cols) * (cellW + gap) + 5;
      const cy = Math.floor(i / cols) * (rowH + gap) + 4;
      ctx.strokeText(label, cx, cy);
      ctx.fillText(label, cx, cy);
    }
  }
}

/** The core under a point of the canvas (CSS pixels), or -1. */
export function coreAt(canvas, px, py) {
  const layout = canvas.__layout;
  if (!layout) return -1;
  const col = Math.floor(px / (layout.cellW + layout.gap));
  const row = Math.floor(py / (layout.rowH + layout.gap));
  const index = row * layout.cols + col;
  return col >= 0 && col < layout.cols && index >= 0 && index < layout.n ? index : -1;
}
