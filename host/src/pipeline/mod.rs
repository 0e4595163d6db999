//! One typed snapshot per tick, framed once: the collection loop ([`collect`]) takes
//! each tick's sections from the scheduler, has the alerts stage judge them, publishes
//! the frame to every session ([`bus`]), keeps it ([`history`]) and hands it to the
//! sinks. [`snapshot`] is the tick's data, [`wire`] the messages clients receive.
//!
//! The pipeline composes the two stages upstream of it (plugins, alerts) and imports
//! no surface: WebSocket sessions and HTTP handlers only read what it publishes.

pub mod alert_memory;
pub mod bus;
pub mod cadence;
pub mod changes;
pub mod framed;
pub mod history;
pub mod relay;
pub mod scripts;
pub mod snapshot;
pub mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Local;

use crate::alerts::engine::Tick;
use crate::alerts::lifecycle::{Lifecycle, Receiver};
use crate::alerts::sink_runner::SinkRunner;
use crate::alerts::{self, AlertControl, AlertLog, EngineState};
use crate::plugins::scheduler::Scheduler;
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::timestamp;
use bus::Bus;
use changes::{Change, ChangeReceiver};
use history::SharedHistory;
use relay::{FleetNews, Inbox, Outbox, Outgoing};
use snapshot::Snapshot;

/// How long shutdown lets sinks drain their queues and flush.
const SINK_FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// What the collection loop needs to raise alerts.
pub struct Alerting {
    /// Thresholds as changed at run time, and the active alerts.
    pub control: AlertControl,
    /// Per-rule state between ticks.
    pub engine: EngineState,
    /// This server's name in alerts (`Alert::host`).
    pub host: String,
    /// Routes, grouping, repeats, inhibition, silences: who is told what, when.
    pub lifecycle: Lifecycle,
    /// The dashboard's address for links in notifications, `[server] public_url`.
    pub public_url: Option<String>,
    /// Delivery to the sink plugins.
    pub sinks: SinkRunner,
    /// The recent notifications, for `/api/alerts`.
    pub log: AlertLog,
    /// The config file, for pointing at a rule that matches nothing.
    pub config_path: String,
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
    /// Plugins and settings changed while the server runs.
    pub changes: ChangeReceiver,
    /// The tick length the surfaces read; set when a reload changes it.
    pub cadence: cadence::Cadence,
    /// Where frames and alert events leave for the fleet; `None` without `[fleet]`.
    pub outbox: Option<Outbox>,
    /// Where the fleet's alert events come in for this server's sinks; `None` unless
    /// this server is a fleet gateway.
    pub inbox: Option<Inbox>,
    /// The on-disk history; `None` with `[history] enabled = false`.
    pub store: Option<Store>,
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
        changes: ChangeReceiver(mut changes),
        cadence,
        outbox,
        mut inbox,
        store,
    } = parts;
    let mut ticker = ticker(interval);
    // Rules are checked against the first complete snapshot (and again after a reload).
    let mut rules_to_check = true;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            Some(change) = changes.recv() => {
                rules_to_check |= matches!(change, Change::Rules(..));
                let mut parts = Running { scheduler: &mut scheduler, alerting: &mut alerting, history: &history, store: store.as_ref(), ticker: &mut ticker, cadence: &cadence };
                parts.apply(change);
                continue;
            }
            () = shutdown.wait() => break,
        }
        let asked_at = Local::now();
        let snapshot = Snapshot::taken(asked_at, scheduler.tick().await);
        let timestamp = timestamp::iso(&snapshot.taken_at);
        let tick = Tick {
            now: Instant::now(),
            wall: snapshot.taken_at.with_timezone(&chrono::Utc),
            timestamp: &timestamp,
        };
        let evaluation = alerts::evaluate(
            &alerting.control.rules(),
            &mut alerting.engine,
            &snapshot.data,
            tick,
        );
        alerting.control.set_active(evaluation.active.clone());
        if rules_to_check && scheduler.all_answered() {
            rules_to_check = false;
            warn_unmatched_rules(&alerting, &snapshot.data);
        }
        // Clients first: the frame is out before any sink sees the tick.
        let frame = bus.publish(snapshot, timestamp.clone(), &evaluation.active);
        history.push(&frame);
        if let Some(store) = &store {
            let at_ms = frame.snapshot.taken_at.timestamp_millis();
            store.record("", at_ms, &frame.snapshot.data, &evaluation.active);
        }
        let changes = evaluation.notifications;
        if let Some(outbox) = &outbox {
            outbox.offer(Outgoing::Frame(Arc::clone(&frame)));
            if !changes.is_empty() {
                outbox.offer(Outgoing::Alerts(Arc::from(changes.clone())));
            }
        }
        let news = inbox.as_mut().map(Inbox::drain).unwrap_or_default();
        let notifications = alerting.notify(&evaluation.active, news, tick);
        let snapshot_event = alerting
            .sinks
            .wants_snapshots()
            .then(|| Arc::<str>::from(frame.sink_event()));
        alerting.sinks.dispatch(&notifications, snapshot_event);
        alerting.log.record(&changes);
    }
    let sinks = alerting.sinks;
    let _ = tokio::task::spawn_blocking(move || sinks.shutdown(SINK_FLUSH_DEADLINE)).await;
}

