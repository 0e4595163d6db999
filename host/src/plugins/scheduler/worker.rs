//! One collection, on the runtime's blocking pool: plugin code blocks, so it never
//! runs on the async runtime. The collector comes back with its answer.

use std::time::{Duration, Instant};

use abi_stable::std_types::RResult;
use monitoring_plugin_api::{CollectorBox, PluginError, Sections};

/// A collector's answer, tagged with which collector gave it.
pub(super) struct Answer {
    /// The collector's slot.
    pub(super) slot: u64,
    /// The collector itself, idle again.
    pub(super) collector: CollectorBox,
    /// Its sections, or why there are none.
    pub(super) result: Result<Sections, PluginError>,
    /// Measured on the pool thread, with the wall clock.
    pub(super) took: Duration,
}

/// Calls the collector once.
pub(super) fn collect(slot: u64, mut collector: CollectorBox) -> Answer {
    let started = Instant::now();
    let result = match collector.collect() {
        RResult::ROk(json) => parse_sections(json.as_str()),
        RResult::RErr(error) => Err(error),
    };
    Answer {
        slot,
        collector,
        result,
        took: started.elapsed(),
    }
}

/// A collector's JSON must be an object of sections.
pub(super) fn parse_sections(json: &str) -> Result<Sections, PluginError> {
    match serde_json::from_str(json) {
        Ok(serde_json::Value::Object(sections)) => Ok(sections),
        Ok(other) => Err(PluginError::fatal(format_args!(
            "returned {} instead of a JSON object of sections",
            json_kind(&other)
        ))),
        Err(e) => Err(PluginError::fatal(format_args!(
            "returned invalid JSON: {e}"
        ))),
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
