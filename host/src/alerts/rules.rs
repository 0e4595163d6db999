//! Alert rules as data: the `[alerts]` table of plugins.toml, checked and compiled into
//! a [`RuleSet`] that the engine evaluates and [`super::AlertControl`] edits at run time.
//!
//! A rule names a numeric value of the snapshot by path (`memory.percentage`,
//! `disks[*].percentage`, `gpu.gpus[*].temperature`), a direction, WARNING and/or
//! CRITICAL thresholds, how long the condition must hold (`for`) and a hysteresis margin,
//! as collectd's threshold plugin does. Rules live here, not in collectors: a collector
//! reports what it sees, and the host decides what is alarming. A file without rules
//! gets the seed's: memory 80/90 %, disk 85/95 %, and less than 1 GB free on the disk.

use std::collections::BTreeMap;
use std::time::Duration;

use monitoring_plugin_api::field_path;
use monitoring_plugin_api::sections::{Disk, Disks, Memory, Processor, Section};
use monitoring_plugin_api::{Alert, AlertLevel, Sections};

use super::path::MetricPath;
pub use super::path::Reading;
pub use crate::config::alerts::{AlertsConfig, RuleConfig};

/// Both levels, least severe first.
pub const LEVELS: [AlertLevel; 2] = [AlertLevel::Warning, AlertLevel::Critical];

/// Bytes in the "GB" the seed's `DISK_MIN_FREE_GB` counts (Python's `/ 1024**3`).
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Snapshot fields counted in bytes; rules on them compare and report gigabytes.
const BYTE_FIELDS: [&str; 7] = [
    "free",
    "used",
    "total",
    "available",
    "memory_free",
    "memory_used",
    "memory_total",
];

/// Which side of the thresholds is alarming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Values above the thresholds (usage, temperature).
    Above,
    /// Values below the thresholds (free space).
    Below,
}

impl Direction {
    /// Whether `value` is past `threshold`, which is first moved `margin` back
    /// towards the normal side (hysteresis for a level already firing).
    pub fn crossed(self, value: f64, threshold: f64, margin: f64) -> bool {
        match self {
            Direction::Above => value > threshold - margin,
            Direction::Below => value < threshold + margin,
        }
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The path as written, e.g. `disks[*].percentage`.
    pub path: String,
    metric: MetricPath,
    /// The alert's `component`.
    pub component: String,
    /// The alert's `metric`.
    pub name: String,
    /// What messages call the value.
    pub label: String,
    /// Unit written after numbers.
    pub unit: String,
    /// Factor applied to raw values.
    pub scale: f64,
    /// Which side is alarming.
    pub direction: Direction,
    /// WARNING threshold.
    pub warning: Option<f64>,
    /// CRITICAL threshold.
    pub critical: Option<f64>,
    /// How long the condition must hold.
    pub hold: Duration,
    /// Margin a firing level must come back by before it clears.
    pub hysteresis: f64,
    /// Labels its alerts carry besides `alertname` and `instance`.
    pub labels: BTreeMap<String, String>,
    /// Its line in the config file (1-based); 0 for the seed's built-in rules.
    pub line: usize,
}

/// Every rule. (How often an alert is notified is the lifecycle's `Policy`, whose
/// `repeat_interval` the old `cooldown` now names.)
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The rules, in file order; their index identifies them to the engine.
    pub rules: Vec<Rule>,
}

/// What is wrong with a rule, and which key.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    /// The offending key within the rule, e.g. `warning`.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

impl RuleError {
    fn new(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
        }
    }
}

impl AlertsConfig {
    /// Compiles the rules; on error, the rule's index with what is wrong.
    pub fn compile(&self) -> Result<RuleSet, (Option<usize>, RuleError)> {
        let rules = if self.rules.is_empty() {
            seed_rules()
        } else {
            self.rules
                .iter()
                .enumerate()
                .map(|(index, rule)| {
                    let mut compiled =
                        Rule::compile(rule.get_ref()).map_err(|e| (Some(index), e))?;
                    compiled.line = self.lines.get(index).copied().unwrap_or(0);
                    Ok(compiled)
                })
                .collect::<Result<_, (Option<usize>, RuleError)>>()?
        };
        Ok(RuleSet { rules })
    }
}

