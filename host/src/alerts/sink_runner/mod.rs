//! Delivery to sink plugins: one bounded queue and one OS thread per sink, so a slow,
//! failing or hung sink never delays the tick, broadcasting or the other sinks.
//!
//! Policy is the host's (the plugin makes one attempt per `deliver`): retryable
//! failures are retried with exponential back-off, honouring `retry_after_ms`; other
//! failures are not. When a queue is full the oldest alert is dropped and counted, so
//! the newest news gets through, and a warning says so (at most once a minute per
//! sink). Per sink the host counts handled, failed, retried and dropped alerts (the
//! seed's handler statistics), shown by `get_status`.
//!
//! Snapshots do not queue behind alerts or push them out: each sink has a one-snapshot
//! slot that the next tick overwrites, as WebSocket clients skip to the newest frame.
//! Alerts go first; a snapshot is delivered when the sink is idle. Snapshots are not
//! retried, since the next one supersedes them.

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use monitoring_plugin_api::{Notification, SinkBox, SinkEvent};

pub use crate::config::delivery::{ActiveHours, DeliveryOptions, HOST_KEYS};

mod queue;
mod worker;

use queue::{bump, Counters, Shared};
pub use queue::{SinkStats, SinkStatus};
use worker::work;
pub use worker::Backoff;

use crate::throttle::Throttle;

/// At most one "queue full" warning per sink per this long; the rest are counted.
const DROP_WARNING_EVERY: Duration = Duration::from_secs(60);
/// How long a sink removed or replaced at run time may take to deliver its queue.
pub const RETIRE_GRACE: Duration = Duration::from_secs(5);

/// A sink to start: the plugin instance and what the host delivers to it.
pub struct SinkSpec {
    /// The plugin's name.
    pub name: String,
    /// The instance.
    pub sink: SinkBox,
    /// Its filters, queue and retries, from its `[plugins.<name>]` table.
    pub options: DeliveryOptions,
    /// Whether it asked for a snapshot every tick (exporters do; notifiers do not, and
    /// are spared parsing one twice a second).
    pub wants_snapshots: bool,
    /// Whether it takes grouped notifications (plugin-api 1.2 and later); older sinks
    /// get each alert of a notification as its own event.
    pub takes_notifications: bool,
}

struct Worker {
    shared: Arc<Shared>,
    options: DeliveryOptions,
    wants_snapshots: bool,
    takes_notifications: bool,
    /// Reported by the worker thread when it has finished.
    done: mpsc::Receiver<()>,
}

/// The running sinks.
pub struct SinkRunner {
    workers: Vec<Worker>,
    stats: SinkStats,
    backoff: Backoff,
    /// Sinks removed at run time, still draining their queues.
    retiring: Vec<Worker>,
}

impl SinkRunner {
    /// Starts one worker thread per sink, with its options (filters, queue, retries).
    pub fn start(sinks: Vec<SinkSpec>, backoff: Backoff) -> std::io::Result<Self> {
        let mut runner = Self {
            workers: Vec::with_capacity(sinks.len()),
            stats: SinkStats::default(),
            backoff,
            retiring: Vec::new(),
        };
        for spec in sinks {
            runner.add(spec)?;
        }
        Ok(runner)
    }

