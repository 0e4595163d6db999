//! Collector plugin `load`: the `load` section.
//!
//! Load averages and uptime come from sysinfo; the runnable and total task counts from
//! `/proc/loadavg`, which sysinfo does not read (see [`tasks`]). The logical CPU count
//! is read once: a client needs it to tell whether a load of 2.0 is idle or saturated.
//! Windows has no load average, so the plugin is `unavailable` there.

mod tasks;

use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::Load;
use sysinfo::{CpuRefreshKind, System};

/// Settings of `[plugins.load]`: none.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `load` section.
    pub load: Load,
}

/// Holds what does not change while the server runs.
pub struct LoadCollector {
    /// Logical CPUs, counted once at start.
    cpu_count: u64,
}

impl Collector for LoadCollector {
    const NAME: &'static str = "load";
    const DESCRIPTION: &'static str =
        "Load averages, runnable and total tasks, uptime and the logical CPU count.";
    type Config = Config;
    type Output = Output;

    fn new(_config: Config) -> Result<Self, PluginError> {
        System::load_average().map_err(|e| {
            PluginError::unavailable(format_args!("this system has no load average: {e}"))
        })?;
        let mut system = System::new()
            .map_err(|e| PluginError::unavailable(format_args!("cannot count processors: {e}")))?;
        system.refresh_cpu_list(CpuRefreshKind::nothing());
        let cpu_count = system.cpus().len() as u64;
        if cpu_count == 0 {
            return Err(PluginError::unavailable(
                "no processors reported by the operating system",
            ));
        }
        Ok(Self { cpu_count })
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        let averages = System::load_average().map_err(|e| {
            PluginError::retryable(format_args!("cannot read the load average: {e}"))
        })?;
        let uptime_seconds = System::uptime()
            .map_err(|e| PluginError::retryable(format_args!("cannot read the uptime: {e}")))?;
        let (runnable_tasks, total_tasks) = tasks::read().unwrap_or((0, 0));
        Ok(Output {
            load: Load {
                load1: round2(averages.one),
                load5: round2(averages.five),
                load15: round2(averages.fifteen),
                runnable_tasks,
                total_tasks,
                uptime_seconds,
                cpu_count: self.cpu_count,
            },
        })
    }
}

declare_collector!(LoadCollector);

/// Load averages to two decimals, as `uptime` and `/proc/loadavg` print them.
fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obeys_the_collector_contract() {
        let sections = monitoring_plugin_api::testing::check_collector::<LoadCollector>();
        let load: Load = monitoring_plugin_api::serde_json::from_value(sections["load"].clone())
            .expect("the load schema");
        let parallelism = std::thread::available_parallelism()
            .map(|n| n.get() as u64)
            .expect("the test's own CPU count");
        // Affinity or a cgroup may give this process fewer CPUs than the machine has.
        assert!(load.cpu_count >= parallelism, "{load:?}");
        for average in [load.load1, load.load5, load.load15] {
            assert_eq!(average, round2(average), "two decimals: {load:?}");
        }
        if cfg!(target_os = "linux") {
            // The reading process itself is running, and every process is a task.
            assert!(load.runnable_tasks >= 1, "{load:?}");
            assert!(load.total_tasks >= load.runnable_tasks, "{load:?}");
            let uptime = std::fs::read_to_string("/proc/uptime").expect("/proc/uptime");
            let seconds: f64 = uptime
                .split_ascii_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .expect("uptime seconds");
            assert!(
                (load.uptime_seconds as f64 - seconds).abs() <= 5.0,
                "{load:?} vs /proc/uptime {seconds}"
            );
        }
    }

    #[test]
    fn rounds_to_two_decimals() {
        assert_eq!(round2(0.2149), 0.21);
        assert_eq!(round2(1.675), 1.68);
        assert_eq!(round2(0.0), 0.0);
    }
}
