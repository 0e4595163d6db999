// The alerts panel: what the alert lifecycle knows (`GET /api/alerts`: `firing` and
// `resolved`, each alert with its silences, acknowledgement and inhibition) and the
// silences (`GET /api/silences`), asked every POLL_MS and soon after a snapshot's
// alerts change. An admin session (auth.js's probe) also gets the buttons:
// acknowledge, silence for 1 h / 2 h / 1 d with a comment, expire a silence. Every
// failure is shown in the panel with the server's reason, never swallowed.

import { getJson, sendJson } from "./api.js";
import { askForAdminToken, probeAdmin } from "./auth.js";
import { makeAlertRow, makeSilenceRow, RowList, updateAlertRow, updateSilenceRow } from "./alertrows.js";
import { setText } from "./format.js";

/** How often the lists are asked for. */
const POLL_MS = 5000;
/** A snapshot's alerts changing asks again, but no sooner than this after the last time. */
const MIN_GAP_MS = 1000;

const $ = (id) => document.getElementById(id);
const el = {
  panel: $("alert-panel"), error: $("alert-panel-error"), note: $("alert-panel-note"), signIn: $("admin-sign-in"),
  activeCount: $("alerts-active-count"), silencedCount: $("alerts-silenced-count"), resolvedCount: $("alerts-resolved-count"),
};

const actions = { ack, silence };
const lists = {
  active: new RowList($("alerts-active"), $("alerts-active-more"), () => makeAlertRow(true, actions)),
  silenced: new RowList($("alerts-silenced"), $("alerts-silenced-more"), () => makeAlertRow(false)),
  silences: new RowList($("silence-list"), $("silence-list-more"), () => makeSilenceRow({ expire })),
  resolved: new RowList($("alerts-resolved"), $("alerts-resolved-more"), () => makeAlertRow(false)),
};

let admin = false;
/** The last answers, shown again when only the admin flag changes. */
let view = { firing: [], resolved: [], silences: [] };
/** What went wrong, by what was asked or done; shown one per line. */
const failures = new Map();
let inFlight = null;
let again = false;
let lastRefresh = 0;
let refreshes = 0;
/** The alerts of the last snapshot, as fingerprint and level: a change asks again. */
let lastSnapshotAlerts = "";

const list = (value) => (Array.isArray(value) ? value.filter((item) => item && typeof item === "object") : []);

function showFailures() {
  const text = [...failures.values()].join("\n");
  setText(el.error, text);
  if (el.error.hidden !== (text === "")) el.error.hidden = text === "";
}

function failed(what, error) {
  failures.set(what, String(error?.message ?? error));
  showFailures();
}

function succeeded(what) {
  if (failures.delete(what)) showFailures();
}

function render() {
  const firing = view.firing;
  const silenced = firing.filter((alert) => Array.isArray(alert.silenced_by) && alert.silenced_by.length > 0);
  const key = (alert) => String(alert.fingerprint ?? `${alert.component}|${alert.metric}|${alert.host}`);
  lists.active.show(firing, key, (row, alert) => updateAlertRow(row, alert, { admin }));
  lists.silenced.show(silenced, key, (row, alert) => updateAlertRow(row, alert));
  lists.silences.show(view.silences, (s) => String(s.id), (row, s) => updateSilenceRow(row, s, { admin }));
  // One episode may resolve more than once in the list's span: each is its own row.
  lists.resolved.show(view.resolved, (alert) => `${key(alert)}|${alert.ends_at}`, (row, alert) =>
    updateAlertRow(row, alert, { resolved: true }));
  setText(el.activeCount, String(firing.length));
  setText(el.silencedCount, `${silenced.length} alert${silenced.length === 1 ? "" : "s"}, ${view.silences.length} silence${view.silences.length === 1 ? "" : "s"}`);
  setText(el.resolvedCount, String(view.resolved.length));
  el.panel.classList.toggle("admin", admin);
  if (el.signIn.hidden !== admin) el.signIn.hidden = admin;
}

