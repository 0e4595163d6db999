//! What an overview needs of each host, and only what changed (issue 26).
//!
//! A host's full frame is ~1–6 kB at 2 Hz; an overview of 2,000 hosts that took
//! every frame would take megabytes a second. A [`HostSummary`] is the tile's row:
//! state, CPU, memory, worst disk, load, network rates, how many alerts and the worst
//! level, tags and group (~200 bytes). The gateway batches them once per second
//! ([`SummaryBook::changes`]), only the hosts whose rounded row differs from the one
//! last sent, so a calm fleet costs its viewers almost nothing. Values are rounded to
//! what a tile shows (0.1 %, 0.01 load, whole bytes/s): noise below that is no news.

use std::collections::BTreeMap;

use monitoring_plugin_api::{Alert, AlertLevel};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fleet::state::HostState;

/// The numbers a tile shows, read from a frame's `data`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    /// `processor.usage_percent`.
    pub cpu_percent: Option<f64>,
    /// `memory.percentage`.
    pub memory_percent: Option<f64>,
    /// The fullest of `disk` and `disks[*]`.
    pub worst_disk_percent: Option<f64>,
    /// `load.load1`.
    pub load1: Option<f64>,
    /// `network.rx_bytes_per_sec`, all interfaces.
    pub rx_bytes_per_sec: Option<f64>,
    /// `network.tx_bytes_per_sec`, all interfaces.
    pub tx_bytes_per_sec: Option<f64>,
}

impl Summary {
    /// Reads the summary from a frame's `data` as a tree; the same reading as from
    /// its text ([`crate::fleet::frame`]).
    pub fn of(data: &Value) -> Self {
        Self::deserialize(data).unwrap_or_default()
    }

    /// Rounded to what a tile shows, so that noise below it is not a change.
    pub fn rounded(&self) -> Self {
        // Multiplied then divided: `12.3`, not `12.300000000000001`, on the wire.
        let to =
            |value: Option<f64>, per_unit: f64| value.map(|v| (v * per_unit).round() / per_unit);
        Self {
            cpu_percent: to(self.cpu_percent, 10.0),
            memory_percent: to(self.memory_percent, 10.0),
            worst_disk_percent: to(self.worst_disk_percent, 10.0),
            load1: to(self.load1, 100.0),
            rx_bytes_per_sec: to(self.rx_bytes_per_sec, 1.0),
            tx_bytes_per_sec: to(self.tx_bytes_per_sec, 1.0),
        }
    }
}

/// The worst level among `alerts`: `critical`, `warning`, or `None`.
pub fn worst_level(alerts: &[Alert]) -> Option<&'static str> {
    let mut worst = None;
    for alert in alerts {
        match alert.level {
            AlertLevel::Critical => return Some("critical"),
            AlertLevel::Warning => worst = Some("warning"),
        }
    }
    worst
}

/// One host's row in a `host_summaries` message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostSummary {
    /// The name it publishes under.
    pub name: String,
    /// `up`, `stale` or `gone`.
    pub state: HostState,
    /// Its numbers, rounded.
    #[serde(flatten)]
    pub summary: Summary,
    /// How many alerts are active on it.
    pub alerts: usize,
    /// The worst of them: `critical`, `warning`, or `null`.
    pub level: Option<&'static str>,
    /// Its `[fleet] tags`.
    pub tags: Vec<String>,
    /// Its `[fleet] group`.
    pub group: Option<String>,
}

/// The rows last sent to overviews, which the next batch is the difference from.
#[derive(Debug, Default)]
pub struct SummaryBook {
    sent: BTreeMap<String, HostSummary>,
}

/// What changed in one host's row since it was last sent: its `name` and only the
/// fields that differ (a number that went away is `null`); a new host's has them all.
/// Where a fleet's CPU moves every second, this is a third of the whole row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RowChange {
    /// The host.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<HostState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_percent: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_percent: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    worst_disk_percent: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    load1: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rx_bytes_per_sec: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_bytes_per_sec: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alerts: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<Option<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<Option<String>>,
}

impl RowChange {
    /// The fields of `now` that differ from `before` (all of them without one);
    /// `None` when nothing does.
    pub fn between(before: Option<&HostSummary>, now: &HostSummary) -> Option<Self> {
        fn differ<T: PartialEq + Clone>(before: Option<&T>, now: &T) -> Option<T> {
            (before != Some(now)).then(|| now.clone())
        }
        let (a, b) = (before.map(|row| &row.summary), &now.summary);
        let change = Self {
            name: now.name.clone(),
            state: differ(before.map(|row| &row.state), &now.state),
            cpu_percent: differ(a.map(|a| &a.cpu_percent), &b.cpu_percent),
            memory_percent: differ(a.map(|a| &a.memory_percent), &b.memory_percent),
            worst_disk_percent: differ(a.map(|a| &a.worst_disk_percent), &b.worst_disk_percent),
            load1: differ(a.map(|a| &a.load1), &b.load1),
            rx_bytes_per_sec: differ(a.map(|a| &a.rx_bytes_per_sec), &b.rx_bytes_per_sec),
            tx_bytes_per_sec: differ(a.map(|a| &a.tx_bytes_per_sec), &b.tx_bytes_per_sec),
            alerts: differ(before.map(|row| &row.alerts), &now.alerts),
            level: differ(before.map(|row| &row.level), &now.level),
            tags: differ(before.map(|row| &row.tags), &now.tags),
            group: differ(before.map(|row| &row.group), &now.group),
        };
        (change
            != Self {
                name: now.name.clone(),
                ..Self::default()
            })
        .then_some(change)
    }
}

