//! Sink plugin `file`: every alert and every resolution as one JSON line, the seed's
//! `FileAlertHandler` with its rotation at `max_file_size`.
//!
//! Each line is the alert's seed fields plus `event` (`"alert"` or `"resolved"`) and,
//! for resolutions, `resolved_at`, so `jq`/`grep` work on the file as it grows. A failed
//! write (full disk, read-only or missing directory) is reported as retryable and the
//! file is reopened on the next attempt, so writing resumes once the cause is fixed.

mod log_file;

use std::path::PathBuf;

use monitoring_plugin_api::prelude::*;

use log_file::LogFile;

/// Settings of `[plugins.file]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The log file; missing parent directories are created.
    pub path: PathBuf,
    /// Rotate before a line would take the file past this many bytes (10 MiB).
    pub max_file_size: u64,
    /// Rotated files kept: `<path>.1` is the newest, `<path>.N` the oldest (5).
    /// With 0 the file is simply started afresh.
    pub backups: u32,
}

fn default_path() -> PathBuf {
    PathBuf::from("./monitoring_alerts.log")
}

const fn default_max_file_size() -> u64 {
    10 * 1024 * 1024
}

const fn default_backups() -> u32 {
    5
}

impl Default for Config {
    fn default() -> Self {
        Self {
            path: default_path(),
            max_file_size: default_max_file_size(),
            backups: default_backups(),
        }
    }
}

/// Appends alert records to a rotating file.
pub struct FileSink {
    log: LogFile,
}

impl Sink for FileSink {
    const NAME: &'static str = "file";
    const DESCRIPTION: &'static str = "Appends alerts as JSON lines to a file, rotated by size.";
    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        if config.path.as_os_str().is_empty() {
            return Err(PluginError::config("`path` must not be empty"));
        }
        if config.max_file_size == 0 {
            return Err(PluginError::config(
                "`max_file_size` must be at least 1 byte",
            ));
        }
        // The file is opened lazily: a directory that is not there yet at start-up is a
        // delivery failure to retry, not a reason to refuse the plugin.
        Ok(Self {
            log: LogFile::new(config.path, config.max_file_size, config.backups),
        })
    }

    fn deliver(&mut self, event: &SinkEvent) -> Result<(), PluginError> {
        let Some(record) = AlertRecord::from_event(event) else {
            return Ok(());
        };
        let mut line = serde_json::to_vec(&record)
            .map_err(|e| PluginError::fatal(format_args!("cannot encode alert: {e}")))?;
        line.push(b'\n');
        self.log.append(&line).map_err(|e| {
            PluginError::retryable(format_args!(
                "cannot write to {}: {e}",
                self.log.path().display()
            ))
        })
    }

    fn flush(&mut self) -> Result<(), PluginError> {
        self.log.sync().map_err(|e| {
            PluginError::retryable(format_args!(
                "cannot sync {}: {e}",
                self.log.path().display()
            ))
        })
    }
}

declare_sink!(FileSink);

#[cfg(test)]
mod tests {
    use super::*;
    use monitoring_plugin_api::ErrorKind;
    use serde_json::Value;
    use std::fs;

    #[test]
    fn obeys_the_sink_contract_and_writes_alerts_only() {
        use monitoring_plugin_api::testing::{check_sink, Delivery};
        use monitoring_plugin_api::Exported;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.log");
        let settings = serde_json::json!({ "path": path }).to_string();
        check_sink::<FileSink>(&settings, Delivery::Succeeds);
        let events: Vec<Value> = lines(&path)
            .into_iter()
            .map(|l| l["event"].clone())
            .collect();
        assert_eq!(events, ["alert", "resolved"]);
        assert!(!FileSink::root_module().wants_snapshots());
        // Without its peer (a folder that cannot exist), delivery is a retryable error.
        let blocked = dir.path().join("a-file");
        fs::write(&blocked, b"").unwrap();
        let settings = serde_json::json!({ "path": blocked.join("alerts.log") }).to_string();
        check_sink::<FileSink>(&settings, Delivery::FailsWith(ErrorKind::Retryable));
    }

    fn alert(value: f64) -> Alert {
        Alert {
            timestamp: "2025-01-03T10:15:30.123456".into(),
            component: "disk".into(),
            metric: "usage_percent".into(),
            value,
            threshold: 95.0,
            level: AlertLevel::Critical,
            message: format!("Critical disk usage: {value}% (threshold: 95.0%)"),
            ..Default::default()
        }
    }

    fn sink(path: PathBuf, max_file_size: u64, backups: u32) -> FileSink {
        FileSink::new(Config {
            path,
            max_file_size,
            backups,
        })
        .unwrap()
    }

