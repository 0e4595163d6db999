//! Collector plugin `exec`: scripts, Nagios checks and daemons in any language become
//! sections (issue 24).
//!
//! Each `[[plugins.exec.commands]]` table (see [`config`]) gets a worker thread of its
//! own: a `once` command runs every `interval` ([`once`]), a `daemon` is started once
//! and read line by line ([`daemon`]). Workers keep the latest section and status in a
//! [`state::Shared`]; `collect()` only copies them, so the host's tick never waits on a
//! script. The `exec` section reports how every command last ran.
//!
//! Dropping the collector (hot reload, shutdown) kills every command's process group
//! and wakes the workers, which then end: no script outlives its configuration.

pub mod config;
pub mod daemon;
pub mod once;
pub mod state;

use std::sync::mpsc;

use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::scripted::Exec;
use script_formats::process::ProcessSlot;
use serde_json::{Map, Value};

use config::{Config, Mode, Plan};
use state::Shared;

/// A running command, as the collector holds it.
struct Running {
    name: String,
    section: String,
    shared: Shared,
    slot: ProcessSlot,
    /// Dropped with the collector: wakes the worker from its sleep so it ends.
    _stop: mpsc::Sender<()>,
}

/// The `exec` collector.
pub struct ExecCollector {
    commands: Vec<Running>,
}

impl Collector for ExecCollector {
    const NAME: &'static str = "exec";
    const DESCRIPTION: &'static str =
        "Runs scripts, Nagios checks and daemons; their json, prometheus, influx or nagios output becomes sections.";
    type Config = Config;
    type Output = Map<String, Value>;

    fn new(config: Config) -> Result<Self, PluginError> {
        let plans = config::plans(config)?;
        if plans.is_empty() {
            return Err(PluginError::unavailable(
                "no [[plugins.exec.commands]] configured",
            ));
        }
        let mut commands = Vec::with_capacity(plans.len());
        for plan in plans {
            commands.push(start(plan)?);
        }
        Ok(Self { commands })
    }

    fn collect(&mut self) -> Result<Self::Output, PluginError> {
        let mut sections = Map::new();
        let mut exec = Exec::default();
        for command in &self.commands {
            let latest = command.shared.snapshot();
            if let Some(section) = latest.section {
                sections.insert(command.section.clone(), section);
            }
            exec.commands.insert(command.name.clone(), latest.status);
        }
        let exec = serde_json::to_value(exec)
            .map_err(|e| PluginError::fatal(format_args!("cannot encode the exec section: {e}")))?;
        sections.insert("exec".into(), exec);
        Ok(sections)
    }
}

impl Drop for ExecCollector {
    fn drop(&mut self) {
        for command in &self.commands {
            command.slot.stop();
        }
    }
}

/// Starts `plan`'s worker thread.
fn start(plan: Plan) -> Result<Running, PluginError> {
    let shared = Shared::new(&plan);
    let slot = ProcessSlot::new();
    let (stop, stopped) = mpsc::channel();
    let running = Running {
        name: plan.spec.name.clone(),
        section: plan.section.clone(),
        shared: shared.clone(),
        slot: slot.clone(),
        _stop: stop,
    };
    let thread_name = format!("exec-{}", plan.spec.name);
    let spawned = match plan.mode {
        Mode::Once => std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || once::run(plan, shared, slot, stopped)),
        Mode::Daemon => std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || daemon::supervise(plan, shared, slot, stopped)),
    };
    spawned.map_err(|e| {
        PluginError::retryable(format_args!(
            "command `{}`: cannot start its thread: {e}",
            running.name
        ))
    })?;
    Ok(running)
}

declare_collector!(ExecCollector);

#[cfg(test)]
#[path = "lib_tests.rs"]
mod tests;
