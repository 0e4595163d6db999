//! The `processor` section.

use serde::{Deserialize, Serialize};

use super::{check_finite, check_percent, Section};

/// The `processor` section, with the seed's field names and units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Processor {
    /// Global usage, %.
    pub usage_percent: f64,
    /// Usage of each logical core, %.
    pub per_core_usage: Vec<f64>,
    /// Physical cores.
    pub core_count: usize,
    /// Logical cores.
    pub logical_count: usize,
    /// Mean current frequency over the cores, MHz.
    pub frequency_current: f64,
    /// Maximum frequency, MHz; `None` when the machine does not tell.
    ///
    /// On the wire an unknown maximum is `0.0`, as the seed sent it (psutil reports 0
    /// for a limit it cannot read): the published client formats this field with
    /// `:.0f`, which fails on `null` (see [`unknown_is_zero`]).
    #[serde(with = "unknown_is_zero")]
    pub frequency_max: Option<f64>,
    /// Time each logical CPU spent in each mode since boot, seconds (Linux's
    /// `/proc/stat`); empty where the OS does not tell or `[plugins.cpu]` turns it off.
    /// Cumulative counters, so `/metrics` can serve node_exporter's
    /// `node_cpu_seconds_total{cpu,mode}`: a percentage sampled every 15 s hides every
    /// spike between scrapes, `rate()` over counters does not. Added in plugin-api 1.2;
    /// absent from older producers' sections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_seconds: Vec<CpuSeconds>,
}

/// One logical CPU's time per mode since boot, seconds, as `/proc/stat` counts it
/// (node_exporter's modes; `user` and `nice` include guest time, as there).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuSeconds {
    /// The CPU's number, `N` of `cpuN` (not an index: offline CPUs leave gaps).
    pub cpu: u32,
    /// Normal processes in user mode.
    pub user: f64,
    /// Niced processes in user mode.
    pub nice: f64,
    /// Kernel mode.
    pub system: f64,
    /// Idle.
    pub idle: f64,
    /// Idle while waiting for I/O.
    pub iowait: f64,
    /// Servicing interrupts.
    pub irq: f64,
    /// Servicing softirqs.
    pub softirq: f64,
    /// Stolen by the hypervisor for other guests.
    pub steal: f64,
}

impl CpuSeconds {
    /// `(mode, seconds)` in node_exporter's order and spelling.
    pub fn modes(&self) -> [(&'static str, f64); 8] {
        [
            ("user", self.user),
            ("nice", self.nice),
            ("system", self.system),
            ("idle", self.idle),
            ("iowait", self.iowait),
            ("irq", self.irq),
            ("softirq", self.softirq),
            ("steal", self.steal),
        ]
    }
}

impl Section for Processor {
    const NAME: &'static str = "processor";

    fn validate(&self) -> Result<(), String> {
        check_percent("processor.usage_percent", self.usage_percent)?;
        for (i, usage) in self.per_core_usage.iter().enumerate() {
            check_percent(&format!("processor.per_core_usage[{i}]"), *usage)?;
        }
        if self.per_core_usage.len() != self.logical_count {
            return Err(format!(
                "processor.per_core_usage has {} entries for {} logical cores",
                self.per_core_usage.len(),
                self.logical_count
            ));
        }
        check_finite("processor.frequency_current", self.frequency_current)?;
        for (i, cpu) in self.cpu_seconds.iter().enumerate() {
            for (mode, seconds) in cpu.modes() {
                if !(seconds.is_finite() && seconds >= 0.0) {
                    return Err(format!(
                        "processor.cpu_seconds[{i}].{mode} = {seconds} is not a count of seconds"
                    ));
                }
            }
        }
        if let Some(max) = self.frequency_max {
            check_finite("processor.frequency_max", max)?;
            if max <= 0.0 {
                return Err(format!(
                    "processor.frequency_max = {max}: an unknown maximum is None"
                ));
            }
        }
        Ok(())
    }
}

/// `Option<f64>` as the seed's `0.0`-means-unknown number: `None` is written `0.0`, and
/// `0.0` or `null` read back as `None`.
///
/// Why not `null`: the published client (`monitoring-websocket-client` 1.0.83.90,
/// `formatters/detailed.py`) prints `f"{cpu.get('frequency_max', 0):.0f}"`, which raises
/// `TypeError` on `None` and drops the whole snapshot from its detailed view.
pub mod unknown_is_zero {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `None` as `0.0`.
    pub fn serialize<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(value.unwrap_or(0.0))
    }

    /// Reads `0.0` and `null` as `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        let value = Option::<f64>::deserialize(deserializer)?;
        Ok(value.filter(|v| *v != 0.0))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn processor(frequency_max: Option<f64>) -> Processor {
        Processor {
            usage_percent: 12.5,
            per_core_usage: vec![10.0, 15.0],
            core_count: 1,
            logical_count: 2,
            frequency_current: 2300.0,
            frequency_max,
            cpu_seconds: Vec::new(),
        }
    }

    #[test]
    fn an_unknown_maximum_is_the_seeds_zero_and_reads_back_unknown() {
        let value = serde_json::to_value(processor(None)).unwrap_or_default();
        assert_eq!(value["frequency_max"], json!(0.0));
        let back: Processor = serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.frequency_max, None);
        let known = serde_json::to_value(processor(Some(3700.0))).unwrap_or_default();
        assert_eq!(known["frequency_max"], json!(3700.0));
    }

    #[test]
    fn validation_catches_what_the_schema_cannot() {
        assert_eq!(processor(Some(3700.0)).validate(), Ok(()));
        let mut bad = processor(None);
        bad.per_core_usage[1] = 100.5;
        assert!(bad
            .validate()
            .is_err_and(|e| e.contains("per_core_usage[1]")));
        let mut bad = processor(None);
        bad.logical_count = 3;
        assert!(bad.validate().is_err());
        let mut bad = processor(None);
        bad.frequency_current = f64::INFINITY;
        assert!(bad.validate().is_err());
    }
}
