//! The alert engine: a pure function of (rules, state, snapshot, time) that says which
//! alerts are active in this tick and which ones started, escalated or cleared.
//!
//! Time is passed in, never read, so `for` and hysteresis are tested by moving an
//! `Instant` forward rather than by sleeping. State is kept per rule instance (rule
//! index + array element), so `disks[*]` tracks each disk on its own.
//!
//! - A level fires once its threshold has been crossed continuously for `for`.
//! - A firing level clears only when the value is back past its threshold by
//!   `hysteresis`.
//! - A missing value (section absent, null reading) neither fires nor clears: a
//!   collector that fails for a tick is not a recovery, and the alert stays active. An
//!   instance unseen for [`READING_GRACE`] (a disk unmounted) has cleared.
//!
//! Each alert carries its identity: the host, a fingerprint of (rule, host, instance),
//! its labels and `starts_at`, the tick its episode began. When to tell whom, and how
//! often, is the lifecycle's business ([`super::lifecycle`]), not the engine's.

use std::collections::HashMap;
use std::time::Instant;

use monitoring_plugin_api::{Alert, AlertLevel, Sections, SinkEvent};

use super::checks::{self, CheckBook};
use super::lifecycle::fingerprint;
use super::path::Reading;
use super::rules::{Rule, RuleSet, LEVELS};
pub use super::tick::{resolved, Tick, READING_GRACE};
use crate::timestamp;

/// What the engine remembers between ticks.
#[derive(Debug, Default)]
pub struct EngineState {
    /// The machine the alerts are about (`Alert::host`).
    host: String,
    instances: HashMap<(usize, String), Instance>,
    /// The checks (Nagios sections) firing now; kept when the rules change.
    checks: CheckBook,
}

impl EngineState {
    /// A fresh state for the alerts of `host`.
    pub fn for_host(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            instances: HashMap::new(),
            checks: CheckBook::default(),
        }
    }

    /// Forgets every instance (the rules changed), keeping the host.
    pub fn reset(&mut self) {
        self.instances.clear();
    }
}

/// One rule instance.
#[derive(Debug)]
struct Instance {
    /// Per level (WARNING, CRITICAL): since when its threshold has been crossed.
    since: [Option<Instant>; 2],
    /// The level firing now.
    firing: Option<AlertLevel>,
    /// The alert as it last fired, for ticks without a reading and for the resolve.
    last: Option<Alert>,
    /// When its reading was last seen.
    seen: Instant,
}

/// One tick's outcome.
#[derive(Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Alerts active in this tick, for `monitoring_data.alerts` and the lifecycle.
    pub active: Vec<Alert>,
    /// What changed: an `Alert` for each alert that started or escalated, a `Resolved`
    /// for each one that cleared. Published to the fleet and logged.
    pub notifications: Vec<SinkEvent>,
}

fn slot(level: AlertLevel) -> usize {
    match level {
        AlertLevel::Warning => 0,
        AlertLevel::Critical => 1,
    }
}

/// Evaluates every rule against one snapshot.
pub fn evaluate(
    rules: &RuleSet,
    state: &mut EngineState,
    data: &Sections,
    tick: Tick<'_>,
) -> Evaluation {
    let mut out = Evaluation::default();
    let host = state.host.clone();
    for (index, rule) in rules.rules.iter().enumerate() {
        for reading in rule.select(data) {
            let instance = state
                .instances
                .entry((index, reading.key.clone()))
                .or_insert_with(|| Instance {
                    since: [None; 2],
                    firing: None,
                    last: None,
                    seen: tick.now,
                });
            instance.seen = tick.now;
            judge(rule, instance, &reading, &host, tick, &mut out);
        }
    }
    // Instances without a reading this tick: still active within the grace, then
    // cleared; quiet ones are forgotten.
    state.instances.retain(|_, instance| {
        if instance.seen == tick.now {
            return true;
        }
        let fresh = tick.now.saturating_duration_since(instance.seen) < READING_GRACE;
        match (&instance.last, fresh) {
            (Some(last), true) => {
                out.active.push(last.clone());
                true
            }
            (Some(last), false) => {
                out.notifications.push(resolved(last.clone(), tick));
                false
            }
            (None, _) => fresh,
        }
    });
    checks::evaluate(
        &mut state.checks,
        data,
        &host,
        tick,
        &mut out.active,
        &mut out.notifications,
    );
    out
}

