//! `--check-config`: what a start would refuse, found without starting.
//!
//! The file itself is checked by [`Config::load`] (its errors name file, line and key);
//! this loads the plugin folder the way a start does (each library first opened in a
//! child process) and creates every enabled plugin with its table, so a plugin that
//! rejects a setting is reported with the line of that setting. Plugins unavailable on
//! this machine (no GPU) are not errors: the server runs without them and retries.

use crate::config::Config;
use crate::live::plugins::Plugins;
use crate::plugins::loader::Loader;
use crate::plugins::probe::Isolation;
use crate::plugins::registry::{PluginRecord, PluginState};

/// What the check found: each plugin file's record, and the refusals among them.
pub struct Report {
    /// Every plugin file in the folder and what became of it.
    pub records: Vec<PluginRecord>,
}

impl Report {
    /// The plugins a start would refuse, each with its reason.
    pub fn refused(&self) -> impl Iterator<Item = &PluginRecord> {
        self.records
            .iter()
            .filter(|r| r.state == PluginState::Refused)
    }

    /// One line per plugin file: name, state and why when it does not run.
    pub fn lines(&self) -> Vec<String> {
        self.records
            .iter()
            .map(|r| {
                let state = serde_json::to_value(r.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                match &r.reason {
                    Some(reason) => format!("{}: {state}: {reason}", r.name),
                    None => format!("{}: {state}", r.name),
                }
            })
            .collect()
    }
}

/// Loads and creates every plugin of `config`'s folder, then drops them all.
pub fn plugins(config: &Config, isolation: Isolation) -> std::io::Result<Report> {
    let mut plugins = Plugins::new(Loader::new(isolation)?);
    let outcome = plugins.reconcile(&config.plugins_dir(), config);
    Ok(Report {
        records: outcome.records,
    })
}
