//! One tick into the database: series ids interned, the tick's values kept as one
//! `pending` row (durable at the next commit), the top processes once a minute, the
//! alert episodes; and a host's pending ticks sealed into compressed chunks when its
//! 5-minute window ends.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::Instant;

use flate2::write::ZlibEncoder;
use monitoring_plugin_api::Alert;
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, encode_times, TickChunk};
use super::events::{self, EpisodeKey};
use super::paths::unit_of;
use super::paths::Flat;
use super::retention::{add_bytes, insert_group, processes_bytes, GROUP_SPAN_MS};
use super::rollup;
use super::types::Fault;

/// One recorded snapshot, flattened on the caller's thread.
pub struct Tick {
    pub host: String,
    pub at_ms: i64,
    pub flat: Flat,
    pub alerts: Vec<Alert>,
}

/// What the writer remembers of one host between ticks (reloaded from the database
/// after a failed write, so it never disagrees with what was committed).
pub struct HostState {
    series: HashMap<String, u32>,
    /// The layout of the last tick: its id and the series ids in value order.
    layout: Option<(i64, Vec<u32>)>,
    /// The 5-minute window the host's pending ticks belong to.
    window: Option<i64>,
    pub last_seen: Instant,
    last_processes_minute: Option<i64>,
    episodes: HashMap<EpisodeKey, i64>,
    /// Whether the cap of [`MAX_SERIES_PER_HOST`] was met (and said so once).
    series_capped: bool,
}

/// Most series one host keeps: a hundred times what a busy machine has.
pub const MAX_SERIES_PER_HOST: usize = 20_000;

impl HostState {
    pub fn load(conn: &Connection, host: &str) -> rusqlite::Result<Self> {
        let mut stmt = conn.prepare_cached("SELECT name, id FROM series WHERE host = ?1")?;
        let series = stmt
            .query_map([host], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))
            })?
            .collect::<Result<_, _>>()?;
        let first_pending: Option<i64> = conn
            .prepare_cached("SELECT min(at_ms) FROM pending WHERE host = ?1")?
            .query_row([host], |r| r.get(0))?;
        let last_processes: Option<i64> = conn
            .prepare_cached("SELECT max(at_ms) FROM processes WHERE host = ?1")?
            .query_row([host], |r| r.get(0))?;
        Ok(HostState {
            series,
            layout: None,
            window: first_pending.map(window_of),
            last_seen: Instant::now(),
            last_processes_minute: last_processes.map(|at| at.div_euclid(60_000)),
            episodes: events::load_open(conn, host)?,
            series_capped: false,
        })
    }

    pub fn has_pending(&self) -> bool {
        self.window.is_some()
    }
}

fn window_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(GROUP_SPAN_MS[0]) * GROUP_SPAN_MS[0]
}

/// Writes one tick; returns its sample count.
pub fn write_tick(conn: &Connection, state: &mut HostState, tick: &Tick) -> Result<u64, Fault> {
    state.last_seen = Instant::now();
    let mut ids = Vec::with_capacity(tick.flat.samples.len());
    let mut values = Vec::with_capacity(tick.flat.samples.len());
    for (name, value) in &tick.flat.samples {
        let id = match state.series.get(name) {
            Some(&id) => id,
            None if state.series.len() >= MAX_SERIES_PER_HOST => {
                // A host (or plugin) inventing names every tick would grow the
                // series table without end: past the cap, new names are not kept.
                if !state.series_capped {
                    state.series_capped = true;
                    tracing::warn!(host = %tick.host, cap = MAX_SERIES_PER_HOST, series = %name, "history store: this host has as many series as one may; new ones are not kept");
                }
                continue;
            }
            None => {
                conn.prepare_cached(
                    "INSERT INTO series(host, name, unit, first_ms, last_ms) VALUES (?1, ?2, ?3, ?4, ?4)",
                )?
                .execute(params![tick.host, name, unit_of(name), tick.at_ms])?;
                let id = u32::try_from(conn.last_insert_rowid()).unwrap_or(u32::MAX);
                state.series.insert(name.clone(), id);
                id
            }
        };
        ids.push(id);
        values.push(*value);
    }
    let layout = match &state.layout {
        Some((layout, known)) if *known == ids => *layout,
        _ => {
            conn.prepare_cached("INSERT INTO layouts(ids) VALUES (?1)")?
                .execute([codec::encode_layout(&ids)?])?;
            let layout = conn.last_insert_rowid();
            state.layout = Some((layout, ids));
            layout
        }
    };
    // A new window: the host's pending ticks are complete; seal them (keeping the
    // layout this tick uses) and roll what that completes.
    let window = window_of(tick.at_ms);
    if state.window.is_some_and(|w| w != window) {
        seal(conn, &tick.host, Some(layout))?;
        rollup::advance(conn, &tick.host, window.max(state.window.unwrap_or(window)))?;
    }
    state.window = Some(window);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO pending(host, at_ms, layout, vals) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        tick.host,
        tick.at_ms,
        layout,
        codec::encode_pending(&values)
    ])?;
    write_processes(conn, state, tick)?;
    events::update(
        conn,
        &tick.host,
        tick.at_ms,
        &tick.alerts,
        &mut state.episodes,
    )?;
    Ok(values.len() as u64)
}

