//! The monitoring server: loads collector and sink plugins, takes a snapshot every tick
//! and streams it to WebSocket clients.
//!
//! # Layout
//! The folders follow the data path, and dependencies run one way along it:
//!
//! ```text
//! config, shutdown, throttle, timestamp   (read by everyone)
//!        │
//! plugins/   alerts/   store/       (stages: files → collectors and sinks; rules → alerts;
//!        │      │       │            snapshots → the history on disk)
//!      pipeline/                    (one snapshot per tick, judged, framed once, published)
//!           │
//!    live/     fleet/               (plugins and config changing while it runs; the NATS
//!      │         │                   bus: publish each frame, a gateway's fleet view)
//!      accept/                      (taking and guarding connections: TLS, admission)
//!         │
//!      surfaces/                    (read-only views: WebSocket, HTTP, API, health, metrics)
//!         │
//!      operator/                    (--check-config, --print-config, logging, readiness)
//! ```
//!
//! A module imports only modules above it: the three stages do not know each other, the
//! pipeline composes them and imports no surface, and nothing imports a surface but
//! [`run`]. Inside a room imports run one way too: no file names one that names it back,
//! however long the chain (a child never imports its parent `mod.rs`; shared items live
//! in a sibling file below both users). A unit test (`layout_rule.rs`) reads every path
//! the code names and enforces both rules.
//!
//! There is no shared server state: [`run`] builds each part's few handles (the frame
//! source, the counters, the access policy, …) and hands every surface only what it
//! reads, as mini-redis hands each connection its `Db` and shutdown listener.
//!
//! - [`config`]: `plugins.toml` (server, monitor, `[alerts]`, each plugin's table and
//!   its host-side delivery keys), with errors that name file, line and key.
//! - [`plugins`]: [`plugins::loader`] finds libraries and checks them through the stable
//!   ABI after [`plugins::probe`] opened them in a child process that may crash in the
//!   server's stead ([`plugins::probe_child`] is that child's side; [`plugins::identity`]
//!   what a plugin says it is), [`plugins::registry`] instantiates them and records what
//!   became of every file, [`plugins::scheduler`] runs collectors with deadlines and
//!   back-off.
//! - [`alerts`]: threshold rules as data ([`alerts::rules`]), their evaluation
//!   ([`alerts::engine`]), run-time threshold changes ([`alerts::control`]), the recent
//!   notifications ([`alerts::log`]) and delivery to sink plugins
//!   ([`alerts::sink_runner`]).
//! - [`store`]: the history on disk: every number of every snapshot as a series by
//!   its path, in three tiers, with events and each minute's top processes; SQLite,
//!   samples compressed with pco, written off the tick's path by its own thread.
//! - [`pipeline`]: the collection loop ([`pipeline::collect`]), the tick's data
//!   ([`pipeline::snapshot`]), the wire messages ([`pipeline::wire`]), the frame every
//!   session shares ([`pipeline::bus`]) and the recent frames ([`pipeline::history`]).
//! - [`fleet`]: the NATS link of `[fleet]`: publishing frames and alerts
//!   ([`fleet::publisher`]), a gateway's subscriptions ([`fleet::gateway`]) and fleet
//!   view ([`fleet::hosts`]) with its per-tick changes ([`fleet::batch`]) and
//!   rate-limited log summaries ([`fleet::digest`]), the connection and its state
//!   ([`fleet::connect`], [`fleet::status`]).
//! - [`accept`]: the accept loop ([`accept::server`]) with TLS ([`accept::tls`]),
//!   connection limits ([`accept::admission`]), JSON bodies for hyper's own answers
//!   ([`accept::parse_errors`]), the write deadline of long replies
//!   ([`accept::write_watch`]) and the server's own resource use
//!   ([`accept::service_memory`]); it takes the routes as an argument and knows no
//!   surface.
//! - [`surfaces`]: routing ([`surfaces::http`]), WebSocket sessions
//!   and the fan-out that writes each tick to every socket ([`surfaces::ws`]), the JSON
//!   API ([`surfaces::api`]), `/health` ([`surfaces::health`]), Prometheus
//!   ([`surfaces::metrics`]) and the dashboard ([`surfaces::dashboard`]).
//! - [`allocator`]: glibc malloc tuned for many long-lived connections (fewer arenas,
//!   freed pages returned).
//! - [`live`]: the plugins folder watched and `plugins.toml` reloaded while the server
//!   runs, turned into changes the collection loop applies between ticks
//!   ([`pipeline::changes`]) and `plugin_event` messages for clients.
//! - [`operator`]: what `main.rs` runs for an operator besides serving: the config
//!   check that loads every plugin as a start would, the effective config as TOML, the
//!   log format, systemd's readiness notification.
//! - [`timestamp`]: the one place a time becomes text (the seed's ISO format).
//! - [`shutdown`]: the server-wide shutdown signal; [`throttle`]: rate-limits repeated
//!   complaints in the log.
//!
//! `main.rs` only parses the command line, binds the port and calls [`run`] with the
//! child-process probe; `host/tests/` drives [`run`] in process on `127.0.0.1:0` (with
//! plugins loaded in process), the black-box tests in `tests/` start the binary. The
//! collection loop (scheduler → alerts → bus, history, sinks) runs on a thread and
//! runtime of its own, so client sessions on the main runtime can never delay a tick.

