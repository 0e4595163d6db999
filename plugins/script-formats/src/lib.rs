//! What the `exec` and `textfile` collectors share (issue 24): the parsers of the four
//! formats a script may print, and the bounded running of a script.
//!
//! Parsers take the script's whole output (or one daemon reading) and return the
//! section in the shape of `monitoring_plugin_api::sections::scripted`; their errors
//! carry the 1-based line they stopped at, so the caller can name the command and the
//! line. Nothing here knows about plugins.toml: the collectors turn their config into a
//! [`process::CommandSpec`] and call [`process::run_once`] or [`process::spawn_daemon`].

pub mod influx;
pub mod json;
pub mod nagios;
pub mod process;
pub mod prometheus;
pub mod rate_limit;
pub mod user;

use std::fmt;

/// Why an output did not parse, with the line it stopped at when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// The 1-based line of the output, when the error has one.
    pub line: Option<usize>,
    /// What was wrong, lowercase.
    pub message: String,
}

impl ParseError {
    /// An error at a line.
    pub fn at(line: usize, message: impl fmt::Display) -> Self {
        Self {
            line: Some(line),
            message: message.to_string(),
        }
    }

    /// An error about the output as a whole.
    pub fn whole(message: impl fmt::Display) -> Self {
        Self {
            line: None,
            message: message.to_string(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Parses `output` in `format`: the section as the host reads it. A Nagios plugin's
/// state comes from its exit code, so that format needs `exit_code` (`None` when it was
/// killed by a signal, which the guidelines treat as UNKNOWN).
pub fn parse(
    format: monitoring_plugin_api::sections::scripted::ScriptFormat,
    output: &str,
    exit_code: Option<i32>,
) -> Result<serde_json::Value, ParseError> {
    use monitoring_plugin_api::sections::scripted::ScriptFormat;
    let encode = |value: Result<serde_json::Value, serde_json::Error>| {
        value.map_err(|e| ParseError::whole(format_args!("cannot encode the section: {e}")))
    };
    match format {
        ScriptFormat::Json => json::parse(output).map(serde_json::Value::Object),
        ScriptFormat::Prometheus => {
            encode(serde_json::to_value(prometheus::parse(output)?.section))
        }
        ScriptFormat::Influx => encode(serde_json::to_value(influx::parse(output)?)),
        ScriptFormat::Nagios => encode(serde_json::to_value(nagios::parse(output, exit_code)?)),
    }
}
