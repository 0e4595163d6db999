//! The exposition of snapshots, and its agreement with [`Flatten`], the series the
//! `remote-write` sink sends: both come from one mapping, and this pins that the
//! suffixes `Flatten` adds are the ones `prometheus-client` writes.

use std::collections::BTreeSet;

use metric_families::{sanitize, snapshot_series, Flatten};
use monitoring_plugin_api::Sections;
use serde_json::json;

use super::builder::Builder;
use super::Format;

mod machine;
mod scripted;
mod snapshot;

#[test]
fn accept_picks_the_format() {
    assert_eq!(Format::from_accept(None), Format::Prometheus);
    assert_eq!(Format::from_accept(Some("text/plain")), Format::Prometheus);
    let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
}

#[test]
fn names_are_sanitized() {
    assert_eq!(sanitize("fan-speed.rpm"), "fan_speed_rpm");
    assert_eq!(sanitize("3d"), "_3d");
}

fn prometheus_text(data: &Sections) -> String {
    let mut b = Builder::default();
    snapshot_series(&mut b, data);
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, b.registry()).expect("encodes");
    text
}

#[test]
fn third_party_sections_are_flattened_with_index_labels() {
    let data: Sections = [(
        "acme".to_owned(),
        json!({"fans": [{"rpm": 1200}, {"rpm": 900}], "ok": true, "temp": 40.5}),
    )]
    .into_iter()
    .collect();
    let text = prometheus_text(&data);
    assert!(
        text.contains("system_acme_fans_rpm{index=\"1\"} 900"),
        "{text}"
    );
    assert!(text.contains("system_acme_temp 40.5"), "{text}");
    assert!(!text.contains("_ok"), "{text}");
}

/// Every series line of the exposition (`name{labels}`), and every series `Flatten`
/// makes of the same snapshot, spelled the same way: equal sets.
#[test]
fn the_exposition_and_flatten_have_the_same_series() {
    let mut data: Sections = machine::recorded().as_object().cloned().expect("an object");
    for (name, value) in [
        (
            "processor",
            json!({"usage_percent": 25.5, "per_core_usage": [20.0, 31.0],
            "core_count": 1, "logical_count": 2, "frequency_current": 2400.0,
            "frequency_max": 3000.0}),
        ),
        (
            "memory",
            json!({"total": 1000, "available": 250, "used": 750, "percentage": 75.0}),
        ),
        (
            "disks",
            json!([{"total": 100, "used": 40, "free": 60, "percentage": 40.0, "path": "/"}]),
        ),
        ("acme", json!({"fans": [{"rpm": 1200}], "temp": 40.5})),
        // Issue 24's script sections: their own names, one refused (ours win).
        (
            "backup",
            json!({"format": "prometheus", "values": {}, "families": [
                {"name": "backup_age_seconds", "type": "gauge",
                 "samples": [{"name": "backup_age_seconds", "labels": {"target": "db"}, "value": 4.0}]},
                {"name": "backup_runs_total", "type": "counter",
                 "samples": [{"name": "backup_runs_total", "value": 5.0}]},
                {"name": "backup_size", "type": "histogram", "samples": [
                    {"name": "backup_size_bucket", "labels": {"le": "+Inf"}, "value": 2.0},
                    {"name": "backup_size_count", "value": 2.0}]},
                {"name": "system_memory_usage_percent", "type": "gauge",
                 "samples": [{"name": "system_memory_usage_percent", "value": 1.0}]}]}),
        ),
        (
            "weather",
            json!({"format": "influx", "measurements": {"sensor": [
                {"tags": {"room": "lab"}, "fields": {"temp": 21.5, "ok": true}}]}}),
        ),
        (
            "load_check",
            json!({"format": "nagios", "state": "WARNING", "code": 1, "message": "m",
                "perfdata": {"load1": {"value": 1.5, "unit": "", "warn": "1", "max": 8.0}}}),
        ),
        (
            "exec",
            json!({"commands": {"load_check": {"section": "load_check", "format": "nagios",
                "mode": "once", "duration_ms": 3.0, "exit_code": 1, "runs": 2, "failures": 0}}}),
        ),
    ] {
        data.insert(name.to_owned(), value);
    }
    let exposed: BTreeSet<String> = prometheus_text(&data)
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect();
    let mut flat = Flatten::default();
    snapshot_series(&mut flat, &data);
    let flattened: BTreeSet<String> = flat
        .into_series()
        .iter()
        .map(|s| {
            let labels: Vec<String> = s
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            match labels.is_empty() {
                true => s.name.clone(),
                false => format!("{}{{{}}}", s.name, labels.join(",")),
            }
        })
        .collect();
    assert!(exposed.len() > 40, "{exposed:#?}");
    assert_eq!(exposed, flattened);
}