pub mod accept;
pub mod alerts;
pub mod allocator;
pub mod config;
pub mod fleet;
pub mod live;
pub mod operator;
pub mod pipeline;
pub mod plugins;
pub mod priority;
pub mod shutdown;
pub mod store;
pub mod surfaces;
pub mod throttle;
pub mod timestamp;

#[cfg(test)]
mod layout_rule;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use crate::accept::admission::Admission;
use crate::accept::server;
use crate::accept::service_memory::ServiceMemoryMonitor;
use crate::accept::tls::{ReloadRequests, Tls};
use crate::alerts::lifecycle::{Board, Lifecycle, Policy};
use crate::alerts::silences::{Memory, Silences};
use crate::alerts::sink_runner::{Backoff, SinkRunner, SinkSpec};
use crate::alerts::{AlertControl, AlertLog, EngineState};
use crate::config::Config;
use crate::live::events::PluginEvents;
use crate::live::plugins::{Outcome, Plugins, Started};
use crate::pipeline::bus::Bus;
use crate::pipeline::history::SharedHistory;
use crate::plugins::loader::Loader;
use crate::plugins::probe::Isolation;
use crate::plugins::registry::PluginBoard;
use crate::plugins::scheduler::{Scheduler, Timing};
use crate::shutdown::Shutdown;
use crate::store::{Event, EventKind, Store};
use crate::surfaces::access::Access;
use crate::surfaces::api::ApiSources;
use crate::surfaces::health::HealthSources;
use crate::surfaces::http;
use crate::surfaces::lookback::answer::LookbackSources;
use crate::surfaces::metrics::MetricsSources;
use crate::surfaces::silences::{Grouping, Silencing};
use crate::surfaces::status::StatusSources;
use crate::surfaces::ws::context::SessionContext;
use crate::surfaces::ws::fanout::{self, Fanout, FanoutParts};
use crate::surfaces::ws::limits::Limits;
use crate::surfaces::ws::stats::Stats;

/// How long shutdown waits for clients to take their close frames.
const CLOSE_DEADLINE: Duration = Duration::from_secs(3);

