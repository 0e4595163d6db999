// The alerts panel's rows: an alert (firing or resolved) and a silence, each made
// once per fingerprint or id and then only updated, so a refresh every few seconds
// neither flickers nor closes a silence form someone is filling in. alerts.js
// decides what the lists hold and what the buttons do.

import { inOrder, parseTime, setText, span } from "./format.js";

/** Rows shown per list at most; the rest are counted ("and 12 more"). */
export const SHOWN = 50;

/** The silence durations an admin picks from, as the server reads them. */
const DURATIONS = [["1h", "1 h"], ["2h", "2 h"], ["1d", "1 d"]];

function make(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.append(node);
  return node;
}

function setHidden(node, hidden) {
  if (node.hidden !== hidden) node.hidden = hidden;
}

/** `12 min` between now and an RFC 3339 time, or "" when it is not one. */
function ago(text) {
  const ms = parseTime(text);
  return ms === null ? "" : span(Math.max(0, Date.now() - ms));
}

/** The local date and time of an RFC 3339 time, for a tooltip. */
function local(text) {
  const ms = parseTime(text);
  return ms === null ? "" : new Date(ms).toLocaleString();
}

/**
 * One list of rows kept by key: a row is made the first time its key is shown and
 * updated in place after; at most SHOWN are shown, the rest counted in `more`.
 */
export class RowList {
  constructor(list, more, makeRow) {
    this.list = list;
    this.more = more;
    this.makeRow = makeRow;
    this.rows = new Map();
  }

  /** Shows `items` in order; `keyOf(item)` names its row, `update(row, item)` fills it. */
  show(items, keyOf, update) {
    const shown = items.slice(0, SHOWN);
    const keys = shown.map(keyOf);
    const wanted = new Set(keys);
    for (const [key, row] of this.rows) {
      if (!wanted.has(key)) {
        row.li.remove();
        this.rows.delete(key);
      }
    }
    const ordered = shown.map((item, i) => {
      let row = this.rows.get(keys[i]);
      if (!row) {
        row = this.makeRow();
        this.rows.set(keys[i], row);
      }
      update(row, item);
      return row.li;
    });
    // Moved only when out of place: moving a node takes the focus out of its form.
    inOrder(this.list, ordered);
    const rest = items.length - shown.length;
    setText(this.more, rest > 0 ? `and ${rest} more` : "");
    setHidden(this.more, rest <= 0);
  }

  get size() {
    return this.rows.size;
  }
}

/**
 * An alert's row: level, host, message, how long, badges, and (shown to an admin,
 * `actions`) "Ack" and "Silence" with its inline form. `on.ack(row)` and
 * `on.silence(row, duration, comment)` are called with the row, whose `alert` is the
 * alert it shows now.
 */
export function makeAlertRow(actions, on) {
  const li = make("li", "alert-item");
  const row = {
    li,
    alert: null,
    level: make("span", "level", li),
    host: make("span", "host", li),
    text: make("span", "text", li),
    badges: make("span", "badges", li),
    since: make("time", "since", li),
  };
  row.badge = {
    acked: make("b", "badge acked", row.badges, "ACKED"),
    silenced: make("b", "badge silenced", row.badges, "SILENCED"),
    inhibited: make("b", "badge inhibited", row.badges, "INHIBITED"),
  };
  if (!actions) return row;
  const buttons = make("span", "actions", li);
  row.ack = make("button", "ack", buttons, "Ack");
  row.ack.type = "button";
  row.silence = make("button", "silence", buttons, "Silence");
  row.silence.type = "button";
  const form = make("form", "silence-form", li);
  form.hidden = true;
  const duration = make("select", "duration", form);
  duration.setAttribute("aria-label", "Silence for");
  for (const [value, label] of DURATIONS) make("option", "", duration, label).value = value;
  duration.value = "2h";
  const comment = make("input", "comment", form);
  comment.placeholder = "comment (optional)";
  comment.maxLength = 1024;
  comment.setAttribute("aria-label", "Comment");
  const submit = make("button", "submit", form, "Silence");
  submit.type = "submit";
  const cancel = make("button", "cancel", form, "Cancel");
  cancel.type = "button";
  row.form = form;
  row.ack.onclick = () => on.ack(row);
  row.silence.onclick = () => {
    form.hidden = false;
    comment.focus();
  };
  cancel.onclick = () => {
    form.hidden = true;
  };
  form.onsubmit = (event) => {
    event.preventDefault();
    on.silence(row, duration.value, comment.value.trim());
  };
  row.closeForm = () => {
    form.hidden = true;
    comment.value = "";
  };
  return row;
}