    fn lines(path: &std::path::Path) -> Vec<Value> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn defaults_are_the_seeds() {
        let config: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(config.path, PathBuf::from("./monitoring_alerts.log"));
        assert_eq!(config.max_file_size, 10 * 1024 * 1024);
        assert_eq!(config.backups, 5);
        assert!(serde_json::from_str::<Config>(r#"{"max_size": 1}"#).is_err());
        let zero = FileSink::new(Config {
            max_file_size: 0,
            ..Config::default()
        });
        let err = zero.err().unwrap();
        assert_eq!(err.kind(), Some(ErrorKind::Config));
        assert!(err.message().contains("max_file_size"), "{err}");
    }

    #[test]
    fn writes_one_json_line_per_alert_and_resolution() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/alerts.log");
        let mut sink = sink(path.clone(), 1 << 20, 2);
        sink.deliver(&SinkEvent::Alert { alert: alert(96.2) })
            .unwrap();
        sink.deliver(&SinkEvent::Snapshot {
            timestamp: "t".into(),
            data: Default::default(),
        })
        .unwrap();
        let resolved = SinkEvent::Resolved {
            alert: alert(96.2),
            resolved_at: "2025-01-03T11:00:00".into(),
        };
        sink.deliver(&resolved).unwrap();
        sink.flush().unwrap();

        let lines = lines(&path);
        assert_eq!(lines.len(), 2, "the snapshot is not logged");
        let first = &lines[0];
        assert_eq!(first["event"], "alert");
        assert_eq!(first["timestamp"], "2025-01-03T10:15:30.123456");
        assert_eq!(first["component"], "disk");
        assert_eq!(first["metric"], "usage_percent");
        assert_eq!(first["value"], 96.2);
        assert_eq!(first["threshold"], 95.0);
        assert_eq!(first["level"], "CRITICAL");
        assert_eq!(
            first["message"],
            "Critical disk usage: 96.2% (threshold: 95.0%)"
        );
        assert!(first.get("resolved_at").is_none());
        assert_eq!(lines[1]["event"], "resolved");
        assert_eq!(lines[1]["resolved_at"], "2025-01-03T11:00:00");
    }

    #[test]
    fn rotates_past_the_size_limit_keeping_n_backups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.log");
        let line_len = {
            let record = SinkEvent::Alert { alert: alert(0.0) };
            serde_json::to_vec(&AlertRecord::from_event(&record).unwrap())
                .unwrap()
                .len() as u64
                + 1
        };
        // Room for two lines per file.
        let mut sink = sink(path.clone(), line_len * 2, 2);
        for i in 0..7 {
            sink.deliver(&SinkEvent::Alert {
                alert: alert(f64::from(i)),
            })
            .unwrap();
        }
        let values = |p: &std::path::Path| {
            lines(p)
                .iter()
                .map(|l| l["value"].as_f64().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(values(&path), [6.0]);
        assert_eq!(
            values(&dir.path().join("alerts.log.1")),
            [4.0, 5.0],
            ".1 is the newest backup"
        );
        assert_eq!(values(&dir.path().join("alerts.log.2")), [2.0, 3.0]);
        assert!(
            !dir.path().join("alerts.log.3").exists(),
            "only two backups are kept"
        );
        for entry in fs::read_dir(dir.path()).unwrap() {
            let size = entry.unwrap().metadata().unwrap().len();
            assert!(size <= line_len * 2, "no file passes max_file_size");
        }
    }

    #[test]
    fn without_backups_the_file_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.log");
        let mut sink = sink(path.clone(), 10, 0);
        sink.deliver(&SinkEvent::Alert { alert: alert(1.0) })
            .unwrap();
        sink.deliver(&SinkEvent::Alert { alert: alert(2.0) })
            .unwrap();
        assert_eq!(
            lines(&path).len(),
            1,
            "a line longer than the limit still gets written, alone"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// The parent of the log path becomes a regular file: unlike `chmod`, this blocks
    /// writes even for root, which is who runs the tests in CI.
    #[test]
    fn an_unwritable_directory_is_retryable_and_writing_resumes_once_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let path = logs.join("alerts.log");
        let mut sink = sink(path.clone(), 1 << 20, 1);
        sink.deliver(&SinkEvent::Alert { alert: alert(1.0) })
            .unwrap();

        fs::remove_dir_all(&logs).unwrap();
        fs::write(&logs, b"not a directory").unwrap();
        let err = sink
            .deliver(&SinkEvent::Alert { alert: alert(2.0) })
            .unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
        assert!(
            err.message().contains("alerts.log"),
            "the error names the file: {err}"
        );

        fs::remove_file(&logs).unwrap();
        sink.deliver(&SinkEvent::Alert { alert: alert(3.0) })
            .unwrap();
        let values: Vec<f64> = lines(&path)
            .iter()
            .map(|l| l["value"].as_f64().unwrap())
            .collect();
        assert_eq!(values, [3.0], "the file is reopened where it belongs");
    }

    /// The same with a read-only directory: permission bits are made to bind this test
    /// even as root (see `obey_permissions`).
    #[test]
    fn a_read_only_directory_is_retryable_and_writing_resumes_once_fixed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let Some(_obeying) = monitoring_test_support::obey_permissions() else {
            return;
        };
        let path = dir.path().join("alerts.log");
        let mut sink = sink(path.clone(), 30, 1);
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
        assert!(
            fs::write(dir.path().join("probe"), b"").is_err(),
            "the read-only directory accepts writes"
        );
        let err = sink
            .deliver(&SinkEvent::Alert { alert: alert(1.0) })
            .unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        sink.deliver(&SinkEvent::Alert { alert: alert(2.0) })
            .unwrap();
        assert_eq!(lines(&path).len(), 1);
    }
}