/// Runs the server on `listener` until `shutdown` fires; with TLS configured, each
/// of `reload`'s requests re-reads the certificate and key. `isolation` says how plugin
/// libraries are opened: `main.rs` probes each in a child running its own binary
/// ([`Isolation::ChildProcess`]); in-process tests, whose executable cannot answer a
/// probe, load them straight in ([`Isolation::InProcess`]).
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: Shutdown,
    reload: ReloadRequests,
    isolation: Isolation,
) -> std::io::Result<()> {
    let config = Arc::new(config);
    let tls = match config.tls() {
        Some(files) => Some(Tls::new(files).map_err(std::io::Error::other)?),
        None => None,
    };
    let bound = listener.local_addr()?;
    // First: a folder another server holds stops this one before any plugin loads.
    let store = open_store(&config).await?;
    let (plugins, initial) = load_plugins(Arc::clone(&config), isolation).await?;
    let Started { collectors, sinks } = initial.started;
    if collectors.is_empty() {
        tracing::warn!("No collector is running: clients will receive empty snapshots.");
    }
    let board = PluginBoard::default();
    board.set(initial.records);
    let silences = open_silences(&config, store.as_ref()).await?;
    let alert_board = Board::default();
    let alerting = start_alerting(&config, sinks, silences.clone(), alert_board.clone())?;
    let timing = Timing {
        interval: config.interval(),
        collect_timeout: Duration::from_secs_f64(config.monitor.collect_timeout),
        max_backoff: Duration::from_secs_f64(config.monitor.max_backoff),
    };
    let mut scheduler = Scheduler::start(collectors, timing);
    scheduler.set_providers(config.provider_chains());
    tracing::info!(collectors = ?scheduler.collector_names(), interval_ms = timing.interval.as_millis() as u64, "Collecting.");

    let bus = Bus::new();
    let started = fleet::start(
        &config.fleet,
        timing.interval,
        store.clone(),
        shutdown.clone(),
    )
    .await
    .map_err(std::io::Error::other)?;
    let (fleet, outbox, inbox) = match started {
        Some(started) => (Some(started.fleet), started.outbox, started.inbox),
        None => (None, None, None),
    };
    let history = SharedHistory::new(config.monitor.history_size);
    let memory = ServiceMemoryMonitor::default();
    let sampling = memory.spawn_sampler(shutdown.clone());
    let cadence = pipeline::cadence::Cadence::new(config.monitor.interval);
    let stats = Arc::new(Stats::default());
    let limits = Limits::from_config(&config.server);
    let fanout = Arc::new(Fanout::default());
    fanout::spawn(FanoutParts {
        frames: bus.subscribe(),
        fanout: Arc::clone(&fanout),
        limits,
        stats: Arc::clone(&stats),
        shutdown: shutdown.clone(),
    })?;
    let access = Arc::new(Access::new(&config.access, bound));
    // TLS hook: whether the port speaks TLS (the TLS engineer's `config.tls()`).
    let tls_on = config.tls().is_some();
    if let Some(warning) = access.exposure_warning(bound, tls_on) {
        tracing::warn!(address = %bound, tls = tls_on, "{warning}");
    }
    // The live task first: the sessions' `reload` goes to it.
    let plugin_events = PluginEvents::default();
    let reload_status = live::reload::ReloadStatus::default();
    reload_status.set_libraries_mapped(plugins.libraries_mapped());
    let (changes, change_receiver) = pipeline::changes::channel();
    let live = live::spawn(
        live::LiveParts {
            plugins,
            config: Arc::clone(&config),
            changes,
            board: board.clone(),
            events: plugin_events.clone(),
            status: reload_status.clone(),
            store: store.clone(),
        },
        shutdown.clone(),
    );

    // Each surface gets the handles it reads; HTTP and WebSocket history queries
    // share one set of slots.
    let lookback = LookbackSources::new(store.clone());
    let silencing = Silencing {
        silences: silences.clone(),
        board: alert_board.clone(),
        rules: alerting.control.clone(),
        grouping: Grouping::from_policy(alerting.lifecycle.policy()),
    };
    let status = Arc::new(StatusSources {
        start_time: timestamp::now_iso(),
        started: Instant::now(),
        cadence: cadence.clone(),
        max_clients: limits.max_clients,
        stats: Arc::clone(&stats),
        frames: bus.subscribe(),
        collectors: scheduler.status_board(),
        plugins: board,
        sinks: alerting.sinks.stats(),
        alerts: alerting.control.clone(),
    });
    let api = Arc::new(ApiSources {
        frames: bus.subscribe(),
        history: history.clone(),
        send_timeout: limits.send_timeout,
        alerts: alerting.control.clone(),
        alert_log: alerting.log.clone(),
        fleet: fleet.clone(),
        health: HealthSources {
            status: Arc::clone(&status),
            memory,
            reload: reload_status,
            fleet: fleet.clone(),
            store: store.clone(),
        },
        metrics: MetricsSources {
            status: Arc::clone(&status),
            alert_log: alerting.log.clone(),
            fleet: fleet.clone(),
        },
        lookback: lookback.clone(),
        silencing: silencing.clone(),
    });
    let admission = Admission::new(
        config.server.connection_limits(),
        Duration::from_secs_f64(config.server.send_timeout),
    );
    let sessions = Arc::new(SessionContext {
        limits,
        stats: Arc::clone(&stats),
        access: Arc::clone(&access),
        admission: admission.clone(),
        fanout,
        frames: bus.subscribe(),
        cadence: cadence.clone(),
        status,
        alerts: alerting.control.clone(),
        plugin_events,
        live: Some(live.clone()),
        fleet,
        lookback,
        silencing,
        shutdown: shutdown.clone(),
    });

    let collecting = pipeline::spawn(
        pipeline::Parts {
            scheduler,
            bus,
            alerting,
            history,
            changes: change_receiver,
            cadence,
            outbox,
            inbox,
            store: store.clone(),
        },
        timing.interval,
        shutdown.clone(),
    )?;
    let mut hangups = reload.clone();
    tokio::spawn(async move {
        while hangups.next().await {
            live.reload_in_background();
        }
    });

    let handshake_timeout = Duration::from_secs_f64(config.server.handshake_timeout);
    let routes = http::routes(access, sessions, api);
    let reloading = tls
        .clone()
        .map(|tls| tls.spawn_reloader(reload, shutdown.clone()));
    server::serve(
        listener,
        routes,
        handshake_timeout,
        admission,
        tls,
        shutdown,
    )
    .await;
    if let Some(reloading) = reloading {
        let _ = reloading.await;
    }

    match tokio::task::spawn_blocking(move || collecting.join()).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => {
            tracing::error!(error = %e, "The collection loop could not start its runtime.")
        }
        _ => tracing::error!("The collection loop panicked."),
    }
    let _ = sampling.await;
    if let Some(store) = store {
        store.record_event(Event::now(EventKind::Stop));
        // Writes what is queued; a few milliseconds, on a blocking thread.
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
    }
    wait_for_clients(&stats).await;
    tracing::info!("Server stopped.");
    Ok(())
}

