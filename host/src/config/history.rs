//! `[history]`: where the on-disk history store lives and how much it keeps, per tier
//! and in all. On by default with nothing to configure: `data/` next to the file,
//! tick resolution for 14 days, minutes for 90, hours for 2 years, 1 GiB at most.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::lines::line_of_key;

/// The smallest total cap: below it the store would spend its space on its own index.
pub const MIN_HISTORY_MB: f64 = 16.0;

/// `[history]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryConfig {
    /// Keep history on disk at all. Default true.
    pub enabled: bool,
    /// The store's folder; relative to this file. Default `data`.
    pub dir: PathBuf,
    /// All tiers together, in MiB. Default 1024.
    pub max_size_mb: f64,
    /// Days of samples at tick resolution. Default 14.
    pub tick_days: f64,
    /// Days of 1-minute min/avg/max. Default 90.
    pub minute_days: f64,
    /// Days of 1-hour min/avg/max. Default 730.
    pub hour_days: f64,
    /// The tick tier's own cap in MiB; only the total cap when unset.
    pub tick_max_mb: Option<f64>,
    /// The minute tier's own cap in MiB.
    pub minute_max_mb: Option<f64>,
    /// The hour tier's own cap in MiB.
    pub hour_max_mb: Option<f64>,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: PathBuf::from("data"),
            max_size_mb: 1024.0,
            tick_days: 14.0,
            minute_days: 90.0,
            hour_days: 730.0,
            tick_max_mb: None,
            minute_max_mb: None,
            hour_max_mb: None,
        }
    }
}

impl HistoryConfig {
    /// The folder, a relative one taken from the config file's folder (`base`).
    pub fn dir_from(&self, base: Option<&Path>) -> PathBuf {
        match base {
            Some(base) if self.dir.is_relative() => base.join(&self.dir),
            _ => self.dir.clone(),
        }
    }

    /// Every number positive and finite, the total cap at least [`MIN_HISTORY_MB`].
    pub(super) fn check(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line: line_of_key(text, key),
            key: key.to_owned(),
            message,
        };
        let positive = |key: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(invalid(
                    key,
                    format!("must be a positive number, got {value}"),
                ))
            }
        };
        positive("history.tick_days", self.tick_days)?;
        positive("history.minute_days", self.minute_days)?;
        positive("history.hour_days", self.hour_days)?;
        for (key, cap) in [
            ("history.tick_max_mb", self.tick_max_mb),
            ("history.minute_max_mb", self.minute_max_mb),
            ("history.hour_max_mb", self.hour_max_mb),
        ] {
            if let Some(cap) = cap {
                positive(key, cap)?;
            }
        }
        if !(self.max_size_mb.is_finite() && self.max_size_mb >= MIN_HISTORY_MB) {
            return Err(invalid(
                "history.max_size_mb",
                format!(
                    "must be at least {MIN_HISTORY_MB} (MiB), got {}",
                    self.max_size_mb
                ),
            ));
        }
        if self.dir.as_os_str().is_empty() {
            return Err(invalid(
                "history.dir",
                "must name a folder (set `enabled = false` to keep no history)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/monitoring/plugins.toml"))
    }

    #[test]
    fn on_by_default_next_to_the_file() {
        let config = parse("").expect("valid");
        assert!(config.history.enabled);
        assert_eq!(config.history_dir(), Path::new("/etc/monitoring/data"));
        assert_eq!(config.history.max_size_mb, 1024.0);
    }

    #[test]
    fn an_absolute_dir_is_kept() {
        let config = parse("[history]\ndir = \"/var/lib/monitoring\"\n").expect("valid");
        assert_eq!(config.history_dir(), Path::new("/var/lib/monitoring"));
    }

    #[test]
    fn bad_numbers_name_line_and_key() {
        let err = parse("[history]\n\ntick_days = -1\n").expect_err("refused");
        let text = err.to_string();
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("history.tick_days"), "{text}");
        let err = parse("[history]\nmax_size_mb = 1\n").expect_err("refused");
        assert!(err.to_string().contains("at least 16"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = parse("[history]\nkeep = 3\n").expect_err("refused");
        assert!(err.to_string().contains("keep"), "{err}");
    }
}
