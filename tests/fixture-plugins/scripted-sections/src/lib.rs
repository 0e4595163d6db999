//! A collector whose sections a test writes: each collect reads the JSON object in
//! `path` and returns it as its sections. The end-to-end tests of issue 24 use it to
//! stand in for the `exec` and `textfile` collectors, with the exact Nagios state,
//! Prometheus families and `exec` status the host must handle, changed at will
//! between ticks (the test writes the file elsewhere and renames it over `path`).

use std::io::Read;

use monitoring_plugin_api::prelude::*;
use serde_json::{Map, Value};

/// The biggest file read: the test's sections are small, a bigger one is a mistake.
const MAX_BYTES: u64 = 1024 * 1024;

/// Where the sections are.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The JSON file holding `{"section": {…}, …}`.
    pub path: String,
}

/// Serves the file's sections.
pub struct ScriptedSections {
    path: String,
}

impl Collector for ScriptedSections {
    const NAME: &'static str = "fixture-scripted-sections";
    const DESCRIPTION: &'static str = "Serves the sections a test writes in a JSON file.";
    type Config = Config;
    type Output = Map<String, Value>;

    fn new(config: Config) -> Result<Self, PluginError> {
        if config.path.is_empty() {
            return Err(PluginError::config("`path` is required"));
        }
        Ok(Self { path: config.path })
    }

    fn collect(&mut self) -> Result<Self::Output, PluginError> {
        let file = std::fs::File::open(&self.path)
            .map_err(|e| PluginError::unavailable(format!("{}: {e}", self.path)))?;
        let mut text = String::new();
        file.take(MAX_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| PluginError::unavailable(format!("{}: {e}", self.path)))?;
        match serde_json::from_str(&text) {
            Ok(Value::Object(sections)) => Ok(sections),
            Ok(_) => Err(PluginError::unavailable(format!(
                "{}: not a JSON object",
                self.path
            ))),
            Err(e) => Err(PluginError::unavailable(format!("{}: {e}", self.path))),
        }
    }
}

declare_collector!(ScriptedSections);
