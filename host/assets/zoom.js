// Pointer gestures on every time plot (`canvas.plot`, live or past, including the
// plots made later for GPUs and interfaces): a drag across a span zooms to it, a
// click picks that moment. A plot's drawing records the span it shows
// (`canvas.__span`, ms), so a pixel maps back to a time.

/** A drag shorter than this (CSS px) is a click. */
const DRAG_PX = 5;

const band = document.getElementById("zoom-band");

/** The time (ms) under `clientX` on `canvas`, or null when it shows no span. */
function timeAt(canvas, rect, clientX) {
  const span = canvas.__span;
  if (!span || rect.width <= 0) return null;
  const f = Math.max(0, Math.min(1, (clientX - rect.left) / rect.width));
  return span.from + f * (span.to - span.from);
}

function showBand(rect, x0, x1) {
  const left = Math.max(rect.left, Math.min(x0, x1));
  const right = Math.min(rect.right, Math.max(x0, x1));
  band.style.left = `${left}px`;
  band.style.top = `${rect.top}px`;
  band.style.width = `${Math.max(0, right - left)}px`;
  band.style.height = `${rect.height}px`;
  band.hidden = false;
}

/**
 * Listens on the whole page: `onZoom(from, to)` after a drag, `onPick(t)` after a
 * click (times in ms).
 */
export function enableZoom({ onZoom, onPick }) {
  let drag = null;
  document.addEventListener("pointerdown", (event) => {
    const canvas = event.target;
    if (!(canvas instanceof HTMLCanvasElement) || !canvas.classList.contains("plot")) return;
    if (event.button !== 0 || !canvas.__span) return;
    event.preventDefault();
    drag = { canvas, rect: canvas.getBoundingClientRect(), x0: event.clientX, x1: event.clientX, id: event.pointerId };
    canvas.setPointerCapture?.(event.pointerId);
  });
  document.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    drag.x1 = event.clientX;
    if (Math.abs(drag.x1 - drag.x0) >= DRAG_PX) showBand(drag.rect, drag.x0, drag.x1);
  });
  document.addEventListener("pointerup", (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    const { canvas, rect, x0 } = drag;
    drag = null;
    band.hidden = true;
    const x1 = event.clientX;
    const t0 = timeAt(canvas, rect, x0);
    const t1 = timeAt(canvas, rect, x1);
    if (t0 === null || t1 === null) return;
    if (Math.abs(x1 - x0) >= DRAG_PX) onZoom(Math.min(t0, t1), Math.max(t0, t1));
    else onPick(t1);
  });
  document.addEventListener("pointercancel", () => {
    drag = null;
    band.hidden = true;
  });
}