/// One batch: what changed in the rows, and the hosts no longer followed.
#[derive(Debug, Default, PartialEq)]
pub struct SummaryChanges {
    /// New or changed rows, with only what changed.
    pub changed: Vec<RowChange>,
    /// Hosts forgotten since the last batch.
    pub forgotten: Vec<String>,
}

impl SummaryChanges {
    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.forgotten.is_empty()
    }
}

impl SummaryBook {
    /// What differs between `current` (every followed host, by name) and what was
    /// last sent; `current` becomes what was sent.
    pub fn changes(&mut self, current: Vec<HostSummary>) -> SummaryChanges {
        let mut changes = SummaryChanges::default();
        let mut next = BTreeMap::new();
        for row in current {
            let before = self.sent.remove(&row.name);
            if let Some(change) = RowChange::between(before.as_ref(), &row) {
                changes.changed.push(change);
            }
            next.insert(row.name.clone(), row);
        }
        // What is left of what was sent are the hosts no longer followed.
        changes.forgotten = std::mem::replace(&mut self.sent, next)
            .into_keys()
            .collect();
        changes
    }

    /// Every row last sent: what a new overview starts from, so that the batches
    /// that follow are differences from what it has.
    pub fn all(&self) -> Vec<HostSummary> {
        self.sent.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(name: &str, cpu: f64) -> HostSummary {
        HostSummary {
            name: name.into(),
            state: HostState::Up,
            summary: Summary {
                cpu_percent: Some(cpu),
                ..Summary::default()
            }
            .rounded(),
            alerts: 0,
            level: None,
            tags: vec![],
            group: None,
        }
    }

    #[test]
    fn the_summary_reads_every_number_a_tile_shows() {
        let data = json!({
            "processor": {"usage_percent": 12.5},
            "memory": {"percentage": 40.0},
            "disk": {"percentage": 10.0},
            "disks": [{"percentage": 10.0}, {"percentage": 93.5}],
            "load": {"load1": 0.734},
            "network": {"rx_bytes_per_sec": 1500.4, "tx_bytes_per_sec": 20.0}
        });
        let summary = Summary::of(&data).rounded();
        assert_eq!(summary.worst_disk_percent, Some(93.5));
        assert_eq!(summary.load1, Some(0.73));
        assert_eq!(summary.rx_bytes_per_sec, Some(1500.0));
        assert_eq!(Summary::of(&json!({})), Summary::default());
    }

    #[test]
    fn only_changed_rows_go_out_and_forgotten_hosts_are_named() {
        let mut book = SummaryBook::default();
        let first = book.changes(vec![row("a", 1.0), row("b", 2.0)]);
        assert_eq!(first.changed.len(), 2, "all new");
        let calm = book.changes(vec![row("a", 1.01), row("b", 2.0)]);
        assert!(calm.is_empty(), "below a tile's precision: {calm:?}");
        let moved = book.changes(vec![row("a", 5.0)]);
        assert_eq!(moved.changed.len(), 1);
        assert_eq!(moved.forgotten, ["b"]);
        assert_eq!(book.all(), [row("a", 5.0)]);
    }

    #[test]
    fn a_change_names_the_host_and_only_what_changed() {
        let before = row("web-1", 12.3);
        let mut now = row("web-1", 12.4);
        now.tags = vec!["db".into()];
        let change = RowChange::between(Some(&before), &now).expect("a change");
        let text = serde_json::to_string(&change).expect("JSON");
        assert_eq!(text, r#"{"name":"web-1","cpu_percent":12.4,"tags":["db"]}"#);
        now.summary.cpu_percent = None;
        let gone = serde_json::to_string(&RowChange::between(Some(&before), &now)).expect("JSON");
        assert!(gone.contains(r#""cpu_percent":null"#), "{gone}");
        assert_eq!(RowChange::between(Some(&before), &before), None);
        let new = serde_json::to_value(RowChange::between(None, &before)).expect("JSON");
        assert_eq!(
            new,
            serde_json::to_value(&before).expect("JSON"),
            "a new host: the whole row"
        );
    }

    #[test]
    fn a_row_is_small_and_flat() {
        let text = serde_json::to_string(&row("web-1", 12.3)).expect("JSON");
        assert!(text.contains(r#""cpu_percent":12.3"#), "{text}");
        assert!(text.len() < 250, "{} bytes: {text}", text.len());
    }
}
