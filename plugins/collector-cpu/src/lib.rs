//! Collector plugin `cpu`: the snapshot's `processor` section.
//!
//! sysinfo computes usage from the difference between two readings at least
//! [`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`] apart, so the `System` lives across ticks
//! and is primed once at start: the first message already carries real numbers, and no
//! tick ever sleeps.

mod frequency;
#[cfg(target_os = "linux")]
mod proc_stat;

use std::time::Instant;

use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::Processor;
use sysinfo::{System, MINIMUM_CPU_UPDATE_INTERVAL};

/// Settings of `[plugins.cpu]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Send each CPU's time per mode (`processor.cpu_seconds`, Linux only), from which
    /// `/metrics` serves node_exporter's `node_cpu_seconds_total{cpu,mode}`. About
    /// 150 bytes per CPU per tick on the stream: on a machine of hundreds of cores
    /// with many clients, `false` saves that. Default true.
    pub cpu_seconds: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self { cpu_seconds: true }
    }
}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `processor` section.
    pub processor: Processor,
}

/// Keeps sysinfo's state between ticks.
pub struct CpuCollector {
    system: System,
    last_refresh: Instant,
    core_count: usize,
    /// From cpufreq or the model name, read once; `None` when neither tells.
    frequency_max: Option<f64>,
    /// `[plugins.cpu] cpu_seconds`.
    cpu_seconds: bool,
}

impl Collector for CpuCollector {
    const NAME: &'static str = "cpu";
    const DESCRIPTION: &'static str = "Processor usage, per-core usage, core counts and frequency.";
    type Config = Config;
    type Output = Output;

    fn new(config: Config) -> Result<Self, PluginError> {
        let mut system = System::new().map_err(|e| {
            PluginError::unavailable(format_args!("cannot read processor statistics: {e}"))
        })?;
        system.refresh_cpu_specifics(frequency::refresh_kind());
        // Prime the usage counters once, at start, so the first tick is real.
        std::thread::sleep(MINIMUM_CPU_UPDATE_INTERVAL);
        system.refresh_cpu_specifics(frequency::refresh_kind());
        if system.cpus().is_empty() {
            return Err(PluginError::unavailable(
                "no processors reported by the operating system",
            ));
        }
        let logical = system.cpus().len();
        let brand = system
            .cpus()
            .first()
            .map(|cpu| cpu.brand().to_owned())
            .unwrap_or_default();
        Ok(Self {
            core_count: System::physical_core_count().unwrap_or(logical),
            frequency_max: frequency::max_mhz(&brand),
            last_refresh: Instant::now(),
            system,
            cpu_seconds: config.cpu_seconds,
        })
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        // Readings closer together than sysinfo's minimum are noise; reuse the last one.
        if self.last_refresh.elapsed() >= MINIMUM_CPU_UPDATE_INTERVAL {
            self.system.refresh_cpu_specifics(frequency::refresh_kind());
            self.last_refresh = Instant::now();
        }
        let cpus = self.system.cpus();
        let per_core_usage: Vec<f64> = cpus.iter().map(|cpu| round1(cpu.usage().into())).collect();
        let frequency_current = frequency::current_mhz(&self.system);
        Ok(Output {
            processor: Processor {
                usage_percent: round1(self.system.global_cpu_usage().into()),
                per_core_usage,
                core_count: self.core_count,
                logical_count: cpus.len(),
                frequency_current,
                // Reported as read, never derived from the current frequency: an
                // unknown maximum stays unknown (turbo may also run above it).
                frequency_max: self.frequency_max,
                cpu_seconds: self.cpu_seconds(),
            },
        })
    }
}

impl CpuCollector {
    /// Each CPU's time per mode, when asked for and the OS tells.
    fn cpu_seconds(&self) -> Vec<monitoring_plugin_api::sections::CpuSeconds> {
        if !self.cpu_seconds {
            return Vec::new();
        }
        #[cfg(target_os = "linux")]
        return proc_stat::read().unwrap_or_default();
        #[cfg(not(target_os = "linux"))]
        return Vec::new();
    }
}

declare_collector!(CpuCollector);

/// Percentages to one decimal, as the seed reports them; clamped against float noise.
fn round1(value: f64) -> f64 {
    ((value * 10.0).round() / 10.0).clamp(0.0, 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obeys_the_collector_contract() {
        let sections = monitoring_plugin_api::testing::check_collector::<CpuCollector>();
        let processor = &sections["processor"];
        let logical = processor["logical_count"]
            .as_u64()
            .expect("logical_count is a number");
        assert!(logical >= 1);
        assert_eq!(
            processor["per_core_usage"].as_array().map(Vec::len),
            Some(logical as usize)
        );
        assert!(processor["core_count"]
            .as_u64()
            .is_some_and(|n| n >= 1 && n <= logical));
        let mut keys: Vec<&str> = processor
            .as_object()
            .expect("processor is an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = vec![
            "core_count",
            "frequency_current",
            "frequency_max",
            "logical_count",
            "per_core_usage",
            "usage_percent",
        ];
        // Linux adds the per-CPU counters; every older key stays.
        if cfg!(target_os = "linux") {
            expected.push("cpu_seconds");
            expected.sort_unstable();
        }
        assert_eq!(keys, expected, "the wire keys of `processor`");
    }

    #[test]
    fn the_maximum_frequency_is_what_the_machine_says_or_unknown() {
        let mut collector = CpuCollector::new(Config::default()).expect("builds");
        let brand = collector.system.cpus()[0].brand().to_owned();
        let known = frequency::max_mhz(&brand);
        let processor = collector.collect().expect("collects").processor;
        // Never made up from the current frequency: where no source knows the maximum
        // (most VMs), it stays unknown, which the wire spells 0.0 as the seed did.
        assert_eq!(processor.frequency_max, known);
        let wire = monitoring_plugin_api::serde_json::to_value(&processor).expect("serializes");
        assert_eq!(wire["frequency_max"], known.unwrap_or(0.0));
    }

    #[test]
    fn rounding() {
        assert_eq!(round1(12.345), 12.3);
        assert_eq!(round1(100.04), 100.0);
        assert_eq!(round1(-0.01), 0.0);
    }
}