/** Fills an alert's row; `resolved` rows say when it ended, firing ones since when. */
export function updateAlertRow(row, alert, { admin = false, resolved = false } = {}) {
  row.alert = alert;
  const level = String(alert.level).toUpperCase() === "CRITICAL" ? "critical" : "warning";
  const className = `alert-item ${resolved ? "resolved" : level}`;
  if (row.li.className !== className) row.li.className = className;
  row.li.dataset.fingerprint = String(alert.fingerprint ?? "");
  setText(row.level, level.toUpperCase());
  setText(row.host, String(alert.host ?? ""));
  setText(row.text, String(alert.message ?? `${alert.component} ${alert.metric}: ${alert.value}`));
  const at = String((resolved ? alert.ends_at : alert.starts_at) ?? "");
  const howLong = ago(at);
  setText(row.since, howLong ? (resolved ? `resolved ${howLong} ago` : `for ${howLong}`) : "");
  if (row.since.dateTime !== at) row.since.dateTime = at;
  row.since.title = resolved ? `resolved ${local(at)}` : `since ${local(at)}`;
  const silencedBy = Array.isArray(alert.silenced_by) ? alert.silenced_by : [];
  const acked = alert.acked && typeof alert.acked === "object" ? alert.acked : null;
  setHidden(row.badge.acked, !acked);
  row.badge.acked.title = acked ? `by ${acked.by ?? "?"}${acked.comment ? `: ${acked.comment}` : ""}` : "";
  setHidden(row.badge.silenced, silencedBy.length === 0);
  row.badge.silenced.title = silencedBy.length ? `by silence ${silencedBy.join(", ")}` : "";
  const inhibited = typeof alert.inhibited_by === "string" && alert.inhibited_by !== "";
  setHidden(row.badge.inhibited, !inhibited);
  row.badge.inhibited.title = inhibited ? alert.inhibited_by : "";
  if (!row.ack) return;
  setHidden(row.ack, !admin || Boolean(acked));
  setHidden(row.silence, !admin || silencedBy.length > 0);
  if (!admin) row.closeForm();
}

/** A silence's matchers as text: `host=web-1 component=disk name=~^/var`. */
export function matchersText(silence) {
  const parts = [];
  for (const [key, op] of [["matchers", "="], ["matchers_regex", "=~"]]) {
    const matchers = silence[key] && typeof silence[key] === "object" ? silence[key] : {};
    for (const [name, value] of Object.entries(matchers)) parts.push(`${name}${op}${value}`);
  }
  return parts.join(" ");
}

/** A silence's row: state, matchers, until when, by whom and why, and "Expire" for an admin. */
export function makeSilenceRow(on) {
  const li = make("li", "silence-item");
  const row = {
    li,
    silence: null,
    state: make("b", "badge state", li),
    matchers: make("span", "matchers", li),
    detail: make("span", "detail muted", li),
    expire: make("button", "expire", li, "Expire"),
  };
  row.expire.type = "button";
  row.expire.onclick = () => on.expire(row);
  return row;
}

/** Fills a silence's row. */
export function updateSilenceRow(row, silence, { admin = false } = {}) {
  row.silence = silence;
  const state = ["pending", "active", "expired"].includes(silence.state) ? silence.state : "expired";
  const className = `silence-item ${state}`;
  if (row.li.className !== className) row.li.className = className;
  row.li.dataset.id = String(silence.id ?? "");
  setText(row.state, state.toUpperCase());
  setText(row.matchers, matchersText(silence));
  const ends = parseTime(silence.ends_at);
  const left = ends === null ? "" : span(Math.abs(ends - Date.now()));
  const when = state === "expired" ? `ended ${left} ago` : `until ${local(silence.ends_at)} (${left} left)`;
  const by = silence.created_by ? ` · by ${silence.created_by}` : "";
  const why = silence.comment ? ` · ${silence.comment}` : "";
  setText(row.detail, `${ends === null ? "" : when}${by}${why}`);
  setHidden(row.expire, !admin || state === "expired");
}
