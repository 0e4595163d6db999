//! What the store keeps: groups of chunks are added and removed here only, so the
//! per-tier byte counts (the `tiers` table) stay exact without scanning; time limits,
//! per-tier size caps and the total cap remove the oldest groups first.

use rusqlite::{params, Connection, OptionalExtension};

use super::types::{Limits, Tier};

/// Milliseconds between two rows of a tier (the tick tier's nominal 0.5 s).
pub const TIER_STEP_MS: [i64; 3] = [500, 60_000, 3_600_000];
/// How much time one group of a tier spans (a sealed window; a rollup chunk).
pub const GROUP_SPAN_MS: [i64; 3] = [5 * 60_000, 3_600_000, 86_400_000];
/// Bytes a row costs beyond its blob (keys, index entries), so counts follow the file.
const ROW_OVERHEAD: u64 = 40;
/// Groups removed per statement while trimming.
const TRIM_BATCH: i64 = 64;

pub const TIERS: [Tier; 3] = [Tier::Tick, Tier::Minute, Tier::Hour];

/// Stores one group (one host's chunks of one window of one tier) and counts its bytes.
pub fn insert_group(
    conn: &Connection,
    host: &str,
    tier: usize,
    (start_ms, end_ms): (i64, i64),
    times: Option<&[u8]>,
    chunks: &[(u32, Vec<u8>)],
) -> rusqlite::Result<u64> {
    let bytes = ROW_OVERHEAD * (1 + chunks.len() as u64)
        + times.map_or(0, |t| t.len() as u64)
        + chunks
            .iter()
            .map(|(_, data)| data.len() as u64)
            .sum::<u64>();
    conn.execute(
        "INSERT INTO groups(host, tier, start_ms, end_ms, times, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![host, tier, start_ms, end_ms, times, bytes as i64],
    )?;
    let group = conn.last_insert_rowid();
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO chunks(series_id, tier, start_ms, group_id, data) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (series, data) in chunks {
        insert.execute(params![series, tier, start_ms, group, data])?;
    }
    add_bytes(conn, tier, bytes as i64)?;
    Ok(bytes)
}

pub fn add_bytes(conn: &Connection, tier: usize, delta: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE tiers SET bytes = max(0, bytes + ?1) WHERE tier = ?2")?
        .execute(params![delta, tier])?;
    Ok(())
}

/// Bytes a processes row is counted as (in the minute tier, whose age it shares).
pub fn processes_bytes(len: usize) -> i64 {
    (len as u64 + ROW_OVERHEAD) as i64
}

/// The oldest groups of `tier` (up to `limit`) that end before `before_ms`.
fn oldest(
    conn: &Connection,
    tier: usize,
    before_ms: i64,
    limit: i64,
) -> rusqlite::Result<Vec<(i64, i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, end_ms, bytes FROM groups WHERE tier = ?1 AND start_ms < ?2
         ORDER BY start_ms LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![tier, before_ms, limit], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    rows.filter(|r| r.as_ref().map_or(true, |(_, end, _)| *end < before_ms))
        .collect()
}

fn delete_group(conn: &Connection, tier: usize, id: i64, bytes: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM chunks WHERE group_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM groups WHERE id = ?1")?
        .execute([id])?;
    add_bytes(conn, tier, -bytes)
}

/// Byte counts of the three tiers.
pub fn tier_bytes(conn: &Connection) -> rusqlite::Result<[u64; 3]> {
    let mut out = [0u64; 3];
    let mut stmt = conn.prepare_cached("SELECT tier, bytes FROM tiers")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, usize>(0)?, r.get::<_, i64>(1)?)))? {
        let (tier, bytes) = row?;
        if let Some(slot) = out.get_mut(tier) {
            *slot = bytes.max(0) as u64;
        }
    }
    Ok(out)
}

pub fn cut_short(conn: &Connection) -> rusqlite::Result<[bool; 3]> {
    let mut out = [false; 3];
    let mut stmt = conn.prepare_cached("SELECT tier, cut_short FROM tiers")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, usize>(0)?, r.get::<_, bool>(1)?)))? {
        let (tier, cut) = row?;
        if let Some(slot) = out.get_mut(tier) {
            *slot = cut;
        }
    }
    Ok(out)
}

