//! Collector plugin `textfile`: node_exporter's `--collector.textfile.directory`, read
//! the same way (issue 24).
//!
//! Every `*.prom` file of `dir` is read at each collection; other names are ignored,
//! which is what makes the write-then-rename convention safe (`x.prom.tmp` → `x.prom`).
//! Files are read in name order and merged into one [`PrometheusSection`] named
//! `textfile` (see [`merge`]), with `node_textfile_mtime_seconds{file}` for each file
//! read and `node_textfile_scrape_error` (1 when any file could not be opened, read or
//! parsed, or clashed with another), exactly as node_exporter exposes them. What went
//! wrong is printed to the server's stderr when it changes, not at every tick.

pub mod merge;
pub mod read;

use std::path::PathBuf;

use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::scripted::PrometheusSection;

/// Settings of `[plugins.textfile]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The directory of `*.prom` files. Without it the plugin stays off.
    pub dir: Option<PathBuf>,
    /// Most `*.prom` files read; the rest (in name order) are skipped as an error.
    /// Default 1000.
    pub max_files: Option<usize>,
    /// Largest file read, in bytes; a larger one is skipped as an error. Default 4 MiB.
    pub max_file_size: Option<u64>,
}

/// Default of `max_files`.
pub const DEFAULT_MAX_FILES: usize = 1000;
/// Default of `max_file_size`.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;
/// Largest `max_file_size` accepted: 64 MiB.
pub const MAX_FILE_SIZE_CAP: u64 = 64 * 1024 * 1024;
/// Largest `max_files` accepted.
pub const MAX_FILES_CAP: usize = 100_000;

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `textfile` section.
    pub textfile: PrometheusSection,
}

/// The `textfile` collector.
pub struct TextfileCollector {
    limits: read::Limits,
    /// The problems printed last, so each is printed once while it lasts.
    last_problems: Vec<String>,
}

impl Collector for TextfileCollector {
    const NAME: &'static str = "textfile";
    const DESCRIPTION: &'static str =
        "Reads node_exporter textfile-collector *.prom files from a directory.";
    type Config = Config;
    type Output = Output;

    fn new(config: Config) -> Result<Self, PluginError> {
        let Some(dir) = config.dir else {
            return Err(PluginError::unavailable(
                "no `dir` set in [plugins.textfile]",
            ));
        };
        let max_files = config.max_files.unwrap_or(DEFAULT_MAX_FILES);
        if max_files == 0 || max_files > MAX_FILES_CAP {
            return Err(PluginError::config(format_args!(
                "`max_files` must be 1 to {MAX_FILES_CAP}, got {max_files}"
            )));
        }
        let max_file_size = config.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE);
        if max_file_size == 0 || max_file_size > MAX_FILE_SIZE_CAP {
            return Err(PluginError::config(format_args!(
                "`max_file_size` must be 1 to {MAX_FILE_SIZE_CAP} bytes, got {max_file_size}"
            )));
        }
        if !dir.is_dir() {
            // node_exporter starts anyway and reports the scrape error; so do we, but
            // say it once at start where an admin looks.
            eprintln!(
                "WARN plugin=textfile: `dir` {} is not a readable directory (yet)",
                dir.display()
            );
        }
        Ok(Self {
            limits: read::Limits {
                dir,
                max_files,
                max_file_size,
            },
            last_problems: Vec::new(),
        })
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        let reading = read::read_dir(&self.limits);
        if reading.problems != self.last_problems {
            for problem in &reading.problems {
                eprintln!("WARN plugin=textfile: {problem}");
            }
            self.last_problems = reading.problems.clone();
        }
        Ok(Output {
            textfile: reading.section,
        })
    }
}

declare_collector!(TextfileCollector);

#[cfg(test)]
#[path = "lib_tests.rs"]
mod tests;