/// Scans the plugins folder and builds what `config` enables, off the runtime
/// (plugin constructors block), the same way as every later rescan.
async fn load_plugins(
    config: Arc<Config>,
    isolation: Isolation,
) -> std::io::Result<(Plugins, Outcome)> {
    let plugins_dir = config.plugins_dir();
    tracing::info!(dir = %plugins_dir.display(), config = %config.display_path(), "Loading plugins.");
    let mut plugins = Plugins::new(Loader::new(isolation)?);
    tokio::task::spawn_blocking(move || {
        let outcome = plugins.reconcile(&plugins_dir, &config);
        (plugins, outcome)
    })
    .await
    .map_err(std::io::Error::other)
}

/// Opens the history store `[history]` asks for (on a blocking thread: it may migrate
/// or set a corrupt file aside) and marks the start on its timeline.
async fn open_store(config: &Config) -> std::io::Result<Option<Store>> {
    let Some(settings) = store::Settings::from_config(config) else {
        tracing::info!("No history is kept on disk ([history] enabled = false).");
        return Ok(None);
    };
    let dir = settings.dir.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(settings))
        .await
        .map_err(std::io::Error::other)?
        .map_err(|e| std::io::Error::other(format!("{}: [history]: {e}", config.display_path())))?;
    tracing::info!(dir = %dir.display(), "Keeping history on disk.");
    store.record_event(Event::now(EventKind::Start));
    Ok(Some(store))
}

/// The silences and acknowledgements kept so far: in the history store's state table,
/// or, with `[history] enabled = false`, in `alerts-state.json` in its folder.
async fn open_silences(config: &Config, store: Option<&Store>) -> std::io::Result<Silences> {
    let memory = match store {
        Some(store) => Memory::Store(Arc::new(store.clone())),
        None => Memory::File(config.history_dir().join("alerts-state.json")),
    };
    let place = memory.place();
    let silences = tokio::task::spawn_blocking(move || Silences::open(memory))
        .await
        .map_err(std::io::Error::other)?
        .map_err(|e| std::io::Error::other(format!("silences: {e}")))?;
    tracing::info!(place = %place, silences = silences.list(chrono::Utc::now()).len(), "Silences loaded.");
    Ok(silences)
}

/// Compiles the alert rules and their notification policy, and starts the sinks'
/// workers.
fn start_alerting(
    config: &Config,
    sinks: Vec<SinkSpec>,
    silences: Silences,
    board: Board,
) -> std::io::Result<pipeline::Alerting> {
    let rules = config
        .alerts
        .compile()
        .map_err(|(_, e)| std::io::Error::other(format!("[alerts]: `{}`: {}", e.key, e.message)))?;
    let policy = Policy::from_config(&config.alerts)
        .map_err(|e| std::io::Error::other(format!("[alerts]: `{}`: {}", e.key, e.message)))?;
    tracing::info!(
        rules = rules.rules.len(),
        routes = policy.routes.len(),
        group_wait_s = policy.group_wait.as_secs_f64(),
        repeat_interval_s = policy.repeat_interval.as_secs_f64(),
        "Alert rules loaded."
    );
    let enabled: Vec<String> = sinks.iter().map(|sink| sink.name.clone()).collect();
    for warning in policy.warnings(&enabled) {
        tracing::warn!("{}: {warning}", config.display_path());
    }
    let host = config.fleet.host();
    let mut lifecycle = Lifecycle::new(policy, silences, board);
    // This server's own tags, for routes and silences on its own alerts too.
    lifecycle.set_tags(&host, &config.fleet.tags);
    Ok(pipeline::Alerting {
        control: AlertControl::new(rules),
        engine: EngineState::for_host(host.clone()),
        host,
        lifecycle,
        public_url: config.server.public_url.clone(),
        sinks: SinkRunner::start(sinks, Backoff::default())?,
        log: AlertLog::default(),
        config_path: config.display_path(),
    })
}

/// Gives clients [`CLOSE_DEADLINE`] to take their close frames.
async fn wait_for_clients(stats: &Stats) {
    let deadline = Instant::now() + CLOSE_DEADLINE;
    while stats.connected.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
