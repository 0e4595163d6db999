//! Alerts: rules as data ([`rules`]), the pure evaluation of a snapshot against them
//! ([`engine`]), the run-time handle that changes thresholds ([`control`]), and the
//! recent notifications for `GET /api/alerts` ([`log`]).
//!
//! Evaluation is a stage on the data path, after collection and before broadcasting,
//! as collectd's thresholds are: collectors never judge their own values, and the
//! same alerts go to WebSocket clients (`monitoring_data.alerts`) and to the sinks.

pub mod control;
pub mod engine;
pub mod log;
pub mod path;
pub mod rules;
pub mod sink_runner;

pub use control::AlertControl;
pub use engine::{evaluate, EngineState, Evaluation};
pub use log::AlertLog;
pub use rules::{AlertsConfig, RuleSet};
