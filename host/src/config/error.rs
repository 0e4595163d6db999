//! The one error type of `plugins.toml`: every way a file can be refused, each naming
//! the file and, where there is one, the line and dotted key.
//!
//! It sits below every section's file so that each can build one without importing
//! the file that reads them all.

use std::path::{Path, PathBuf};

use super::lines::{dotted_key_at, line_at};

/// A file that could not be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The path names something other than a regular file (a device, a FIFO, a
    /// folder), which is never read.
    #[error("{path}: cannot read: it is {what}, not a regular file")]
    NotAFile {
        /// The path as given.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// The file is larger than [`super::read::MAX_CONFIG_BYTES`].
    #[error("{path}: cannot read: larger than {cap} bytes, the most a configuration file may be")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap, bytes.
        cap: u64,
    },
    /// Syntax error, unknown key, wrong type; toml's message names line and key.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, with line, column and key.
        message: String,
    },
    /// A value that parses but makes no sense.
    #[error("{path}: {at}`{key}`: {message}", at = line_prefix(.line))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where, 1-based; 0 when the value came from a default or the command line.
        line: usize,
        /// The dotted key, e.g. `monitor.interval`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// toml's error, named by file, line and dotted key when it points at a `key = value`
/// line (a wrong type, a value out of range: toml says only the line and the bare
/// key), else as toml words it (a syntax error).
pub(super) fn parse_error(text: &str, path: &Path, error: &toml::de::Error) -> ConfigError {
    let whole = || ConfigError::Parse {
        path: path.to_owned(),
        message: error.to_string().trim_end().to_owned(),
    };
    let Some(span) = error.span() else {
        return whole();
    };
    let line = line_at(text, span.start);
    let Some(key) = dotted_key_at(text, line) else {
        return whole();
    };
    ConfigError::Invalid {
        path: path.to_owned(),
        line,
        key,
        message: error.message().trim_end().to_owned(),
    }
}

/// "line N: " for a line in the file, nothing for 0 (a default or a command-line value).
fn line_prefix(line: &usize) -> String {
    match *line {
        0 => String::new(),
        line => format!("line {line}: "),
    }
}
