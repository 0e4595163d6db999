//! The alert engine: a pure function of (rules, state, snapshot, time) that says which
//! alerts are active in this tick and which notifications the sinks should get.
//!
//! Time is passed in, never read, so `for`, hysteresis and cooldown are tested by
//! moving an `Instant` forward rather than by sleeping. State is kept per rule instance
//! (rule index + array element), so `disks[*]` tracks each disk on its own.
//!
//! - A level fires once its threshold has been crossed continuously for `for`.
//! - A firing level clears only when the value is back past its threshold by
//!   `hysteresis`.
//! - Notifications are subject to a cooldown per instance and level: a persistent alert
//!   is re-sent once per cooldown, and an escalation to CRITICAL is not held back by
//!   the WARNING's cooldown.
//! - When a firing alert clears, `Resolved` goes out, if the sinks were told about it.
//! - A missing value (section absent, null reading) neither fires nor clears: a
//!   collector that fails for a tick is not a recovery.

use std::collections::HashMap;
use std::time::Instant;

use monitoring_plugin_api::{Alert, AlertLevel, Sections, SinkEvent};

use super::rules::{RuleSet, LEVELS};

/// What the engine remembers between ticks.
#[derive(Debug, Default)]
pub struct EngineState {
    instances: HashMap<(usize, String), Instance>,
}

/// One rule instance.
#[derive(Debug, Default)]
struct Instance {
    /// Per level (WARNING, CRITICAL): since when its threshold has been crossed.
    since: [Option<Instant>; 2],
    /// The level firing now.
    firing: Option<AlertLevel>,
    /// The alert as it last fired, for `Resolved`.
    last: Option<Alert>,
    /// Per level: when the sinks were last notified.
    sent: [Option<Instant>; 2],
    /// Whether the sinks heard of the current episode, so `Resolved` means something.
    notified: bool,
}

/// One tick's outcome.
#[derive(Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Alerts active in this tick, for `monitoring_data.alerts`.
    pub active: Vec<Alert>,
    /// What the sinks get: `Alert` and `Resolved` events.
    pub notifications: Vec<SinkEvent>,
}

fn slot(level: AlertLevel) -> usize {
    match level {
        AlertLevel::Warning => 0,
        AlertLevel::Critical => 1,
    }
}

/// Evaluates every rule against one snapshot taken at `now` (stamped `timestamp`).
pub fn evaluate(
    rules: &RuleSet,
    state: &mut EngineState,
    data: &Sections,
    now: Instant,
    timestamp: &str,
) -> Evaluation {
    let mut out = Evaluation::default();
    for (index, rule) in rules.rules.iter().enumerate() {
        for reading in rule.select(data) {
            let instance = state
                .instances
                .entry((index, reading.key.clone()))
                .or_default();
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
                    since.get_or_insert(now);
                } else {
                    *since = None;
                }
            }
            let firing = LEVELS.into_iter().rev().find(|level| {
                instance.since[slot(*level)]
                    .is_some_and(|since| now.saturating_duration_since(since) >= rule.hold)
            });
            match firing {
                Some(level) => {
                    let alert = rule.alert(level, &reading, timestamp);
                    let sent = &mut instance.sent[slot(level)];
                    let due =
                        sent.is_none_or(|at| now.saturating_duration_since(at) >= rules.cooldown);
                    if due {
                        *sent = Some(now);
                        instance.notified = true;
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
                        if instance.notified {
                            out.notifications.push(SinkEvent::Resolved {
                                alert,
                                resolved_at: timestamp.to_owned(),
                            });
                        }
                    }
                    instance.firing = None;
                    instance.notified = false;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
                state: EngineState::default(),
                start: Instant::now(),
            }
        }

        fn at(&mut self, seconds: f64, data: serde_json::Value) -> Evaluation {
            let data = match data {
                serde_json::Value::Object(map) => map,
                _ => Sections::new(),
            };
            let now = self.start + Duration::from_secs_f64(seconds);
            evaluate(
                &self.rules,
                &mut self.state,
                &data,
                now,
                &format!("t={seconds}"),
            )
        }

        fn memory(&mut self, seconds: f64, percentage: f64) -> Evaluation {
            self.at(seconds, json!({"memory": {"percentage": percentage}}))
        }
    }

    /// `A:WARNING`, `R:WARNING` for each notification.
    fn sent(evaluation: &Evaluation) -> Vec<String> {
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
        assert!(second.notifications.is_empty(), "cooldown holds the repeat");
    }

    #[test]
    fn cooldown_resends_a_persistent_alert_once_per_period() {
        let mut h = Harness::new(MEMORY);
        let mut count = 0;
        for tick in 0..1300 {
            count += h.memory(f64::from(tick) * 0.5, 85.0).notifications.len();
        }
        // Ticks from 0 to 649.5 s: sent at 0, 300 and 600.
        assert_eq!(count, 3);
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
        // Back to WARNING within the warning's cooldown: active, not re-sent.
        let down = h.memory(20.0, 85.0);
        assert_eq!(levels(&down), [AlertLevel::Warning]);
        assert!(down.notifications.is_empty());
        // Up again within the critical's cooldown: not re-sent either.
        assert!(h.memory(30.0, 95.0).notifications.is_empty());
        assert_eq!(sent(&h.memory(310.0, 95.0)), ["A:Critical"]);
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
    fn an_episode_hidden_by_the_cooldown_is_not_resolved() {
        let mut h = Harness::new(MEMORY);
        h.memory(0.0, 85.0);
        assert_eq!(sent(&h.memory(1.0, 50.0)), ["R:Warning"]);
        let again = h.memory(2.0, 85.0);
        assert_eq!(levels(&again), [AlertLevel::Warning]);
        assert!(again.notifications.is_empty(), "within the cooldown");
        assert!(
            h.memory(3.0, 50.0).notifications.is_empty(),
            "nothing to resolve"
        );
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
        assert_eq!(
            sent(&both),
            ["A:Critical"],
            "/ is new, /data is in cooldown"
        );
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
        assert_eq!(gap, Evaluation::default());
        let gap = h.at(1.5, json!({"memory": {"percentage": null}}));
        assert_eq!(gap, Evaluation::default());
        let back = h.memory(2.0, 85.0);
        assert_eq!(levels(&back), [AlertLevel::Warning]);
        assert!(back.notifications.is_empty(), "no duplicate after the gap");
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
