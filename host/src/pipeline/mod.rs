//! One typed snapshot per tick, framed once: the collection loop ([`collect`]) takes
//! each tick's sections from the scheduler, has the alerts stage judge them, publishes
//! the frame to every session ([`bus`]), keeps it ([`history`]) and hands it to the
//! sinks. [`snapshot`] is the tick's data, [`wire`] the messages clients receive.
//!
//! The pipeline composes the two stages upstream of it (plugins, alerts) and imports
//! no surface: WebSocket sessions and HTTP handlers only read what it publishes.

pub mod bus;
pub mod framed;
pub mod history;
pub mod snapshot;
pub mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::alerts::sink_runner::SinkRunner;
use crate::alerts::{self, AlertControl, AlertLog, EngineState};
use crate::plugins::scheduler::Scheduler;
use crate::shutdown::Shutdown;
use crate::timestamp;
use bus::Bus;
use history::SharedHistory;
use snapshot::Snapshot;

/// How long shutdown lets sinks drain their queues and flush.
const SINK_FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// What the collection loop needs to raise alerts.
pub struct Alerting {
    /// Thresholds as changed at run time, and the active alerts.
    pub control: AlertControl,
    /// Per-rule state between ticks.
    pub engine: EngineState,
    /// Delivery to the sink plugins.
    pub sinks: SinkRunner,
    /// The recent notifications, for `/api/alerts`.
    pub log: AlertLog,
}

/// What the collection loop owns.
pub struct Parts {
    /// The collectors.
    pub scheduler: Scheduler,
    /// Where frames are published.
    pub bus: Bus,
    /// Rules, engine state, sinks and the alert log.
    pub alerting: Alerting,
    /// The recent frames.
    pub history: SharedHistory,
}

/// Starts the collection loop on a thread and a runtime of its own: thousands of
/// client sessions on the main runtime must never delay a tick. The thread ends after
/// `shutdown`, once the sinks have drained.
pub fn spawn(
    parts: Parts,
    interval: Duration,
    shutdown: Shutdown,
) -> std::io::Result<std::thread::JoinHandle<std::io::Result<()>>> {
    std::thread::Builder::new()
        .name("monitor-loop".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name("collector")
                .build()?;
            runtime.block_on(collect(parts, interval, shutdown));
            // A collector that never returned still holds a pool thread; dropping the
            // runtime would wait for it forever.
            runtime.shutdown_background();
            Ok(())
        })
}

/// The collection loop: one snapshot per tick, evaluated against the alert rules,
/// published to every session, kept in the history and handed to the sinks. At
/// shutdown, the sinks get [`SINK_FLUSH_DEADLINE`] to drain.
pub async fn collect(parts: Parts, interval: Duration, mut shutdown: Shutdown) {
    let Parts {
        mut scheduler,
        mut bus,
        mut alerting,
        history,
    } = parts;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shutdown.wait() => break,
        }
        let snapshot = Snapshot::now(scheduler.tick().await);
        let timestamp = timestamp::iso(&snapshot.taken_at);
        let evaluation = alerts::evaluate(
            &alerting.control.rules(),
            &mut alerting.engine,
            &snapshot.data,
            Instant::now(),
            &timestamp,
        );
        alerting.control.set_active(evaluation.active.clone());
        // Clients first: the frame is out before any sink sees the tick.
        let frame = bus.publish(snapshot, timestamp, &evaluation.active);
        history.push(Arc::clone(&frame));
        let snapshot_event = alerting
            .sinks
            .wants_snapshots()
            .then(|| Arc::<str>::from(frame.sink_event()));
        alerting.sinks.dispatch(
            &evaluation.notifications,
            snapshot_event,
            chrono::Utc::now(),
        );
        alerting.log.record(&evaluation.notifications);
    }
    let sinks = alerting.sinks;
    let _ = tokio::task::spawn_blocking(move || sinks.shutdown(SINK_FLUSH_DEADLINE)).await;
}
