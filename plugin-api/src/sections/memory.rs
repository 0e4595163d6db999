//! The `memory` section.

use serde::{Deserialize, Serialize};

use super::{check_percent, check_used, Section};

/// The `memory` section: bytes, and a percentage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Physical memory, bytes.
    pub total: u64,
    /// Memory available to new processes without swapping, bytes.
    pub available: u64,
    /// `total - available`, bytes.
    pub used: u64,
    /// `used / total`, %, one decimal.
    pub percentage: f64,
    /// The kernel's own counters (Linux's `/proc/meminfo`), for node_exporter's
    /// `node_memory_*_bytes` on `/metrics`; absent elsewhere and from producers older
    /// than plugin-api 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meminfo: Option<MemInfo>,
}

/// The `/proc/meminfo` fields node_exporter's most used series come from, in bytes
/// (the file says kB, meaning KiB).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(non_snake_case)] // The kernel's spelling, which node_exporter's names keep.
pub struct MemInfo {
    /// `MemTotal`.
    pub MemTotal: u64,
    /// `MemFree`: unused, not counting reclaimable caches.
    pub MemFree: u64,
    /// `MemAvailable`: what a new process may take without swapping.
    pub MemAvailable: u64,
    /// `Buffers`.
    pub Buffers: u64,
    /// `Cached`: the page cache.
    pub Cached: u64,
    /// `SwapTotal`.
    pub SwapTotal: u64,
    /// `SwapFree`.
    pub SwapFree: u64,
}

impl Memory {
    /// Derives the section from the two numbers the OS reports, as the seed does
    /// (psutil's `percent` is computed the same way), so `used + available == total`.
    pub fn from_total_available(total: u64, available: u64) -> Self {
        let available = available.min(total);
        let used = total - available;
        Self {
            total,
            available,
            used,
            percentage: super::percent_of(used, total).unwrap_or(0.0),
            meminfo: None,
        }
    }
}

impl Section for Memory {
    const NAME: &'static str = "memory";

    fn validate(&self) -> Result<(), String> {
        check_percent("memory.percentage", self.percentage)?;
        check_used("memory", self.used, self.total)?;
        if self.available > self.total {
            return Err(format!(
                "memory.available = {} exceeds memory.total = {}",
                self.available, self.total
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_used_and_percentage_like_the_seed() {
        let info = Memory::from_total_available(17_179_869_184, 8_589_934_592);
        assert_eq!(info.used, 8_589_934_592);
        assert_eq!(info.percentage, 50.0);
        assert_eq!(Memory::from_total_available(1000, 145).percentage, 85.5);
        assert_eq!(Memory::from_total_available(100, 500).used, 0);
        assert_eq!(Memory::from_total_available(0, 0).percentage, 0.0);
        assert_eq!(info.validate(), Ok(()));
    }

    #[test]
    fn used_beyond_total_is_refused() {
        let bad = Memory {
            total: 1,
            available: 0,
            used: 2,
            percentage: 100.0,
            meminfo: None,
        };
        assert!(bad.validate().is_err_and(|e| e.contains("memory.used")));
    }
}
