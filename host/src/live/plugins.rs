//! The running plugins against the plugins folder and the configuration: what to
//! start, replace and stop so that they match, computed the same way at start-up, when
//! the folder changes and when the configuration is reloaded.
//!
//! A plugin runs when its library is in the folder (the one file [`Loader::scan`] keeps
//! for its name) and its table enables it. It is replaced when its library's content
//! or its table changed, stopped when either says so. A replacement that fails to start,
//! or whose file is refused outright (a truncated copy crashing its probe, another
//! ABI), leaves the running instance alone: a broken upgrade costs a `refused` event
//! naming the version that keeps running, not the plugin. Old instances are dropped; their code stays mapped (abi_stable never
//! unloads a library), which `/health` counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::alerts::sink_runner::SinkSpec;
use crate::config::{Config, PluginTable};
use crate::live::events::{PluginChange, PluginEvent};
use crate::pipeline::changes::Change;
use crate::plugins::identity::Kind;
use crate::plugins::loader::{Loader, Scan};
use crate::plugins::registry::{PluginRecord, PluginState, Registry};
use crate::plugins::scheduler::NewCollector;

/// One running plugin, as it was started.
#[derive(Debug, Clone)]
struct Running {
    hash: String,
    path: PathBuf,
    version: String,
    kind: Kind,
    api_version: String,
    table: String,
    /// When this instance started, ISO 8601, to tell which one keeps running.
    since: String,
}

impl Running {
    /// Whether `other` is the same file content with the same settings.
    fn same_as(&self, other: &Running) -> bool {
        (&self.hash, &self.path, &self.version, &self.table)
            == (&other.hash, &other.path, &other.version, &other.table)
    }

    /// The running version in words, for a refused replacement: version, the start
    /// of its SHA-256 (two builds may share a version) and since when it runs.
    fn described(&self) -> String {
        format!(
            "version {} (sha256 {}, running since {}) keeps running",
            self.version,
            self.hash.get(..16).unwrap_or(&self.hash),
            self.since
        )
    }
}

/// The plugins as they run, and the loader that finds them.
pub struct Plugins {
    loader: Loader,
    running: BTreeMap<String, Running>,
    /// Refusals already announced, so a rescan does not repeat them.
    announced: BTreeMap<PathBuf, String>,
    /// Plugins found unavailable on this machine and the reason logged, so a rescan
    /// retries them (what they need may appear) without logging it again.
    unavailable: BTreeMap<String, String>,
    /// `[plugins.<name>]` tables already warned about (name and line).
    warned_tables: BTreeSet<(String, usize)>,
}

/// What one reconciliation decided. Start-up hands [`Outcome::started`] to the
/// scheduler and the sink runner as they start; a later reconciliation sends the
/// running collection loop [`Outcome::take_changes`].
#[derive(Default)]
pub struct Outcome {
    /// Running plugins to stop: their file left, or their table disabled them.
    pub stopped: Vec<String>,
    /// Plugins started (new, or replacing a running instance of the same name).
    pub started: Started,
    /// For clients.
    pub events: Vec<PluginEvent>,
    /// Every file's record, for `get_status` and `/health`.
    pub records: Vec<PluginRecord>,
}

/// Plugin instances a reconciliation started, ready for the collection loop.
#[derive(Default)]
pub struct Started {
    /// Collectors, in file order, each with its period.
    pub collectors: Vec<NewCollector>,
    /// Sinks, in file order, each with its delivery options.
    pub sinks: Vec<SinkSpec>,
}

impl Outcome {
    /// Takes what the running collection loop applies, as changes in order: stops,
    /// then starts.
    pub fn take_changes(&mut self) -> Vec<Change> {
        let started = std::mem::take(&mut self.started);
        std::mem::take(&mut self.stopped)
            .into_iter()
            .map(Change::Remove)
            .chain(started.collectors.into_iter().map(Change::Collector))
            .chain(started.sinks.into_iter().map(Change::Sink))
            .collect()
    }
}

impl Plugins {
    /// Nothing running yet.
    pub fn new(loader: Loader) -> Self {
        Self {
            loader,
            running: BTreeMap::new(),
            announced: BTreeMap::new(),
            unavailable: BTreeMap::new(),
            warned_tables: BTreeSet::new(),
        }
    }

    /// Libraries mapped into the process so far (each distinct content once).
    pub fn libraries_mapped(&self) -> usize {
        self.loader.libraries_mapped()
    }

    /// Names of the running plugins.
    pub fn running(&self) -> impl Iterator<Item = &str> {
        self.running.keys().map(String::as_str)
    }