impl RuleSet {
    /// The rules from the file (not the seed's defaults) that select no number in
    /// `data`, with their index: typos, or metrics this machine does not have.
    pub fn unmatched<'a>(&'a self, data: &Sections) -> Vec<(usize, &'a Rule)> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| rule.line > 0 && rule.select(data).is_empty())
            .collect()
    }
}

impl Default for RuleSet {
    fn default() -> Self {
        Self {
            rules: seed_rules(),
        }
    }
}

/// The seed's thresholds.
fn seed_rules() -> Vec<Rule> {
    let rule = |metric: &str, below, warning, critical| RuleConfig {
        metric: metric.to_owned(),
        component: None,
        name: None,
        label: None,
        unit: None,
        scale: None,
        above: None,
        below: Some(below),
        warning: Some(warning),
        critical,
        hold: 0.0,
        hysteresis: 0.0,
        labels: Default::default(),
    };
    [
        // Paths from the section schemas: renaming a field there fails to compile here.
        rule(field_path!(Memory, percentage), false, 80.0, Some(90.0)),
        rule(field_path!(Disk, percentage), false, 85.0, Some(95.0)),
        rule(field_path!(Disk, free), true, 1.0, None),
    ]
    .iter()
    .filter_map(|config| Rule::compile(config).ok())
    .collect()
}

impl Rule {
    /// Checks and compiles one rule.
    pub fn compile(config: &RuleConfig) -> Result<Rule, RuleError> {
        let metric = MetricPath::parse(&config.metric).map_err(|m| RuleError::new("metric", m))?;
        let (first, last) = (metric.section().to_owned(), metric.field().to_owned());
        let (first, last) = (first.as_str(), last.as_str());
        let direction = match (config.above, config.below) {
            (Some(true), Some(true)) => {
                return Err(RuleError::new(
                    "below",
                    "`above` and `below` cannot both be true",
                ))
            }
            (_, Some(true)) | (Some(false), _) => Direction::Below,
            _ => Direction::Above,
        };
        let component = config
            .component
            .clone()
            .unwrap_or_else(|| default_component(first).to_owned());
        if component.is_empty() {
            return Err(RuleError::new("component", "must not be empty"));
        }
        let bytes = BYTE_FIELDS.contains(&last);
        let scale = config.scale.unwrap_or(if bytes { 1.0 / GIB } else { 1.0 });
        if !(scale.is_finite() && scale > 0.0) {
            return Err(RuleError::new(
                "scale",
                format!("must be a positive number, got {scale}"),
            ));
        }
        for (key, value) in [("for", config.hold), ("hysteresis", config.hysteresis)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(RuleError::new(
                    key,
                    format!("must be a number, at least 0, got {value}"),
                ));
            }
        }
        let rule = Rule {
            path: config.metric.clone(),
            metric,
            name: config
                .name
                .clone()
                .unwrap_or_else(|| default_name(last).to_owned()),
            label: config
                .label
                .clone()
                .unwrap_or_else(|| default_label(&component, last)),
            unit: config
                .unit
                .clone()
                .unwrap_or_else(|| default_unit(last, bytes).to_owned()),
            component,
            scale,
            direction,
            warning: config.warning,
            critical: config.critical,
            hold: Duration::from_secs_f64(config.hold),
            hysteresis: config.hysteresis,
            labels: config.labels.clone(),
            line: 0,
        };
        check_thresholds(direction, rule.warning, rule.critical)?;
        Ok(rule)
    }

    /// The threshold of a level, if the rule has one.
    pub fn threshold(&self, level: AlertLevel) -> Option<f64> {
        match level {
            AlertLevel::Warning => self.warning,
            AlertLevel::Critical => self.critical,
        }
    }

    /// The rule with one threshold changed, or why the change is refused.
    pub fn with_threshold(&self, level: AlertLevel, value: f64) -> Result<Rule, RuleError> {
        let mut rule = self.clone();
        match level {
            AlertLevel::Warning => rule.warning = Some(value),
            AlertLevel::Critical => rule.critical = Some(value),
        }
        check_thresholds(rule.direction, rule.warning, rule.critical)?;
        Ok(rule)
    }

    /// The values this rule watches in a snapshot, scaled: one, or one per element
    /// under `[*]`. Missing sections and non-numbers give none.
    pub fn select(&self, data: &Sections) -> Vec<Reading> {
        let mut readings = self.metric.select(data);
        for reading in &mut readings {
            reading.value *= self.scale;
        }
        readings
    }

    /// What names this rule in an alert's `alertname` label and fingerprint:
    /// `memory_usage_percent`, `disk_free_space`.
    pub fn alertname(&self) -> String {
        format!("{}_{}", self.component, self.name)
    }

    /// The alert's labels for a reading: the rule's own, `alertname`, and `instance`
    /// for one element of an array rule.
    pub fn labels_for(&self, reading: &Reading) -> BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        labels.insert("alertname".to_owned(), self.alertname());
        if let Some(instance) = &reading.instance {
            labels.insert("instance".to_owned(), instance.clone());
        }
        labels
    }

    /// The alert for a reading at a level, with the seed's fields and wording.
    pub fn alert(&self, level: AlertLevel, reading: &Reading, timestamp: &str) -> Alert {
        let threshold = self.threshold(level).unwrap_or(f64::NAN);
        let lead = match (self.direction, level) {
            (Direction::Above, AlertLevel::Warning) => "High",
            (Direction::Below, AlertLevel::Warning) => "Low",
            (Direction::Above, AlertLevel::Critical) => "Critical",
            (Direction::Below, AlertLevel::Critical) => "Critically low",
        };
        let subject = match &reading.instance {
            Some(instance) => format!("{} ({instance})", self.label),
            None => self.label.clone(),
        };
        let unit = &self.unit;
        Alert {
            timestamp: timestamp.to_owned(),
            component: self.component.clone(),
            metric: self.name.clone(),
            value: reading.value,
            threshold,
            level,
            message: format!(
                "{lead} {subject}: {:.1}{unit} (threshold: {threshold:.1}{unit})",
                reading.value
            ),
            ..Default::default()
        }
    }
}