async function fetchBoth() {
  const [alerts, silences] = await Promise.allSettled([getJson("/api/alerts"), getJson("/api/silences")]);
  if (alerts.status === "fulfilled") {
    view.firing = list(alerts.value?.firing);
    view.resolved = list(alerts.value?.resolved);
    succeeded("alerts");
  } else {
    failed("alerts", alerts.reason);
  }
  if (silences.status === "fulfilled") {
    view.silences = list(silences.value?.silences);
    succeeded("silences");
  } else {
    failed("silences", silences.reason);
  }
  refreshes += 1;
  lastRefresh = performance.now();
  render();
}

/** Asks for both lists now, or right after the request in flight (never two at once). */
export function refresh() {
  if (inFlight) {
    again = true;
    return inFlight;
  }
  inFlight = fetchBoth().finally(() => {
    inFlight = null;
    if (again) {
      again = false;
      refresh();
    }
  });
  return inFlight;
}

/**
 * Follows a `monitoring_data` message: when its alerts differ from the last one's
 * (one fired, resolved or changed level), the lists are asked for again.
 */
export function snapshotAlerts(message) {
  const alerts = list(message?.alerts);
  const text = alerts.map((a) => `${a.fingerprint ?? `${a.component}|${a.metric}`}:${a.level}`).sort().join(",");
  if (text === lastSnapshotAlerts) return;
  lastSnapshotAlerts = text;
  const wait = Math.max(0, lastRefresh + MIN_GAP_MS - performance.now());
  setTimeout(refresh, wait);
}

/** Runs an admin's change: its button is disabled meanwhile, its failure shown, then both lists asked again. */
async function change(button, what, request) {
  button.disabled = true;
  try {
    const answer = await request();
    succeeded("action");
    setText(el.note, what(answer));
    return true;
  } catch (error) {
    failed("action", error);
    return false;
  } finally {
    button.disabled = false;
    await refresh();
  }
}

function ack(row) {
  const fingerprint = String(row.alert?.fingerprint ?? "");
  return change(row.ack, () => `Acknowledged ${row.alert?.message ?? fingerprint}.`, () =>
    sendJson("POST", `/api/alerts/${encodeURIComponent(fingerprint)}/ack`, { comment: "" }));
}

async function silence(row, duration, comment) {
  const alert = row.alert ?? {};
  const matchers = {};
  for (const name of ["host", "component", "metric"]) {
    if (typeof alert[name] === "string" && alert[name] !== "") matchers[name] = alert[name];
  }
  // One disk of several: silence that one (its `instance` label), not all of the host's.
  const instance = alert.labels?.instance;
  if (typeof instance === "string" && instance !== "") matchers.instance = instance;
  const submit = row.form.querySelector("button[type=submit]");
  const done = await change(submit, (answer) => `Silenced for ${duration} (silence ${answer?.id ?? "?"}).`, () =>
    sendJson("POST", "/api/silences", { matchers, duration, comment }));
  if (done) row.closeForm();
}

function expire(row) {
  const id = String(row.silence?.id ?? "");
  return change(row.expire, () => `Expired silence ${id}.`, () =>
    sendJson("DELETE", `/api/silences/${encodeURIComponent(id)}`));
}

/** Asks the server whether this page's token is the admin's, and shows the buttons if so. */
async function checkAdmin() {
  const { admin: isAdmin, status } = await probeAdmin();
  admin = isAdmin;
  if (status === 401) failed("token", "The server refused this page's token (HTTP 401).");
  else succeeded("token");
  render();
}

let started = false;

/**
 * Shows the panel and starts asking (once; app.js calls it when the WebSocket opens,
 * so a page still waiting for its token does not poll with a wrong one). "Admin
 * token…" lets an admin enter the admin token.
 */
export function startAlertsPanel() {
  if (started) return;
  started = true;
  el.panel.hidden = false;
  el.signIn.onclick = async () => {
    if (await askForAdminToken()) {
      await checkAdmin();
      refresh();
    }
  };
  checkAdmin();
  refresh();
  setInterval(refresh, POLL_MS);
}

/** What the panel shows, for the test hook. */
export const panelCounts = () => ({
  admin, refreshes, active: lists.active.size, silenced: lists.silenced.size, silences: lists.silences.size,
  resolved: lists.resolved.size, failures: [...failures.values()],
});
