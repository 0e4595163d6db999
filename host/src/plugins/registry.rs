//! Turns loaded libraries into running plugin instances, and remembers what happened to
//! every file so `get_status` (and later `/health`) can tell the whole story.
//!
//! Plugins are initialised in parallel, each on its own thread with a deadline, so a
//! plugin whose init hangs is refused instead of holding the server's start hostage.

use std::path::PathBuf;
use std::sync::{mpsc, Arc, PoisonError, RwLock};
use std::time::Duration;

use abi_stable::std_types::RStr;
use monitoring_plugin_api::{CollectorBox, ErrorKind, PluginError, SinkBox};
use serde::Serialize;

use crate::config::Config;
use crate::plugins::identity::Kind;
use crate::plugins::loader::{LoadedLibrary, Refusal, Scan};

/// How long a plugin's init may take before it is refused.
const INIT_DEADLINE: Duration = Duration::from_secs(10);

/// What became of a plugin file, as clients, `/health` and `plugin_event`s name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginState {
    /// Its instance runs.
    Running,
    /// Its table does not enable it.
    Disabled,
    /// It said what it needs is missing on this machine; every rescan tries again.
    Unavailable,
    /// Its file or its init failed a check.
    Refused,
}

/// What became of one plugin file.
#[derive(Debug, Clone, Serialize)]
pub struct PluginRecord {
    /// The plugin's name (the file name for refused files that never told theirs).
    pub name: String,
    /// Collector, sink, or unknown (a refused file that never said).
    pub kind: Kind,
    /// The plugin's version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// The plugin-api version it was built against.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The library file.
    pub path: PathBuf,
    /// Whether it runs, and if not, why not in one word.
    pub state: PluginState,
    /// Why it is not running, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The record of every plugin file as of now, shared by the part that changes it
/// (start-up, then `live`) and the surfaces that show it.
#[derive(Debug, Clone, Default)]
pub struct PluginBoard(Arc<RwLock<Vec<PluginRecord>>>);

impl PluginBoard {
    /// Every file's record, in file-name order.
    pub fn all(&self) -> Vec<PluginRecord> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the records.
    pub fn set(&self, records: Vec<PluginRecord>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = records;
    }
}

/// Running instances plus the record of every file.
#[derive(Default)]
pub struct Registry {
    /// Every plugin file, in the order found.
    pub records: Vec<PluginRecord>,
    /// Running collectors by name.
    pub collectors: Vec<(String, CollectorBox)>,
    /// Running sinks.
    pub sinks: Vec<LoadedSink>,
}

/// A running sink and what it asked of the host.
pub struct LoadedSink {
    /// The plugin's name.
    pub name: String,
    /// The instance.
    pub sink: SinkBox,
    /// Whether it wants a snapshot every tick (`true` for plugins older than the field).
    pub wants_snapshots: bool,
    /// Whether it takes grouped notifications (built against plugin-api 1.2 or later);
    /// older sinks get their alerts one event each.
    pub takes_notifications: bool,
}

/// Whether a plugin built against `api_version` knows the `notification` event: 1.2
/// and later. An unreadable version is taken as older, so it still gets its alerts.
pub fn takes_notifications(api_version: &str) -> bool {
    let mut parts = api_version.split('.').map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= (1, 2),
        _ => false,
    }
}

enum Instance {
    Collector(CollectorBox),
    Sink(SinkBox),
}

impl Registry {
    /// Instantiates what the config enables: collectors unless `enabled = false`, sinks
    /// only with `enabled = true`.
    pub fn build(scan: Scan, config: &Config) -> Self {
        let mut registry = Registry::default();
        for refusal in scan.refused {
            tracing::warn!(path = %refusal.path.display(), reason = %refusal.reason, "Plugin refused.");
            let name = refusal
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            registry.records.push(record(
                name,
                Kind::Unknown,
                &refusal.path,
                PluginState::Refused,
                Some(refusal.reason),
            ));
        }
        let mut pending = Vec::new();
        for library in scan.loaded {
            let table = config.plugin(&library.metadata.name);
            if !library.metadata.kind.runs(table.enabled) {
                tracing::info!(plugin = %library.metadata.name, "Plugin disabled in the config.");
                registry
                    .records
                    .push(library_record(&library, PluginState::Disabled, None));
                continue;
            }
            let Some(module) = library.module else {
                registry.refuse(&library, "its library is not loaded".into());
                continue;
            };
            let (done, result) = mpsc::channel();
            let settings = table.settings_json();
            let kind = library.metadata.kind;
            let spawned = std::thread::Builder::new()
                .name(format!("init-{}", library.metadata.name))
                .spawn(move || {
                    let _ = done.send(instantiate(module, kind, &settings));
                });
            if let Err(e) = spawned {
                let reason = format!("cannot start its init thread: {e}");
                registry.refuse(&library, reason);
                continue;
            }
            pending.push((library, table, result));
        }
        for (library, table, result) in pending {
            match result.recv_timeout(INIT_DEADLINE) {
                Ok(Ok(instance)) => registry.add(&library, instance),
                Ok(Err(error)) => registry.init_failed(&library, &table, config, &error),
                Err(_) => registry.refuse(
                    &library,
                    format!("its init did not return within {INIT_DEADLINE:?}"),
                ),
            }
        }
        registry
    }