/// Keeps the first tick of each minute's top processes, deflated JSON.
fn write_processes(conn: &Connection, state: &mut HostState, tick: &Tick) -> rusqlite::Result<()> {
    let minute = tick.at_ms.div_euclid(60_000);
    let lists = (&tick.flat.top_cpu, &tick.flat.top_memory);
    if state.last_processes_minute == Some(minute) || (lists.0.is_empty() && lists.1.is_empty()) {
        return Ok(());
    }
    let json = serde_json::to_vec(&serde_json::json!({"top_cpu": lists.0, "top_memory": lists.1}))
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let mut deflate = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let blob = deflate
        .write_all(&json)
        .and_then(|()| deflate.finish())
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let replaced: Option<usize> = conn
        .prepare_cached("SELECT length(data) FROM processes WHERE host = ?1 AND at_ms = ?2")?
        .query_row(params![tick.host, tick.at_ms], |r| r.get(0))
        .optional()?;
    conn.prepare_cached("INSERT OR REPLACE INTO processes(host, at_ms, data) VALUES (?1, ?2, ?3)")?
        .execute(params![tick.host, tick.at_ms, blob])?;
    add_bytes(
        conn,
        1,
        processes_bytes(blob.len()) - replaced.map_or(0, processes_bytes),
    )?;
    state.last_processes_minute = Some(minute);
    Ok(())
}

/// Seals `host`'s pending ticks into one group: a shared time column and one chunk
/// per series, the pending rows deleted in the same transaction, and their layouts
/// but `keep` (the one the host's next ticks use).
pub fn seal(conn: &Connection, host: &str, keep: Option<i64>) -> Result<Option<(i64, i64)>, Fault> {
    let mut stmt = conn
        .prepare_cached("SELECT at_ms, layout, vals FROM pending WHERE host = ?1 ORDER BY at_ms")?;
    let pending: Vec<(i64, i64, Vec<u8>)> = stmt
        .query_map([host], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let (Some(first), Some(last)) = (pending.first(), pending.last()) else {
        return Ok(None);
    };
    let span = (first.0, last.0);
    let mut layouts: HashMap<i64, Vec<u32>> = HashMap::new();
    let mut times = Vec::with_capacity(pending.len());
    let mut series: BTreeMap<u32, (Vec<f64>, Vec<u32>)> = BTreeMap::new();
    for (index, (at_ms, layout, vals)) in pending.iter().enumerate() {
        if !layouts.contains_key(layout) {
            let blob: Vec<u8> = conn
                .prepare_cached("SELECT ids FROM layouts WHERE id = ?1")?
                .query_row([layout], |r| r.get(0))?;
            layouts.insert(*layout, codec::decode_layout(&blob)?);
        }
        times.push(*at_ms);
        for (position, id) in layouts[layout].iter().enumerate() {
            if let Some(value) = codec::pending_value(vals, position) {
                let (values, present) = series.entry(*id).or_default();
                values.push(value);
                present.push(index as u32);
            }
        }
    }
    let mut chunks = Vec::with_capacity(series.len());
    for (id, (values, present)) in series {
        let present = (present.len() != times.len()).then_some(present);
        chunks.push((id, TickChunk { values, present }.encode()?));
    }
    insert_group(conn, host, 0, span, Some(&encode_times(&times)?), &chunks)?;
    let mut last_ms =
        conn.prepare_cached("UPDATE series SET last_ms = max(last_ms, ?1) WHERE id = ?2")?;
    for (id, _) in &chunks {
        last_ms.execute(params![span.1, id])?;
    }
    conn.prepare_cached("DELETE FROM pending WHERE host = ?1")?
        .execute([host])?;
    let mut drop_layout = conn.prepare_cached("DELETE FROM layouts WHERE id = ?1")?;
    for layout in layouts.keys().filter(|&&id| Some(id) != keep) {
        drop_layout.execute([layout])?;
    }
    Ok(Some(span))
}

/// Seals a host that stopped sending (its window will not end by itself) and rolls
/// what that completes.
pub fn seal_idle(conn: &Connection, host: &str, state: &mut HostState) -> Result<(), Fault> {
    if let Some(window) = state.window.take() {
        seal(conn, host, None)?;
        state.layout = None;
        rollup::advance(conn, host, window + GROUP_SPAN_MS[0])?;
    }
    Ok(())
}

/// Hosts with pending ticks in the database (after a restart), with their last tick.
pub fn pending_hosts(conn: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare("SELECT host, max(at_ms) FROM pending GROUP BY host")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
