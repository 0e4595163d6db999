//! [`Flatten`]: the mapping's calls as the series a scrape of `/metrics` shows, for
//! consumers that send series rather than an exposition (remote write).
//!
//! The suffixes are the exposition's: a gauge with a unit is `name_unit`, a counter
//! `name_total`, an info `name_info` with the value 1. A series emitted twice is kept
//! once, as the host's registry keeps it: a gauge keeps its last value, a counter sums,
//! an info keeps its first labels. (Remote-write receivers refuse two samples of one
//! series at one time, so this matters beyond agreeing with `/metrics`.)

use std::collections::{HashMap, HashSet};

use crate::raw::{Claims, RawFamily};
use crate::{Emit, Labels, Unit};

/// One series and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The exposed name, suffixes included (`system_memory_total_bytes`).
    pub name: String,
    /// Its labels, in the mapping's order.
    pub labels: Labels,
    /// The reading.
    pub value: f64,
}

/// Collects the series of one snapshot.
#[derive(Debug, Default)]
pub struct Flatten {
    series: Vec<Series>,
    /// Where each (name, labels) is in `series`.
    index: HashMap<(String, Labels), usize>,
    /// Info names seen, so only the first of a name counts (as the registry's).
    infos: HashSet<String>,
    /// Names exposed so far, so a script family refused by `/metrics` is refused here.
    claims: Claims,
}

impl Flatten {
    /// The series collected, in the order first emitted.
    pub fn into_series(self) -> Vec<Series> {
        self.series
    }

    /// Records `value`; `merge` combines it with a value already there.
    fn put(&mut self, name: String, labels: Labels, value: f64, merge: fn(f64, f64) -> f64) {
        match self.index.get(&(name.clone(), labels.clone())) {
            Some(&at) => self.series[at].value = merge(self.series[at].value, value),
            None => {
                self.index
                    .insert((name.clone(), labels.clone()), self.series.len());
                self.series.push(Series {
                    name,
                    labels,
                    value,
                });
            }
        }
    }
}

impl Emit for Flatten {
    fn gauge(&mut self, name: &str, _help: &str, unit: Option<Unit>, labels: Labels, value: f64) {
        if !value.is_finite() {
            return;
        }
        self.claims.own(name, unit, None);
        let name = match unit {
            Some(unit) => format!("{name}_{}", unit.as_str()),
            None => name.to_owned(),
        };
        self.put(name, labels, value, |_, new| new);
    }

    fn counter(&mut self, name: &str, _help: &str, labels: Labels, value: u64) {
        self.claims.own(name, None, Some("total"));
        self.put(format!("{name}_total"), labels, value as f64, |a, b| a + b);
    }

    fn float_counter(&mut self, name: &str, _help: &str, labels: Labels, value: f64) {
        if !(value.is_finite() && value >= 0.0) {
            return;
        }
        self.claims.own(name, None, Some("total"));
        self.put(format!("{name}_total"), labels, value, |a, b| a + b);
    }

    fn info(&mut self, name: &str, _help: &str, labels: Labels) {
        self.claims.own(name, None, Some("info"));
        if self.infos.insert(name.to_owned()) {
            self.put(format!("{name}_info"), labels, 1.0, |old, _| old);
        }
    }

    fn raw_family(&mut self, family: &RawFamily) -> bool {
        if !self.claims.raw(family) {
            return false;
        }
        let name = family.sample_name();
        for (labels, value) in &family.samples {
            self.put(name.clone(), labels.clone(), *value, |_, new| new);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::sections::System;
    use monitoring_plugin_api::Sections;
    use serde_json::json;

    use super::*;
    use crate::{labels, snapshot_series};

    fn series(data: serde_json::Value) -> Vec<Series> {
        let data: Sections = data.as_object().cloned().expect("an object");
        let mut flat = Flatten::default();
        snapshot_series(&mut flat, &data);
        flat.into_series()
    }

    fn find<'a>(all: &'a [Series], name: &str) -> Vec<&'a Series> {
        all.iter().filter(|s| s.name == name).collect()
    }

    #[test]
    fn names_carry_the_expositions_suffixes() {
        let all = series(json!({
            "memory": {"total": 1000, "available": 250, "used": 750, "percentage": 75.0},
            "network": {"interfaces": [{"name": "eth0", "rx_bytes": 5, "tx_bytes": 6,
                "rx_packets": 1, "tx_packets": 1, "rx_errors": 0, "tx_errors": 0,
                "rx_drops": 0, "tx_drops": 0, "rx_bytes_per_sec": 0.0, "tx_bytes_per_sec": 0.0,
                "rx_packets_per_sec": 0.0, "tx_packets_per_sec": 0.0, "rx_errors_per_sec": 0.0,
                "tx_errors_per_sec": 0.0, "rx_drops_per_sec": 0.0, "tx_drops_per_sec": 0.0}],
                "rx_bytes_per_sec": 0.0, "tx_bytes_per_sec": 0.0, "rx_bytes": 5, "tx_bytes": 6},
            "system": serde_json::to_value(System {
                hostname: "web-1".into(),
                ..System::default()
            })
            .expect("serializes"),
            "acme": {"fans": [{"rpm": 1200}], "temp": 40.5},
        }));
        assert_eq!(find(&all, "system_memory_total_bytes")[0].value, 1000.0);
        assert_eq!(find(&all, "system_memory_usage_percent")[0].value, 75.0);
        let rx = find(&all, "node_network_receive_bytes_total");
        assert_eq!(rx[0].labels, labels(&[("device", "eth0")]));
        assert_eq!(rx[0].value, 5.0);
        let info = find(&all, "system_info");
        assert_eq!(info.len(), 1);
        assert!(info[0]
            .labels
            .contains(&("hostname".to_owned(), "web-1".to_owned())));
        assert_eq!(info[0].value, 1.0);
        let fan = find(&all, "system_acme_fans_rpm");
        assert_eq!(fan[0].labels, labels(&[("index", "0")]));
        assert_eq!(find(&all, "system_acme_temp")[0].value, 40.5);
    }

    #[test]
    fn a_series_emitted_twice_is_kept_once() {
        let mut flat = Flatten::default();
        let at = || labels(&[("device", "eth0")]);
        flat.gauge("g", "", None, at(), 1.0);
        flat.gauge("g", "", None, at(), 2.0);
        flat.gauge("g", "", None, at(), f64::NAN);
        flat.counter("c", "", at(), 3);
        flat.counter("c", "", at(), 4);
        flat.float_counter("s", "", at(), -1.0);
        flat.info("i", "", labels(&[("v", "1")]));
        flat.info("i", "", labels(&[("v", "2")]));
        let all = flat.into_series();
        let values: Vec<(&str, f64)> = all.iter().map(|s| (s.name.as_str(), s.value)).collect();
        assert_eq!(values, [("g", 2.0), ("c_total", 7.0), ("i_info", 1.0)]);
        assert_eq!(all[2].labels, labels(&[("v", "1")]));
    }
}
