//! `[alerts]`: the rules, grouping and routes as the operator writes them. The alerts
//! stage compiles them (`crate::alerts::rules`, `crate::alerts::lifecycle::Policy`);
//! here they are read, defaulted, and compiled once to refuse a bad key at start.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::ConfigError;
use super::lines::{line_at, line_of_key};

/// `[alerts]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// The seed's `ALERT_COOLDOWN`, now an alias of `repeat_interval`. Default 300.
    #[serde(default = "default_cooldown")]
    pub cooldown: f64,
    /// Seconds before a still-firing, unacknowledged group is notified again
    /// (Alertmanager's `repeat_interval`). Default: `cooldown`, 300.
    pub repeat_interval: Option<f64>,
    /// Seconds a new group waits for more alerts before its first notification, so
    /// alerts that fire together go out as one. Default 30.
    #[serde(default = "default_group_wait")]
    pub group_wait: f64,
    /// Seconds between two notifications of one group when it changed (an alert added,
    /// escalated or resolved). Default 300.
    #[serde(default = "default_group_interval")]
    pub group_interval: f64,
    /// The labels that split alerts into groups, each group one notification per
    /// receiver. Default `["host"]`: one message per machine.
    #[serde(default = "default_group_by")]
    pub group_by: Vec<String>,
    /// `[[alerts.routes]]`: which sinks receive which alerts, first match wins unless
    /// `continue = true`. None: every sink gets everything (its own filters apply).
    pub routes: Vec<Spanned<RouteConfig>>,
    /// `[[alerts.rules]]`. None in the file means the seed's: memory WARNING 80 /
    /// CRITICAL 90, disk WARNING 85 / CRITICAL 95, disk free below 1 GB WARNING.
    pub rules: Vec<Spanned<RuleConfig>>,
    /// The line of each rule (1-based), resolved once the file's text is known, so a
    /// rule that never matches can be pointed at.
    #[serde(skip)]
    pub lines: Vec<usize>,
}

/// The seed's `ALERT_COOLDOWN`, seconds.
pub const DEFAULT_COOLDOWN: f64 = 300.0;

fn default_cooldown() -> f64 {
    DEFAULT_COOLDOWN
}

fn default_group_wait() -> f64 {
    30.0
}

fn default_group_interval() -> f64 {
    300.0
}

fn default_group_by() -> Vec<String> {
    vec!["host".to_owned()]
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            cooldown: default_cooldown(),
            repeat_interval: None,
            group_wait: default_group_wait(),
            group_interval: default_group_interval(),
            group_by: default_group_by(),
            routes: Vec::new(),
            rules: Vec::new(),
            lines: Vec::new(),
        }
    }
}

impl AlertsConfig {
    /// Compiles the rules and the notification policy once, so a bad key is refused at
    /// start naming `path`, its line and its dotted key (`alerts.rules[1].warning`,
    /// `alerts.routes[0].matchers_regex.host`, `alerts.group_wait`).
    pub(super) fn check(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let invalid = |line: usize, key: String, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line,
            key,
            message,
        };
        let top = |key: &str| {
            let key = format!("alerts.{key}");
            (line_of_key(text, &key), key)
        };
        self.compile().map_err(|(index, error)| {
            let (line, key) = match index {
                Some(index) => (
                    self.rules
                        .get(index)
                        .map_or(0, |rule| line_at(text, rule.span().start)),
                    format!("alerts.rules[{index}].{}", error.key),
                ),
                None => top("cooldown"),
            };
            invalid(line, key, error.message)
        })?;
        // `policy` is `alerts::lifecycle::Policy::from_config`, downstream of here.
        self.policy().map_err(|error| {
            let (line, key) = match error.route {
                Some(index) => (
                    self.routes
                        .get(index)
                        .map_or(0, |route| line_at(text, route.span().start)),
                    format!("alerts.routes[{index}].{}", error.key),
                ),
                None => top(&error.key),
            };
            invalid(line, key, error.message)
        })?;
        // `cooldown` is `repeat_interval`'s old name: both written, they must agree.
        match self.repeat_interval {
            Some(repeat) if repeat != self.cooldown && top("cooldown").0 != 0 => {
                let (line, key) = top("repeat_interval");
                let message = format!(
                    "`cooldown` ({}) is its old name; give one of them, or the same value",
                    self.cooldown
                );
                Err(invalid(line, key, message))
            }
            _ => Ok(()),
        }
    }
}