    /// Starts `spec`'s worker; a running sink of the same name is retired first (its
    /// queue drains to the old instance, new alerts go to the new one).
    pub fn add(&mut self, spec: SinkSpec) -> std::io::Result<()> {
        self.remove(&spec.name, RETIRE_GRACE);
        let SinkSpec {
            name,
            sink,
            options,
            wants_snapshots,
            takes_notifications,
        } = spec;
        let shared = Arc::new(Shared {
            name: name.clone(),
            capacity: options.queue_size,
            queue: Mutex::default(),
            ready: Condvar::new(),
            counters: Counters::default(),
        });
        let worker_shared = Arc::clone(&shared);
        let max_retries = options.max_retries;
        let backoff = self.backoff;
        let (done_tx, done) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("sink-{name}"))
            .spawn(move || {
                let span = tracing::info_span!("sink", plugin = %worker_shared.name);
                let _entered = span.enter();
                work(&worker_shared, sink, max_retries, backoff);
                let _ = done_tx.send(());
            })?;
        self.workers.push(Worker {
            shared,
            options,
            wants_snapshots,
            takes_notifications,
            done,
        });
        self.publish_stats();
        Ok(())
    }

    /// Stops the sink named `name`: it gets `grace` to deliver what it has queued,
    /// then its thread ends and the instance is dropped. Says whether it was running.
    pub fn remove(&mut self, name: &str, grace: Duration) -> bool {
        let Some(index) = self.workers.iter().position(|w| w.shared.name == name) else {
            return false;
        };
        let worker = self.workers.remove(index);
        worker.shared.lock().closing = Some(Instant::now() + grace);
        worker.shared.ready.notify_all();
        self.retiring
            .retain(|w| matches!(w.done.try_recv(), Err(mpsc::TryRecvError::Empty)));
        self.retiring.push(worker);
        self.publish_stats();
        true
    }

    /// Names of the running sinks, in start order.
    pub fn names(&self) -> Vec<String> {
        self.workers.iter().map(|w| w.shared.name.clone()).collect()
    }

    fn publish_stats(&self) {
        self.stats
            .set(self.workers.iter().map(|w| Arc::clone(&w.shared)).collect());
    }

    /// The counters' handle.
    pub fn stats(&self) -> SinkStats {
        self.stats.clone()
    }

    /// Whether any sink wants snapshots, so the caller can skip making the event.
    pub fn wants_snapshots(&self) -> bool {
        self.workers.iter().any(|w| w.wants_snapshots)
    }

    /// Each running sink's name and filters (`level`, `components`, active hours), which
    /// the lifecycle applies before grouping.
    pub fn receivers(&self) -> impl Iterator<Item = (&str, &DeliveryOptions)> {
        self.workers
            .iter()
            .map(|w| (w.shared.name.as_str(), &w.options))
    }

    /// Queues each notification for its receiver (as one event for sinks that take
    /// notifications, as one event per alert for older ones), and `snapshot` (the
    /// tick's [`SinkEvent::Snapshot`], already serialized) for every sink that wants
    /// snapshots. Never blocks on a sink.
    pub fn dispatch(&self, notifications: &[Notification], snapshot: Option<Arc<str>>) {
        if self.workers.is_empty() {
            return;
        }
        for worker in &self.workers {
            let shared = &worker.shared;
            let encoded = notifications
                .iter()
                .filter(|n| n.receiver == shared.name)
                .flat_map(|n| encode(n, worker.takes_notifications));
            let mut queue = shared.lock();
            let mut dropped = 0;
            for text in encoded {
                if queue.events.len() >= shared.capacity {
                    queue.events.pop_front();
                    dropped += 1;
                }
                queue.events.push_back(text);
            }
            if dropped > 0 {
                bump(&shared.counters.dropped, dropped);
                let complaints = queue
                    .drop_complaints
                    .get_or_insert_with(|| Throttle::new(DROP_WARNING_EVERY));
                if let Some(skipped) = complaints.allow(Instant::now()) {
                    tracing::warn!(
                        sink = %shared.name,
                        dropped,
                        dropped_total = shared.counters.dropped.load(Ordering::Relaxed),
                        capacity = shared.capacity,
                        warnings_skipped = skipped,
                        "Sink queue full; its oldest alerts were dropped."
                    );
                }
            }
            if let Some(text) = snapshot.as_ref().filter(|_| worker.wants_snapshots) {
                if queue.snapshot.replace(Arc::clone(text)).is_some() {
                    bump(&shared.counters.snapshots_skipped, 1);
                }
            }
            drop(queue);
            shared.ready.notify_one();
        }
    }

    /// Lets every sink finish its queue and flush, for at most `grace`; sinks still
    /// busy after that are abandoned (a plugin call cannot be interrupted) and what
    /// they had queued counts as dropped.
    pub fn shutdown(self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let workers: Vec<Worker> = self.workers.into_iter().chain(self.retiring).collect();
        for worker in &workers {
            let mut queue = worker.shared.lock();
            queue.closing = Some(queue.closing.map_or(deadline, |d| d.min(deadline)));
            drop(queue);
            worker.shared.ready.notify_all();
        }
        for worker in &workers {
            let left = deadline.saturating_duration_since(Instant::now());
            if worker.done.recv_timeout(left).is_ok() {
                continue;
            }
            let shared = &worker.shared;
            let left = shared.lock().events.len();
            bump(&shared.counters.dropped, left as u64);
            tracing::warn!(sink = %shared.name, grace_ms = grace.as_millis() as u64, abandoned = left, "Sink did not finish before the shutdown deadline; abandoning it.");
        }
    }
}

/// A notification as its receiver reads it: one `notification` event, or (for a sink
/// built before 1.2) one `alert`/`resolved` event per alert.
fn encode(notification: &Notification, whole: bool) -> Vec<Arc<str>> {
    let events: Vec<SinkEvent> = if whole {
        vec![SinkEvent::Notification {
            notification: notification.clone(),
        }]
    } else {
        notification.events().collect()
    };
    events
        .iter()
        .filter_map(|event| serde_json::to_string(event).ok())
        .map(Arc::from)
        .collect()
}

#[cfg(test)]
mod tests;