    /// Scans `dir` and brings the running plugins in line with it and `config`.
    /// Blocks: plugins' constructors run here (on threads, with a deadline).
    pub fn reconcile(&mut self, dir: &Path, config: &Config) -> Outcome {
        let scan = self.loader.scan(dir);
        let mut outcome = Outcome::default();
        self.announce_refusals(&scan, config, &mut outcome);
        self.warn_unknown_tables(&scan, config, dir);
        let mut records = Vec::new();
        let mut wanted = BTreeSet::new();
        // A running plugin whose file was overwritten by one that is refused (a
        // truncated copy, a wrong ABI, unreadable) keeps running as it is.
        for refusal in &scan.refused {
            if let Some((name, old)) = self.kept_despite(&refusal.path, &scan, config) {
                wanted.insert(name.clone());
                records.push(PluginRecord {
                    name: name.clone(),
                    kind: old.kind,
                    version: old.version.clone(),
                    api_version: old.api_version.clone(),
                    path: old.path.clone(),
                    state: PluginState::Running,
                    reason: Some(format!("its new file was refused: {}", refusal.reason)),
                });
            }
        }
        let mut to_start = Vec::new();
        // What each library to start will be once running, by name.
        let mut starting: BTreeMap<String, Running> = BTreeMap::new();
        for library in scan.loaded {
            let name = library.metadata.name.clone();
            let table = config.plugin(&name);
            if !library.metadata.kind.runs(table.enabled) {
                records.push(Registry::record_of(&library, PluginState::Disabled, None));
                continue;
            }
            wanted.insert(name.clone());
            let wanted_as = Running {
                hash: library.hash.clone(),
                path: library.path.clone(),
                version: library.metadata.version.clone(),
                kind: library.metadata.kind,
                api_version: library.metadata.api_version.clone(),
                table: fingerprint(&table),
                since: crate::timestamp::now_iso(),
            };
            if self
                .running
                .get(&name)
                .is_some_and(|r| r.same_as(&wanted_as))
            {
                records.push(Registry::record_of(&library, PluginState::Running, None));
            } else {
                starting.insert(name, wanted_as);
                to_start.push(library);
            }
        }
        // Stop what is no longer wanted: its file left, or its table disabled it.
        let gone: Vec<String> = self
            .running
            .keys()
            .filter(|name| !wanted.contains(*name))
            .cloned()
            .collect();
        for name in gone {
            let Some(old) = self.running.remove(&name) else {
                continue;
            };
            let reason = if old.path.exists() {
                "disabled in the configuration"
            } else {
                "its file was removed"
            };
            tracing::info!(plugin = %name, path = %old.path.display(), reason, "Plugin stopped.");
            outcome.stopped.push(name.clone());
            outcome.events.push(PluginEvent::new(
                PluginChange::Removed,
                name,
                old.version,
                old.path,
                Some(reason.into()),
            ));
        }
        // Map what is to start (a disabled plugin never is), then start the new and
        // the changed, all at once with the registry's deadline.
        let mut mapped = Vec::with_capacity(to_start.len());
        let mut unmapped = Vec::new();
        for mut library in to_start {
            match self.loader.map(&mut library) {
                Ok(_) => mapped.push(library),
                Err(reason) => {
                    tracing::warn!(path = %library.path.display(), reason = %reason, "Plugin refused.");
                    unmapped.push(Registry::record_of(
                        &library,
                        PluginState::Refused,
                        Some(reason),
                    ));
                }
            }
        }
        let mut built = Registry::build(
            Scan {
                loaded: mapped,
                refused: Vec::new(),
            },
            config,
        );
        built.records.extend(unmapped);
        for record in &built.records {
            if record.state == PluginState::Running {
                records.push(record.clone());
                continue;
            }
            if let Some(old) = self.running.get(&record.name) {
                // A new version or new settings that do not start: keep the old one.
                let reason = format!(
                    "{}; {}",
                    record.reason.as_deref().unwrap_or("it did not start"),
                    old.described()
                );
                tracing::warn!(plugin = %record.name, path = %record.path.display(), reason = %reason, "Replacement refused.");
                outcome.events.push(PluginEvent::new(
                    PluginChange::Refused,
                    record.name.clone(),
                    record.version.clone(),
                    record.path.clone(),
                    Some(reason),
                ));
                if let Some(kept) = self.record_of_running(&record.name, record) {
                    records.push(kept);
                }
                continue;
            }
            if record.state == PluginState::Unavailable {
                self.note_unavailable(record);
            }
            if record.state == PluginState::Refused {
                outcome.events.push(PluginEvent::new(
                    PluginChange::Refused,
                    record.name.clone(),
                    record.version.clone(),
                    record.path.clone(),
                    record.reason.clone(),
                ));
            }
            records.push(record.clone());
        }
        let mut started = Vec::new();
        for (name, collector) in built.collectors {
            let period = config.plugin(&name).interval.map(Duration::from_secs_f64);
            started.push(name.clone());
            outcome.started.collectors.push(NewCollector {
                name,
                collector,
                period,
            });
        }
        for sink in built.sinks {
            started.push(sink.name.clone());
            outcome.started.sinks.push(SinkSpec {
                options: config.plugin(&sink.name).delivery,
                name: sink.name,
                sink: sink.sink,
                wants_snapshots: sink.wants_snapshots,
                takes_notifications: sink.takes_notifications,
            });
        }
        for name in started {
            let Some(running) = starting.remove(&name) else {
                continue;
            };
            let change = if self.running.contains_key(&name) {
                PluginChange::Replaced
            } else {
                PluginChange::Loaded
            };
            outcome.events.push(PluginEvent::new(
                change,
                name.clone(),
                running.version.clone(),
                running.path.clone(),
                None,
            ));
            self.unavailable.remove(&name);
            self.running.insert(name, running);
        }
        records.extend(
            scan.refused
                .into_iter()
                .map(|r| Registry::refusal_record(&r)),
        );
        records.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.name.cmp(&b.name)));
        outcome.records = records;
        outcome
    }

    /// The record of a plugin that keeps running although its new file was refused.
    fn record_of_running(&self, name: &str, refused: &PluginRecord) -> Option<PluginRecord> {
        let old = self.running.get(name)?;
        Some(PluginRecord {
            version: old.version.clone(),
            path: old.path.clone(),
            state: PluginState::Running,
            reason: refused.reason.clone(),
            ..refused.clone()
        })
    }

    /// One WARN line per `[plugins.<name>]` table that names no plugin in the folder:
    /// a typo there silently configures nothing.
    fn warn_unknown_tables(&mut self, scan: &Scan, config: &Config, dir: &Path) {
        let found: BTreeSet<&str> = scan
            .loaded
            .iter()
            .map(|l| l.metadata.name.as_str())
            .collect();
        for (name, table) in &config.plugins {
            if found.contains(name.as_str())
                || !self.warned_tables.insert((name.clone(), table.line))
            {
                continue;
            }
            let hint = found
                .iter()
                .filter(|known| strsim::damerau_levenshtein(name, known) <= 2)
                .min_by_key(|known| strsim::damerau_levenshtein(name, known))
                .map_or_else(String::new, |known| format!("; did you mean `{known}`?"));
            tracing::warn!(
                "{}: line {}: `[plugins.{name}]`: no plugin of this name in {} (found: {}){hint}",
                config.display_path(),
                table.line,
                dir.display(),
                found.iter().copied().collect::<Vec<_>>().join(", ")
            );
        }
    }

    /// Logs a plugin unavailable on this machine once, and again only if the reason
    /// changes; every rescan tries it again in case what it needs appeared.
    fn note_unavailable(&mut self, record: &PluginRecord) {
        let reason = record.reason.clone().unwrap_or_default();
        if self.unavailable.get(&record.name) == Some(&reason) {
            return;
        }
        tracing::info!(plugin = %record.name, reason = %reason, "Plugin not available on this machine.");
        self.unavailable.insert(record.name.clone(), reason);
    }

    /// The running plugin whose file is `path`, now refused, if it keeps running:
    /// still enabled, and no other file of the folder provides its name (a duplicate
    /// that wins takes its place instead).
    fn kept_despite(
        &self,
        path: &Path,
        scan: &Scan,
        config: &Config,
    ) -> Option<(&String, &Running)> {
        let (name, old) = self.running.iter().find(|(_, r)| r.path == path)?;
        let enabled_still = config.plugin(name).enabled != Some(false);
        let provided_elsewhere = scan.loaded.iter().any(|l| l.metadata.name == *name);
        (enabled_still && !provided_elsewhere).then_some((name, old))
    }

    /// Logs and tells clients of each refused file once (again only if its reason
    /// changes). A refused file that replaced a running plugin's says so, and which
    /// version keeps running.
    fn announce_refusals(&mut self, scan: &Scan, config: &Config, outcome: &mut Outcome) {
        let now: BTreeMap<PathBuf, String> = scan
            .refused
            .iter()
            .map(|r| (r.path.clone(), r.reason.clone()))
            .collect();
        for (path, reason) in &now {
            if self.announced.get(path) == Some(reason) {
                continue;
            }
            let (name, reason) = match self.kept_despite(path, scan, config) {
                Some((name, old)) => {
                    let reason = format!("{reason}; {}", old.described());
                    tracing::warn!(plugin = %name, path = %path.display(), reason = %reason, "Replacement refused.");
                    (name.clone(), reason)
                }
                None => {
                    tracing::warn!(path = %path.display(), reason = %reason, "Plugin refused.");
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    (name, reason.clone())
                }
            };
            outcome.events.push(PluginEvent::new(
                PluginChange::Refused,
                name,
                String::new(),
                path.clone(),
                Some(reason),
            ));
        }
        self.announced = now;
    }
}

/// What of a table changes a running plugin: not its lines, only its values.
fn fingerprint(table: &PluginTable) -> String {
    format!(
        "{:?}|{:?}|{}|{}",
        table.enabled,
        table.interval,
        table.settings_json(),
        serde_json::Value::Object(table.host_settings.clone())
    )
}
