//! A reloaded `plugins.toml` as a difference from the running one: what the collection
//! loop can take now (rules and their notification policy, cadence, history size; plugins are
//! reconciled separately) and what only a restart applies, which is logged as such.
//! An invalid file changes nothing; its error (file, line, key) stays visible in
//! `/health` until a good file is loaded.

use serde::Serialize;
use std::sync::{Arc, PoisonError, RwLock};

use crate::alerts::lifecycle::Policy;
use crate::config::Config;
use crate::pipeline::changes::Change;
use crate::store::Limits;

/// The last reload, for `/health` and the admin's `reload` reply.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReloadState {
    /// Reloads applied since start.
    pub reloads: u64,
    /// Reloads refused since start (the file was invalid).
    pub failures: u64,
    /// When the latest reload was tried, ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<String>,
    /// Whether it was applied.
    pub ok: bool,
    /// The error of the latest reload while the file stays invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the latest applied reload changed, in words.
    pub changed: Vec<String>,
    /// Changed settings that wait for a restart.
    pub needs_restart: Vec<String>,
    /// Plugin libraries mapped into the process: replaced versions stay mapped until
    /// exit (abi_stable never unloads code).
    pub libraries_mapped: usize,
}

/// Shared handle on [`ReloadState`].
#[derive(Debug, Clone)]
pub struct ReloadStatus(Arc<RwLock<ReloadState>>);

impl Default for ReloadStatus {
    fn default() -> Self {
        Self(Arc::new(RwLock::new(ReloadState {
            ok: true,
            ..ReloadState::default()
        })))
    }
}

impl ReloadStatus {
    /// The state now.
    pub fn get(&self) -> ReloadState {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records how many plugin libraries are mapped (at start; later rescans update it).
    pub fn set_libraries_mapped(&self, count: usize) {
        self.update(|s| s.libraries_mapped = count);
    }

    pub(super) fn update(&self, change: impl FnOnce(&mut ReloadState)) {
        change(&mut self.0.write().unwrap_or_else(PoisonError::into_inner));
    }
}

/// The changes the collection loop applies for `new` over `old` (plugins apart), the
/// words describing them, and the settings that need a restart.
pub fn difference(old: &Config, new: &Config) -> Result<Difference, String> {
    let mut diff = Difference::default();
    if format!("{:?}", old.alerts) != format!("{:?}", new.alerts) {
        let rules = new.alerts.compile().map_err(|(_, e)| {
            format!(
                "{}: [alerts]: `{}`: {}",
                new.display_path(),
                e.key,
                e.message
            )
        })?;
        let policy = Policy::from_config(&new.alerts).map_err(|e| {
            format!(
                "{}: [alerts]: `{}`: {}",
                new.display_path(),
                e.key,
                e.message
            )
        })?;
        diff.described.push(format!(
            "alert rules ({} rules, {} routes, repeat every {} s)",
            rules.rules.len(),
            policy.routes.len(),
            policy.repeat_interval.as_secs_f64()
        ));
        diff.changes.push(Change::Rules(rules, policy));
    }
    if old.monitor.interval != new.monitor.interval {
        diff.described.push(format!(
            "monitor.interval {} → {} s",
            old.monitor.interval, new.monitor.interval
        ));
        diff.changes.push(Change::Interval(new.interval()));
    }
    if old.monitor.history_size != new.monitor.history_size {
        diff.described.push(format!(
            "monitor.history_size {} → {}",
            old.monitor.history_size, new.monitor.history_size
        ));
        diff.changes
            .push(Change::HistorySize(new.monitor.history_size));
    }
    let limits = Limits::from_config(&new.history);
    if Limits::from_config(&old.history) != limits {
        diff.described.push("history retention and caps".into());
        diff.changes.push(Change::HistoryLimits(limits));
    }
    if old.provider_chains() != new.provider_chains() {
        diff.described
            .push(format!("providers {:?}", new.provider_chains()));
        diff.changes.push(Change::Providers(new.provider_chains()));
    }
    let restart = [
        (
            "[server]",
            format!("{:?}", old.server) != format!("{:?}", new.server),
        ),
        (
            "[access]",
            format!("{:?}", old.access) != format!("{:?}", new.access),
        ),
        (
            "monitor.plugins_dir",
            old.plugins_dir() != new.plugins_dir(),
        ),
        (
            "history.dir",
            old.history.enabled != new.history.enabled || old.history_dir() != new.history_dir(),
        ),
        (
            "monitor.collect_timeout",
            old.monitor.collect_timeout != new.monitor.collect_timeout,
        ),
        (
            "monitor.max_backoff",
            old.monitor.max_backoff != new.monitor.max_backoff,
        ),
    ];
    diff.needs_restart = restart
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(key, _)| key.to_owned())
        .collect();
    Ok(diff)
}

/// See [`difference`].
#[derive(Default)]
pub struct Difference {
    /// For the collection loop.
    pub changes: Vec<Change>,
    /// In words, for the log and the reply.
    pub described: Vec<String>,
    /// Keys that changed but apply only at the next start.
    pub needs_restart: Vec<String>,
}

/// A reload's result, for the admin who asked.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadOutcome {
    /// Whether the file was applied.
    pub ok: bool,
    /// The file's error, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What changed.
    pub changed: Vec<String>,
    /// What waits for a restart.
    pub needs_restart: Vec<String>,
}
