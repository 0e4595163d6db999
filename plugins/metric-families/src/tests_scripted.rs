//! Script sections as series: their own names, first wins on a clash, invalid names
//! refused, Influx and Nagios naming, the exec status.

use monitoring_plugin_api::Sections;
use serde_json::json;

use crate::{labels, snapshot_series, Flatten, Series};

fn series(data: serde_json::Value) -> Vec<Series> {
    let data: Sections = data.as_object().cloned().expect("an object");
    let mut flat = Flatten::default();
    snapshot_series(&mut flat, &data);
    flat.into_series()
}

fn value(all: &[Series], name: &str, at: &[(&str, &str)]) -> Option<f64> {
    let at = labels(at);
    all.iter()
        .find(|s| s.name == name && s.labels == at)
        .map(|s| s.value)
}

fn prometheus(families: serde_json::Value) -> serde_json::Value {
    json!({"format": "prometheus", "families": families, "values": {}})
}

#[test]
fn prometheus_families_keep_their_own_names_and_labels() {
    let all = series(json!({"backup": prometheus(json!([
        {"name": "backup_age_seconds", "type": "gauge", "help": "Age",
         "samples": [{"name": "backup_age_seconds", "labels": {"job": "db"}, "value": 42.0}]},
        {"name": "backup_runs_total", "type": "counter",
         "samples": [{"name": "backup_runs_total", "value": 7.0}]},
        {"name": "backup_size", "type": "histogram", "samples": [
            {"name": "backup_size_bucket", "labels": {"le": "+Inf"}, "value": 3.0},
            {"name": "backup_size_sum", "value": 9.0},
            {"name": "backup_size_count", "value": 3.0}]},
    ]))}));
    assert_eq!(
        value(&all, "backup_age_seconds", &[("job", "db")]),
        Some(42.0)
    );
    assert_eq!(value(&all, "backup_runs_total", &[]), Some(7.0));
    assert_eq!(
        value(&all, "backup_size_bucket", &[("le", "+Inf")]),
        Some(3.0)
    );
    assert_eq!(value(&all, "backup_size_count", &[]), Some(3.0));
    assert_eq!(
        value(&all, "monitoring_scripted_families_refused", &[]),
        Some(0.0)
    );
    assert!(
        all.iter().all(|s| !s.name.starts_with("system_backup")),
        "not flattened"
    );
}

#[test]
fn a_clash_keeps_the_first_and_counts_the_rest() {
    let clash = |name: &str, v: f64| {
        prometheus(json!([{"name": name, "type": "gauge",
            "samples": [{"name": name, "value": v}]}]))
    };
    let all = series(json!({
        "memory": {"total": 1000, "available": 250, "used": 750, "percentage": 75.0},
        "a": clash("shared_value", 1.0),
        "b": clash("shared_value", 2.0),
        "c": clash("system_memory_usage_percent", 99.0),
        "d": prometheus(json!([{"name": "bad name", "samples": [{"name": "bad name", "value": 1.0}]}])),
    }));
    assert_eq!(
        value(&all, "shared_value", &[]),
        Some(1.0),
        "section a came first"
    );
    assert_eq!(
        value(&all, "system_memory_usage_percent", &[]),
        Some(75.0),
        "ours win"
    );
    assert!(all.iter().all(|s| s.name != "bad name"));
    assert_eq!(
        value(&all, "monitoring_scripted_families_refused", &[]),
        Some(3.0)
    );
}

#[test]
fn influx_fields_are_measurement_field_gauges_with_tags() {
    let all = series(
        json!({"weather": {"format": "influx", "measurements": {"sensor": [
            {"tags": {"room": "lab"}, "fields": {"temp": 21.5, "ok": true, "note": "x"}},
            {"tags": {"room": "hall"}, "fields": {"temp": 19.0}},
        ]}}}),
    );
    assert_eq!(value(&all, "sensor_temp", &[("room", "lab")]), Some(21.5));
    assert_eq!(value(&all, "sensor_temp", &[("room", "hall")]), Some(19.0));
    assert_eq!(value(&all, "sensor_ok", &[("room", "lab")]), Some(1.0));
    assert!(
        all.iter().all(|s| s.name != "sensor_note"),
        "strings have no number"
    );
}

#[test]
fn nagios_checks_share_their_families() {
    let check = |state: &str, code: i32| {
        json!({"format": "nagios", "state": state, "code": code, "message": "m",
            "perfdata": {"load1": {"value": 0.5, "warn": "5", "crit": "@1:2", "min": 0.0}}})
    };
    let all = series(json!({"load": check("OK", 0), "disk": check("CRITICAL", 2)}));
    assert_eq!(
        value(&all, "nagios_check_state", &[("check", "load")]),
        Some(0.0)
    );
    assert_eq!(
        value(&all, "nagios_check_state", &[("check", "disk")]),
        Some(2.0)
    );
    let at = [("check", "disk"), ("label", "load1"), ("unit", "")];
    assert_eq!(value(&all, "nagios_perfdata_value", &at), Some(0.5));
    assert_eq!(value(&all, "nagios_perfdata_warning", &at), Some(5.0));
    assert_eq!(
        value(&all, "nagios_perfdata_critical", &at),
        None,
        "a range, not a number"
    );
    assert_eq!(value(&all, "nagios_perfdata_min", &at), Some(0.0));
}

#[test]
fn exec_status_is_per_command() {
    let all = series(json!({"exec": {"commands": {"load": {
        "section": "load", "format": "nagios", "mode": "once",
        "last_run": "2026-01-01T00:00:00.000000", "duration_ms": 12.0, "exit_code": 2,
        "runs": 5, "failures": 1, "restarts": 0, "error": "load: exit 2"}}}}));
    let at = [("command", "load")];
    assert_eq!(
        value(&all, "monitoring_exec_duration_seconds", &at),
        Some(0.012)
    );
    assert_eq!(value(&all, "monitoring_exec_exit_code", &at), Some(2.0));
    assert_eq!(value(&all, "monitoring_exec_runs_total", &at), Some(5.0));
    assert_eq!(
        value(&all, "monitoring_exec_failures_total", &at),
        Some(1.0)
    );
    assert_eq!(value(&all, "monitoring_exec_failing", &at), Some(1.0));
    assert!(value(&all, "monitoring_exec_last_run_timestamp_seconds", &at).is_some());
}

#[test]
fn a_json_object_with_a_format_key_is_flattened() {
    let all = series(json!({"acme": {"format": "nagios", "temp": 3.0}}));
    assert_eq!(value(&all, "system_acme_temp", &[]), Some(3.0));
}
