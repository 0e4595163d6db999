//! The store's settings as `[history]` gives them: days become durations, MiB bytes.

use std::time::Duration;

use super::types::{Limits, Settings, TierLimit};
use crate::config::{Config, HistoryConfig};

const MIB: f64 = 1024.0 * 1024.0;

fn days(days: f64) -> Duration {
    Duration::from_secs_f64(days * 86_400.0)
}

fn bytes(mb: f64) -> u64 {
    (mb * MIB) as u64
}

impl Limits {
    /// The limits `[history]` sets.
    pub fn from_config(history: &HistoryConfig) -> Self {
        let tier = |keep: f64, max_mb: Option<f64>| TierLimit {
            keep: days(keep),
            max_bytes: max_mb.map(bytes),
        };
        Self {
            tiers: [
                tier(history.tick_days, history.tick_max_mb),
                tier(history.minute_days, history.minute_max_mb),
                tier(history.hour_days, history.hour_max_mb),
            ],
            max_bytes: bytes(history.max_size_mb),
        }
    }
}

impl Settings {
    /// Where and how `config` keeps history; `None` when `[history] enabled = false`.
    pub fn from_config(config: &Config) -> Option<Self> {
        config.history.enabled.then(|| Self {
            dir: config.history_dir(),
            limits: Limits::from_config(&config.history),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_issues() {
        let limits = Limits::from_config(&HistoryConfig::default());
        assert_eq!(limits.tiers[0].keep, Duration::from_secs(14 * 86_400));
        assert_eq!(limits.tiers[1].keep, Duration::from_secs(90 * 86_400));
        assert_eq!(limits.tiers[2].keep, Duration::from_secs(730 * 86_400));
        assert_eq!(limits.max_bytes, 1 << 30);
        assert!(limits.tiers.iter().all(|t| t.max_bytes.is_none()));
    }
}