fn set_cut_short(conn: &Connection, tier: usize, cut: bool) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE tiers SET cut_short = ?1 WHERE tier = ?2")?
        .execute(params![cut, tier])?;
    Ok(())
}

/// The oldest time a tier holds (ms).
pub fn oldest_ms(conn: &Connection, tier: usize) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT min(start_ms) FROM groups WHERE tier = ?1")?
        .query_row([tier], |r| r.get(0))
}

/// Applies `limits` as of `now_ms` (the newest tick seen). Returns whether anything
/// was removed (the caller then vacuums).
pub fn apply(conn: &Connection, limits: &Limits, now_ms: i64) -> rusqlite::Result<bool> {
    let mut removed = false;
    for (tier, limit) in limits.tiers.iter().enumerate() {
        let cutoff =
            now_ms.saturating_sub(i64::try_from(limit.keep.as_millis()).unwrap_or(i64::MAX));
        loop {
            let old = oldest(conn, tier, cutoff, TRIM_BATCH)?;
            for &(id, _, bytes) in &old {
                delete_group(conn, tier, id, bytes)?;
            }
            if !old.is_empty() {
                removed = true;
                // The tier reached its full age: it is no longer cut short.
                set_cut_short(conn, tier, false)?;
            }
            if (old.len() as i64) < TRIM_BATCH {
                break;
            }
        }
        if tier == 1 {
            removed |= trim_processes(conn, cutoff)?;
        }
        if tier == 2 {
            conn.prepare_cached(
                "DELETE FROM events WHERE time_ms < ?1 AND end_ms IS NOT NULL AND end_ms < ?1",
            )?
            .execute([cutoff])?;
        }
    }
    for (tier, limit) in limits.tiers.iter().enumerate() {
        if let Some(max) = limit.max_bytes {
            while tier_bytes(conn)?[tier] > max {
                if !trim_oldest(conn, tier, limits, now_ms)? {
                    break;
                }
                removed = true;
            }
        }
    }
    while tier_bytes(conn)?.iter().sum::<u64>() > limits.max_bytes {
        let bytes = tier_bytes(conn)?;
        // The finest tier with data gives way first: coarser tiers hold the long view.
        let Some(tier) = (0..3).find(|&t| bytes[t] > 0) else {
            break;
        };
        if !trim_oldest(conn, tier, limits, now_ms)? {
            break;
        }
        removed = true;
    }
    Ok(removed)
}

/// Removes the oldest group of `tier` (for the minute tier, or its oldest processes
/// minute when older) because of a size cap; marks the tier cut short when that data
/// was younger than its `keep`.
fn trim_oldest(
    conn: &Connection,
    tier: usize,
    limits: &Limits,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    let keep_from = now_ms
        .saturating_sub(i64::try_from(limits.tiers[tier].keep.as_millis()).unwrap_or(i64::MAX));
    let group = oldest(conn, tier, i64::MAX, 1)?.into_iter().next();
    if tier == 1 {
        let processes: Option<i64> = conn
            .query_row("SELECT min(at_ms) FROM processes", [], |r| r.get(0))
            .optional()?
            .flatten();
        let group_start = match group {
            Some((id, _, _)) => {
                conn.query_row("SELECT start_ms FROM groups WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?
            }
            None => i64::MAX,
        };
        if let Some(at) = processes.filter(|&at| at < group_start) {
            trim_processes(conn, at.saturating_add(GROUP_SPAN_MS[1]))?;
            if at >= keep_from {
                set_cut_short(conn, tier, true)?;
            }
            return Ok(true);
        }
    }
    let Some((id, end_ms, bytes)) = group else {
        return Ok(false);
    };
    delete_group(conn, tier, id, bytes)?;
    if end_ms >= keep_from {
        set_cut_short(conn, tier, true)?;
    }
    Ok(true)
}

fn trim_processes(conn: &Connection, before_ms: i64) -> rusqlite::Result<bool> {
    let mut stmt =
        conn.prepare_cached("DELETE FROM processes WHERE at_ms < ?1 RETURNING length(data)")?;
    let freed: Vec<i64> = stmt
        .query_map([before_ms], |r| r.get::<_, i64>(0))?
        .collect::<Result<_, _>>()?;
    let bytes: i64 = freed.iter().map(|len| len + ROW_OVERHEAD as i64).sum();
    add_bytes(conn, 1, -bytes)?;
    Ok(!freed.is_empty())
}
