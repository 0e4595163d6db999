//! The `load` section: how many tasks want the processors, next to how many there are.

use serde::{Deserialize, Serialize};

use super::{check_finite, Section};

/// The `load` section (issue 14). A load average is only meaningful against
/// `cpu_count`: 2.0 is idle on 16 logical CPUs and saturated on 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Load {
    /// Load average over the last minute, two decimals.
    pub load1: f64,
    /// Load average over the last five minutes, two decimals.
    pub load5: f64,
    /// Load average over the last fifteen minutes, two decimals.
    pub load15: f64,
    /// Tasks runnable right now (running or waiting for a CPU); 0 where the OS does
    /// not tell (everywhere but Linux).
    pub runnable_tasks: u64,
    /// Tasks (processes and threads) that exist; 0 where the OS does not tell.
    pub total_tasks: u64,
    /// Seconds since boot.
    pub uptime_seconds: u64,
    /// Logical CPUs, to compare the load with.
    pub cpu_count: u64,
}

impl Section for Load {
    const NAME: &'static str = "load";

    fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("load.load1", self.load1),
            ("load.load5", self.load5),
            ("load.load15", self.load15),
        ] {
            check_finite(name, value)?;
            if value < 0.0 {
                return Err(format!("{name} = {value} is negative"));
            }
        }
        if self.runnable_tasks > self.total_tasks {
            return Err(format!(
                "load.runnable_tasks = {} exceeds load.total_tasks = {}",
                self.runnable_tasks, self.total_tasks
            ));
        }
        if self.cpu_count == 0 {
            return Err("load.cpu_count = 0: a machine has at least one CPU".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load() -> Load {
        Load {
            load1: 0.21,
            load5: 0.37,
            load15: 0.39,
            runnable_tasks: 1,
            total_tasks: 719,
            uptime_seconds: 5922,
            cpu_count: 2,
        }
    }

    #[test]
    fn keeps_the_agreed_keys() {
        // Issue 14's schema: Prometheus series, cards and alert paths read these names.
        assert_eq!(
            crate::sections::tests::keys(&load()),
            [
                "cpu_count",
                "load1",
                "load15",
                "load5",
                "runnable_tasks",
                "total_tasks",
                "uptime_seconds"
            ]
        );
    }

    #[test]
    fn validation_refuses_impossible_readings() {
        assert_eq!(load().validate(), Ok(()));
        let nan = Load {
            load5: f64::NAN,
            ..load()
        };
        assert!(nan.validate().is_err_and(|e| e.contains("load.load5")));
        let negative = Load {
            load15: -0.5,
            ..load()
        };
        assert!(negative.validate().is_err());
        let more_runnable = Load {
            runnable_tasks: 720,
            ..load()
        };
        assert!(more_runnable
            .validate()
            .is_err_and(|e| e.contains("runnable_tasks")));
        let no_cpu = Load {
            cpu_count: 0,
            ..load()
        };
        assert!(no_cpu.validate().is_err());
    }

    #[test]
    fn the_contract_check_validates_it() {
        // More runnable tasks than tasks: only the typed check knows.
        let value = serde_json::to_value(Load {
            runnable_tasks: 800,
            ..load()
        })
        .unwrap_or_default();
        let sections = serde_json::json!({ "load": value });
        let sections = sections.as_object().cloned().unwrap_or_default();
        assert!(crate::testing::check_sections(&sections).is_err_and(|e| e.contains("load.")));
    }
}
