//! The `processes` section: the busiest processes by CPU and by memory.

use serde::{Deserialize, Serialize};

use super::{check_finite, check_percent, Section};

/// The `processes` section (issue 14).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Processes {
    /// Processes that exist (threads not counted).
    pub total: u64,
    /// The top N by `cpu_percent`, busiest first.
    pub top_cpu: Vec<ProcessInfo>,
    /// The top N by `memory_rss`, largest first.
    pub top_memory: Vec<ProcessInfo>,
}

/// One process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Short name, as `top` shows it.
    pub name: String,
    /// Owner's user name; `null` when it cannot be resolved.
    pub user: Option<String>,
    /// CPU use since the previous reading, % of one core as `top` counts it: a process
    /// busy on four cores reads 400.
    pub cpu_percent: f64,
    /// Resident memory, bytes.
    pub memory_rss: u64,
    /// `memory_rss` / physical memory, %, one decimal.
    pub memory_percent: f64,
    /// Command line, arguments joined by spaces, cut to the configured length with a
    /// trailing `…`.
    pub command: String,
}

impl Section for Processes {
    const NAME: &'static str = "processes";

    fn validate(&self) -> Result<(), String> {
        for (list, processes) in [("top_cpu", &self.top_cpu), ("top_memory", &self.top_memory)] {
            for (i, process) in processes.iter().enumerate() {
                let path = format!("processes.{list}[{i}]");
                let cpu_path = format!("{path}.cpu_percent");
                check_finite(&cpu_path, process.cpu_percent)?;
                if process.cpu_percent < 0.0 {
                    return Err(format!("{cpu_path} = {} is negative", process.cpu_percent));
                }
                check_percent(&format!("{path}.memory_percent"), process.memory_percent)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(cpu_percent: f64, memory_percent: f64) -> ProcessInfo {
        ProcessInfo {
            pid: 42,
            name: "busy".into(),
            user: None,
            cpu_percent,
            memory_rss: 1,
            memory_percent,
            command: "busy --loop".into(),
        }
    }

    #[test]
    fn keeps_the_agreed_keys() {
        // Issue 14's schema: Prometheus series, cards and alert paths read these names.
        use crate::sections::tests::keys;
        assert_eq!(
            keys(&Processes::default()),
            ["top_cpu", "top_memory", "total"]
        );
        assert_eq!(
            keys(&process(1.0, 1.0)),
            [
                "command",
                "cpu_percent",
                "memory_percent",
                "memory_rss",
                "name",
                "pid",
                "user"
            ]
        );
    }

    #[test]
    fn cpu_may_exceed_one_core_but_memory_is_a_percentage() {
        let section = |p: ProcessInfo| Processes {
            total: 1,
            top_cpu: vec![p.clone()],
            top_memory: vec![p],
        };
        assert_eq!(section(process(180.0, 1.0)).validate(), Ok(()));
        assert!(section(process(-1.0, 1.0))
            .validate()
            .is_err_and(|e| e.contains("processes.top_cpu[0].cpu_percent")));
        assert!(section(process(f64::NAN, 1.0)).validate().is_err());
        assert!(section(process(1.0, 100.5))
            .validate()
            .is_err_and(|e| e.contains("memory_percent")));
    }

    #[test]
    fn the_contract_check_validates_it() {
        // A negative CPU use: only the typed check knows.
        let section = Processes {
            total: 1,
            top_cpu: vec![process(-3.0, 1.0)],
            top_memory: vec![],
        };
        let value = serde_json::to_value(section).unwrap_or_default();
        let sections = serde_json::json!({ "processes": value });
        let sections = sections.as_object().cloned().unwrap_or_default();
        assert!(crate::testing::check_sections(&sections)
            .is_err_and(|e| e.contains("processes.top_cpu[0].cpu_percent")));
    }
}
