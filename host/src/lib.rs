//! The monitoring server: loads collector and sink plugins, takes a snapshot every tick
//! and streams it to WebSocket clients.
//!
//! # Layout
//! - [`config`]: `plugins.toml`, with errors that name file, line and key.
//! - [`loader`]: finds plugin libraries and checks them through the stable ABI.
//! - [`registry`]: instantiates plugins and records what became of every file.
//! - [`scheduler`]: runs collectors off the async runtime, with deadlines and back-off.
//! - [`snapshot`]: the snapshot type and timestamp format.
//! - [`alert`]: threshold rules as data, evaluated on every snapshot.
//! - [`bus`]: serializes each snapshot once and hands it to every session.
//! - [`history`]: the last `history_size` frames (1 h TTL) for `/api/history`.
//! - [`sink_runner`]: feeds alerts and snapshots to sink plugins, one queue and thread
//!   each, with retries, filters and counters.
//! - [`ws`]: the WebSocket upgrade, the wire protocol and client sessions.
//! - [`server`]: the accept loop (handshake deadline, `TCP_NODELAY`).
//! - [`http`] holds the routing and nothing else.
//! - [`api`]: the `/api/*`, `/health` and `/metrics` handlers; [`health`] decides
//!   whether the server is healthy, [`metrics`] writes the Prometheus exposition, and
//!   [`service_memory`] watches the server's own RSS, threads and open files.
//! - [`dashboard`]: the live dashboard page at `/`, its files embedded in the binary.
//! - [`shutdown`]: the server-wide shutdown signal.
//! - [`throttle`]: rate-limits repeated complaints in the log.
//!
//! `main.rs` only parses the command line, binds the port and calls [`run`]; the
//! black-box tests in `tests/` start that binary on `127.0.0.1:0`. The collection loop
//! (scheduler → alerts → bus, history, sinks) runs on a thread and runtime of its own,
//! so client sessions on the main runtime can never delay a tick.

pub mod alert;
pub mod api;
pub mod bus;
pub mod config;
pub mod dashboard;
pub mod health;
pub mod history;
pub mod http;
pub mod loader;
pub mod metrics;
pub mod registry;
pub mod scheduler;
pub mod server;
pub mod service_memory;
pub mod shutdown;
pub mod sink_runner;
pub mod snapshot;
pub mod throttle;
pub mod ws;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use crate::alert::{AlertControl, AlertLog, EngineState};
use crate::bus::Bus;
use crate::config::Config;
use crate::history::SharedHistory;
use crate::registry::Registry;
use crate::scheduler::{Scheduler, Timing};
use crate::service_memory::ServiceMemoryMonitor;
use crate::shutdown::Shutdown;
use crate::sink_runner::{Backoff, SinkRunner};
use crate::ws::{Limits, ServerState, Stats};

/// How long shutdown waits for clients to take their close frames.
const CLOSE_DEADLINE: Duration = Duration::from_secs(3);

/// How long shutdown lets sinks drain their queues and flush.
const SINK_FLUSH_DEADLINE: Duration = Duration::from_secs(5);

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
    let sinks = SinkRunner::start(
        sinks,
        |name| config.plugin(name).delivery,
        Backoff::default(),
    )?;
    let sink_stats = sinks.stats();
    let timing = Timing {
        interval: config.interval(),
        collect_timeout: Duration::from_secs_f64(config.monitor.collect_timeout),
        max_backoff: Duration::from_secs_f64(config.monitor.max_backoff),
    };
    let scheduler = Scheduler::start(collectors, timing)?;
    tracing::info!(collectors = ?scheduler.collector_names(), interval_ms = timing.interval.as_millis() as u64, "Collecting.");

    let bus = Bus::new();
    let history = SharedHistory::new(config.monitor.history_size);
    let alert_log = AlertLog::default();
    let memory = ServiceMemoryMonitor::default();
    let sampling = memory.spawn_sampler(shutdown.clone());
    let state = Arc::new(ServerState {
        start_time: snapshot::now_iso(),
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
    let alerting = Alerting {
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
                .build()?;
            runtime.block_on(collect(
                scheduler,
                bus,
                alerting,
                history,
                timing.interval,
                loop_shutdown,
            ));
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

/// What the collection loop needs to raise alerts.
struct Alerting {
    control: AlertControl,
    engine: EngineState,
    sinks: SinkRunner,
    /// The recent notifications, for `/api/alerts`.
    log: AlertLog,
}

/// The collection loop: one snapshot per tick, evaluated against the alert rules,
/// published to every session, kept in the history and handed to the sinks. At
/// shutdown, the sinks get [`SINK_FLUSH_DEADLINE`] to drain.
async fn collect(
    mut scheduler: Scheduler,
    mut bus: Bus,
    mut alerting: Alerting,
    history: SharedHistory,
    interval: Duration,
    mut shutdown: Shutdown,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shutdown.wait() => break,
        }
        let snapshot = scheduler.tick().await;
        let evaluation = alert::evaluate(
            &alerting.control.rules(),
            &mut alerting.engine,
            &snapshot.data,
            Instant::now(),
            &snapshot.timestamp,
        );
        alerting
            .sinks
            .dispatch(&evaluation.notifications, &snapshot, chrono::Utc::now());
        alerting.control.set_active(evaluation.active.clone());
        alerting.log.record(&evaluation.notifications);
        history.push(bus.publish(snapshot, &evaluation.active));
    }
    let sinks = alerting.sinks;
    let _ = tokio::task::spawn_blocking(move || sinks.shutdown(SINK_FLUSH_DEADLINE)).await;
}
