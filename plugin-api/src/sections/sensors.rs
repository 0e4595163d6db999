//! The `sensors` section: temperatures with their thresholds, and fan speeds.

use serde::{Deserialize, Serialize};

use super::{check_finite, Section};

/// The `sensors` section (issue 14). Both lists are sorted by chip, then label.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sensors {
    /// Every temperature sensor that gave a reading.
    pub temperatures: Vec<Temperature>,
    /// Every fan that gave a reading (none where the OS does not report fans).
    pub fans: Vec<Fan>,
}

/// One temperature sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Temperature {
    /// The chip (driver) it belongs to, e.g. `coretemp`, `k10temp`, `nvme`.
    pub chip: String,
    /// What it measures, e.g. `Package id 0`; the sysfs name (`temp1`) when unlabelled.
    pub label: String,
    /// The reading, °C.
    pub celsius: f64,
    /// The chip's "high" threshold (hwmon's `tempN_max`), °C; `null` when it has none.
    pub high: Option<f64>,
    /// The chip's critical threshold (`tempN_crit`), °C; `null` when it has none.
    pub critical: Option<f64>,
}

/// One fan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fan {
    /// The chip (driver) it belongs to, e.g. `nct6775`.
    pub chip: String,
    /// Its label, or the sysfs name (`fan1`) when unlabelled.
    pub label: String,
    /// Revolutions per minute.
    pub rpm: f64,
}

impl Section for Sensors {
    const NAME: &'static str = "sensors";

    fn validate(&self) -> Result<(), String> {
        for (i, sensor) in self.temperatures.iter().enumerate() {
            let path = format!("sensors.temperatures[{i}]");
            check_finite(&format!("{path}.celsius"), sensor.celsius)?;
            for (name, value) in [("high", sensor.high), ("critical", sensor.critical)] {
                if let Some(value) = value {
                    check_finite(&format!("{path}.{name}"), value)?;
                }
            }
        }
        for (i, fan) in self.fans.iter().enumerate() {
            let path = format!("sensors.fans[{i}].rpm");
            check_finite(&path, fan.rpm)?;
            if fan.rpm < 0.0 {
                return Err(format!("{path} = {} is negative", fan.rpm));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sensors() -> Sensors {
        Sensors {
            temperatures: vec![Temperature {
                chip: "coretemp".into(),
                label: "Package id 0".into(),
                celsius: 45.0,
                high: Some(80.0),
                critical: None,
            }],
            fans: vec![Fan {
                chip: "nct6775".into(),
                label: "fan1".into(),
                rpm: 1200.0,
            }],
        }
    }

    #[test]
    fn keeps_the_agreed_keys() {
        // Issue 14's schema: Prometheus series, cards and alert paths read these names.
        use crate::sections::tests::keys;
        let section = sensors();
        assert_eq!(keys(&section), ["fans", "temperatures"]);
        assert_eq!(
            keys(&section.temperatures[0]),
            ["celsius", "chip", "critical", "high", "label"]
        );
        assert_eq!(keys(&section.fans[0]), ["chip", "label", "rpm"]);
    }

    #[test]
    fn validation_refuses_impossible_readings() {
        assert_eq!(sensors().validate(), Ok(()));
        let mut bad = sensors();
        bad.temperatures[0].critical = Some(f64::INFINITY);
        assert!(bad
            .validate()
            .is_err_and(|e| e.contains("sensors.temperatures[0].critical")));
        let mut bad = sensors();
        bad.fans[0].rpm = -1.0;
        assert!(bad.validate().is_err_and(|e| e.contains("sensors.fans[0]")));
    }

    #[test]
    fn a_missing_threshold_is_null_on_the_wire() {
        let value = serde_json::to_value(sensors()).unwrap_or_default();
        assert!(value["temperatures"][0]["critical"].is_null(), "{value}");
        assert_eq!(value["temperatures"][0]["high"], 80.0);
    }

    #[test]
    fn the_contract_check_validates_it() {
        // A null reading (what NaN becomes in JSON): only the typed check knows.
        let mut value = serde_json::to_value(sensors()).unwrap_or_default();
        value["temperatures"][0]["celsius"] = serde_json::Value::Null;
        let sections = serde_json::json!({ "sensors": value });
        let sections = sections.as_object().cloned().unwrap_or_default();
        assert!(crate::testing::check_sections(&sections).is_err_and(|e| e.contains("sensors")));
    }
}
