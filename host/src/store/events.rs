//! Events on the timeline: alert episodes opened and closed from each tick's active
//! alerts, and other events stored as given.

use std::collections::{HashMap, HashSet};

use monitoring_plugin_api::{Alert, AlertLevel};
use rusqlite::{params, Connection};

use super::types::{Event, EventKind, Span};

/// What makes two ticks' alerts one episode: component, metric, level and the
/// instance the message names (its text before the value, e.g. `High disk usage
/// (/var)`), so two disks' alerts are two episodes.
pub type EpisodeKey = (String, String, String, String);

fn level_text(level: AlertLevel) -> &'static str {
    match level {
        AlertLevel::Warning => "WARNING",
        AlertLevel::Critical => "CRITICAL",
    }
}

pub fn key(alert: &Alert) -> EpisodeKey {
    let instance = alert.message.split(": ").next().unwrap_or_default();
    (
        alert.component.clone(),
        alert.metric.clone(),
        level_text(alert.level).to_owned(),
        instance.to_owned(),
    )
}

fn kind_key(kind: &EventKind) -> Option<EpisodeKey> {
    match kind {
        EventKind::Alert {
            component,
            metric,
            level,
            message,
            ..
        } => Some((
            component.clone(),
            metric.clone(),
            level.clone(),
            message.split(": ").next().unwrap_or_default().to_owned(),
        )),
        _ => None,
    }
}

/// Stores one event, returning its row id.
pub fn insert(conn: &Connection, event: &Event) -> rusqlite::Result<i64> {
    let kind = serde_json::to_string(&event.kind)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let alert = matches!(event.kind, EventKind::Alert { .. });
    conn.prepare_cached(
        "INSERT INTO events(host, time_ms, end_ms, alert, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        event.host,
        (event.time * 1000.0).round() as i64,
        event.end.map(|end| (end * 1000.0).round() as i64),
        alert,
        kind
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Opens an episode for each newly active alert and closes those no longer active.
pub fn update(
    conn: &Connection,
    host: &str,
    at_ms: i64,
    alerts: &[Alert],
    open: &mut HashMap<EpisodeKey, i64>,
) -> rusqlite::Result<()> {
    let mut active = HashSet::new();
    for alert in alerts {
        let key = key(alert);
        if !open.contains_key(&key) {
            let event = Event {
                host: host.to_owned(),
                time: at_ms as f64 / 1000.0,
                end: None,
                kind: EventKind::Alert {
                    component: alert.component.clone(),
                    metric: alert.metric.clone(),
                    level: key.2.clone(),
                    value: alert.value,
                    threshold: alert.threshold,
                    message: alert.message.clone(),
                },
            };
            let id = insert(conn, &event)?;
            open.insert(key.clone(), id);
        }
        active.insert(key);
    }
    let ended: Vec<EpisodeKey> = open
        .keys()
        .filter(|k| !active.contains(*k))
        .cloned()
        .collect();
    for key in ended {
        if let Some(id) = open.remove(&key) {
            conn.prepare_cached("UPDATE events SET end_ms = ?1 WHERE id = ?2")?
                .execute(params![at_ms, id])?;
        }
    }
    Ok(())
}

/// The open episodes of `host`, to continue them after a reload of the writer's state.
pub fn load_open(conn: &Connection, host: &str) -> rusqlite::Result<HashMap<EpisodeKey, i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind FROM events WHERE host = ?1 AND alert = 1 AND end_ms IS NULL",
    )?;
    let rows = stmt.query_map([host], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut open = HashMap::new();
    for row in rows {
        let (id, kind) = row?;
        if let Some(key) = serde_json::from_str::<EventKind>(&kind)
            .ok()
            .as_ref()
            .and_then(kind_key)
        {
            open.insert(key, id);
        }
    }
    Ok(open)
}

/// Closes the alerts left open by a stopped server at its host's last tick.
pub fn close_stale(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE events SET end_ms = max(time_ms, coalesce(
             (SELECT max(at_ms) FROM pending WHERE pending.host = events.host),
             (SELECT max(last_ms) FROM series WHERE series.host = events.host),
             time_ms))
         WHERE alert = 1 AND end_ms IS NULL",
        [],
    )
}

/// Events of `host` (or all) overlapping `span`; an active alert reaches to now.
pub fn read(conn: &Connection, host: Option<&str>, span: Span) -> rusqlite::Result<Vec<Event>> {
    let mut stmt = conn.prepare_cached(
        "SELECT host, time_ms, end_ms, kind FROM events
         WHERE time_ms <= ?2 AND (?1 IS NULL OR host = ?1)
           AND (CASE WHEN end_ms IS NOT NULL THEN end_ms WHEN alert = 1 THEN ?2 ELSE time_ms END) >= ?3
         ORDER BY time_ms, id",
    )?;
    let rows = stmt.query_map(params![host, span.to_ms, span.from_ms], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut events = Vec::new();
    for row in rows {
        let (host, time_ms, end_ms, kind) = row?;
        let kind = serde_json::from_str(&kind).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?;
        events.push(Event {
            host,
            time: time_ms as f64 / 1000.0,
            end: end_ms.map(|end| end as f64 / 1000.0),
            kind,
        });
    }
    Ok(events)
}
