// The overview's controls (issue 26): search by name, filter by group or tag, sort by a
// column, tiles or a table. They only read the form; fleet.js asks `filterOf()` once
// per frame and redraws everything only when something here changed.

const $ = (id) => document.getElementById(id);

let last = "";

// Enter in the search box must not reload the page.
$("fleet-tools")?.addEventListener("submit", (event) => event.preventDefault());

/**
 * Calls `redraw` whenever the operator types or picks in the controls, so a search
 * applies at once: tiles are otherwise drawn only when a fleet message arrives, and a
 * calm fleet sends none for as long as nothing changes.
 */
export function onFilterChange(redraw) {
  $("fleet-tools")?.addEventListener("input", redraw);
  $("fleet-tools")?.addEventListener("change", redraw);
}

/** The form's state: { view, sort, accepts(host), changed } (changed since the last call). */
export function filterOf() {
  const search = ($("fleet-search")?.value ?? "").trim().toLowerCase();
  const group = $("fleet-group")?.value ?? "";
  const tag = $("fleet-tag")?.value ?? "";
  const sort = $("fleet-sort")?.value ?? "trouble";
  const view = $("fleet-view")?.value ?? "tiles";
  const key = JSON.stringify([search, group, tag, sort, view]);
  const changed = key !== last;
  last = key;
  return {
    view,
    sort,
    changed,
    accepts: (host) =>
      (search === "" || host.name.toLowerCase().includes(search)) &&
      (group === "" || host.group === group) &&
      (tag === "" || host.tags.includes(tag)),
  };
}

/** Names compared as a person reads them; one collator, far cheaper than `localeCompare` per pair. */
const names = new Intl.Collator(undefined, { numeric: true });

/** Columns one may sort by: trouble first (the default), a name, or a number highest first. */
export function sortKey(sort, a, b, trouble) {
  const byName = () => names.compare(a.name, b.name);
  const high = (field) => (b[field] ?? -1) - (a[field] ?? -1) || byName();
  switch (sort) {
    case "name": return byName();
    case "group": return names.compare(a.group ?? "", b.group ?? "") || byName();
    case "cpu": return high("cpu");
    case "mem": return high("mem");
    case "disk": return high("disk");
    case "load": return high("load");
    case "net": return ((b.rx ?? 0) + (b.tx ?? 0)) - ((a.rx ?? 0) + (a.tx ?? 0)) || byName();
    case "alerts": return b.rank - a.rank || b.alertCount - a.alertCount || byName();
    // Trouble first, then by name: tiles keep their places while the numbers move
    // (the CPU sort is there to see the busiest).
    default: return trouble(b) - trouble(a) || byName();
  }
}

/** Adds the groups and tags of `hosts` to the two pickers (kept sorted, never removed mid-choice). */
export function optionsSeen(hosts) {
  const groups = new Set();
  const tags = new Set();
  for (const host of hosts) {
    if (host.group) groups.add(host.group);
    for (const tag of host.tags) tags.add(tag);
  }
  fill($("fleet-group"), groups, "every group");
  fill($("fleet-tag"), tags, "every tag");
}

function fill(select, values, anyLabel) {
  if (!select) return;
  const wanted = ["", ...[...values].sort()];
  if (select.value && !wanted.includes(select.value)) wanted.push(select.value);
  const have = [...select.options].map((option) => option.value);
  if (have.length === wanted.length && have.every((value, i) => value === wanted[i])) return;
  const chosen = select.value;
  select.replaceChildren(...wanted.map((value) => new Option(value === "" ? anyLabel : value, value)));
  select.value = chosen;
}