impl Alerting {
    /// Hands this tick's alerts (this server's `active`, the fleet's `news`) to the
    /// lifecycle and returns the notifications due for the sinks.
    fn notify(
        &mut self,
        active: &[monitoring_plugin_api::Alert],
        news: Vec<FleetNews>,
        tick: Tick<'_>,
    ) -> Vec<monitoring_plugin_api::Notification> {
        let lifecycle = &mut self.lifecycle;
        lifecycle.sync(&self.host, active, tick.now, tick.wall);
        for item in news {
            match item {
                FleetNews::Alerts { host, tags, active } => {
                    lifecycle.set_tags(&host, &tags);
                    lifecycle.sync(&host, &active, tick.now, tick.wall);
                }
                FleetNews::Down { host, down } => {
                    lifecycle.host_state(&host, down, tick.now, tick.wall);
                }
                FleetNews::Forgotten { host } => lifecycle.forget_host(&host, tick.now, tick.wall),
            }
        }
        let filters: Vec<_> = self
            .sinks
            .receivers()
            .map(|(name, options)| {
                let accepts =
                    move |alert: &monitoring_plugin_api::Alert| options.accepts(alert, tick.wall);
                (name, accepts)
            })
            .collect();
        let receivers: Vec<Receiver<'_>> = filters
            .iter()
            .map(|(name, accepts)| Receiver { name, accepts })
            .collect();
        lifecycle.flush(tick.now, tick.wall, &receivers, self.public_url.as_deref())
    }
}

/// One WARN line per rule of the file that selects no number in a complete snapshot:
/// a typo in its metric, or a metric this machine does not have.
fn warn_unmatched_rules(alerting: &Alerting, data: &monitoring_plugin_api::Sections) {
    let rules = alerting.control.rules();
    for (index, rule) in rules.unmatched(data) {
        let sections: Vec<&str> = data.keys().map(String::as_str).collect();
        tracing::warn!(
            "{}: line {}: `alerts.rules[{index}].metric`: `{}` matches no number in the snapshot \
             (sections: {}); this rule cannot fire",
            alerting.config_path,
            rule.line,
            rule.path,
            sections.join(", ")
        );
    }
}

fn ticker(interval: Duration) -> tokio::time::Interval {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    ticker
}

/// What a [`Change`] may touch, borrowed from the loop between two ticks.
struct Running<'a> {
    scheduler: &'a mut Scheduler,
    alerting: &'a mut Alerting,
    history: &'a SharedHistory,
    store: Option<&'a Store>,
    ticker: &'a mut tokio::time::Interval,
    cadence: &'a cadence::Cadence,
}

impl Running<'_> {
    fn apply(&mut self, change: Change) {
        match change {
            Change::Collector(new) => self.scheduler.insert(new),
            Change::Sink(spec) => {
                let name = spec.name.clone();
                if let Err(e) = self.alerting.sinks.add(spec) {
                    tracing::error!(sink = %name, error = %e, "Cannot start the sink's worker.");
                }
            }
            Change::Remove(name) => {
                let collector = self.scheduler.remove(&name);
                let sink = self
                    .alerting
                    .sinks
                    .remove(&name, alerts::sink_runner::RETIRE_GRACE);
                if !collector && !sink {
                    tracing::debug!(plugin = %name, "Nothing running under that name to stop.");
                }
            }
            Change::Rules(rules, policy) => {
                self.alerting.lifecycle.set_policy(policy);
                let same_rules = {
                    let old = self.alerting.control.rules();
                    old.rules.len() == rules.rules.len()
                        && old
                            .rules
                            .iter()
                            .zip(&rules.rules)
                            .all(|(a, b)| a.path == b.path)
                };
                if !same_rules {
                    // Rule indices name engine state: other rules start afresh.
                    self.alerting.engine.reset();
                }
                self.alerting.control.replace(rules);
            }
            Change::Interval(interval) => {
                self.scheduler.set_interval(interval);
                *self.ticker = ticker(interval);
                self.ticker.reset();
                self.cadence.set(interval);
            }
            Change::HistorySize(size) => self.history.with(|h| h.set_capacity(size)),
            Change::HistoryLimits(limits) => {
                if let Some(store) = self.store {
                    store.set_limits(limits);
                }
            }
            Change::Providers(chains) => self.scheduler.set_providers(chains),
        }
    }
}
