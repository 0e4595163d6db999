//! Reading: a small pool of read-only connections (WAL lets them read while the
//! writer commits) answering series lists, bucketed queries across tiers and pending
//! ticks, and the top processes of a moment.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{decode_layout, decode_times, pending_value};
use super::retention::{GROUP_SPAN_MS, TIER_STEP_MS};
use super::rollup::{merge, rows, watermark, Row};
use super::schema::open_reader;
use super::types::{Fault, ProcessesAt, QueryError, SeriesInfo, SeriesPoints, Span};

/// Idle read connections kept for the next query.
const POOL_MAX: usize = 4;
/// The most points one query may ask for.
pub const MAX_POINTS: usize = 100_000;

impl From<Fault> for QueryError {
    fn from(fault: Fault) -> Self {
        QueryError::Store(fault.to_string())
    }
}

impl From<rusqlite::Error> for QueryError {
    fn from(error: rusqlite::Error) -> Self {
        QueryError::Store(error.to_string())
    }
}

/// Read-only connections, opened on demand and kept up to [`POOL_MAX`].
pub struct Readers {
    dir: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub fn new(dir: PathBuf) -> Self {
        Readers {
            dir,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_reader(&self.dir)?,
        };
        let result = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < POOL_MAX {
            idle.push(conn);
        }
        result
    }
}

fn series_id(conn: &Connection, host: &str, name: &str) -> Result<u32, QueryError> {
    conn.prepare_cached("SELECT id FROM series WHERE host = ?1 AND name = ?2")?
        .query_row(params![host, name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| QueryError::Bad(format!("no series `{name}` for this host")))
}

/// The series of `host` whose name starts with `prefix`; `last` includes pending ticks.
pub fn series(conn: &Connection, host: &str, prefix: &str) -> Result<Vec<SeriesInfo>, QueryError> {
    let latest: Option<(i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT p.at_ms, l.ids FROM pending p JOIN layouts l ON l.id = p.layout
             WHERE p.host = ?1 ORDER BY p.at_ms DESC LIMIT 1",
        )?
        .query_row([host], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (latest_ms, latest_ids) = match latest {
        Some((at, ids)) => (at, decode_layout(&ids).map_err(Fault::from)?),
        None => (i64::MIN, Vec::new()),
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, unit, first_ms, last_ms FROM series
         WHERE host = ?1 AND substr(name, 1, length(?2)) = ?2 ORDER BY name",
    )?;
    let rows = stmt.query_map(params![host, prefix], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, unit, first_ms, mut last_ms) = row?;
        if latest_ids.contains(&id) {
            last_ms = last_ms.max(latest_ms);
        }
        out.push(SeriesInfo {
            name,
            unit,
            first: first_ms as f64 / 1000.0,
            last: last_ms as f64 / 1000.0,
        });
    }
    Ok(out)
}

/// The oldest time each tier holds for `host` (the tick tier counts pending ticks).
fn oldest(conn: &Connection, host: &str) -> Result<[Option<i64>; 3], QueryError> {
    let mut out: [Option<i64>; 3] = [None; 3];
    let mut stmt =
        conn.prepare_cached("SELECT min(start_ms) FROM groups WHERE host = ?1 AND tier = ?2")?;
    for (tier, slot) in out.iter_mut().enumerate() {
        *slot = stmt.query_row(params![host, tier], |r| r.get(0))?;
    }
    let pending: Option<i64> = conn
        .prepare_cached("SELECT min(at_ms) FROM pending WHERE host = ?1")?
        .query_row([host], |r| r.get(0))?;
    out[0] = match (out[0], pending) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(out)
}

/// The finest tier whose data reaches back to `from_ms` (else the one reaching
/// furthest back, the finest among equals); then a coarser tier that also reaches
/// back when its rows are no wider than a point (`per_point_ms`): the points are as
/// fine, and a day at 1000 points reads 24 minute chunks instead of 288 of ticks.
pub fn choose_tier(oldest: [Option<i64>; 3], from_ms: i64, per_point_ms: i64) -> usize {
    let covers = |t: usize| oldest[t].is_some_and(|o| o <= from_ms);
    let finest = match (0..3).find(|&t| covers(t)) {
        Some(tier) => tier,
        None => (0..3)
            .filter_map(|t| Some((oldest[t]?, t)))
            .min()
            .map_or(0, |(_, tier)| tier),
    };
    (finest..3)
        .rev()
        .find(|&t| t == finest || (covers(t) && TIER_STEP_MS[t] <= per_point_ms))
        .unwrap_or(finest)
}

/// `name` of `host` over `span` in at most `points` buckets.
pub fn query(
    conn: &Connection,
    host: &str,
    name: &str,
    span: Span,
    points: usize,
) -> Result<SeriesPoints, QueryError> {
    if points == 0 || points > MAX_POINTS {
        return Err(QueryError::Bad(format!(
            "`points` must be between 1 and {MAX_POINTS}, got {points}"
        )));
    }
    if span.from_ms > span.to_ms {
        return Err(QueryError::Bad("`from` is after `to`".into()));
    }
    let id = series_id(conn, host, name)?;
    let asked = (span.to_ms - span.from_ms + points as i64) / points as i64;
    let tier = choose_tier(oldest(conn, host)?, span.from_ms, asked);
    let tier_step = TIER_STEP_MS[tier];
    let anchor = span.from_ms.div_euclid(tier_step) * tier_step;
    let width = span.to_ms - anchor + 1;
    let per_point = (width + points as i64 - 1) / points as i64;
    let step = ((per_point + tier_step - 1) / tier_step).max(1) * tier_step;
    let mut buckets: Vec<Option<Row>> = vec![None; ((span.to_ms - anchor) / step + 1) as usize];
    let mut add = |row: &Row| {
        let index = (row.t_ms - anchor).div_euclid(step);
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| buckets.get_mut(i)) {
            match slot {
                Some(into) => merge(into, row),
                None => *slot = Some(*row),
            }
        }
    };
    // Each tier answers up to where the next coarser one was rolled from it.
    let bound = |t: usize| -> Result<i64, QueryError> {
        Ok(if t == 0 {
            i64::MAX
        } else {
            watermark(conn, host, t)?.unwrap_or(i64::MIN)
        })
    };
    let mut rows_of = Vec::with_capacity(4096);
    for t in (0..=tier).rev() {
        let lo = if t == tier {
            span.from_ms
        } else {
            span.from_ms.max(bound(t + 1)?)
        };
        let hi = span.to_ms.min(bound(t)?.saturating_sub(1));
        if lo > hi {
            continue;
        }
        rows_of.clear();
        read_tier(conn, id, t, (lo, hi), &mut rows_of)?;
        if t == 0 {
            read_pending(conn, host, id, (lo, hi), &mut rows_of)?;
        }
        rows_of
            .iter()
            .filter(|r| r.t_ms >= lo && r.t_ms <= hi)
            .for_each(&mut add);
    }
    let points = buckets
        .iter()
        .enumerate()
        .filter_map(|(k, slot)| {
            let row = slot.as_ref()?;
            let t = (anchor + k as i64 * step) as f64 / 1000.0;
            Some([t, row.min, row.sum / row.count as f64, row.max])
        })
        .collect();
    Ok(SeriesPoints {
        series: name.to_owned(),
        step_seconds: step as f64 / 1000.0,
        points,
    })
}

