//! What a command's worker thread leaves for `collect()`: its latest section and its
//! status. `collect()` only locks and clones, so a tick never waits on a script.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use monitoring_plugin_api::sections::scripted::{CommandStatus, ScriptFormat};
use script_formats::nagios;
use script_formats::process::RunOutcome;
use serde_json::Value;

use crate::config::Plan;

/// One command's latest section and status.
///
/// A `Mutex` (std): held for a clone or an assignment, never across a run or a read.
#[derive(Debug, Clone)]
pub struct Shared(Arc<Mutex<Latest>>);

/// What `collect()` reads.
#[derive(Debug, Clone)]
pub struct Latest {
    /// The section, `None` before the first good run and after a failed one (stale
    /// data would be worse than none). A Nagios check that could not run has an
    /// UNKNOWN section instead.
    pub section: Option<Value>,
    /// How it last ran.
    pub status: CommandStatus,
}

impl Shared {
    /// The state of a command that has not run yet.
    pub fn new(plan: &Plan) -> Self {
        Self(Arc::new(Mutex::new(Latest {
            section: None,
            status: CommandStatus {
                section: plan.section.clone(),
                format: plan.format,
                mode: plan.mode.as_str().to_owned(),
                last_run: None,
                duration_ms: 0.0,
                exit_code: None,
                runs: 0,
                failures: 0,
                restarts: 0,
                error: None,
            },
        })))
    }

    /// A copy for `collect()`.
    pub fn snapshot(&self) -> Latest {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Applies `change` under the lock.
    pub fn update(&self, change: impl FnOnce(&mut Latest)) {
        change(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Records a good reading (a run's or a daemon's).
    pub fn succeeded(&self, section: Value, duration: Duration, exit_code: Option<i32>) {
        self.update(|latest| {
            latest.section = Some(section);
            let status = &mut latest.status;
            status.last_run = Some(now());
            status.duration_ms = millis(duration);
            status.exit_code = exit_code;
            status.runs += 1;
            status.error = None;
        });
    }

    /// Records a failed run: `error` names the command. A Nagios check's section
    /// becomes UNKNOWN with that message; any other is dropped.
    pub fn failed(&self, error: String, duration: Duration, exit_code: Option<i32>) {
        self.update(|latest| {
            latest.section = match latest.status.format {
                ScriptFormat::Nagios => serde_json::to_value(nagios::unknown(&error)).ok(),
                _ => None,
            };
            let status = &mut latest.status;
            status.last_run = Some(now());
            status.duration_ms = millis(duration);
            status.exit_code = exit_code;
            status.runs += 1;
            status.failures += 1;
            status.error = Some(error);
        });
    }
}

/// What a finished `once` run means: its section, or the error naming the command.
pub fn judge(plan: &Plan, outcome: &RunOutcome) -> Result<Value, String> {
    let name = &plan.spec.name;
    if outcome.timed_out {
        return Err(format!(
            "command `{name}` timed out after {} s; its process group was killed",
            plan.timeout.as_secs_f64()
        ));
    }
    if outcome.truncated {
        return Err(format!(
            "command `{name}` printed more than `max_output` ({} bytes); output cut, its process group killed",
            plan.spec.max_output
        ));
    }
    if let Some(signal) = outcome.signal {
        return Err(format!("command `{name}` was killed by signal {signal}"));
    }
    let exit_code = outcome.exit_code;
    if plan.format != ScriptFormat::Nagios && exit_code != Some(0) {
        let stderr = String::from_utf8_lossy(&outcome.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        let first: String = first.chars().take(200).collect();
        return Err(format!(
            "command `{name}` exited with code {}{}{}",
            exit_code.map_or_else(|| "?".into(), |c| c.to_string()),
            if first.is_empty() { "" } else { ": " },
            first
        ));
    }
    let text = std::str::from_utf8(&outcome.stdout).map_err(|e| {
        format!(
            "command `{name}`: its output is not UTF-8 (at byte {})",
            e.valid_up_to()
        )
    })?;
    script_formats::parse(plan.format, text, exit_code)
        .map_err(|e| format!("command `{name}`: {e}"))
}

/// Now, in the seed's timestamp format (local time, microseconds).
pub fn now() -> String {
    chrono::Local::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}