    /// The record of `library` in `state`.
    pub fn record_of(
        library: &LoadedLibrary,
        state: PluginState,
        reason: Option<String>,
    ) -> PluginRecord {
        library_record(library, state, reason)
    }

    /// The record of a refused file.
    pub fn refusal_record(refusal: &Refusal) -> PluginRecord {
        let name = refusal
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        record(
            name,
            Kind::Unknown,
            &refusal.path,
            PluginState::Refused,
            Some(refusal.reason.clone()),
        )
    }

    fn add(&mut self, library: &LoadedLibrary, instance: Instance) {
        let name = library.metadata.name.clone();
        tracing::info!(plugin = %name, version = %library.metadata.version, path = %library.path.display(), "Plugin loaded.");
        self.records
            .push(library_record(library, PluginState::Running, None));
        match instance {
            Instance::Collector(collector) => self.collectors.push((name, collector)),
            Instance::Sink(sink) => self.sinks.push(LoadedSink {
                name,
                sink,
                wants_snapshots: library.module.is_some_and(|m| m.wants_snapshots()),
                takes_notifications: takes_notifications(&library.metadata.api_version),
            }),
        }
    }

    fn init_failed(
        &mut self,
        library: &LoadedLibrary,
        table: &crate::config::PluginTable,
        config: &Config,
        error: &PluginError,
    ) {
        match error.kind() {
            Some(ErrorKind::Unavailable) => {
                // The caller logs it at info, once per plugin and reason: a rescan
                // tries the plugin again, and says nothing new.
                tracing::debug!(plugin = %library.metadata.name, reason = %error.message(), "Plugin not available on this machine.");
                self.records.push(library_record(
                    library,
                    PluginState::Unavailable,
                    Some(error.message().to_owned()),
                ));
            }
            Some(ErrorKind::Config) => {
                let line = table.line_for_message(error.message());
                let reason = format!(
                    "{}: line {line}: [plugins.{}]: {}",
                    config.display_path(),
                    library.metadata.name,
                    error.message()
                );
                self.refuse(library, reason);
            }
            _ => self.refuse(library, format!("its init failed: {error}")),
        }
    }

    fn refuse(&mut self, library: &LoadedLibrary, reason: String) {
        tracing::warn!(path = %library.path.display(), reason = %reason, "Plugin refused.");
        self.records
            .push(library_record(library, PluginState::Refused, Some(reason)));
    }
}

fn instantiate(
    module: monitoring_plugin_api::PluginModRef,
    kind: Kind,
    settings: &str,
) -> Result<Instance, PluginError> {
    let settings = RStr::from_str(settings);
    let missing = || PluginError::fatal("the plugin exports no constructor for its kind");
    match kind {
        Kind::Collector => {
            let new = module.new_collector().ok_or_else(missing)?;
            new(settings).into_result().map(Instance::Collector)
        }
        Kind::Sink => {
            let new = module.new_sink().ok_or_else(missing)?;
            new(settings).into_result().map(Instance::Sink)
        }
        Kind::Unknown => Err(missing()),
    }
}

fn library_record(
    library: &LoadedLibrary,
    state: PluginState,
    reason: Option<String>,
) -> PluginRecord {
    PluginRecord {
        version: library.metadata.version.clone(),
        api_version: library.metadata.api_version.clone(),
        ..record(
            library.metadata.name.clone(),
            library.metadata.kind,
            &library.path,
            state,
            reason,
        )
    }
}

fn record(
    name: String,
    kind: Kind,
    path: &std::path::Path,
    state: PluginState,
    reason: Option<String>,
) -> PluginRecord {
    PluginRecord {
        name,
        kind,
        version: String::new(),
        api_version: String::new(),
        path: path.to_owned(),
        state,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_go_to_plugins_of_1_2_and_later() {
        for (version, takes) in [
            ("1.2.0", true),
            ("1.10.3", true),
            ("2.0.0", true),
            ("1.1.0", false),
            ("1.0.0", false),
            ("", false),
            ("one.two", false),
        ] {
            assert_eq!(takes_notifications(version), takes, "{version}");
        }
    }

    #[test]
    fn states_keep_their_wire_words() {
        let states = [
            PluginState::Running,
            PluginState::Disabled,
            PluginState::Unavailable,
            PluginState::Refused,
        ];
        let words = states.map(|s| serde_json::to_string(&s).unwrap_or_default());
        assert_eq!(
            words,
            [
                "\"running\"",
                "\"disabled\"",
                "\"unavailable\"",
                "\"refused\""
            ]
        );
    }
}