/// Moves one instance on by one reading.
fn judge(
    rule: &Rule,
    instance: &mut Instance,
    reading: &Reading,
    host: &str,
    tick: Tick<'_>,
    out: &mut Evaluation,
) {
    let held = instance.firing;
    for level in LEVELS {
        let since = &mut instance.since[slot(level)];
        let Some(threshold) = rule.threshold(level) else {
            *since = None;
            continue;
        };
        let margin = if held >= Some(level) {
            rule.hysteresis
        } else {
            0.0
        };
        if rule.direction.crossed(reading.value, threshold, margin) {
            since.get_or_insert(tick.now);
        } else {
            *since = None;
        }
    }
    let firing = LEVELS.into_iter().rev().find(|level| {
        instance.since[slot(*level)]
            .is_some_and(|since| tick.now.saturating_duration_since(since) >= rule.hold)
    });
    match firing {
        Some(level) => {
            let mut alert = rule.alert(level, reading, tick.timestamp);
            alert.host = host.to_owned();
            alert.labels = rule.labels_for(reading);
            alert.fingerprint = fingerprint(&rule.alertname(), host, &reading.key);
            alert.starts_at = match (&instance.last, held) {
                (Some(last), Some(_)) => last.starts_at.clone(),
                _ => timestamp::rfc3339(&tick.wall),
            };
            if held.is_none_or(|held| level > held) {
                out.notifications.push(SinkEvent::Alert {
                    alert: alert.clone(),
                });
            }
            out.active.push(alert.clone());
            instance.firing = Some(level);
            instance.last = Some(alert);
        }
        None => {
            if let (Some(_), Some(alert)) = (held, instance.last.take()) {
                out.notifications.push(resolved(alert, tick));
            }
            instance.firing = None;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use chrono::Utc;

    use serde_json::json;

    use super::*;
    use crate::alerts::rules::AlertsConfig;

    /// Drives the engine with injected time.
    struct Harness {
        rules: RuleSet,
        state: EngineState,
        start: Instant,
    }

    impl Harness {
        fn new(alerts: &str) -> Self {
            let config: AlertsConfig = toml::from_str(alerts).expect("valid [alerts]");
            Self {
                rules: config.compile().expect("valid rules"),
                state: EngineState::for_host("web-1"),
                start: Instant::now(),
            }
        }

        fn at(&mut self, seconds: f64, data: serde_json::Value) -> Evaluation {
            let data = match data {
                serde_json::Value::Object(map) => map,
                _ => Sections::new(),
            };
            let now = self.start + Duration::from_secs_f64(seconds);
            let wall = chrono::DateTime::<Utc>::UNIX_EPOCH
                + chrono::Duration::milliseconds((seconds * 1000.0) as i64);
            let timestamp = format!("t={seconds}");
            let tick = Tick {
                now,
                wall,
                timestamp: &timestamp,
            };
            evaluate(&self.rules, &mut self.state, &data, tick)
        }

        fn memory(&mut self, seconds: f64, percentage: f64) -> Evaluation {
            self.at(seconds, json!({"memory": {"percentage": percentage}}))
        }
    }

    /// `A:WARNING`, `R:WARNING` for each notification (the checks' tests use it too).
    pub(crate) fn sent(evaluation: &Evaluation) -> Vec<String> {
        evaluation
            .notifications
            .iter()
            .map(|event| match event {
                SinkEvent::Alert { alert } => format!("A:{:?}", alert.level),
                SinkEvent::Resolved { alert, .. } => format!("R:{:?}", alert.level),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn levels(evaluation: &Evaluation) -> Vec<AlertLevel> {
        evaluation.active.iter().map(|a| a.level).collect()
    }

    const MEMORY: &str =
        "cooldown = 300.0\n[[rules]]\nmetric = \"memory.percentage\"\ncomponent = \"memory\"\nwarning = 80.0\ncritical = 90.0\n";

    #[test]
    fn below_threshold_is_quiet() {
        let mut h = Harness::new(MEMORY);
        assert_eq!(h.memory(0.0, 50.0), Evaluation::default());
        assert_eq!(
            h.memory(1.0, 80.0),
            Evaluation::default(),
            "80 is not above 80"
        );
    }

    #[test]
    fn fires_at_once_and_is_active_every_tick() {
        let mut h = Harness::new(MEMORY);
        let first = h.memory(0.0, 85.5);
        assert_eq!(sent(&first), ["A:Warning"]);
        assert_eq!(first.active.len(), 1);
        let alert = &first.active[0];
        assert_eq!(alert.message, "High memory usage: 85.5% (threshold: 80.0%)");
        assert_eq!(alert.timestamp, "t=0");
        let second = h.memory(0.5, 85.6);
        assert_eq!(levels(&second), [AlertLevel::Warning]);
        assert!(second.notifications.is_empty(), "nothing changed");
        assert_eq!(second.active[0].starts_at, "1970-01-01T00:00:00.000Z");
        assert_eq!(second.active[0].host, "web-1");
        assert_eq!(second.active[0].labels["alertname"], "memory_usage_percent");
        assert_eq!(second.active[0].fingerprint, alert.fingerprint);
        assert_eq!(alert.fingerprint.len(), 16);
    }

    #[test]
    fn escalation_to_critical_is_sent_at_once() {
        let mut h = Harness::new(MEMORY);
        assert_eq!(sent(&h.memory(0.0, 85.0)), ["A:Warning"]);
        let escalated = h.memory(10.0, 95.0);
        assert_eq!(sent(&escalated), ["A:Critical"]);
        assert_eq!(levels(&escalated), [AlertLevel::Critical]);
        assert_eq!(
            escalated.active[0].message,
            "Critical memory usage: 95.0% (threshold: 90.0%)"
        );
        // One alert through its levels: same fingerprint, same start.
        assert_eq!(escalated.active[0].starts_at, "1970-01-01T00:00:00.000Z");
        // Back to WARNING: active, not news (the lifecycle re-sends what changed).
        let down = h.memory(20.0, 85.0);
        assert_eq!(levels(&down), [AlertLevel::Warning]);
        assert!(down.notifications.is_empty());
        // Up again: an escalation again.
        assert_eq!(sent(&h.memory(30.0, 95.0)), ["A:Critical"]);
        assert!(h.memory(310.0, 95.0).notifications.is_empty());
    }

    #[test]
    fn resolved_when_the_alert_clears() {
        let mut h = Harness::new(MEMORY);
        h.memory(0.0, 85.0);
        let cleared = h.memory(1.0, 50.0);
        assert!(cleared.active.is_empty());
        assert_eq!(sent(&cleared), ["R:Warning"]);
        match &cleared.notifications[0] {
            SinkEvent::Resolved { alert, resolved_at } => {
                assert_eq!(resolved_at, "t=1");
                assert_eq!(alert.value, 85.0, "the alert as it last fired");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            h.memory(2.0, 50.0).notifications.is_empty(),
            "resolved once"
        );
    }

    #[test]
    fn every_episode_fires_and_resolves_with_its_own_start() {
        let mut h = Harness::new(MEMORY);
        h.memory(0.0, 85.0);
        assert_eq!(sent(&h.memory(1.0, 50.0)), ["R:Warning"]);
        let again = h.memory(2.0, 85.0);
        assert_eq!(sent(&again), ["A:Warning"]);
        assert_eq!(again.active[0].starts_at, "1970-01-01T00:00:02.000Z");
        let cleared = h.memory(3.0, 50.0);
        match &cleared.notifications[..] {
            [SinkEvent::Resolved { alert, .. }] => {
                assert_eq!(alert.state, monitoring_plugin_api::AlertState::Resolved);
                assert_eq!(alert.ends_at, "1970-01-01T00:00:03.000Z");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn for_delays_firing_until_the_condition_has_held() {
        let mut h = Harness::new(&format!("{MEMORY}for = 10.0\n"));
        assert_eq!(h.memory(0.0, 85.0), Evaluation::default());
        assert_eq!(h.memory(9.5, 85.0), Evaluation::default());
        assert_eq!(sent(&h.memory(10.0, 85.0)), ["A:Warning"]);
        // A dip restarts the clock; nothing was pending-fired, so nothing resolves.
        let mut h = Harness::new(&format!("{MEMORY}for = 10.0\n"));
        h.memory(0.0, 85.0);
        assert_eq!(h.memory(5.0, 70.0), Evaluation::default());
        assert_eq!(h.memory(12.0, 85.0), Evaluation::default());
        assert_eq!(h.memory(21.9, 85.0), Evaluation::default());
        assert_eq!(sent(&h.memory(22.0, 85.0)), ["A:Warning"]);
    }

    #[test]
    fn hysteresis_keeps_a_hovering_value_from_flapping() {
        let mut h = Harness::new(&format!("{MEMORY}hysteresis = 5.0\n"));
        assert_eq!(sent(&h.memory(0.0, 81.0)), ["A:Warning"]);
        for (t, value) in [(1.0, 79.0), (2.0, 80.5), (3.0, 76.0)] {
            let e = h.memory(t, value);
            assert_eq!(
                levels(&e),
                [AlertLevel::Warning],
                "{value} is within the margin"
            );
            assert!(e.notifications.is_empty());
        }
        assert_eq!(
            sent(&h.memory(4.0, 75.0)),
            ["R:Warning"],
            "75 is 5 points back"
        );
        // The margin also holds CRITICAL at WARNING's side of 90.
        assert_eq!(sent(&h.memory(5.0, 91.0)), ["A:Critical"]);
        assert_eq!(levels(&h.memory(6.0, 86.0)), [AlertLevel::Critical]);
        assert_eq!(levels(&h.memory(7.0, 85.0)), [AlertLevel::Warning]);
    }

    #[test]
    fn arrays_track_each_element() {
        let mut h = Harness::new(
            "[[rules]]\nmetric = \"disks[*].percentage\"\nwarning = 85.0\ncritical = 95.0\n",
        );
        let disks = |a: f64, b: f64| json!({"disks": [{"path": "/", "percentage": a}, {"path": "/data", "percentage": b}]});
        let first = h.at(0.0, disks(50.0, 90.0));
        assert_eq!(sent(&first), ["A:Warning"]);
        assert_eq!(
            first.active[0].message,
            "High disk usage (/data): 90.0% (threshold: 85.0%)"
        );
        let both = h.at(1.0, disks(96.0, 90.0));
        assert_eq!(sent(&both), ["A:Critical"], "/ is new, /data unchanged");
        assert_ne!(both.active[0].fingerprint, both.active[1].fingerprint);
        assert_eq!(both.active[1].labels["instance"], "/data");
        assert_eq!(levels(&both), [AlertLevel::Critical, AlertLevel::Warning]);
        let cleared = h.at(2.0, disks(96.0, 10.0));
        assert_eq!(sent(&cleared), ["R:Warning"]);
        assert_eq!(levels(&cleared), [AlertLevel::Critical]);
    }

    #[test]
    fn missing_sections_neither_fire_nor_clear() {
        let mut h = Harness::new(MEMORY);
        h.memory(0.0, 85.0);
        let gap = h.at(1.0, json!({"processor": {"usage_percent": 3.0}}));
        assert!(gap.notifications.is_empty());
        assert_eq!(
            levels(&gap),
            [AlertLevel::Warning],
            "still active in the gap"
        );
        let gap = h.at(1.5, json!({"memory": {"percentage": null}}));
        assert!(gap.notifications.is_empty());
        assert_eq!(levels(&gap), [AlertLevel::Warning]);
        let back = h.memory(2.0, 85.0);
        assert_eq!(levels(&back), [AlertLevel::Warning]);
        assert!(back.notifications.is_empty(), "no duplicate after the gap");
        // Unseen past the grace: it has cleared.
        let gone = h.at(62.0, json!({}));
        assert_eq!(sent(&gone), ["R:Warning"]);
        assert!(gone.active.is_empty());
        assert!(h.at(63.0, json!({})).notifications.is_empty());
    }

    #[test]
    fn below_rules_fire_on_low_values() {
        let mut h = Harness::new("");
        let gib = 1024.0 * 1024.0 * 1024.0;
        let low = h.at(
            0.0,
            json!({"disk": {"percentage": 50.0, "free": 0.5 * gib}, "memory": {"percentage": 10.0}}),
        );
        assert_eq!(sent(&low), ["A:Warning"]);
        let alert = &low.active[0];
        assert_eq!(
            (alert.component.as_str(), alert.metric.as_str()),
            ("disk", "free_space")
        );
        assert_eq!(alert.message, "Low disk space: 0.5 GB (threshold: 1.0 GB)");
        let fine = h.at(
            1.0,
            json!({"disk": {"percentage": 50.0, "free": 10.0 * gib}}),
        );
        assert_eq!(sent(&fine), ["R:Warning"]);
    }
}
