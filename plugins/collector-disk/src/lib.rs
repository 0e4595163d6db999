//! Collector plugin `disk`: space on the primary path (`disk`) and, when several paths
//! are configured, on each of them (`disks`), as the seed's "monitoring of specific
//! paths" promises.
//!
//! Numbers follow `statvfs` as psutil's `disk_usage` reads them: `free` is what an
//! unprivileged user may still write, and `percentage` is `used / (used + free)`, so
//! blocks reserved for root do not hide a full disk.

#[cfg(target_os = "linux")]
mod mounts;
mod usage;

use std::path::PathBuf;

use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::Disk;

/// Settings of `[plugins.disk]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Paths to watch; the first is the primary `disk` section. Default `["/"]`
    /// (on Windows, `["C:\\"]`).
    pub paths: Vec<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        let root = if cfg!(windows) { "C:\\" } else { "/" };
        Self {
            paths: vec![PathBuf::from(root)],
        }
    }
}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The primary path.
    pub disk: Disk,
    /// Every configured path, when there are several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<Disk>>,
}

/// Reads the configured paths each tick.
pub struct DiskCollector {
    paths: Vec<PathBuf>,
}

impl Collector for DiskCollector {
    const NAME: &'static str = "disk";
    const DESCRIPTION: &'static str =
        "Disk space (total, used, free, percentage) on configured paths.";
    type Config = Config;
    type Output = Output;

    fn new(config: Config) -> Result<Self, PluginError> {
        if config.paths.is_empty() {
            return Err(PluginError::config("`paths` must name at least one path"));
        }
        for path in &config.paths {
            usage::read(path).map_err(|e| {
                PluginError::config(format_args!("`paths`: {}: {e}", path.display()))
            })?;
        }
        Ok(Self {
            paths: config.paths,
        })
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        let mut all = Vec::with_capacity(self.paths.len());
        for path in &self.paths {
            let reading = usage::read(path)
                .map_err(|e| PluginError::retryable(format_args!("{}: {e}", path.display())))?;
            all.push(reading);
        }
        let disk = all[0].clone();
        let disks = (all.len() > 1).then_some(all);
        Ok(Output { disk, disks })
    }
}

declare_collector!(DiskCollector);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obeys_the_collector_contract() {
        let sections = monitoring_plugin_api::testing::check_collector::<DiskCollector>();
        assert!(sections["disk"]["total"].as_u64().is_some_and(|t| t > 0));
        assert!(
            sections.get("disks").is_none(),
            "one path gives no `disks` array"
        );
        let mut keys: Vec<&str> = sections["disk"]
            .as_object()
            .expect("disk is an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = vec!["free", "mount_point", "path", "percentage", "total", "used"];
        // Linux adds the filesystem's device, type and mount point; every older key stays.
        if cfg!(target_os = "linux") {
            expected.insert(0, "filesystem");
        }
        assert_eq!(keys, expected, "the wire keys of `disk`");
        assert_eq!(
            sections["disk"]["mount_point"], sections["disk"]["path"],
            "the seed client reads `mount_point`"
        );
    }

    #[test]
    fn several_paths_give_a_disks_array() {
        let dir = std::env::temp_dir();
        let mut collector = DiskCollector::new(Config {
            paths: vec!["/".into(), dir.clone()],
        })
        .expect("builds");
        let output = collector.collect().expect("collects");
        let disks = output.disks.expect("two paths give `disks`");
        assert_eq!(disks.len(), 2);
        assert_eq!(disks[1].path, dir.display().to_string());
        assert_eq!(output.disk, disks[0]);
    }

    #[test]
    fn a_missing_path_is_a_config_error_naming_it() {
        let err = DiskCollector::new(Config {
            paths: vec!["/no/such/dir".into()],
        })
        .err()
        .expect("refused");
        assert_eq!(err.kind(), Some(monitoring_plugin_api::ErrorKind::Config));
        assert!(err.message().contains("/no/such/dir"), "{err}");
    }
}
