//! The server changing while it runs: libraries added to, replaced in or removed from
//! the plugins folder ([`watch`]), and `plugins.toml` reloaded on SIGHUP or an admin's
//! `reload` command ([`reload`]), both turned into the same kind of difference
//! ([`plugins`]) and applied by the collection loop between two ticks (see
//! [`crate::pipeline::changes`]). Clients hear of it through `plugin_event` messages
//! ([`events`]); `get_status` and `/health` show the new state.
//!
//! One task does all of it, one request at a time, so a rescan and a reload never
//! race; plugin constructors and file reads run on the blocking pool, a read under a
//! deadline, and shutdown ends the task without waiting for the request in hand.

pub mod events;
pub mod plugins;
pub mod reload;
pub mod watch;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::pipeline::changes::Changes;
use crate::plugins::registry::PluginBoard;
use crate::shutdown::Shutdown;
use crate::store::{Event, EventKind, Store};
use events::PluginEvents;
use plugins::{Outcome, Plugins};
use reload::{ReloadOutcome, ReloadStatus};

/// What the live task works with.
pub struct LiveParts {
    /// The running plugins and their loader.
    pub plugins: Plugins,
    /// The configuration in force.
    pub config: Arc<Config>,
    /// To the collection loop.
    pub changes: Changes,
    /// What `get_status` and `/health` show of every file.
    pub board: PluginBoard,
    /// To every client.
    pub events: PluginEvents,
    /// The last reload, for `/health`.
    pub status: ReloadStatus,
    /// Where plugin events and reloads join the history's timeline.
    pub store: Option<Store>,
}

enum Request {
    Rescan,
    Reload(Option<oneshot::Sender<ReloadOutcome>>),
}

/// Asks the live task for a rescan or a reload.
#[derive(Debug, Clone)]
pub struct LiveHandle(mpsc::UnboundedSender<Request>);

impl LiveHandle {
    /// Rescans the plugins folder.
    pub fn rescan(&self) {
        let _ = self.0.send(Request::Rescan);
    }

    /// Reloads the configuration; the outcome goes to the log and `/health`.
    pub fn reload_in_background(&self) {
        let _ = self.0.send(Request::Reload(None));
    }

    /// Reloads the configuration and says what came of it; `None` if the server is
    /// shutting down.
    pub async fn reload(&self) -> Option<ReloadOutcome> {
        let (tx, rx) = oneshot::channel();
        self.0.send(Request::Reload(Some(tx))).ok()?;
        rx.await.ok()
    }
}

/// Starts the live task and the folder watcher; both end at `shutdown`.
pub fn spawn(parts: LiveParts, shutdown: Shutdown) -> LiveHandle {
    let (tx, requests) = mpsc::unbounded_channel();
    let handle = LiveHandle(tx);
    let dir = parts.config.plugins_dir();
    let rescan = handle.clone();
    tokio::spawn(watch::run(dir, move || rescan.rescan(), shutdown.clone()));
    tokio::spawn(serve(parts, requests, shutdown));
    handle
}

async fn serve(
    parts: LiveParts,
    mut requests: mpsc::UnboundedReceiver<Request>,
    mut shutdown: Shutdown,
) {
    let LiveParts {
        plugins,
        mut config,
        changes,
        board,
        events,
        status,
        store,
    } = parts;
    let out = Out {
        changes,
        board,
        events,
        status,
        store,
    };
    let mut plugins = Some(plugins);
    loop {
        let request = tokio::select! {
            Some(request) = requests.recv() => request,
            () = shutdown.wait() => return,
        };
        let Some(current) = plugins.take() else {
            return;
        };
        let handled = async {
            match request {
                Request::Rescan => reconcile(current, Arc::clone(&config), &out).await,
                Request::Reload(reply) => {
                    let (kept, outcome) = reload(current, &mut config, &out).await;
                    out.record(EventKind::Reload {
                        ok: outcome.ok,
                        message: outcome
                            .error
                            .clone()
                            .unwrap_or_else(|| outcome.changed.join("; ")),
                    });
                    if let Some(reply) = reply {
                        let _ = reply.send(outcome);
                    }
                    kept
                }
            }
        };
        // Shutdown never waits for a rescan or a reload in progress.
        plugins = tokio::select! {
            kept = handled => kept,
            () = shutdown.wait() => return,
        };
        if plugins.is_none() {
            tracing::error!("Plugin reconciliation failed; live changes are off until restart.");
        }
    }
}

/// Where results go.
struct Out {
    changes: Changes,
    board: PluginBoard,
    events: PluginEvents,
    status: ReloadStatus,
    store: Option<Store>,
}

