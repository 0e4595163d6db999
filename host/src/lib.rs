//! The monitoring server: loads collector and sink plugins, takes a snapshot every tick
//! and streams it to WebSocket clients.
//!
//! # Layout
//! The folders follow the data path, and dependencies run one way along it:
//!
//! ```text
//! config, shutdown, throttle, timestamp   (read by everyone)
//!        │
//! plugins/   alerts/                (stages: files → collectors and sinks; rules → alerts)
//!        │      │
//!      pipeline/                    (one snapshot per tick, judged, framed once, published)
//!           │
//!      surfaces/                    (read-only views: WebSocket, HTTP, API, health, metrics)
//! ```
//!
//! A module imports only modules above it: the two stages do not know each other, the
//! pipeline composes them and imports no surface, and nothing imports a surface but
//! [`run`]. A test in `tests/` (`layout_rule`) reads the `use` lines and enforces it.
//!
//! - [`config`]: `plugins.toml` (server, monitor, `[alerts]`, each plugin's table and
//!   its host-side delivery keys), with errors that name file, line and key.
//! - [`plugins`]: [`plugins::loader`] finds libraries and checks them through the stable
//!   ABI, [`plugins::registry`] instantiates them and records what became of every
//!   file, [`plugins::scheduler`] runs collectors with deadlines and back-off.
//! - [`alerts`]: threshold rules as data ([`alerts::rules`]), their evaluation
//!   ([`alerts::engine`]), run-time threshold changes ([`alerts::control`]), the recent
//!   notifications ([`alerts::log`]) and delivery to sink plugins
//!   ([`alerts::sink_runner`]).
//! - [`pipeline`]: the collection loop ([`pipeline::collect`]), the tick's data
//!   ([`pipeline::snapshot`]), the wire messages ([`pipeline::wire`]), the frame every
//!   session shares ([`pipeline::bus`]) and the recent frames ([`pipeline::history`]).
//! - [`surfaces`]: the shared read-only [`surfaces::state`], the accept loop
//!   ([`surfaces::server`]), routing ([`surfaces::http`]), WebSocket sessions
//!   ([`surfaces::ws`]), the JSON API ([`surfaces::api`]), `/health`
//!   ([`surfaces::health`]), Prometheus ([`surfaces::metrics`]), the dashboard
//!   ([`surfaces::dashboard`]) and the server's own resource use
//!   ([`surfaces::service_memory`]).
//! - [`timestamp`]: the one place a time becomes text (the seed's ISO format).
//! - [`shutdown`]: the server-wide shutdown signal; [`throttle`]: rate-limits repeated
//!   complaints in the log.
//!
//! `main.rs` only parses the command line, binds the port and calls [`run`]; the
//! black-box tests in `tests/` start that binary on `127.0.0.1:0`. The collection loop
//! (scheduler → alerts → bus, history, sinks) runs on a thread and runtime of its own,
//! so client sessions on the main runtime can never delay a tick.

pub mod alerts;
pub mod config;
pub mod pipeline;
pub mod plugins;
pub mod shutdown;
pub mod surfaces;
pub mod throttle;
pub mod timestamp;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use crate::alerts::sink_runner::{Backoff, SinkRunner, SinkSpec};
use crate::alerts::{AlertControl, AlertLog, EngineState};
use crate::config::Config;
use crate::pipeline::bus::Bus;
use crate::pipeline::history::SharedHistory;
use crate::plugins::loader;
use crate::plugins::registry::Registry;
use crate::plugins::scheduler::{Scheduler, Timing};
use crate::shutdown::Shutdown;
use crate::surfaces::service_memory::ServiceMemoryMonitor;
use crate::surfaces::state::{Limits, ServerState, Stats};
use crate::surfaces::{http, server};

/// How long shutdown waits for clients to take their close frames.
const CLOSE_DEADLINE: Duration = Duration::from_secs(3);

