//! Run-time access to the alert rules: the seed's `set_threshold` and
//! `configure_thresholds`, and the alerts active in the latest tick for `get_status`.
//!
//! One cloneable handle is shared by the collection loop (which reads the rules every
//! tick) and WebSocket sessions (which change thresholds). The locks are std `RwLock`s:
//! they are held for microseconds and never across an `.await`, and readers (every
//! tick, every `get_status`) vastly outnumber writers.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use monitoring_plugin_api::{Alert, AlertLevel};
use serde::Serialize;

use super::rules::{check_thresholds, Direction, RuleSet};

/// A cloneable handle on the rules and on the alerts active now.
#[derive(Debug, Clone, Default)]
pub struct AlertControl {
    rules: Arc<RwLock<RuleSet>>,
    active: Arc<RwLock<Vec<Alert>>>,
}

/// One threshold after a change, as reported back to the client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdChange {
    /// The rule's component.
    pub component: String,
    /// The rule's path in the snapshot.
    pub metric: String,
    /// `warning` or `critical`.
    pub level: &'static str,
    /// The new threshold.
    pub value: f64,
}

impl AlertControl {
    /// A handle on these rules.
    pub fn new(rules: RuleSet) -> Self {
        Self {
            rules: Arc::new(RwLock::new(rules)),
            active: Arc::default(),
        }
    }

    /// The rules, read-locked for one evaluation.
    pub fn rules(&self) -> RwLockReadGuard<'_, RuleSet> {
        self.rules.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces every rule (a reloaded configuration); thresholds
    /// changed by clients since are replaced too: the file is the truth.
    pub fn replace(&self, rules: RuleSet) {
        *self.rules.write().unwrap_or_else(PoisonError::into_inner) = rules;
    }

