//! Sections made from a script's output by the `exec` and `textfile` collectors
//! (issue 24), in the one shape the host reads them in.
//!
//! A script's section is named by its config (`section`, default the command's name),
//! so these types have no fixed key. A `json` script's object becomes its section as
//! it is; the other three formats are parsed into a [`PrometheusSection`], an
//! [`InfluxSection`] or a [`NagiosSection`], each tagged with its [`ScriptFormat`] in
//! the `format` field, which is how the host knows to re-expose a Prometheus
//! section's families under their own names on `/metrics` and to raise a Nagios
//! check's non-OK state as an alert. The `exec` collector also reports how each of its
//! commands last ran in the [`Exec`] section.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Section;

/// The key of the format tag in a parsed script section.
pub const FORMAT_KEY: &str = "format";

/// What a script prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScriptFormat {
    /// One JSON object: the section as it is.
    Json,
    /// The Prometheus text exposition format (node_exporter's textfile convention).
    Prometheus,
    /// Influx line protocol (Telegraf's `exec`/`execd`).
    Influx,
    /// A Nagios/Icinga plugin: exit code, first line, perfdata.
    Nagios,
}

impl ScriptFormat {
    /// The format a section's `format` tag names; `None` for a section without a
    /// valid tag (a `json` script's object, any other collector's section). The one
    /// reading of the tag, for every consumer of script sections.
    pub fn of(section: &serde_json::Value) -> Option<Self> {
        Self::deserialize(section.get(FORMAT_KEY)?).ok()
    }
}

/// The kind of a Prometheus metric family (`# TYPE`); `untyped` when not declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FamilyKind {
    /// A value that only goes up.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Buckets, a sum and a count.
    Histogram,
    /// Quantiles, a sum and a count.
    Summary,
    /// No `# TYPE` line.
    #[default]
    Untyped,
}

/// One sample of a family: its own name (a histogram's `_bucket`, `_sum`, `_count`
/// differ from the family's), labels and value. Samples whose value is not finite
/// (NaN, ±Inf) are not kept: JSON cannot carry them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The sample's metric name.
    pub name: String,
    /// Its labels, sorted by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// A metric family: `# HELP`, `# TYPE` and its samples, in the order the script
/// printed them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Family {
    /// The family's name.
    pub name: String,
    /// Its kind.
    #[serde(rename = "type", default)]
    pub kind: FamilyKind,
    /// Its help text; empty without `# HELP`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// Its samples.
    pub samples: Vec<Sample>,
}

/// A section parsed from the Prometheus text format. `values` repeats every sample
/// that has no labels by its name, so an alert rule or a card reads
/// `<section>.values.<name>` without searching the families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrometheusSection {
    /// Always [`ScriptFormat::Prometheus`].
    pub format: ScriptFormat,
    /// The families, in the order printed.
    pub families: Vec<Family>,
    /// Unlabelled samples by name.
    #[serde(default)]
    pub values: BTreeMap<String, f64>,
}

/// One line of Influx line protocol: its tags and fields (numbers, booleans and
/// strings as JSON values) and its timestamp in nanoseconds when it had one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Tag set, sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Field set.
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Nanoseconds since the Unix epoch, when the line carried a timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
}

/// A section parsed from Influx line protocol: a measurement per sub-section, each
/// with its points (one per distinct tag set) in the order printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfluxSection {
    /// Always [`ScriptFormat::Influx`].
    pub format: ScriptFormat,
    /// Points by measurement.
    pub measurements: BTreeMap<String, Vec<Point>>,
}

/// A Nagios plugin's state, from its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NagiosState {
    /// Exit code 0.
    Ok,
    /// Exit code 1.
    Warning,
    /// Exit code 2.
    Critical,
    /// Exit code 3, any other code, or a plugin that could not run.
    Unknown,
}

impl NagiosState {
    /// The state an exit code means (the Nagios plugin guidelines).
    pub fn from_exit_code(code: i32) -> Self {
        match code {
            0 => Self::Ok,
            1 => Self::Warning,
            2 => Self::Critical,
            _ => Self::Unknown,
        }
    }
}

/// One perfdata item: `label=value[UOM];[warn];[crit];[min];[max]`. Thresholds stay
/// the range strings the plugin printed (`10`, `10:`, `~:10`, `@10:20`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Perfdata {
    /// The value.
    pub value: f64,
    /// Its unit of measure as printed (`%`, `s`, `B`, `KB`, `c`…); empty without one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
    /// The warning range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<String>,
    /// The critical range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<String>,
    /// The minimum possible value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The maximum possible value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A section made from a Nagios/Icinga plugin's run. A state other than `OK` is an
/// alert at the matching level (`UNKNOWN` as a warning) through the host's normal
/// alert path, resolved when the check is `OK` again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NagiosSection {
    /// Always [`ScriptFormat::Nagios`].
    pub format: ScriptFormat,
    /// The state.
    pub state: NagiosState,
    /// The exit code it came from.
    pub code: i32,
    /// The first line of output, without its perfdata.
    pub message: String,
    /// The lines after the first, without perfdata; empty when there were none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub long_output: String,
    /// Perfdata by label.
    #[serde(default)]
    pub perfdata: BTreeMap<String, Perfdata>,
}

/// How one `exec` command last ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandStatus {
    /// The section it fills.
    pub section: String,
    /// What it prints.
    pub format: ScriptFormat,
    /// `once` (run every `interval`) or `daemon` (started once, read line by line).
    pub mode: String,
    /// When its last run ended (or a daemon's last reading came), in the seed's
    /// timestamp format; `None` before the first.
    #[serde(default)]
    pub last_run: Option<String>,
    /// How long the last run took, in milliseconds (0 for a daemon).
    pub duration_ms: f64,
    /// The last run's exit code; `None` while it runs, when it was killed or never ran.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Runs (or daemon readings) so far.
    pub runs: u64,
    /// Runs that failed (timeout, exit error, parse error, output cut) so far.
    pub failures: u64,
    /// Times a daemon was restarted.
    #[serde(default)]
    pub restarts: u64,
    /// What went wrong last, naming the command and, for a parse error, the line;
    /// `None` when its last run was good.
    #[serde(default)]
    pub error: Option<String>,
}

/// The `exec` section: how each configured command last ran, by command name. The
/// host shows it in `get_status`, `/health` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exec {
    /// Each command's status by its `name`.
    pub commands: BTreeMap<String, CommandStatus>,
}

impl Section for Exec {
    const NAME: &'static str = "exec";
}
