//! A snapshot as remote-write samples: the series of `/metrics` (through
//! `metric-families`, the one mapping the host's scrape uses), each with `__name__`,
//! its own labels, then `job`, `instance` and the configured extra labels where the
//! series has no label of that name, sorted by name as receivers require. A label with
//! an empty value is left out: Prometheus treats it as absent anyway.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Local, NaiveDateTime, TimeZone};
use metric_families::{snapshot_series, Flatten};
use monitoring_plugin_api::Sections;

use crate::proto::{Label, Sample};
use crate::queue::Queued;

/// The labels every series of this server gets.
#[derive(Debug, Clone)]
pub struct Target {
    /// (name, value), `job` and `instance` first; applied where a series lacks the name.
    pub labels: Vec<(String, String)>,
}

/// The label sets of the series seen lately, so that every queued sample of a series
/// shares one allocation of its labels (a full queue then holds samples, not hundreds
/// of thousands of label copies).
#[derive(Debug, Default)]
pub struct Interner {
    seen: HashSet<Arc<[Label]>>,
}

impl Interner {
    /// Series kept before the set starts over: short-lived series (a top process's
    /// `pid`) come and go, and must not make it grow without bound. Starting over only
    /// costs new copies of the labels of the series still current.
    const MAX_SERIES: usize = 20_000;

    fn intern(&mut self, labels: Vec<Label>) -> Arc<[Label]> {
        if let Some(shared) = self.seen.get(labels.as_slice()) {
            return Arc::clone(shared);
        }
        if self.seen.len() >= Self::MAX_SERIES {
            self.seen.clear();
        }
        let shared: Arc<[Label]> = labels.into();
        self.seen.insert(Arc::clone(&shared));
        shared
    }
}

/// Every series of `data` as one sample at `timestamp_ms`.
pub fn samples(
    data: &Sections,
    timestamp_ms: i64,
    target: &Target,
    interner: &mut Interner,
) -> Vec<Queued> {
    let mut flat = Flatten::default();
    snapshot_series(&mut flat, data);
    flat.into_series()
        .into_iter()
        .map(|series| {
            let mut labels = vec![Label {
                name: "__name__".to_owned(),
                value: series.name,
            }];
            let own = |name: &str, labels: &[Label]| labels.iter().any(|l| l.name == name);
            for (name, value) in series.labels {
                if !value.is_empty() && !own(&name, &labels) {
                    labels.push(Label { name, value });
                }
            }
            for (name, value) in &target.labels {
                if !own(name, &labels) {
                    labels.push(Label {
                        name: name.clone(),
                        value: value.clone(),
                    });
                }
            }
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            Queued {
                labels: interner.intern(labels),
                sample: Sample {
                    value: series.value,
                    timestamp: timestamp_ms,
                },
            }
        })
        .collect()
}

/// A snapshot's timestamp (the host's local time, `2024-01-15T10:30:00.123456`, or
/// RFC 3339) in milliseconds since the epoch.
pub fn timestamp_ms(text: &str) -> Option<i64> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.timestamp_millis());
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|at| at.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn target() -> Target {
        Target {
            labels: vec![
                ("job".into(), "monitoring".into()),
                ("instance".into(), "web-1".into()),
                ("device".into(), "should-not-win".into()),
            ],
        }
    }

    #[test]
    fn series_get_sorted_labels_with_job_and_instance() {
        let data: Sections = json!({"load": {"load1": 0.5, "load5": 0.4, "load15": 0.3,
            "runnable_tasks": 1, "total_tasks": 9, "uptime_seconds": 60, "cpu_count": 2},
            "acme": {"disks": [{"temp": 40}]}})
        .as_object()
        .cloned()
        .expect("an object");
        let all = samples(&data, 1234, &target(), &mut Interner::default());
        let load1 = all
            .iter()
            .find(|q| q.labels.iter().any(|l| l.value == "node_load1"))
            .expect("node_load1");
        let names: Vec<(&str, &str)> = load1
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("__name__", "node_load1"),
                ("device", "should-not-win"),
                ("instance", "web-1"),
                ("job", "monitoring")
            ]
        );
        assert_eq!(load1.sample.value, 0.5);
        assert_eq!(load1.sample.timestamp, 1234);
        let acme = all
            .iter()
            .find(|q| q.labels[0].value == "system_acme_disks_temp")
            .expect("third-party series");
        assert!(acme
            .labels
            .iter()
            .any(|l| l.name == "index" && l.value == "0"));
    }

    #[test]
    fn a_series_own_label_wins_over_the_targets() {
        let data: Sections = json!({"network": {"interfaces": [{"name": "eth0",
            "rx_bytes": 1, "tx_bytes": 1, "rx_packets": 1, "tx_packets": 1, "rx_errors": 0,
            "tx_errors": 0, "rx_drops": 0, "tx_drops": 0, "rx_bytes_per_sec": 0.0,
            "tx_bytes_per_sec": 0.0, "rx_packets_per_sec": 0.0, "tx_packets_per_sec": 0.0,
            "rx_errors_per_sec": 0.0, "tx_errors_per_sec": 0.0, "rx_drops_per_sec": 0.0,
            "tx_drops_per_sec": 0.0}], "rx_bytes_per_sec": 0.0, "tx_bytes_per_sec": 0.0,
            "rx_bytes": 1, "tx_bytes": 1}})
        .as_object()
        .cloned()
        .expect("an object");
        let all = samples(&data, 0, &target(), &mut Interner::default());
        for queued in &all {
            let devices: Vec<&str> = queued
                .labels
                .iter()
                .filter(|l| l.name == "device")
                .map(|l| l.value.as_str())
                .collect();
            assert_eq!(devices, ["eth0"], "{queued:?}");
        }
    }

    #[test]
    fn the_samples_of_a_series_share_its_labels() {
        let data: Sections = json!({"acme": {"temp": 40}})
            .as_object()
            .cloned()
            .expect("an object");
        let mut interner = Interner::default();
        let first = samples(&data, 0, &target(), &mut interner);
        let second = samples(&data, 500, &target(), &mut interner);
        assert!(Arc::ptr_eq(&first[0].labels, &second[0].labels));
    }

    #[test]
    fn timestamps_in_the_hosts_format_and_rfc3339() {
        assert_eq!(
            timestamp_ms("2024-01-15T10:30:00.5+00:00"),
            Some(1_705_314_600_500)
        );
        let local = timestamp_ms("2024-01-15T10:30:00.123456").expect("local time");
        let expected = Local
            .with_ymd_and_hms(2024, 1, 15, 10, 30, 0)
            .earliest()
            .expect("a time")
            .timestamp_millis()
            + 123;
        assert_eq!(local, expected);
        assert_eq!(timestamp_ms("yesterday"), None);
    }
}
