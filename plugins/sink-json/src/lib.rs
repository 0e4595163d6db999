//! Sink plugin `json`: the seed's `JSONExporter`. It takes the host's
//! [`SinkEvent::Snapshot`]s (alerts are ignored) and keeps at most one per
//! `export_interval_secs`, measured on the snapshots' own timestamps.
//!
//! Files: `<output_dir>/monitoring_YYYYMMDD.json` (the snapshot's local date, so a new
//! file each day), or `monitoring.json` without `date_in_filename`, `.json.gz` with
//! `compress`. Each is a JSON array of `{"timestamp": "…", "data": {…}}` objects,
//! rewritten atomically on every export (see `document`). When the next version would
//! pass `max_file_size`, the current file is moved to `monitoring_YYYYMMDD.N.json`
//! (N = 1, 2, … in the order they filled) and a new one started.
//!
//! A failed export (read-only or missing directory, full disk) is retryable; the
//! snapshot is kept and written by the next attempt, the next snapshot or `flush`.

mod document;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Local, NaiveDateTime, TimeZone};
use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::Sections;
use serde_json::{json, Value};

use document::{sibling, write_atomically, Format};

/// Settings of `[plugins.json]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Directory of the export files, created when missing ("./monitoring_data").
    pub output_dir: PathBuf,
    /// Minimum time between two exported snapshots, seconds (60); snapshots arriving
    /// sooner are skipped, except the last one, which `flush` writes at shutdown.
    pub export_interval_secs: f64,
    /// gzip the files (`.json.gz`) (false).
    pub compress: bool,
    /// Indent the JSON (false).
    pub pretty_print: bool,
    /// Name files `monitoring_YYYYMMDD` by the snapshot's local date, one per day
    /// (true); otherwise a single `monitoring.json`.
    pub date_in_filename: bool,
    /// Start a new file before one would pass this many bytes (10 MiB). Every export
    /// rewrites the current file, so this also bounds the work per export.
    pub max_file_size: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            output_dir: PathBuf::from("./monitoring_data"),
            export_interval_secs: 60.0,
            compress: false,
            pretty_print: false,
            date_in_filename: true,
            max_file_size: 10 * 1024 * 1024,
        }
    }
}

/// A snapshot waiting to be written.
struct Pending {
    at: DateTime<Local>,
    entry: Value,
}

/// Exports snapshots to JSON files.
pub struct JsonSink {
    config: Config,
    interval: Duration,
    format: Format,
    /// Time of the last snapshot written.
    last_export: Option<DateTime<Local>>,
    /// The newest snapshot not written yet: skipped by the interval, or failed.
    pending: Option<Pending>,
}

impl Sink for JsonSink {
    // The exporter is the one sink that writes snapshots out.
    const WANTS_SNAPSHOTS: bool = true;
    const NAME: &'static str = "json";
    const DESCRIPTION: &'static str = "Exports snapshots to daily JSON (or gzip) files.";
    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        if config.output_dir.as_os_str().is_empty() {
            return Err(PluginError::config("`output_dir` must not be empty"));
        }
        let interval = Duration::try_from_secs_f64(config.export_interval_secs).map_err(|_| {
            PluginError::config(format_args!(
                "`export_interval_secs` must be a number of seconds ≥ 0, got {}",
                config.export_interval_secs
            ))
        })?;
        if config.max_file_size == 0 {
            return Err(PluginError::config(
                "`max_file_size` must be at least 1 byte",
            ));
        }
        let format = Format {
            compress: config.compress,
            pretty: config.pretty_print,
        };
        Ok(Self {
            config,
            interval,
            format,
            last_export: None,
            pending: None,
        })
    }

    fn deliver(&mut self, event: &SinkEvent) -> Result<(), PluginError> {
        let SinkEvent::Snapshot { timestamp, data } = event else {
            return Ok(());
        };
        let at = local_time(timestamp).unwrap_or_else(Local::now);
        self.pending = Some(Pending {
            at,
            entry: entry(timestamp, data),
        });
        if self.due(at) {
            self.export_pending()
        } else {
            Ok(())
        }
    }

    fn flush(&mut self) -> Result<(), PluginError> {
        self.export_pending()
    }
}

declare_sink!(JsonSink);

impl JsonSink {
    /// Whether a snapshot taken `at` is due. A clock that went back exports at once
    /// rather than waiting for the old time to come round again.
    fn due(&self, at: DateTime<Local>) -> bool {
        match self.last_export {
            None => true,
            Some(last) => (at - last)
                .to_std()
                .map_or(true, |since| since >= self.interval),
        }
    }

    fn export_pending(&mut self) -> Result<(), PluginError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let path = self.path_for(pending.at);
        match self.export(&path, pending.entry.clone()) {
            Ok(()) => {
                self.last_export = Some(pending.at);
                Ok(())
            }
            Err(e) => {
                self.pending = Some(pending);
                Err(PluginError::retryable(format_args!(
                    "cannot export to {}: {e}",
                    path.display()
                )))
            }
        }
    }

    /// The current file for a snapshot taken `at`.
    pub fn path_for(&self, at: DateTime<Local>) -> PathBuf {
        let stem = self.stem(at);
        self.config
            .output_dir
            .join(format!("{stem}.{}", self.format.extension()))
    }

    fn stem(&self, at: DateTime<Local>) -> String {
        if self.config.date_in_filename {
            format!("monitoring_{}", at.format("%Y%m%d"))
        } else {
            "monitoring".to_owned()
        }
    }

    fn export(&self, path: &Path, entry: Value) -> io::Result<()> {
        std::fs::create_dir_all(&self.config.output_dir)?;
        let mut entries = match self.format.read(path) {
            Ok(entries) => entries.unwrap_or_default(),
            // Not a document of ours (hand-edited, truncated by a crash of another
            // tool): keep it aside for a human and start a clean one.
            Err(e)
                if e.kind() == io::ErrorKind::InvalidData
                    || e.kind() == io::ErrorKind::UnexpectedEof =>
            {
                std::fs::rename(path, sibling(path, ".corrupt"))?;
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        entries.push(entry);
        let mut bytes = self.format.encode(&entries)?;
        if bytes.len() as u64 > self.config.max_file_size && entries.len() > 1 {
            std::fs::rename(path, self.next_part(path)?)?;
            entries.drain(..entries.len() - 1);
            bytes = self.format.encode(&entries)?;
        }
        write_atomically(path, &bytes)
    }

    /// The first free `<stem>.N.<ext>` next to `path`.
    fn next_part(&self, path: &Path) -> io::Result<PathBuf> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let ext = format!(".{}", self.format.extension());
        let stem = name.strip_suffix(&ext).unwrap_or(name);
        (1..u32::MAX)
            .map(|n| path.with_file_name(format!("{stem}.{n}{ext}")))
            .find(|candidate| !candidate.exists())
            .ok_or_else(|| io::Error::other("no free part number"))
    }
}

/// The object stored for one snapshot.
fn entry(timestamp: &str, data: &Sections) -> Value {
    json!({ "timestamp": timestamp, "data": data })
}

/// An ISO 8601 time in local time; one without an offset (the seed's
/// `2025-01-03T10:15:30.123456`) already is.
fn local_time(iso: &str) -> Option<DateTime<Local>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(iso) {
        return Some(at.with_timezone(&Local));
    }
    let naive = NaiveDateTime::parse_from_str(iso, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Local.from_local_datetime(&naive).earliest()
}

#[cfg(test)]
mod tests;