    /// The alerts active in the latest tick.
    pub fn active_alerts(&self) -> Vec<Alert> {
        self.active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records the alerts active in this tick.
    pub fn set_active(&self, alerts: Vec<Alert>) {
        *self.active.write().unwrap_or_else(PoisonError::into_inner) = alerts;
    }

    /// Changes one threshold. `target` is a component (`memory`, `disk`: its one
    /// `above` rule, as the seed's usage thresholds) or a rule's path
    /// (`disk.free`, `gpu.gpus[*].temperature`); `level` picks which of its two.
    pub fn set_threshold(
        &self,
        target: &str,
        level: AlertLevel,
        value: f64,
    ) -> Result<ThresholdChange, String> {
        self.configure(&[(target.to_owned(), level, value)])
            .map(|mut changes| changes.remove(0))
    }

    /// Changes several thresholds at once, all or none, from the seed's map:
    /// `{"memory_warning": 70, "memory_critical": 85, "disk_warning": 80, …}`.
    pub fn configure_thresholds(
        &self,
        thresholds: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<ThresholdChange>, String> {
        if thresholds.is_empty() {
            return Err("`thresholds` is empty: give e.g. {\"memory_warning\": 70}".into());
        }
        let mut changes = Vec::with_capacity(thresholds.len());
        for (key, value) in thresholds {
            let Some((target, level)) = key.rsplit_once('_') else {
                return Err(format!(
                    "`{key}` is not `<component>_<level>`, e.g. `memory_warning`"
                ));
            };
            let Some(number) = value.as_f64() else {
                return Err(format!("`{key}` must be a number, got {value}"));
            };
            changes.push((target.to_owned(), parse_level(level)?, number));
        }
        self.configure(&changes)
    }

    fn configure(
        &self,
        changes: &[(String, AlertLevel, f64)],
    ) -> Result<Vec<ThresholdChange>, String> {
        let mut rules = self.rules.write().unwrap_or_else(PoisonError::into_inner);
        let mut updated = rules.rules.clone();
        let mut report = Vec::with_capacity(changes.len());
        for &(ref target, level, value) in changes {
            if !value.is_finite() || value < 0.0 {
                return Err(format!(
                    "threshold for `{target}` {} must be a number, at least 0, got {value}",
                    level_word(level)
                ));
            }
            let index = find_rule(&rules, target)?;
            let rule = &mut updated[index];
            match level {
                AlertLevel::Warning => rule.warning = Some(value),
                AlertLevel::Critical => rule.critical = Some(value),
            }
            report.push(ThresholdChange {
                component: rule.component.clone(),
                metric: rule.path.clone(),
                level: level_word(level),
                value,
            });
        }
        // Checked once all are applied, so a batch may move both thresholds of a rule
        // past each other's old values.
        for change in &report {
            if let Some(rule) = updated.iter().find(|r| r.path == change.metric) {
                check_thresholds(rule.direction, rule.warning, rule.critical)
                    .map_err(|e| format!("`{}`: {}", change.metric, e.message))?;
            }
        }
        rules.rules = updated;
        Ok(report)
    }
}

/// A level as clients spell it (`warning`, `critical`, in any case), or why not.
pub fn parse_level(name: &str) -> Result<AlertLevel, String> {
    match name.to_ascii_lowercase().as_str() {
        "warning" => Ok(AlertLevel::Warning),
        "critical" => Ok(AlertLevel::Critical),
        _ => Err(format!(
            "unknown level `{name}`: expected `warning` or `critical`"
        )),
    }
}

fn level_word(level: AlertLevel) -> &'static str {
    match level {
        AlertLevel::Warning => "warning",
        AlertLevel::Critical => "critical",
    }
}

/// A path names its rule; a component names its one `above` rule.
fn find_rule(rules: &RuleSet, target: &str) -> Result<usize, String> {
    if let Some(index) = rules.rules.iter().position(|r| r.path == target) {
        return Ok(index);
    }
    let of_component: Vec<usize> = (0..rules.rules.len())
        .filter(|&i| rules.rules[i].component == target)
        .collect();
    let above: Vec<usize> = of_component
        .iter()
        .copied()
        .filter(|&i| rules.rules[i].direction == Direction::Above)
        .collect();
    match (above.as_slice(), of_component.is_empty()) {
        ([index], _) => Ok(*index),
        (_, true) => {
            let mut known: Vec<&str> = rules.rules.iter().map(|r| r.component.as_str()).collect();
            known.extend(rules.rules.iter().map(|r| r.path.as_str()));
            known.dedup();
            Err(format!(
                "unknown component or metric `{target}`; known: {}",
                known.join(", ")
            ))
        }
        _ => {
            let paths: Vec<&str> = of_component
                .iter()
                .map(|&i| rules.rules[i].path.as_str())
                .collect();
            Err(format!(
                "component `{target}` has several rules; name one by its metric: {}",
                paths.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn thresholds(control: &AlertControl) -> Vec<(String, Option<f64>, Option<f64>)> {
        control
            .rules()
            .rules
            .iter()
            .map(|r| (r.path.clone(), r.warning, r.critical))
            .collect()
    }

    fn map(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        match value {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn set_threshold_by_component_or_path() {
        let control = AlertControl::new(RuleSet::default());
        let change = control.set_threshold("memory", AlertLevel::Warning, 75.0);
        assert_eq!(
            change,
            Ok(ThresholdChange {
                component: "memory".into(),
                metric: "memory.percentage".into(),
                level: "warning",
                value: 75.0
            })
        );
        // `disk` is the usage rule, not the free-space one.
        assert!(control
            .set_threshold("disk", AlertLevel::Critical, 97.0)
            .is_ok());
        assert!(control
            .set_threshold("disk.free", AlertLevel::Warning, 2.0)
            .is_ok());
        assert_eq!(
            thresholds(&control),
            [
                ("memory.percentage".into(), Some(75.0), Some(90.0)),
                ("disk.percentage".into(), Some(85.0), Some(97.0)),
                ("disk.free".into(), Some(2.0), None),
            ]
        );
    }

    #[test]
    fn invalid_changes_are_refused_with_a_reason() {
        let control = AlertControl::new(RuleSet::default());
        let before = thresholds(&control);
        let error = |r: Result<ThresholdChange, String>| r.expect_err("refused");
        assert!(
            error(control.set_threshold("memory", AlertLevel::Warning, 95.0))
                .contains("must not be above critical")
        );
        assert!(
            error(control.set_threshold("memory", AlertLevel::Warning, f64::NAN))
                .contains("number")
        );
        assert!(
            error(control.set_threshold("memory", AlertLevel::Warning, -3.0))
                .contains("at least 0")
        );
        assert!(
            error(control.set_threshold("cpu", AlertLevel::Warning, 50.0))
                .contains("unknown component or metric `cpu`")
        );
        assert!(parse_level("fatal")
            .expect_err("refused")
            .contains("unknown level"));
        assert_eq!(thresholds(&control), before, "nothing changed");
    }

    #[test]
    fn configure_thresholds_is_all_or_nothing() {
        let control = AlertControl::new(RuleSet::default());
        let changes = control.configure_thresholds(&map(json!({
            "memory_warning": 70, "memory_critical": 85, "disk_warning": 80, "disk_critical": 90
        })));
        assert_eq!(changes.map(|c| c.len()), Ok(4));
        assert_eq!(
            thresholds(&control)[..2],
            [
                ("memory.percentage".into(), Some(70.0), Some(85.0)),
                ("disk.percentage".into(), Some(80.0), Some(90.0)),
            ]
        );
        let before = thresholds(&control);
        for bad in [
            json!({"memory_warning": 60, "disk_warning": "high"}),
            json!({"memory_warning": 60, "disk_warning": 99}),
            json!({"memory_warning": 60, "swap_warning": 50}),
            json!({"memory": 60}),
            json!({}),
        ] {
            let error = control.configure_thresholds(&map(bad.clone()));
            assert!(error.is_err(), "{bad} accepted");
        }
        assert_eq!(
            thresholds(&control),
            before,
            "a refused batch changes nothing"
        );
    }

    #[test]
    fn both_thresholds_can_move_past_each_other_in_one_batch() {
        let control = AlertControl::new(RuleSet::default());
        let changes = control.configure_thresholds(&map(json!({
            "memory_warning": 95, "memory_critical": 99
        })));
        assert!(changes.is_ok(), "{changes:?}");
    }

    #[test]
    fn a_component_with_several_above_rules_must_be_named_by_path() {
        let config: crate::alerts::rules::AlertsConfig = toml::from_str(
            "[[rules]]\nmetric = \"gpu.gpus[*].temperature\"\nwarning = 80.0\n\
             [[rules]]\nmetric = \"gpu.gpus[*].gpu_usage_percent\"\nwarning = 90.0\n",
        )
        .expect("valid");
        let control = AlertControl::new(config.compile().expect("valid"));
        let error = control
            .set_threshold("gpu", AlertLevel::Warning, 70.0)
            .expect_err("ambiguous");
        assert!(error.contains("gpu.gpus[*].temperature"), "{error}");
        assert!(control
            .set_threshold("gpu.gpus[*].temperature", AlertLevel::Warning, 70.0)
            .is_ok());
    }
}
