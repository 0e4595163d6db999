//! `[alerts]`: the rules as the operator writes them. The alerts stage compiles them
//! (`crate::alerts::rules`); here they are only read and defaulted.

use serde::Deserialize;
use toml::Spanned;

/// `[alerts]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Seconds before the same rule instance notifies the sinks again at the same level
    /// (the seed's `ALERT_COOLDOWN`). Default 300.
    #[serde(default = "default_cooldown")]
    pub cooldown: f64,
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

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            cooldown: default_cooldown(),
            rules: Vec::new(),
            lines: Vec::new(),
        }
    }
}

/// One `[[alerts.rules]]` entry.
#[derive(Debug, Clone, Deserialize)]
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
}
