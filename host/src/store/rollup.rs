//! The minute and hour tiers: once a span of the finer tier is complete (an hour of
//! ticks, a day of minutes), its rows are summed into one min/avg/max/count chunk per
//! series. A watermark per host and tier, written in the same transaction, makes
//! this crash-safe: a span is rolled exactly once.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{decode_times, RollupChunk, TickChunk};
use super::retention::{insert_group, GROUP_SPAN_MS, TIER_STEP_MS};
use super::types::Fault;

/// One row of any tier: a tick is `min == max == sum`, `count == 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub t_ms: i64,
    pub min: f64,
    pub sum: f64,
    pub max: f64,
    pub count: u64,
}

/// The rows of one chunk of `tier` in a group starting at `group_start` (`times`: the
/// group's tick times, tick tier only).
pub fn rows(
    tier: usize,
    group_start: i64,
    times: Option<&[i64]>,
    blob: &[u8],
    out: &mut Vec<Row>,
) -> Result<(), Fault> {
    if tier == 0 {
        let chunk = TickChunk::decode(blob)?;
        let times = times.unwrap_or_default();
        let mut push = |index: usize, v: f64| {
            if let Some(&t_ms) = times.get(index) {
                out.push(Row {
                    t_ms,
                    min: v,
                    sum: v,
                    max: v,
                    count: 1,
                });
            }
        };
        match &chunk.present {
            None => chunk
                .values
                .iter()
                .enumerate()
                .for_each(|(i, &v)| push(i, v)),
            Some(present) => present
                .iter()
                .zip(&chunk.values)
                .for_each(|(&i, &v)| push(i as usize, v)),
        }
    } else {
        let c = RollupChunk::decode(blob)?;
        for i in 0..c.steps.len() {
            out.push(Row {
                t_ms: group_start + i64::from(c.steps[i]) * TIER_STEP_MS[tier],
                min: c.min[i],
                sum: c.avg[i] * f64::from(c.count[i]),
                max: c.max[i],
                count: u64::from(c.count[i]),
            });
        }
    }
    Ok(())
}

/// Folds rows into one.
pub fn merge(into: &mut Row, row: &Row) {
    into.min = into.min.min(row.min);
    into.max = into.max.max(row.max);
    into.sum += row.sum;
    into.count += row.count;
}

pub fn watermark(conn: &Connection, host: &str, tier: usize) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT upto_ms FROM watermarks WHERE host = ?1 AND tier = ?2")?
        .query_row(params![host, tier], |r| r.get(0))
        .optional()
}

fn set_watermark(conn: &Connection, host: &str, tier: usize, upto_ms: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO watermarks(host, tier, upto_ms) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![host, tier, upto_ms])?;
    Ok(())
}

/// Rolls every complete span of `host`: ticks before `ticks_done_before` are all
/// sealed, so minute spans up to it are built, and hour spans up to the minute tier's
/// watermark.
pub fn advance(conn: &Connection, host: &str, ticks_done_before: i64) -> Result<(), Fault> {
    roll(conn, host, 1, ticks_done_before)?;
    if let Some(minutes_done) = watermark(conn, host, 1)? {
        roll(conn, host, 2, minutes_done)?;
    }
    Ok(())
}

fn first_source(
    conn: &Connection,
    host: &str,
    tier: usize,
    from_ms: i64,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT min(start_ms) FROM groups WHERE host = ?1 AND tier = ?2 AND start_ms >= ?3",
    )?
    .query_row(params![host, tier, from_ms], |r| r.get(0))
}

fn roll(conn: &Connection, host: &str, tier: usize, source_done_before: i64) -> Result<(), Fault> {
    let span = GROUP_SPAN_MS[tier];
    let mut mark = match watermark(conn, host, tier)? {
        Some(mark) => mark,
        None => match first_source(conn, host, tier - 1, i64::MIN)? {
            Some(first) => first.div_euclid(span) * span,
            None => return Ok(()),
        },
    };
    let start_mark = mark;
    while mark + span <= source_done_before {
        if !roll_span(conn, host, tier, mark)? {
            // Nothing in this span: skip ahead to the next one with data.
            match first_source(conn, host, tier - 1, mark + span)? {
                Some(next) => mark = (next.div_euclid(span) * span).max(mark + span),
                None => {
                    mark = source_done_before.div_euclid(span) * span;
                    break;
                }
            }
            continue;
        }
        mark += span;
    }
    if mark != start_mark || watermark(conn, host, tier)?.is_none() {
        set_watermark(conn, host, tier, mark)?;
    }
    Ok(())
}

/// Builds the `tier` group of `host` for `[start, start + span)`; false when the
/// finer tier has nothing there.
fn roll_span(conn: &Connection, host: &str, tier: usize, start: i64) -> Result<bool, Fault> {
    let source = tier - 1;
    let end = start + GROUP_SPAN_MS[tier];
    let step = TIER_STEP_MS[tier];
    let mut groups = conn.prepare_cached(
        "SELECT id, start_ms, times FROM groups WHERE host = ?1 AND tier = ?2 AND start_ms >= ?3 AND start_ms < ?4",
    )?;
    let found: Vec<(i64, i64, Option<Vec<u8>>)> = groups
        .query_map(params![host, source, start, end], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    if found.is_empty() {
        return Ok(false);
    }
    let mut per_series: HashMap<u32, BTreeMap<u32, Row>> = HashMap::new();
    let mut chunks =
        conn.prepare_cached("SELECT series_id, data FROM chunks WHERE group_id = ?1")?;
    let mut buffer = Vec::new();
    for (group, group_start, times) in found {
        let times = times.as_deref().map(decode_times).transpose()?;
        let rows_of: Vec<(u32, Vec<u8>)> = chunks
            .query_map([group], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (series, blob) in rows_of {
            buffer.clear();
            rows(source, group_start, times.as_deref(), &blob, &mut buffer)?;
            let steps = per_series.entry(series).or_default();
            for row in buffer.iter().filter(|r| r.t_ms >= start && r.t_ms < end) {
                let index = ((row.t_ms - start) / step) as u32;
                steps
                    .entry(index)
                    .and_modify(|into| merge(into, row))
                    .or_insert(Row {
                        t_ms: start + i64::from(index) * step,
                        ..*row
                    });
            }
        }
    }
    let mut out = Vec::with_capacity(per_series.len());
    for (series, steps) in per_series {
        if steps.is_empty() {
            continue;
        }
        let mut chunk = RollupChunk::default();
        for (index, row) in steps {
            chunk.steps.push(index);
            chunk.min.push(row.min);
            chunk.avg.push(row.sum / row.count as f64);
            chunk.max.push(row.max);
            chunk
                .count
                .push(u32::try_from(row.count).unwrap_or(u32::MAX));
        }
        out.push((series, chunk.encode()?));
    }
    out.sort_by_key(|(series, _)| *series);
    insert_group(conn, host, tier, (start, end - 1), None, &out)?;
    Ok(true)
}
