//! Collector plugin `processes`: the `processes` section — the top N processes by CPU
//! and by resident memory, as `top` would list them.
//!
//! The most expensive collector: it reads every process each call. So it refreshes only
//! what the section shows (CPU time and memory each call; owner and command line once
//! per process, when it is first seen), skips threads, builds the full record only for
//! the few processes shown, and resolves user names from a table refreshed at most once
//! a minute. The host may run it less often than the tick (`interval` in plugins.toml).
//!
//! CPU percent is the change in CPU time between two calls, so `new()` takes the first
//! reading and waits sysinfo's minimum interval once: the first message is real.

mod command;
mod rank;

use std::time::{Duration, Instant};

use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::{percent_of, ProcessInfo, Processes};
use sysinfo::{
    MemoryRefreshKind, Pid, Process, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind,
    Users, MINIMUM_CPU_UPDATE_INTERVAL,
};

/// Upper bound of `top`: a table, not a process list.
const MAX_TOP: usize = 100;
/// Upper bound of `command_max`: Linux caps what it shows of a command line at a page.
const MAX_COMMAND: usize = 4096;
/// How long a user-name table is trusted before an unknown owner may re-read it.
const USERS_REFRESH: Duration = Duration::from_secs(60);

/// Settings of `[plugins.processes]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How many processes each list shows (1–100).
    pub top: usize,
    /// Longest command line shown, in characters (1–4096); a cut ends in `…`.
    pub command_max: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            top: 10,
            command_max: 256,
        }
    }
}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `processes` section.
    pub processes: Processes,
}

/// sysinfo's process table, kept between calls for the CPU deltas.
pub struct ProcessesCollector {
    config: Config,
    system: System,
    /// Physical memory, bytes, read once: the denominator of `memory_percent`.
    total_memory: u64,
    /// `None` where the OS will not list its users: every `user` is then `null`.
    users: Option<Users>,
    users_refreshed: Instant,
}

/// What each call refreshes: CPU and memory always, owner and command line only for
/// processes not seen before, and no threads (Linux lists them as tasks).
fn refresh_kind() -> ProcessRefreshKind {
    ProcessRefreshKind::nothing()
        .without_tasks()
        .with_cpu()
        .with_memory()
        .with_user(UpdateKind::OnlyIfNotSet)
        .with_cmd(UpdateKind::OnlyIfNotSet)
}

impl Collector for ProcessesCollector {
    const NAME: &'static str = "processes";
    const DESCRIPTION: &'static str = "The top processes by CPU and by memory.";
    type Config = Config;
    type Output = Output;

    fn new(config: Config) -> Result<Self, PluginError> {
        if !(1..=MAX_TOP).contains(&config.top) {
            return Err(PluginError::config(format_args!(
                "top = {} is outside 1–{MAX_TOP}",
                config.top
            )));
        }
        if !(1..=MAX_COMMAND).contains(&config.command_max) {
            return Err(PluginError::config(format_args!(
                "command_max = {} is outside 1–{MAX_COMMAND}",
                config.command_max
            )));
        }
        let mut system = System::new().map_err(|e| {
            PluginError::unavailable(format_args!("cannot read the process table: {e}"))
        })?;
        system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        // The first reading of every process's CPU time; the first collect() measures
        // from here, at least sysinfo's minimum interval later.
        system.refresh_processes_specifics(ProcessesToUpdate::All, true, refresh_kind());
        std::thread::sleep(MINIMUM_CPU_UPDATE_INTERVAL);
        Ok(Self {
            total_memory: system.total_memory(),
            users: Users::new_with_refreshed_list().ok(),
            users_refreshed: Instant::now(),
            system,
            config,
        })
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        self.system
            .refresh_processes_specifics(ProcessesToUpdate::All, true, refresh_kind());
        // (pid, cpu %, rss): all that ranking needs, without a string per process.
        let ranked: Vec<(u32, f64, u64)> = self
            .system
            .processes()
            .values()
            .map(|process| {
                (
                    process.pid().as_u32(),
                    f64::from(process.cpu_usage()),
                    process.memory(),
                )
            })
            .collect();
        let total = ranked.len() as u64;
        let top_cpu = rank::top_n(ranked.clone(), self.config.top, rank::by_cpu);
        let top_memory = rank::top_n(ranked, self.config.top, rank::by_memory);
        self.refresh_users_if_unknown(top_cpu.iter().chain(&top_memory));
        Ok(Output {
            processes: Processes {
                total,
                top_cpu: self.describe_all(&top_cpu),
                top_memory: self.describe_all(&top_memory),
            },
        })
    }
}

declare_collector!(ProcessesCollector);

impl ProcessesCollector {
    /// Re-reads the user table when a shown process has an owner it does not know (a
    /// user added since), at most once per [`USERS_REFRESH`].
    fn refresh_users_if_unknown<'a>(&mut self, shown: impl Iterator<Item = &'a (u32, f64, u64)>) {
        let Some(users) = &mut self.users else {
            return;
        };
        if self.users_refreshed.elapsed() < USERS_REFRESH {
            return;
        }
        let processes = self.system.processes();
        let unknown = shown
            .filter_map(|(pid, _, _)| processes.get(&Pid::from_u32(*pid))?.user_id())
            .any(|uid| users.get_user_by_id(uid).is_none());
        if unknown {
            users.refresh();
            self.users_refreshed = Instant::now();
        }
    }

    fn describe_all(&self, ranked: &[(u32, f64, u64)]) -> Vec<ProcessInfo> {
        let processes = self.system.processes();
        ranked
            .iter()
            .filter_map(|(pid, _, _)| processes.get(&Pid::from_u32(*pid)))
            .map(|process| self.describe(process))
            .collect()
    }

    fn describe(&self, process: &Process) -> ProcessInfo {
        let name = process.name().to_string_lossy().into_owned();
        let user = self
            .users
            .as_ref()
            .zip(process.user_id())
            .and_then(|(users, uid)| users.get_user_by_id(uid))
            .map(|user| user.name().to_owned());
        let memory_rss = process.memory();
        ProcessInfo {
            pid: process.pid().as_u32(),
            user,
            cpu_percent: cpu_percent(process.cpu_usage()),
            memory_rss,
            memory_percent: percent_of(memory_rss, self.total_memory)
                .unwrap_or(0.0)
                .min(100.0),
            command: command::command_line(process.cmd(), &name, self.config.command_max),
            name,
        }
    }
}

/// sysinfo's per-process usage (% of one core) to one decimal; never NaN or negative.
fn cpu_percent(usage: f32) -> f64 {
    let value = (f64::from(usage) * 10.0).round() / 10.0;
    if value.is_finite() {
        value.max(0.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
