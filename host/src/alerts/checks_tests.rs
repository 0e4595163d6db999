//! Checks fire at the level their state means, keep their identity while firing and
//! resolve when OK, when removed, or after the grace.

use std::time::{Duration, Instant};

use chrono::Utc;
use monitoring_plugin_api::{AlertLevel, Sections};
use serde_json::json;

use super::*;
use crate::alerts::engine::tests::sent;
use crate::alerts::Evaluation;

struct Harness {
    book: CheckBook,
    start: Instant,
}

impl Harness {
    fn new() -> Self {
        Self {
            book: CheckBook::default(),
            start: Instant::now(),
        }
    }

    fn at(&mut self, seconds: f64, data: serde_json::Value) -> Evaluation {
        let data: Sections = data.as_object().cloned().expect("an object");
        let wall = chrono::DateTime::<Utc>::UNIX_EPOCH
            + chrono::Duration::milliseconds((seconds * 1000.0) as i64);
        let timestamp = format!("t={seconds}");
        let tick = Tick {
            now: self.start + Duration::from_secs_f64(seconds),
            wall,
            timestamp: &timestamp,
        };
        let mut out = Evaluation::default();
        evaluate(
            &mut self.book,
            &data,
            "web-1",
            tick,
            &mut out.active,
            &mut out.notifications,
        );
        out
    }
}

fn check(state: &str, code: i32, message: &str) -> serde_json::Value {
    json!({"format": "nagios", "state": state, "code": code, "message": message, "perfdata": {}})
}

#[test]
fn a_critical_check_fires_with_its_fields_and_resolves_when_ok() {
    let mut h = Harness::new();
    assert_eq!(
        h.at(0.0, json!({"load": check("OK", 0, "LOAD OK")})),
        Evaluation::default()
    );
    let fired = h.at(
        1.0,
        json!({"load": check("CRITICAL", 2, "LOAD CRITICAL - 9.1\nmore")}),
    );
    assert_eq!(sent(&fired), ["A:Critical"]);
    let alert = &fired.active[0];
    assert_eq!(
        (alert.component.as_str(), alert.metric.as_str()),
        ("load", "state")
    );
    assert_eq!(alert.message, "load CRITICAL: LOAD CRITICAL - 9.1");
    assert_eq!(alert.value, 2.0);
    assert_eq!(alert.labels["alertname"], "load_state");
    assert_eq!(alert.labels["check"], "load");
    assert_eq!(alert.host, "web-1");
    assert_eq!(
        alert.fingerprint,
        crate::alerts::lifecycle::derived_fingerprint(alert, "web-1"),
        "the fingerprint the fleet derives for the same fields"
    );
    let still = h.at(
        2.0,
        json!({"load": check("CRITICAL", 2, "LOAD CRITICAL - 9.5")}),
    );
    assert!(still.notifications.is_empty(), "nothing new");
    assert_eq!(still.active[0].starts_at, alert.starts_at);
    assert_eq!(
        still.active[0].message,
        "load CRITICAL: LOAD CRITICAL - 9.5"
    );
    let ok = h.at(3.0, json!({"load": check("OK", 0, "LOAD OK")}));
    assert_eq!(sent(&ok), ["R:Critical"]);
    assert!(ok.active.is_empty());
}

#[test]
fn warning_and_unknown_are_warnings_and_escalation_is_sent() {
    let mut h = Harness::new();
    let unknown = h.at(0.0, json!({"disk": check("UNKNOWN", 3, "cannot stat")}));
    assert_eq!(sent(&unknown), ["A:Warning"]);
    assert_eq!(unknown.active[0].message, "disk UNKNOWN: cannot stat");
    assert!(h
        .at(1.0, json!({"disk": check("WARNING", 1, "80%")}))
        .notifications
        .is_empty());
    assert_eq!(
        sent(&h.at(2.0, json!({"disk": check("CRITICAL", 2, "95%")}))),
        ["A:Critical"]
    );
    let down = h.at(3.0, json!({"disk": check("WARNING", 1, "85%")}));
    assert!(down.notifications.is_empty());
    assert_eq!(down.active[0].level, AlertLevel::Warning);
}

#[test]
fn a_missing_check_stays_active_for_the_grace_unless_its_command_is_gone() {
    let mut h = Harness::new();
    h.at(0.0, json!({"load": check("CRITICAL", 2, "high")}));
    let gap = h.at(1.0, json!({}));
    assert!(gap.notifications.is_empty(), "a hiccup is not a recovery");
    assert_eq!(gap.active.len(), 1);
    assert_eq!(sent(&h.at(61.0, json!({}))), ["R:Critical"]);

    let mut h = Harness::new();
    h.at(0.0, json!({"load": check("CRITICAL", 2, "high")}));
    let exec = |section: &str| {
        json!({"commands": {"c": {"section": section, "format": "nagios", "mode": "once",
            "duration_ms": 1.0, "runs": 1, "failures": 0}}})
    };
    let failed_run = h.at(1.0, json!({"exec": exec("load")}));
    assert!(
        failed_run.notifications.is_empty(),
        "its command still runs"
    );
    let removed = h.at(2.0, json!({"exec": exec("other")}));
    assert_eq!(sent(&removed), ["R:Critical"], "its command was removed");
}

#[test]
fn a_section_that_only_looks_like_a_check_is_ignored() {
    let mut h = Harness::new();
    let data = json!({"acme": {"format": "nagios", "state": "CRITICAL"}, "b": {"format": 3}});
    assert_eq!(h.at(0.0, data), Evaluation::default());
}

#[test]
fn routes_and_silences_can_match_checks_by_label() {
    let mut h = Harness::new();
    let fired = h.at(0.0, json!({"load": check("CRITICAL", 2, "high")}));
    let alert = &fired.active[0];
    let matchers = |exact: &[(&str, &str)], regex: &[(&str, &str)]| {
        let pairs = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        crate::alerts::matchers::Matchers::new(pairs(exact), pairs(regex)).expect("valid")
    };
    assert!(matchers(&[("check", "load")], &[]).matches(alert, &[]));
    assert!(matchers(&[("source", "nagios"), ("level", "CRITICAL")], &[]).matches(alert, &[]));
    assert!(matchers(&[], &[("alertname", ".*_state")]).matches(alert, &[]));
    assert!(!matchers(&[("check", "disk")], &[]).matches(alert, &[]));
}
