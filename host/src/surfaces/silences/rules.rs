//! The rules as `GET /api/rules` and the WebSocket's `get_rules` show them: one
//! serialisation, so the two never differ.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::alerts::lifecycle::Policy;
use crate::alerts::rules::{Direction, RuleSet};

/// `[alerts]`'s notification timing, in seconds, and grouping labels.
#[derive(Debug, Clone, Serialize)]
pub struct Grouping {
    /// How often a still-firing alert is sent again.
    pub repeat_interval: f64,
    /// How long a new group waits.
    pub group_wait: f64,
    /// How long a changed group waits.
    pub group_interval: f64,
    /// The labels that split alerts into groups.
    pub group_by: Vec<String>,
}

impl Grouping {
    /// What the compiled `[alerts]` policy says (so `cooldown`, the alias of
    /// `repeat_interval`, is read in one place: `Policy::from_config`).
    pub fn from_policy(policy: &Policy) -> Self {
        Self {
            repeat_interval: policy.repeat_interval.as_secs_f64(),
            group_wait: policy.group_wait.as_secs_f64(),
            group_interval: policy.group_interval.as_secs_f64(),
            group_by: policy.group_by.clone(),
        }
    }
}

/// One rule as `GET /api/rules` and `get_rules` show it.
#[derive(Debug, Serialize)]
pub struct RuleView {
    metric: String,
    component: String,
    name: String,
    label: String,
    unit: String,
    scale: f64,
    direction: &'static str,
    warning: Option<f64>,
    critical: Option<f64>,
    #[serde(rename = "for")]
    hold: f64,
    hysteresis: f64,
    labels: BTreeMap<String, String>,
}

/// The body of `GET /api/rules`, and of the `rules` message.
#[derive(Debug, Serialize)]
pub struct RulesBody {
    rules: Vec<RuleView>,
    #[serde(flatten)]
    grouping: Grouping,
}

/// The rules as they are now, with the grouping.
pub fn rules_body(rules: &RuleSet, grouping: &Grouping) -> RulesBody {
    RulesBody {
        rules: rules
            .rules
            .iter()
            .map(|rule| RuleView {
                metric: rule.path.clone(),
                component: rule.component.clone(),
                name: rule.name.clone(),
                label: rule.label.clone(),
                unit: rule.unit.clone(),
                scale: rule.scale,
                direction: match rule.direction {
                    Direction::Above => "above",
                    Direction::Below => "below",
                },
                warning: rule.warning,
                critical: rule.critical,
                hold: rule.hold.as_secs_f64(),
                hysteresis: rule.hysteresis,
                labels: rule.labels.clone(),
            })
            .collect(),
        grouping: grouping.clone(),
    }
}