/// One `[[alerts.rules]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Path of the value in the snapshot: `memory.percentage`, `disks[*].percentage`
    /// (`[*]` watches every element, each on its own), `gpu.gpus[0].temperature`.
    pub metric: String,
    /// The alert's `component`, which sinks' `components` filters match. Default from
    /// the path: `processor` → `cpu`, `disks` → `disk`, else its first segment.
    #[serde(default)]
    pub component: Option<String>,
    /// The alert's `metric` field. Default `usage_percent` for `percentage` and
    /// `usage_percent` values (as the seed), `free_space` for `free`, else the last
    /// segment of the path.
    #[serde(default)]
    pub name: Option<String>,
    /// What messages call the value: `High <label>: …`. Default from the path, e.g.
    /// `memory usage`, `disk usage`, `CPU usage`, `GPU temperature`.
    #[serde(default)]
    pub label: Option<String>,
    /// Written after numbers in messages. Default `%` for percentages, `°C` for
    /// temperatures, ` GB` for byte counts, else nothing.
    #[serde(default)]
    pub unit: Option<String>,
    /// Factor applied to the value before it is compared and reported. Default 1, or
    /// 1/1024³ for byte counts (`free`, `used`, `total`, …), so thresholds are in GB.
    #[serde(default)]
    pub scale: Option<f64>,
    /// `above = true`: fire when the value is above the thresholds (the default).
    #[serde(default)]
    pub above: Option<bool>,
    /// `below = true`: fire when the value is below the thresholds (free space).
    #[serde(default)]
    pub below: Option<bool>,
    /// WARNING threshold. At least one of `warning` and `critical` is required.
    #[serde(default)]
    pub warning: Option<f64>,
    /// CRITICAL threshold.
    #[serde(default)]
    pub critical: Option<f64>,
    /// Seconds the condition must hold before the alert fires. Default 0.
    #[serde(rename = "for", default)]
    pub hold: f64,
    /// How far (in the value's unit) the value must come back past a threshold before
    /// that level clears, so a value hovering at the threshold does not flap. Default 0.
    #[serde(default)]
    pub hysteresis: f64,
    /// Labels the alert carries, for routes and silences, e.g. `{team = "db"}`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// One `[[alerts.routes]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Exact matches, all of which must hold: `{level = "CRITICAL", host = "web-1"}`.
    /// Names: `level`, `component`, `metric`, `host`, `tags` (any tag of the host),
    /// and the alert's labels.
    #[serde(default)]
    pub matchers: BTreeMap<String, String>,
    /// Regex matches (anchored at both ends): `{host = "web-.*"}`.
    #[serde(default)]
    pub matchers_regex: BTreeMap<String, String>,
    /// The sinks that receive what this route matches (names of `[plugins.*]` sinks).
    pub sinks: Vec<String>,
    /// Whether later routes are tried too after this one matched. Default false.
    #[serde(rename = "continue", default)]
    pub continue_matching: bool,
    /// This route's own `group_by`, else `[alerts]`'s.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// This route's own `group_wait`, seconds.
    #[serde(default)]
    pub group_wait: Option<f64>,
    /// This route's own `group_interval`, seconds.
    #[serde(default)]
    pub group_interval: Option<f64>,
    /// This route's own `repeat_interval`, seconds.
    #[serde(default)]
    pub repeat_interval: Option<f64>,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::Config;

    fn refused(text: &str) -> String {
        Config::parse(text, std::path::Path::new("plugins.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn grouping_and_routes_are_read() {
        let text = "[alerts]\ngroup_wait = 10.0\ncooldown = 120.0\n\n[[alerts.routes]]\n\
                    matchers = { level = \"CRITICAL\" }\nsinks = [\"pager\"]\ncontinue = true\n";
        let config = Config::parse(text, std::path::Path::new("plugins.toml")).expect("valid");
        let policy = config.alerts.policy().expect("valid");
        assert_eq!(policy.group_wait, Duration::from_secs(10));
        assert_eq!(
            policy.repeat_interval,
            Duration::from_secs(120),
            "cooldown is its alias"
        );
        assert!(policy.routes[0].continue_matching);
    }

    #[test]
    fn a_bad_grouping_key_names_file_line_and_key() {
        let err = refused("[server]\nport = 1\n\n[alerts]\n\ngroup_wait = -1.0\n");
        assert!(
            err.starts_with("plugins.toml: line 6: `alerts.group_wait`: "),
            "{err}"
        );
        let err = refused("[alerts]\ngroup_interval = 0.0\n");
        assert!(err.contains("line 2: `alerts.group_interval`"), "{err}");
        let err = refused("[alerts]\ngroup_by = [\"\"]\n");
        assert!(err.contains("line 2: `alerts.group_by`"), "{err}");
    }

    #[test]
    fn a_bad_route_names_its_index_and_line() {
        let err = refused(
            "[alerts]\n\n[[alerts.routes]]\nsinks = [\"chat\"]\n\n[[alerts.routes]]\n\
             matchers_regex = { host = \"web-(\" }\nsinks = [\"pager\"]\n",
        );
        assert!(
            err.starts_with("plugins.toml: line 6: `alerts.routes[1].matchers_regex.host`: "),
            "{err}"
        );
        assert!(err.contains("regex"), "{err}");
        let err = refused("[[alerts.routes]]\nsinks = []\n");
        assert!(err.contains("line 1: `alerts.routes[0].sinks`"), "{err}");
        let err = refused("[[alerts.routes]]\nsinks = [\"a\"]\nrepeat_interval = -3.0\n");
        assert!(err.contains("`alerts.routes[0].repeat_interval`"), "{err}");
        let err = refused("[[alerts.routes]]\nsinks = [\"a\"]\nmatcher = {}\n");
        assert!(err.contains("matcher"), "an unknown key: {err}");
    }

    #[test]
    fn cooldown_and_repeat_interval_must_agree() {
        let err = refused("[alerts]\ncooldown = 60.0\nrepeat_interval = 90.0\n");
        assert!(
            err.starts_with("plugins.toml: line 3: `alerts.repeat_interval`: "),
            "{err}"
        );
        let same = "[alerts]\ncooldown = 60.0\nrepeat_interval = 60.0\n";
        assert!(refused(same).is_empty(), "{}", refused(same));
        let only = "[alerts]\nrepeat_interval = 90.0\n";
        assert!(
            refused(only).is_empty(),
            "the default cooldown is not written"
        );
    }
}
