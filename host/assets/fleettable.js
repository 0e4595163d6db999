// The overview as a table (issue 26), for fleets too large for tiles: one row per host,
// made once and then only its cells' text changed, ordered like the tiles.

import { bytesPerSecond, inOrder, percent, setText } from "./format.js";

const $ = (id) => document.getElementById(id);

/** host name → { tr, cells }. */
const rows = new Map();

const COLUMNS = ["name", "state", "group", "tags", "cpu", "mem", "disk", "load", "net", "alerts"];

/** Shows the table (and hides the tiles) or the reverse; the table's handle when shown. */
export function showTable(wanted) {
  const table = $("fleet-table");
  const tiles = $("fleet-tiles");
  if (!table || !tiles) return null;
  if (table.hidden === wanted) table.hidden = !wanted;
  if (tiles.hidden !== wanted) tiles.hidden = wanted;
  return wanted ? { order } : null;
}

/** Brings `host`'s row up to date. */
export function tableRow(host, level, shown) {
  let row = rows.get(host.name);
  if (!row) {
    const tr = document.createElement("tr");
    tr.dataset.host = host.name;
    const cells = {};
    for (const column of COLUMNS) {
      const td = document.createElement("td");
      td.className = `col-${column}`;
      tr.append(td);
      cells[column] = td;
    }
    const link = document.createElement("a");
    link.href = `/?host=${encodeURIComponent(host.name)}`;
    link.textContent = host.name;
    cells.name.append(link);
    row = { tr, cells };
    rows.set(host.name, row);
    $("fleet-rows")?.append(tr);
  }
  const className = `${host.state} ${level}`;
  if (row.tr.className !== className) row.tr.className = className;
  if (row.tr.hidden === shown) row.tr.hidden = !shown;
  const load = host.load === null ? "—" : host.load.toFixed(2);
  const net = host.rx === null && host.tx === null ? "—" : `↓ ${bytesPerSecond(host.rx)} ↑ ${bytesPerSecond(host.tx)}`;
  setText(row.cells.state, host.state);
  setText(row.cells.group, host.group ?? "");
  setText(row.cells.tags, host.tags.join(" · "));
  setText(row.cells.cpu, percent(host.cpu));
  setText(row.cells.mem, percent(host.mem));
  setText(row.cells.disk, percent(host.disk));
  setText(row.cells.load, load);
  setText(row.cells.net, net);
  setText(row.cells.alerts, host.rank === 0 ? "none" : `${host.alertCount} ${level}`);
}

function order(hosts) {
  const body = $("fleet-rows");
  if (!body) return;
  inOrder(body, hosts.map((host) => rows.get(host.name)?.tr));
}

export function forgetTableRow(name) {
  rows.get(name)?.tr.remove();
  rows.delete(name);
}

export const tableCount = () => rows.size;
