// The last hour of CPU and memory on each fleet tile, from the gateway's store
// (`/api/query?host=NAME&…&from=-1h&points=60`). Only tiles on screen (or about to
// be) ask: a fleet of 2,000 hosts shows a phone a handful at a time, and a tile
// scrolled to, filtered in or shown again asks then. However many are on screen, one
// tile's request is in flight at a time: tiles queue up, and each on screen asks again
// a minute after its last answer.

import { apiUrl, getJson } from "./api.js";
import { canvasContext, colors, watch } from "./plot.js";

/** What a sparkline shows: CPU (with its min–max band) and memory. */
const SERIES = ["processor.usage_percent", "memory.percentage"];
/** One point a minute over the hour. */
const POINTS = 60;
const REFRESH_MS = 60000;
/** A host with nothing stored yet (just joined) is asked again sooner, backing off to REFRESH_MS. */
const FIRST_RETRY_MS = 5000;

/**
 * host name → { canvas, timer, retry, seen() (whether its tile is on or near the
 * screen, as fleet.js tracks it), due (its sparkline wants asking for) }; a host
 * forgotten is dropped from here and skipped in the queue.
 */
const sparks = new Map();
const queue = [];
let busy = false;
let drawnCount = 0;

/**
 * Gives `name`'s tile its sparkline on `canvas`; it asks for its hour only while
 * `seen()`, first when the tile comes into view (`sparklineSeen`).
 */
export function wantSparkline(name, canvas, seen) {
  sparks.set(name, { canvas, timer: 0, retry: FIRST_RETRY_MS, seen, due: true });
  // After the frame that makes the tile: drawing 100 new tiles observes nothing.
  setTimeout(() => {
    if (sparks.get(name)?.canvas === canvas) watch(canvas);
  }, 0);
}

/** The host's tile came on screen (or near it): it asks now if it is due. */
export function sparklineSeen(name) {
  if (sparks.get(name)?.due) enqueue(name);
}

/** The host's tile is gone: no more requests for it. */
export function forgetSparkline(name) {
  clearTimeout(sparks.get(name)?.timer);
  sparks.delete(name);
}

function enqueue(name) {
  if (!queue.includes(name)) queue.push(name);
  pump();
}

async function pump() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const name = queue.shift();
    const spark = sparks.get(name);
    // Scrolled or filtered away while it waited: it asks when it is seen again.
    if (!spark || !spark.seen()) continue;
    const url = apiUrl("/api/query", { host: name, series: SERIES, from: "-1h", points: POINTS });
    let drawn = false;
    try {
      const body = await getJson(url);
      const results = Array.isArray(body?.results) ? body.results : [body];
      drawn = draw(spark.canvas, results.map((r) => (Array.isArray(r?.points) ? r.points : []))) > 0;
    } catch {
      // No history for this host yet, or the gateway is away: asked again below.
    }
    const delay = drawn ? REFRESH_MS : spark.retry;
    spark.retry = drawn ? FIRST_RETRY_MS : Math.min(REFRESH_MS, spark.retry * 2);
    spark.due = false;
    if (sparks.get(name) === spark) {
      spark.timer = setTimeout(() => {
        spark.due = true;
        if (spark.seen()) enqueue(name);
      }, delay);
    }
  }
  busy = false;
}

/** CPU as a band (min–max) and line (avg), memory as a line, 0–100 %, over the last hour; returns the points drawn. */
function draw(canvas, [cpu = [], memory = []]) {
  const { ctx, w, h } = canvasContext(canvas);
  const to = Date.now() / 1000;
  const from = to - 3600;
  const x = (t) => ((t - from) / 3600) * w;
  const y = (v) => h - 1 - (Math.max(0, Math.min(100, v)) / 100) * (h - 2);
  const valid = (points) => points.filter((p) => typeof p?.[0] === "number" && typeof p[2] === "number");
  const palette = colors();
  const line = (points, color, value) => {
    ctx.beginPath();
    points.forEach((p, i) => (i === 0 ? ctx.moveTo(x(p[0]), y(value(p))) : ctx.lineTo(x(p[0]), y(value(p)))));
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.25;
    ctx.stroke();
  };
  const cpuPoints = valid(cpu);
  if (cpuPoints.length > 0) {
    ctx.beginPath();
    cpuPoints.forEach((p, i) => (i === 0 ? ctx.moveTo(x(p[0]), y(p[3] ?? p[2])) : ctx.lineTo(x(p[0]), y(p[3] ?? p[2]))));
    for (let i = cpuPoints.length - 1; i >= 0; i -= 1) ctx.lineTo(x(cpuPoints[i][0]), y(cpuPoints[i][1] ?? cpuPoints[i][2]));
    ctx.closePath();
    ctx.globalAlpha = 0.25;
    ctx.fillStyle = palette.cpu;
    ctx.fill();
    ctx.globalAlpha = 1;
    line(cpuPoints, palette.cpu, (p) => p[2]);
  }
  const memPoints = valid(memory);
  if (memPoints.length > 0) line(memPoints, palette.mem, (p) => p[2]);
  canvas.dataset.points = String(cpuPoints.length + memPoints.length);
  drawnCount += 1;
  return cpuPoints.length + memPoints.length;
}

/** Sparklines drawn so far, for the test hook. */
export const sparklineCount = () => drawnCount;
