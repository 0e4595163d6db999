//! Alerts: rules as data ([`rules`]), the pure evaluation of a snapshot against them
//! ([`engine`]), the run-time handle that changes thresholds ([`control`]), and the
//! recent notifications for `GET /api/alerts` ([`log`]); then an alert's life after
//! it fired ([`lifecycle`]: routes, grouping, repeats, inhibition), with [`silences`]
//! and acknowledgements, both matching labels with [`matchers`]. [`checks`] raises the
//! sections a script already judged (a Nagios check's state) beside the rules.
//!
//! Evaluation is a stage on the data path, after collection and before broadcasting,
//! as collectd's thresholds are: collectors never judge their own values, and the
//! same alerts go to WebSocket clients (`monitoring_data.alerts`) and to the sinks.

pub mod checks;
pub mod control;
pub mod engine;
pub mod lifecycle;
pub mod log;
pub mod matchers;
pub mod path;
pub mod rules;
pub mod silences;
pub mod sink_runner;
pub mod tick;

pub use control::AlertControl;
pub use engine::{evaluate, EngineState, Evaluation};
pub use log::AlertLog;
pub use rules::{AlertsConfig, RuleSet};
