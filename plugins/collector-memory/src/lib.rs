//! Collector plugin `memory`: the snapshot's `memory` section.
//!
//! `used` is `total - available`, as the seed reports it (psutil's `percent` is computed
//! the same way), so `used + available == total` always holds for clients.

use monitoring_plugin_api::prelude::*;
use sysinfo::{MemoryRefreshKind, System};

/// Settings of `[plugins.memory]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

/// The `memory` section: bytes, and a percentage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryInfo {
    /// Physical memory, bytes.
    pub total: u64,
    /// Memory available to new processes without swapping, bytes.
    pub available: u64,
    /// `total - available`, bytes.
    pub used: u64,
    /// `used / total`, %, one decimal.
    pub percentage: f64,
}

impl MemoryInfo {
    /// Derives the section from the two numbers the OS reports.
    pub fn from_total_available(total: u64, available: u64) -> Self {
        let available = available.min(total);
        let used = total - available;
        let percentage = if total == 0 {
            0.0
        } else {
            (used as f64 / total as f64 * 1000.0).round() / 10.0
        };
        Self {
            total,
            available,
            used,
            percentage,
        }
    }
}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `memory` section.
    pub memory: MemoryInfo,
}

/// Keeps sysinfo's `System` so each tick reads only the memory counters.
pub struct MemoryCollector {
    system: System,
}

impl Collector for MemoryCollector {
    const NAME: &'static str = "memory";
    const DESCRIPTION: &'static str = "Physical memory: total, available, used, percentage.";
    type Config = Config;
    type Output = Output;

    fn new(_config: Config) -> Result<Self, PluginError> {
        let system = System::new().map_err(|e| {
            PluginError::unavailable(format_args!("cannot read memory statistics: {e}"))
        })?;
        Ok(Self { system })
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        let total = self.system.total_memory();
        if total == 0 {
            return Err(PluginError::retryable(
                "the operating system reported 0 bytes of memory",
            ));
        }
        let memory = MemoryInfo::from_total_available(total, self.system.available_memory());
        Ok(Output { memory })
    }
}

declare_collector!(MemoryCollector);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obeys_the_collector_contract() {
        let sections = monitoring_plugin_api::testing::check_collector::<MemoryCollector>();
        let memory = &sections["memory"];
        let number = |key: &str| {
            memory[key]
                .as_u64()
                .unwrap_or_else(|| panic!("{key} is not a number"))
        };
        assert!(number("total") > 0);
        assert_eq!(number("used") + number("available"), number("total"));
    }

    #[test]
    fn derives_used_and_percentage_like_the_seed() {
        let info = MemoryInfo::from_total_available(17_179_869_184, 8_589_934_592);
        assert_eq!(info.used, 8_589_934_592);
        assert_eq!(info.percentage, 50.0);
        assert_eq!(MemoryInfo::from_total_available(1000, 145).percentage, 85.5);
        assert_eq!(MemoryInfo::from_total_available(100, 500).used, 0);
        assert_eq!(MemoryInfo::from_total_available(0, 0).percentage, 0.0);
    }
}
