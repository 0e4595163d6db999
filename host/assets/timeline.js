// A plot of a past range, drawn from `/api/query` answers: each line is the points'
// average, with the min–max band around it where a point stands for several samples;
// alerts are shaded from start to end and other events (reloads, starts, stops,
// plugin events) are ticks on the time axis, so a spike and its cause line up.

import { moment } from "./format.js";
import { AXIS_H, canvasContext, colors, drawGrid, drawThresholds, niceCeiling } from "./plot.js";

/** Colour (palette key) of an event's tick, by kind. */
const TICK = { reload: "cpu", start: "disk", stop: "temp", plugin: "gpu" };
/** Height of an event's tick above the time axis. */
const TICK_H = 7;

/** The top of the value axis: 100 for percentages, else the peak in view rounded up. */
function topOf(lines, scale) {
  if (!scale) return 100;
  if (scale.max) return scale.max;
  let peak = Math.max(scale.min ?? 0, scale.reference ?? 0);
  for (const line of lines) {
    for (const point of line.points) {
      const v = line.band ? point[3] : point[2];
      if (typeof v === "number" && v > peak) peak = v;
    }
  }
  return niceCeiling(peak, scale.base ?? 10);
}

/**
 * Runs of points without a hole: a point further than a few steps from the one
 * before starts a new run, so a server that was down shows as a gap, not a ramp.
 */
function runs(points, stepSeconds) {
  const gap = Math.max(2.5 * stepSeconds, 5);
  const out = [];
  let run = [];
  let last = -Infinity;
  for (const point of points) {
    if (typeof point?.[0] !== "number" || typeof point[2] !== "number") continue;
    if (point[0] - last > gap && run.length > 0) {
      out.push(run);
      run = [];
    }
    run.push(point);
    last = point[0];
  }
  if (run.length > 0) out.push(run);
  return out;
}

/** Shades each alert from its start to its end (or the right edge while it lasts). */
function drawAlerts(ctx, events, x, w, h) {
  const palette = colors();
  for (const event of events) {
    if (event.kind !== "alert" || typeof event.time !== "number") continue;
    const x0 = Math.max(0, x(event.time * 1000));
    const x1 = typeof event.end === "number" ? Math.min(w, x(event.end * 1000)) : w;
    if (x1 < 0 || x0 > w) continue;
    ctx.globalAlpha = 0.16;
    ctx.fillStyle = String(event.level).toUpperCase() === "CRITICAL" ? palette.crit : palette.warn;
    ctx.fillRect(x0, 0, Math.max(2, x1 - x0), h);
    ctx.globalAlpha = 1;
  }
}

/** A tick on the time axis per event that is not an alert. */
function drawTicks(ctx, events, x, w, h) {
  const palette = colors();
  for (const event of events) {
    if (event.kind === "alert" || typeof event.time !== "number") continue;
    const px = Math.round(x(event.time * 1000)) + 0.5;
    if (px < 0 || px > w) continue;
    ctx.strokeStyle = palette[TICK[event.kind] ?? "muted"];
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(px, h);
    ctx.lineTo(px, h - TICK_H);
    ctx.stroke();
  }
}

/**
 * Draws `lines` over [`from`, `to`] (ms).
 * `lines`: [{ color, fill, points: [[t, min, avg, max]] (t in Unix seconds), step, band }]:
 * `band` draws min–max around the average (the caller sets it when a point covers
 * several samples). `events` as `/api/events` gives them; `scale` as drawSeries takes
 * it; `marker` (ms or null) a dashed line at a chosen moment. Records the span drawn
 * on the canvas (zoom.js) and the number of points drawn (`data-points`). `marks`:
 * the alert rules' thresholds, as drawSeries takes them.
 */
export function drawRange(canvas, { lines, from, to, events = [], scale = null, marker = null, note = "", marks = [] }) {
  const { ctx, w, h: fullH } = canvasContext(canvas);
  const h = Math.max(1, fullH - AXIS_H);
  const pad = 2;
  const width = Math.max(1, to - from);
  canvas.__span = { from, to };
  const top = topOf(lines, scale);
  const x = (ms) => ((ms - from) / width) * w;
  const y = (v) => h - pad - (Math.max(0, Math.min(top, v)) / top) * (h - 2 * pad);
  drawGrid(ctx, w, h);
  drawAlerts(ctx, events, x, w, h);
  let drawn = 0;
  for (const line of lines) {
    for (const run of runs(line.points, line.step)) {
      drawn += run.length;
      if (line.band) {
        const band = new Path2D();
        run.forEach((p, i) => (i === 0 ? band.moveTo(x(p[0] * 1000), y(p[3] ?? p[2])) : band.lineTo(x(p[0] * 1000), y(p[3] ?? p[2]))));
        for (let i = run.length - 1; i >= 0; i -= 1) band.lineTo(x(run[i][0] * 1000), y(run[i][1] ?? run[i][2]));
        band.closePath();
        ctx.globalAlpha = 0.28;
        ctx.fillStyle = line.color;
        ctx.fill(band);
        ctx.globalAlpha = 1;
      }
      const path = new Path2D();
      run.forEach((p, i) => (i === 0 ? path.moveTo(x(p[0] * 1000), y(p[2])) : path.lineTo(x(p[0] * 1000), y(p[2]))));
      if (line.fill && !line.band) {
        const area = new Path2D(path);
        area.lineTo(x(run[run.length - 1][0] * 1000), h - pad);
        area.lineTo(x(run[0][0] * 1000), h - pad);
        area.closePath();
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
  if (scale?.reference) {
    ctx.save();
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = colors().muted;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(0, Math.round(y(scale.reference)) + 0.5);
    ctx.lineTo(w, Math.round(y(scale.reference)) + 0.5);
    ctx.stroke();
    ctx.restore();
  }
  drawThresholds(canvas, ctx, marks, y, w, top);
  drawTicks(ctx, events, x, w, h);
  if (marker !== null && marker >= from && marker <= to) {
    ctx.save();
    ctx.setLineDash([3, 3]);
    ctx.strokeStyle = colors().text;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(Math.round(x(marker)) + 0.5, 0);
    ctx.lineTo(Math.round(x(marker)) + 0.5, h);
    ctx.stroke();
    ctx.restore();
  }
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = colors().muted;
  ctx.textBaseline = "bottom";
  ctx.fillText(moment(from, width), 3, fullH - 1);
  ctx.textAlign = "right";
  ctx.fillText(moment(to, width), w - 3, fullH - 1);
  if (scale?.label) {
    ctx.textBaseline = "top";
    ctx.fillText(scale.label(top), w - 3, 1);
  }
  const message = note || (drawn === 0 ? "no data in this range" : "");
  if (message) {
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(message, w / 2, h / 2);
  }
  ctx.textAlign = "left";
  canvas.dataset.top = String(top);
  canvas.dataset.points = String(drawn);
}