/// Runs the server on `listener` until `shutdown` fires.
pub async fn run(config: Config, listener: TcpListener, shutdown: Shutdown) -> std::io::Result<()> {
    let plugins_dir = config.plugins_dir();
    tracing::info!(dir = %plugins_dir.display(), config = %config.display_path(), "Loading plugins.");
    let config = Arc::new(config);
    let registry = {
        let config = Arc::clone(&config);
        tokio::task::spawn_blocking(move || Registry::build(loader::scan(&plugins_dir), &config))
            .await
            .map_err(std::io::Error::other)?
    };
    let Registry {
        records,
        collectors,
        sinks,
    } = registry;
    if collectors.is_empty() {
        tracing::warn!("No collector is running: clients will receive empty snapshots.");
    }
    let rules = config
        .alerts
        .compile()
        .map_err(|(_, e)| std::io::Error::other(format!("[alerts]: `{}`: {}", e.key, e.message)))?;
    tracing::info!(
        rules = rules.rules.len(),
        cooldown_s = rules.cooldown.as_secs_f64(),
        "Alert rules loaded."
    );
    let alerts = AlertControl::new(rules);
    let sinks = sinks
        .into_iter()
        .map(|loaded| SinkSpec {
            options: config.plugin(&loaded.name).delivery,
            name: loaded.name,
            sink: loaded.sink,
            wants_snapshots: loaded.wants_snapshots,
        })
        .collect();
    let sinks = SinkRunner::start(sinks, Backoff::default())?;
    let sink_stats = sinks.stats();
    let timing = Timing {
        interval: config.interval(),
        collect_timeout: Duration::from_secs_f64(config.monitor.collect_timeout),
        max_backoff: Duration::from_secs_f64(config.monitor.max_backoff),
    };
    let scheduler = Scheduler::start(collectors, timing);
    tracing::info!(collectors = ?scheduler.collector_names(), interval_ms = timing.interval.as_millis() as u64, "Collecting.");

    let bus = Bus::new();
    let history = SharedHistory::new(config.monitor.history_size);
    let alert_log = AlertLog::default();
    let memory = ServiceMemoryMonitor::default();
    let sampling = memory.spawn_sampler(shutdown.clone());
    let state = Arc::new(ServerState {
        start_time: timestamp::now_iso(),
        started: Instant::now(),
        monitor_interval: config.monitor.interval,
        limits: Limits::from_config(&config.server),
        stats: Stats::default(),
        plugins: records,
        alerts: alerts.clone(),
        sinks: sink_stats,
        frames: bus.subscribe(),
        history: history.clone(),
        alert_log: alert_log.clone(),
        collectors: scheduler.status_board(),
        memory,
        shutdown: shutdown.clone(),
    });
    let alerting = pipeline::Alerting {
        control: alerts.clone(),
        engine: EngineState::default(),
        sinks,
        log: alert_log,
    };
    // The collection loop gets a thread and a runtime of its own: thousands of client
    // sessions on the main runtime must never delay a tick.
    let loop_shutdown = shutdown.clone();
    let collecting = std::thread::Builder::new()
        .name("monitor-loop".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name("collector")
                .build()?;
            runtime.block_on(pipeline::collect(
                scheduler,
                bus,
                alerting,
                history,
                timing.interval,
                loop_shutdown,
            ));
            // A collector that never returned still holds a pool thread; dropping the
            // runtime would wait for it forever.
            runtime.shutdown_background();
            Ok::<(), std::io::Error>(())
        })?;

    let handshake_timeout = Duration::from_secs_f64(config.server.handshake_timeout);
    server::serve(
        listener,
        http::routes(Arc::clone(&state)),
        handshake_timeout,
        shutdown.clone(),
    )
    .await;

    match tokio::task::spawn_blocking(move || collecting.join()).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => {
            tracing::error!(error = %e, "The collection loop could not start its runtime.")
        }
        _ => tracing::error!("The collection loop panicked."),
    }
    let _ = sampling.await;
    let deadline = Instant::now() + CLOSE_DEADLINE;
    while state.connected_clients() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracing::info!("Server stopped.");
    Ok(())
}
