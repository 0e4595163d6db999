//! Checks: sections whose producer already judged them (a Nagios plugin's exit code,
//! issue 24), raised as alerts beside the threshold rules, through the same
//! lifecycle, routes, silences and acknowledgements.
//!
//! A Nagios section (`format = "nagios"`) whose state is not `OK` is an alert on
//! `component = <section>`, `metric = "state"`: CRITICAL for `CRITICAL`, WARNING for
//! `WARNING` and `UNKNOWN` (a check that cannot tell is worth a look, not a page),
//! `message = "<section> <STATE>: <first line>"`, `value` = the exit code. Its labels
//! are `alertname = <section>_state` (a rule's `<component>_<metric>`), `check =
//! <section>` and `source = nagios`, so a route or silence can match all checks or
//! one; its fingerprint is the one `derived_fingerprint` gives for those fields, so
//! it is stable across ticks, restarts and the fleet.
//!
//! It resolves when the check is `OK` again. A check section that is missing from a
//! snapshot resolves at once when the `exec` section is there and no command fills
//! that section any more (the command was removed by a reload); otherwise it is a
//! failed run or a collector's hiccup, and it stays active for
//! [`READING_GRACE`], as a rule's missing reading does.

use std::collections::BTreeMap;
use std::time::Instant;

use monitoring_plugin_api::sections::scripted::{Exec, NagiosSection, NagiosState, ScriptFormat};
use monitoring_plugin_api::sections::Section;
use monitoring_plugin_api::{Alert, AlertLevel, Sections, SinkEvent};
use serde::Deserialize;

use super::lifecycle::fingerprint;
use super::tick::{resolved, Tick, READING_GRACE};
use crate::timestamp;

/// The `metric` of a check's alert.
pub const STATE_METRIC: &str = "state";

/// A check's message is cut to this many characters: the script's first line is its
/// to choose, and every sink, log and client carries it.
const MAX_MESSAGE_CHARS: usize = 512;

/// The checks firing now, by section.
#[derive(Debug, Default)]
pub struct CheckBook {
    firing: BTreeMap<String, Firing>,
}

/// One firing check.
#[derive(Debug)]
struct Firing {
    alert: Alert,
    seen: Instant,
}

/// The level a non-OK state alerts at.
pub fn level_of(state: NagiosState) -> Option<AlertLevel> {
    match state {
        NagiosState::Ok => None,
        NagiosState::Critical => Some(AlertLevel::Critical),
        NagiosState::Warning | NagiosState::Unknown => Some(AlertLevel::Warning),
    }
}

/// The Nagios sections of `data`, by name.
fn nagios_sections(data: &Sections) -> impl Iterator<Item = (&String, NagiosSection)> {
    data.iter().filter_map(|(name, value)| {
        if ScriptFormat::of(value)? != ScriptFormat::Nagios {
            return None;
        }
        Some((name, NagiosSection::deserialize(value).ok()?))
    })
}

/// Judges every check of `data` at `tick`, adding to `active` the alerts active now
/// and to `notifications` those that started, escalated or resolved.
pub fn evaluate(
    book: &mut CheckBook,
    data: &Sections,
    host: &str,
    tick: Tick<'_>,
    active: &mut Vec<Alert>,
    notifications: &mut Vec<SinkEvent>,
) {
    for (section, check) in nagios_sections(data) {
        let held = book.firing.get(section.as_str());
        let Some(level) = level_of(check.state) else {
            if let Some(gone) = book.firing.remove(section.as_str()) {
                notifications.push(resolved(gone.alert, tick));
            }
            continue;
        };
        let mut alert = alert(section, &check, level, host, tick);
        if let Some(held) = held {
            alert.starts_at = held.alert.starts_at.clone();
        }
        if held.is_none_or(|held| level > held.alert.level) {
            notifications.push(SinkEvent::Alert {
                alert: alert.clone(),
            });
        }
        active.push(alert.clone());
        let seen = tick.now;
        book.firing.insert(section.clone(), Firing { alert, seen });
    }
    let removed = removed_sections(data);
    book.firing.retain(|section, firing| {
        if firing.seen == tick.now {
            return true;
        }
        let fresh = tick.now.saturating_duration_since(firing.seen) < READING_GRACE;
        if fresh && !removed(section) {
            active.push(firing.alert.clone());
            return true;
        }
        notifications.push(resolved(firing.alert.clone(), tick));
        false
    });
}

/// Whether a section is known gone: the `exec` section is there and none of its
/// commands fills it.
fn removed_sections(data: &Sections) -> impl Fn(&str) -> bool {
    let exec = Exec::from_sections(data).and_then(Result::ok);
    move |section| {
        exec.as_ref()
            .is_some_and(|exec| !exec.commands.values().any(|c| c.section == section))
    }
}

/// The alert of a non-OK check.
fn alert(section: &str, check: &NagiosSection, level: AlertLevel, host: &str, tick: Tick) -> Alert {
    let state = match check.state {
        NagiosState::Ok => "OK",
        NagiosState::Warning => "WARNING",
        NagiosState::Critical => "CRITICAL",
        NagiosState::Unknown => "UNKNOWN",
    };
    let first_line: String = check
        .message
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(MAX_MESSAGE_CHARS)
        .collect();
    let alertname = format!("{section}_{STATE_METRIC}");
    let labels = [
        ("alertname", alertname.as_str()),
        ("check", section),
        ("source", "nagios"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Alert {
        timestamp: tick.timestamp.to_owned(),
        component: section.to_owned(),
        metric: STATE_METRIC.to_owned(),
        value: f64::from(check.code),
        threshold: match level {
            AlertLevel::Warning => 1.0,
            AlertLevel::Critical => 2.0,
        },
        level,
        message: format!("{section} {state}: {first_line}"),
        host: host.to_owned(),
        labels,
        starts_at: timestamp::rfc3339(&tick.wall),
        fingerprint: fingerprint(&alertname, host, ""),
        ..Default::default()
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