fn read_tier(
    conn: &Connection,
    id: u32,
    tier: usize,
    (lo, hi): (i64, i64),
    out: &mut Vec<Row>,
) -> Result<(), QueryError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.start_ms, c.data, g.times FROM chunks c JOIN groups g ON g.id = c.group_id
         WHERE c.series_id = ?1 AND c.tier = ?2 AND c.start_ms > ?3 AND c.start_ms <= ?4
         ORDER BY c.start_ms",
    )?;
    let mut found = stmt.query(params![
        id,
        tier,
        lo.saturating_sub(GROUP_SPAN_MS[tier]),
        hi
    ])?;
    while let Some(row) = found.next()? {
        let start: i64 = row.get(0)?;
        let data = row.get::<_, Vec<u8>>(1)?;
        let times = match row.get::<_, Option<Vec<u8>>>(2)? {
            Some(blob) => Some(decode_times(&blob).map_err(Fault::from)?),
            None => None,
        };
        rows(tier, start, times.as_deref(), &data, out)?;
    }
    Ok(())
}

/// The unsealed ticks of the series: the last second is queryable.
fn read_pending(
    conn: &Connection,
    host: &str,
    id: u32,
    (lo, hi): (i64, i64),
    out: &mut Vec<Row>,
) -> Result<(), QueryError> {
    let mut positions: HashMap<i64, Option<usize>> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT at_ms, layout, vals FROM pending WHERE host = ?1 AND at_ms >= ?2 AND at_ms <= ?3 ORDER BY at_ms",
    )?;
    let mut found = stmt.query(params![host, lo, hi])?;
    while let Some(row) = found.next()? {
        let (at_ms, layout): (i64, i64) = (row.get(0)?, row.get(1)?);
        let position = match positions.get(&layout) {
            Some(position) => *position,
            None => {
                let blob: Vec<u8> = conn
                    .prepare_cached("SELECT ids FROM layouts WHERE id = ?1")?
                    .query_row([layout], |r| r.get(0))?;
                let position = decode_layout(&blob)
                    .map_err(Fault::from)?
                    .iter()
                    .position(|&s| s == id);
                positions.insert(layout, position);
                position
            }
        };
        let vals: Vec<u8> = row.get(2)?;
        if let Some(v) = position.and_then(|p| pending_value(&vals, p)) {
            out.push(Row {
                t_ms: at_ms,
                min: v,
                sum: v,
                max: v,
                count: 1,
            });
        }
    }
    Ok(())
}

/// The top processes recorded last at or before `at_ms`.
pub fn processes(
    conn: &Connection,
    host: &str,
    at_ms: i64,
) -> Result<Option<ProcessesAt>, QueryError> {
    let found: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT at_ms, data FROM processes WHERE host = ?1 AND at_ms <= ?2 ORDER BY at_ms DESC LIMIT 1")?
        .query_row(params![host, at_ms], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((at, blob)) = found else {
        return Ok(None);
    };
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(blob.as_slice())
        .read_to_end(&mut json)
        .map_err(|e| QueryError::Store(format!("processes at {at}: {e}")))?;
    let mut lists: serde_json::Value = serde_json::from_slice(&json)
        .map_err(|e| QueryError::Store(format!("processes at {at}: {e}")))?;
    let mut take = |key: &str| match lists.get_mut(key).map(serde_json::Value::take) {
        Some(serde_json::Value::Array(list)) => list,
        _ => Vec::new(),
    };
    Ok(Some(ProcessesAt {
        time: at as f64 / 1000.0,
        top_cpu: take("top_cpu"),
        top_memory: take("top_memory"),
    }))
}

pub fn hosts(conn: &Connection) -> Result<Vec<String>, QueryError> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT host FROM series ORDER BY host")?;
    let hosts = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(hosts)
}