/// Brings the plugins in line with the folder and `config`, and publishes the result.
/// `None` only if the blocking task died (constructors run on their own threads, so
/// a plugin's panic does not get here).
async fn reconcile(mut plugins: Plugins, config: Arc<Config>, out: &Out) -> Option<Plugins> {
    let dir = config.plugins_dir();
    let (plugins, outcome) = tokio::task::spawn_blocking(move || {
        let outcome = plugins.reconcile(&dir, &config);
        (plugins, outcome)
    })
    .await
    .ok()?;
    out.publish(outcome, plugins.libraries_mapped());
    Some(plugins)
}

/// Re-reads the configuration file and applies it as a difference; an invalid file
/// changes nothing.
async fn reload(
    plugins: Plugins,
    config: &mut Arc<Config>,
    out: &Out,
) -> (Option<Plugins>, ReloadOutcome) {
    let attempt = crate::timestamp::now_iso();
    let loaded = match config.source.clone() {
        None => Err("the server runs on built-in defaults: there is no file to reload".to_owned()),
        Some(path) => read(path, config.overrides.clone()).await,
    };
    let diff = loaded.and_then(|new| Ok((reload::difference(config, &new)?, new)));
    let (diff, new) = match diff {
        Ok(done) => done,
        Err(error) => {
            tracing::error!(error = %error, "Configuration reload refused; the running configuration stays.");
            out.status.update(|s| {
                s.failures += 1;
                s.ok = false;
                s.last_attempt = Some(attempt);
                s.error = Some(error.clone());
            });
            let outcome = ReloadOutcome {
                ok: false,
                error: Some(error),
                changed: Vec::new(),
                needs_restart: Vec::new(),
            };
            return (Some(plugins), outcome);
        }
    };
    let mut changed = diff.described;
    for change in diff.changes {
        out.changes.send(change);
    }
    for key in &diff.needs_restart {
        tracing::warn!(key = %key, "Changed in the configuration; takes effect at the next start.");
    }
    *config = Arc::new(new);
    let before: Vec<String> = plugins.running().map(str::to_owned).collect();
    let plugins = reconcile(plugins, Arc::clone(config), out).await;
    if let Some(plugins) = &plugins {
        let after: Vec<String> = plugins.running().map(str::to_owned).collect();
        if before != after {
            changed.push(format!("plugins running: {}", after.join(", ")));
        }
    }
    tracing::info!(changed = ?changed, needs_restart = ?diff.needs_restart, "Configuration reloaded.");
    out.status.update(|s| {
        s.reloads += 1;
        s.ok = true;
        s.last_attempt = Some(attempt);
        s.error = None;
        s.changed = changed.clone();
        s.needs_restart = diff.needs_restart.clone();
    });
    let outcome = ReloadOutcome {
        ok: true,
        error: None,
        changed,
        needs_restart: diff.needs_restart,
    };
    (plugins, outcome)
}

/// How long reading and checking the file may take. A regular file of at most
/// [`crate::config::read::MAX_CONFIG_BYTES`] takes milliseconds; past this the file
/// system itself is stuck (a hung network mount), and the reload is refused rather
/// than holding every later rescan and reload behind it.
const READ_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads and checks the file off the runtime; the error names file, line and key.
async fn read(path: PathBuf, overrides: crate::config::Overrides) -> Result<Config, String> {
    let shown = path.display().to_string();
    let reading = tokio::task::spawn_blocking(move || Config::load(&path));
    let loaded = tokio::time::timeout(READ_DEADLINE, reading).await;
    match loaded {
        Ok(Ok(Ok(mut config))) => {
            config.apply_overrides(overrides);
            Ok(config)
        }
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(e)) => Err(format!("{shown}: cannot read: {e}")),
        Err(_) => Err(format!(
            "{shown}: cannot read: no answer within {} s",
            READ_DEADLINE.as_secs()
        )),
    }
}

impl Out {
    /// Puts `kind` on the history's timeline, now.
    fn record(&self, kind: EventKind) {
        if let Some(store) = &self.store {
            store.record_event(Event {
                host: String::new(),
                time: chrono::Utc::now().timestamp_millis() as f64 / 1000.0,
                end: None,
                kind,
            });
        }
    }

    fn publish(&self, mut outcome: Outcome, libraries_mapped: usize) {
        for change in outcome.take_changes() {
            self.changes.send(change);
        }
        for event in &outcome.events {
            self.events.publish(event);
            if let Ok(detail) = serde_json::to_value(event) {
                self.record(EventKind::Plugin { detail });
            }
        }
        self.board.set(outcome.records);
        self.status
            .update(|s| s.libraries_mapped = libraries_mapped);
    }
}