/// Thresholds must be finite, at least 0, and in order for the direction.
pub fn check_thresholds(
    direction: Direction,
    warning: Option<f64>,
    critical: Option<f64>,
) -> Result<(), RuleError> {
    if warning.is_none() && critical.is_none() {
        return Err(RuleError::new(
            "warning",
            "a rule needs `warning`, `critical` or both",
        ));
    }
    for (key, value) in [("warning", warning), ("critical", critical)] {
        if let Some(value) = value {
            if !(value.is_finite() && value >= 0.0) {
                return Err(RuleError::new(
                    key,
                    format!("must be a number, at least 0, got {value}"),
                ));
            }
        }
    }
    if let (Some(warning), Some(critical)) = (warning, critical) {
        match direction {
            Direction::Above if warning > critical => {
                return Err(RuleError::new(
                    "warning",
                    format!("warning ({warning}) must not be above critical ({critical}) for an `above` rule"),
                ))
            }
            Direction::Below if warning < critical => {
                return Err(RuleError::new(
                    "warning",
                    format!("warning ({warning}) must not be below critical ({critical}) for a `below` rule"),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

fn default_component(section: &str) -> &str {
    match section {
        Processor::NAME => "cpu",
        Disks::NAME => Disk::NAME,
        other => other,
    }
}

fn default_name(field: &str) -> &str {
    match field {
        "percentage" | "usage_percent" => "usage_percent",
        "free" => "free_space",
        other => other,
    }
}

fn default_label(component: &str, field: &str) -> String {
    let component_label = match component {
        "cpu" | "gpu" => component.to_uppercase(),
        other => other.to_owned(),
    };
    match field {
        "percentage" | "usage_percent" | "gpu_usage_percent" => format!("{component_label} usage"),
        "free" => format!("{component_label} space"),
        other => format!("{component_label} {}", other.replace('_', " ")),
    }
}

fn default_unit(field: &str, bytes: bool) -> &'static str {
    if bytes {
        " GB"
    } else if field.contains("percent") {
        "%"
    } else if field.contains("temperature") || field == "celsius" {
        "°C"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn config(text: &str) -> AlertsConfig {
        toml::from_str(text).expect("valid [alerts] table")
    }

    fn compile(text: &str) -> Result<RuleSet, (Option<usize>, RuleError)> {
        config(text).compile()
    }

    fn sections(value: Value) -> Sections {
        match value {
            Value::Object(map) => map,
            _ => Sections::new(),
        }
    }

    #[test]
    fn no_rules_gives_the_seeds() {
        let set = compile("").expect("defaults compile");
        let summary: Vec<_> = set
            .rules
            .iter()
            .map(|r| {
                (
                    r.path.as_str(),
                    r.component.as_str(),
                    r.name.as_str(),
                    r.direction,
                    r.warning,
                    r.critical,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "memory.percentage",
                    "memory",
                    "usage_percent",
                    Direction::Above,
                    Some(80.0),
                    Some(90.0)
                ),
                (
                    "disk.percentage",
                    "disk",
                    "usage_percent",
                    Direction::Above,
                    Some(85.0),
                    Some(95.0)
                ),
                (
                    "disk.free",
                    "disk",
                    "free_space",
                    Direction::Below,
                    Some(1.0),
                    None
                ),
            ]
        );
    }

    #[test]
    fn seed_wording() {
        let set = RuleSet::default();
        let reading = |value| Reading {
            key: String::new(),
            instance: None,
            value,
        };
        let memory = set.rules[0].alert(AlertLevel::Warning, &reading(85.5), "t");
        assert_eq!(
            memory.message,
            "High memory usage: 85.5% (threshold: 80.0%)"
        );
        assert_eq!(
            (memory.component.as_str(), memory.metric.as_str()),
            ("memory", "usage_percent")
        );
        assert_eq!((memory.value, memory.threshold), (85.5, 80.0));
        let memory = set.rules[0].alert(AlertLevel::Critical, &reading(92.0), "t");
        assert_eq!(
            memory.message,
            "Critical memory usage: 92.0% (threshold: 90.0%)"
        );
        let disk = set.rules[1].alert(AlertLevel::Critical, &reading(96.2), "t");
        assert_eq!(
            disk.message,
            "Critical disk usage: 96.2% (threshold: 95.0%)"
        );
        let disk = set.rules[1].alert(AlertLevel::Warning, &reading(86.0), "t");
        assert_eq!(disk.message, "High disk usage: 86.0% (threshold: 85.0%)");
        let free = set.rules[2].alert(AlertLevel::Warning, &reading(0.75), "t");
        assert_eq!(free.message, "Low disk space: 0.8 GB (threshold: 1.0 GB)");
    }

    #[test]
    fn free_space_is_compared_in_gigabytes() {
        let set = RuleSet::default();
        let data = sections(json!({"disk": {"free": 512u64 * 1024 * 1024, "percentage": 50.0}}));
        let readings = set.rules[2].select(&data);
        assert_eq!(readings.len(), 1);
        assert!((readings[0].value - 0.5).abs() < 1e-9);
    }

    #[test]
    fn arrays_give_one_reading_per_element() {
        let set = compile(
            "[[rules]]\nmetric = \"disks[*].percentage\"\nwarning = 50.0\n\
             [[rules]]\nmetric = \"gpu.gpus[*].temperature\"\nwarning = 80.0\n\
             [[rules]]\nmetric = \"gpu.gpus[1].temperature\"\ncritical = 90.0\n",
        )
        .expect("valid");
        let data = sections(json!({
            "disks": [{"path": "/", "percentage": 40.0}, {"path": "/data", "percentage": 70.0}],
            "gpu": {"gpus": [{"id": 0, "temperature": 60.0}, {"id": 1, "temperature": null}, {"temperature": 85.0}]}
        }));
        let disks = set.rules[0].select(&data);
        assert_eq!(
            disks.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            ["/", "/data"]
        );
        assert_eq!(set.rules[0].component, "disk");
        let alert = set.rules[0].alert(AlertLevel::Warning, &disks[1], "t");
        assert_eq!(
            alert.message,
            "High disk usage (/data): 70.0% (threshold: 50.0%)"
        );
        let gpus = set.rules[1].select(&data);
        assert_eq!(
            gpus.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            ["#0", "#2"]
        );
        let alert = set.rules[1].alert(AlertLevel::Warning, &gpus[1], "t");
        assert_eq!(
            alert.message,
            "High GPU temperature (#2): 85.0°C (threshold: 80.0°C)"
        );
        assert_eq!(
            (alert.component.as_str(), alert.metric.as_str()),
            ("gpu", "temperature")
        );
        assert!(
            set.rules[2].select(&data).is_empty(),
            "null is not a number"
        );
    }

    #[test]
    fn missing_sections_give_nothing() {
        let set = RuleSet::default();
        for rule in &set.rules {
            assert!(rule.select(&Sections::new()).is_empty());
            assert!(rule
                .select(&sections(json!({"memory": "n/a", "disk": []})))
                .is_empty());
        }
    }

    #[test]
    fn cpu_rule_wording() {
        let set = compile("[[rules]]\nmetric = \"processor.usage_percent\"\nwarning = 90.0\n")
            .expect("valid");
        let rule = &set.rules[0];
        let reading = Reading {
            key: String::new(),
            instance: None,
            value: 95.0,
        };
        let alert = rule.alert(AlertLevel::Warning, &reading, "t");
        assert_eq!(
            (alert.component.as_str(), alert.metric.as_str()),
            ("cpu", "usage_percent")
        );
        assert_eq!(alert.message, "High CPU usage: 95.0% (threshold: 90.0%)");
    }

    #[test]
    fn bad_rules_name_the_key() {
        let error = |text: &str| compile(text).expect_err("refused");
        let (index, e) =
            error("[[rules]]\nmetric = \"memory.percentage\"\nwarning = 95.0\ncritical = 90.0\n");
        assert_eq!((index, e.key), (Some(0), "warning"));
        assert!(
            e.message.contains("must not be above critical"),
            "{}",
            e.message
        );
        let (_, e) = error(
            "[[rules]]\nmetric = \"disk.free\"\nbelow = true\nwarning = 1.0\ncritical = 2.0\n",
        );
        assert!(
            e.message.contains("must not be below critical"),
            "{}",
            e.message
        );
        let (_, e) = error("[[rules]]\nmetric = \"memory..x\"\nwarning = 1.0\n");
        assert_eq!(e.key, "metric");
        let (_, e) = error("[[rules]]\nmetric = \"disks[x].free\"\nwarning = 1.0\n");
        assert_eq!(e.key, "metric");
        let (_, e) = error("[[rules]]\nmetric = \"memory.percentage\"\n");
        assert_eq!(e.key, "warning");
        let (_, e) = error("[[rules]]\nmetric = \"memory.percentage\"\nwarning = -1.0\n");
        assert_eq!(e.key, "warning");
        let (_, e) =
            error("[[rules]]\nmetric = \"memory.percentage\"\nwarning = 1.0\nfor = -2.0\n");
        assert_eq!(e.key, "for");
        let (_, e) = error("[[rules]]\nmetric = \"memory.percentage\"\nwarning = 1.0\nabove = true\nbelow = true\n");
        assert_eq!(e.key, "below");
        assert!(
            toml::from_str::<AlertsConfig>("[[rules]]\nmetric = \"m.x\"\nwarn = 1.0\n").is_err()
        );
    }

    #[test]
    fn threshold_changes_are_checked() {
        let set = RuleSet::default();
        let memory = &set.rules[0];
        assert_eq!(
            memory
                .with_threshold(AlertLevel::Warning, 70.0)
                .map(|r| r.warning),
            Ok(Some(70.0))
        );
        assert!(memory.with_threshold(AlertLevel::Warning, 95.0).is_err());
        assert!(memory
            .with_threshold(AlertLevel::Critical, f64::NAN)
            .is_err());
        assert!(memory
            .with_threshold(AlertLevel::Critical, f64::INFINITY)
            .is_err());
    }
}
