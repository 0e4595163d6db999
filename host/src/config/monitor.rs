//! `[monitor]`: the collection loop's pace, memory and plugin folder, with the seed's
//! defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[monitor]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorConfig {
    /// Seconds between snapshots. Default 0.5.
    pub interval: f64,
    /// Snapshots kept in memory. Default 1000.
    pub history_size: usize,
    /// Folder scanned for plugin libraries; relative to this file. Default `plugins`.
    pub plugins_dir: PathBuf,
    /// Seconds a tick waits for collectors before sending what it has. Default 0.25.
    pub collect_timeout: f64,
    /// Longest back-off, in seconds, for a collector that keeps failing. Default 60.
    pub max_backoff: f64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            interval: 0.5,
            history_size: 1000,
            plugins_dir: PathBuf::from("plugins"),
            collect_timeout: 0.25,
            max_backoff: 60.0,
        }
    }
}
