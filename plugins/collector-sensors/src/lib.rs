//! Collector plugin `sensors`: the `sensors` section — temperatures with their labels
//! and thresholds, and fans.
//!
//! On Linux it reads the hwmon sysfs tree itself ([`hwmon`]), from a root that tests
//! point at a fake tree; elsewhere sysinfo's components give temperatures only. A
//! machine without any sensor (most virtual machines) is `unavailable`: one info line
//! at start, like the GPU plugins, and no section.

#[cfg(not(target_os = "linux"))]
mod components;
#[cfg(any(target_os = "linux", test))]
pub mod hwmon;

use std::path::PathBuf;

use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::Sensors;

/// Settings of `[plugins.sensors]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Linux only: the directory of hwmon chips; default `/sys/class/hwmon`. For tests
    /// and containers that mount the host's sysfs elsewhere.
    pub root: Option<PathBuf>,
}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `sensors` section.
    pub sensors: Sensors,
}

/// The sensors found at start.
pub struct SensorsCollector {
    #[cfg(target_os = "linux")]
    probes: hwmon::Probes,
    #[cfg(not(target_os = "linux"))]
    source: components::Source,
}

impl Collector for SensorsCollector {
    const NAME: &'static str = "sensors";
    const DESCRIPTION: &'static str = "Temperatures with their thresholds, and fan speeds.";
    type Config = Config;
    type Output = Output;

    #[cfg(target_os = "linux")]
    fn new(config: Config) -> Result<Self, PluginError> {
        let root = config
            .root
            .unwrap_or_else(|| PathBuf::from(hwmon::DEFAULT_ROOT));
        let probes = hwmon::discover(&root);
        if reads_nothing(&hwmon::read(&probes)) {
            return Err(PluginError::unavailable(format_args!(
                "no temperature or fan sensor readable under {}",
                root.display()
            )));
        }
        Ok(Self { probes })
    }

    #[cfg(not(target_os = "linux"))]
    fn new(config: Config) -> Result<Self, PluginError> {
        if config.root.is_some() {
            return Err(PluginError::config(
                "`root` names a Linux hwmon tree; this system has none",
            ));
        }
        let mut source = components::Source::open()
            .ok_or_else(|| PluginError::unavailable("the system reports no temperature sensor"))?;
        if reads_nothing(&source.read()) {
            return Err(PluginError::unavailable(
                "no temperature sensor gives a reading",
            ));
        }
        Ok(Self { source })
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        #[cfg(target_os = "linux")]
        let sensors = hwmon::read(&self.probes);
        #[cfg(not(target_os = "linux"))]
        let sensors = self.source.read();
        Ok(Output { sensors })
    }
}

declare_collector!(SensorsCollector);

/// Whether a reading holds no sensor at all: the machine has none worth a section.
fn reads_nothing(sensors: &Sensors) -> bool {
    sensors.temperatures.is_empty() && sensors.fans.is_empty()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use monitoring_plugin_api::testing::collector_compliance;
    use monitoring_plugin_api::{ErrorKind, Exported};

    use super::*;

    #[test]
    fn obeys_the_collector_contract_on_a_fake_tree() {
        let root = tempfile::tempdir().expect("temp dir");
        hwmon::fake::coretemp(root.path());
        hwmon::fake::chip(
            root.path(),
            "hwmon5",
            &[("name", "nct6775"), ("fan1_input", "1500")],
        );
        let settings = monitoring_plugin_api::serde_json::json!({ "root": root.path() });
        let sections = collector_compliance(SensorsCollector::root_module(), &settings.to_string())
            .unwrap_or_else(|problem| panic!("sensors broke the contract: {problem}"));
        let sensors: Sensors =
            monitoring_plugin_api::serde_json::from_value(sections["sensors"].clone())
                .expect("the sensors schema");
        let labels: Vec<&str> = sensors
            .temperatures
            .iter()
            .map(|t| t.label.as_str())
            .collect();
        assert_eq!(labels, ["Core 0", "Package id 0"]);
        assert_eq!(sensors.temperatures[1].celsius, 45.0);
        assert_eq!(sensors.temperatures[1].critical, Some(100.0));
        assert_eq!(sensors.fans.len(), 1);
        assert_eq!(sensors.fans[0].rpm, 1500.0);
    }

    #[test]
    fn an_empty_tree_is_unavailable_with_one_reason() {
        let root = tempfile::tempdir().expect("temp dir");
        let error = SensorsCollector::new(Config {
            root: Some(root.path().into()),
        })
        .err()
        .expect("no sensor, no collector");
        assert_eq!(error.kind(), Some(ErrorKind::Unavailable));
        assert_eq!(
            error.message.as_str(),
            format!(
                "no temperature or fan sensor readable under {}",
                root.path().display()
            )
        );
    }

    /// This machine's own sensors: a VM without hwmon must say `unavailable` (and why);
    /// a machine with sensors must pass the contract with real readings.
    #[test]
    fn the_live_machine_has_sensors_or_says_why_not() {
        let live = std::path::Path::new(hwmon::DEFAULT_ROOT);
        if reads_nothing(&hwmon::read(&hwmon::discover(live))) {
            let error = SensorsCollector::new(Config::default())
                .err()
                .expect("no sensor here, so no collector");
            assert_eq!(error.kind(), Some(ErrorKind::Unavailable));
            assert!(
                error.message.as_str().contains("/sys/class/hwmon"),
                "{}",
                error.message
            );
        } else {
            let sections = monitoring_plugin_api::testing::check_collector::<SensorsCollector>();
            assert!(sections["sensors"].is_object());
        }
    }
}
