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
use serde::Serialize;
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
    /// Reads the summary from a frame's `data`.
    pub fn of(data: &Value) -> Self {
        let number = |pointer: &str| {
            data.pointer(pointer)
                .and_then(Value::as_f64)
                .filter(|n| n.is_finite())
        };
        let disks = data
            .get("disks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|disk| disk.get("percentage").and_then(Value::as_f64));
        let worst_disk_percent = number("/disk/percentage")
            .into_iter()
            .chain(disks)
            .filter(|n| n.is_finite())
            .reduce(f64::max);
        Self {
            cpu_percent: number("/processor/usage_percent"),
            memory_percent: number("/memory/percentage"),
            worst_disk_percent,
            load1: number("/load/load1"),
            rx_bytes_per_sec: number("/network/rx_bytes_per_sec"),
            tx_bytes_per_sec: number("/network/tx_bytes_per_sec"),
        }
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

/// One batch: the rows that changed and the hosts no longer followed.
#[derive(Debug, Default, PartialEq)]
pub struct SummaryChanges {
    /// New or changed rows.
    pub changed: Vec<HostSummary>,
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
            if self.sent.get(&row.name) != Some(&row) {
                changes.changed.push(row.clone());
            }
            next.insert(row.name.clone(), row);
        }
        changes.forgotten = self
            .sent
            .keys()
            .filter(|name| !next.contains_key(*name))
            .cloned()
            .collect();
        self.sent = next;
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
        assert_eq!(moved.changed, [row("a", 5.0)]);
        assert_eq!(moved.forgotten, ["b"]);
        assert_eq!(book.all(), [row("a", 5.0)]);
    }

    #[test]
    fn a_row_is_small_and_flat() {
        let text = serde_json::to_string(&row("web-1", 12.3)).expect("JSON");
        assert!(text.contains(r#""cpu_percent":12.3"#), "{text}");
        assert!(text.len() < 250, "{} bytes: {text}", text.len());
    }
}
