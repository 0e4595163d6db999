//! Collector plugin `memory`: the snapshot's `memory` section.
//!
//! `used` is `total - available`, as the seed reports it (psutil's `percent` is computed
//! the same way), so `used + available == total` always holds for clients; see
//! [`Memory::from_total_available`].

#[cfg(target_os = "linux")]
mod meminfo;

use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::Memory;
use sysinfo::{MemoryRefreshKind, System};

/// Settings of `[plugins.memory]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `memory` section.
    pub memory: Memory,
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
        let mut memory = Memory::from_total_available(total, self.system.available_memory());
        // The kernel's counters as they are, for node_exporter's names on /metrics.
        #[cfg(target_os = "linux")]
        {
            memory.meminfo = meminfo::read();
        }
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
        let mut keys: Vec<&str> = memory
            .as_object()
            .expect("memory is an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = vec!["available", "percentage", "total", "used"];
        // Linux adds the kernel's counters; every older key stays.
        if cfg!(target_os = "linux") {
            expected.insert(1, "meminfo");
        }
        assert_eq!(keys, expected, "the wire keys of `memory`");
    }
}
