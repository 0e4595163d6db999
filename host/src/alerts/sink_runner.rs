//! Delivery to sink plugins: one bounded queue and one OS thread per sink, so a slow,
//! failing or hung sink never delays the tick, broadcasting or the other sinks.
//!
//! Policy is the host's (the plugin makes one attempt per `deliver`): retryable
//! failures are retried with exponential back-off, honouring `retry_after_ms`; other
//! failures are not. When a queue is full the oldest alert is dropped and counted, so
//! the newest news gets through. Per sink the host counts handled, failed, retried and
//! dropped alerts (the seed's handler statistics), shown by `get_status`.
//!
//! Snapshots do not queue behind alerts or push them out: each sink has a one-snapshot
//! slot that the next tick overwrites, as WebSocket clients skip to the newest frame.
//! Alerts go first; a snapshot is delivered when the sink is idle. Snapshots are not
//! retried, since the next one supersedes them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use abi_stable::std_types::RStr;
use chrono::{DateTime, Utc};
use monitoring_plugin_api::{ErrorKind, PluginError, SinkBox, SinkEvent};
use serde::Serialize;

pub use crate::config::delivery::{ActiveHours, DeliveryOptions, HOST_KEYS};

use crate::throttle::Throttle;

/// Back-off between attempts of a retryable failure.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Wait before the first retry; doubled for each further one.
    pub first: Duration,
    /// Longest wait; a `retry_after_ms` above it gives the alert up.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The wait before retry number `retry` (0-based).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// Counters of one sink, written by its worker and by `dispatch`, read by `get_status`.
#[derive(Debug, Default)]
struct Counters {
    handled: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    dropped: AtomicU64,
    snapshots_delivered: AtomicU64,
    snapshots_failed: AtomicU64,
    snapshots_skipped: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// What waits for one sink.
#[derive(Debug, Default)]
struct Queue {
    /// Encoded `Alert`/`Resolved` events, oldest first, at most `capacity`.
    events: VecDeque<Arc<str>>,
    /// The newest encoded snapshot not yet delivered.
    snapshot: Option<Arc<str>>,
    /// Set at shutdown: finish by then.
    closing: Option<Instant>,
}

/// The part of a sink shared by its worker, the dispatcher and the stats handle. A std
/// `Mutex` + `Condvar` rather than a channel: the dispatcher must be able to evict the
/// oldest entry and overwrite the snapshot slot, which channels do not allow; the lock
/// is held only to push or pop, never while plugin code runs.
#[derive(Debug)]
struct Shared {
    name: String,
    capacity: usize,
    queue: Mutex<Queue>,
    ready: Condvar,
    counters: Counters,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits `delay`; false if shutdown's deadline comes first.
    fn rest(&self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        let mut queue = self.lock();
        loop {
            if queue.closing.is_some_and(|deadline| deadline < until) {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            queue = self
                .ready
                .wait_timeout(queue, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// One sink's numbers, as `get_status` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SinkStatus {
    /// The sink plugin's name.
    pub name: String,
    /// Alerts and resolutions delivered.
    pub handled: u64,
    /// Alerts and resolutions given up: fatal errors, retries exhausted.
    pub failed: u64,
    /// Retries made after retryable failures.
    pub retried: u64,
    /// Alerts and resolutions dropped: queue full, or still queued at shutdown.
    pub dropped: u64,
    /// Alerts and resolutions waiting now.
    pub queued: usize,
    /// Snapshots delivered.
    pub snapshots_delivered: u64,
    /// Snapshots the sink failed on.
    pub snapshots_failed: u64,
    /// Snapshots replaced by a newer one before the sink took them.
    pub snapshots_skipped: u64,
}

/// A cloneable, read-only view of every sink's counters.
#[derive(Debug, Clone, Default)]
pub struct SinkStats {
    sinks: Arc<[Arc<Shared>]>,
}

impl SinkStats {
    /// Every sink's numbers, in start order.
    pub fn all(&self) -> Vec<SinkStatus> {
        self.sinks
            .iter()
            .map(|shared| {
                let c = &shared.counters;
                let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
                SinkStatus {
                    name: shared.name.clone(),
                    handled: read(&c.handled),
                    failed: read(&c.failed),
                    retried: read(&c.retried),
                    dropped: read(&c.dropped),
                    queued: shared.lock().events.len(),
                    snapshots_delivered: read(&c.snapshots_delivered),
                    snapshots_failed: read(&c.snapshots_failed),
                    snapshots_skipped: read(&c.snapshots_skipped),
                }
            })
            .collect()
    }
}

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
}

struct Worker {
    shared: Arc<Shared>,
    options: DeliveryOptions,
    wants_snapshots: bool,
}

/// The running sinks.
pub struct SinkRunner {
    workers: Vec<Worker>,
    stats: SinkStats,
    done: mpsc::Receiver<usize>,
}

impl SinkRunner {
    /// Starts one worker thread per sink, with its options (filters, queue, retries).
    pub fn start(sinks: Vec<SinkSpec>, backoff: Backoff) -> std::io::Result<Self> {
        let (done_tx, done) = mpsc::channel();
        let mut workers = Vec::with_capacity(sinks.len());
        for (index, spec) in sinks.into_iter().enumerate() {
            let SinkSpec {
                name,
                sink,
                options,
                wants_snapshots,
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
            let done_tx = done_tx.clone();
            std::thread::Builder::new()
                .name(format!("sink-{name}"))
                .spawn(move || {
                    let span = tracing::info_span!("sink", plugin = %worker_shared.name);
                    let _entered = span.enter();
                    work(&worker_shared, sink, max_retries, backoff);
                    let _ = done_tx.send(index);
                })?;
            workers.push(Worker {
                shared,
                options,
                wants_snapshots,
            });
        }
        let stats = SinkStats {
            sinks: workers.iter().map(|w| Arc::clone(&w.shared)).collect(),
        };
        Ok(Self {
            workers,
            stats,
            done,
        })
    }

    /// The counters' handle.
    pub fn stats(&self) -> SinkStats {
        self.stats.clone()
    }

    /// Whether any sink wants snapshots, so the caller can skip making the event.
    pub fn wants_snapshots(&self) -> bool {
        self.workers.iter().any(|w| w.wants_snapshots)
    }

    /// Queues this tick's notifications for the sinks whose filters accept them, and
    /// `snapshot` (the tick's [`SinkEvent::Snapshot`], already serialized) for every
    /// sink that wants snapshots. Never blocks on a sink.
    pub fn dispatch(
        &self,
        notifications: &[SinkEvent],
        snapshot: Option<Arc<str>>,
        now: DateTime<Utc>,
    ) {
        if self.workers.is_empty() {
            return;
        }
        let encoded: Vec<_> = notifications
            .iter()
            .filter_map(|event| {
                let alert = match event {
                    SinkEvent::Alert { alert } | SinkEvent::Resolved { alert, .. } => alert,
                    _ => return None,
                };
                let text = serde_json::to_string(event).ok()?;
                Some((alert, Arc::<str>::from(text)))
            })
            .collect();
        for worker in &self.workers {
            let shared = &worker.shared;
            let mut queue = shared.lock();
            for (alert, text) in &encoded {
                if !worker.options.accepts(alert, now) {
                    continue;
                }
                if queue.events.len() >= shared.capacity {
                    queue.events.pop_front();
                    bump(&shared.counters.dropped, 1);
                }
                queue.events.push_back(Arc::clone(text));
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
        for worker in &self.workers {
            worker.shared.lock().closing = Some(deadline);
            worker.shared.ready.notify_all();
        }
        let mut finished = vec![false; self.workers.len()];
        while finished.contains(&false) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.done.recv_timeout(left) {
                Ok(index) => finished[index] = true,
                Err(_) => break,
            }
        }
        for (worker, done) in self.workers.iter().zip(finished) {
            if !done {
                let shared = &worker.shared;
                let left = shared.lock().events.len();
                bump(&shared.counters.dropped, left as u64);
                tracing::warn!(sink = %shared.name, grace_ms = grace.as_millis() as u64, abandoned = left, "Sink did not finish before the shutdown deadline; abandoning it.");
            }
        }
    }
}

enum Job {
    Event(Arc<str>),
    Snapshot(Arc<str>),
    /// Shutdown: `true` if there is still time to flush.
    Stop(bool),
}

fn next_job(shared: &Shared) -> Job {
    let mut queue = shared.lock();
    loop {
        if let Some(deadline) = queue.closing {
            if Instant::now() >= deadline {
                let left = std::mem::take(&mut queue.events).len();
                bump(&shared.counters.dropped, left as u64);
                return Job::Stop(false);
            }
        }
        if let Some(event) = queue.events.pop_front() {
            return Job::Event(event);
        }
        if let Some(snapshot) = queue.snapshot.take() {
            return Job::Snapshot(snapshot);
        }
        if queue.closing.is_some() {
            return Job::Stop(true);
        }
        queue = shared
            .ready
            .wait(queue)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// A worker's life: take jobs until shutdown.
fn work(shared: &Shared, mut sink: SinkBox, max_retries: u32, backoff: Backoff) {
    let mut complaints = Throttle::new(Duration::from_secs(60));
    loop {
        match next_job(shared) {
            Job::Event(text) => deliver(
                shared,
                &mut sink,
                &text,
                max_retries,
                backoff,
                &mut complaints,
            ),
            Job::Snapshot(text) => match call(&mut sink, &text) {
                Ok(()) => bump(&shared.counters.snapshots_delivered, 1),
                Err(error) => {
                    bump(&shared.counters.snapshots_failed, 1);
                    complain(&mut complaints, &error, "Sink failed on a snapshot.");
                }
            },
            Job::Stop(in_time) => {
                if in_time {
                    if let Err(error) = sink.flush().into_result() {
                        tracing::warn!(error = %error, "Sink failed to flush at shutdown.");
                    }
                }
                return;
            }
        }
    }
}

/// Delivers one alert event, retrying retryable failures.
fn deliver(
    shared: &Shared,
    sink: &mut SinkBox,
    text: &str,
    max_retries: u32,
    backoff: Backoff,
    complaints: &mut Throttle,
) {
    let counters = &shared.counters;
    let mut retry = 0;
    loop {
        let error = match call(sink, text) {
            Ok(()) => {
                bump(&counters.handled, 1);
                return;
            }
            Err(error) => error,
        };
        if error.kind() != Some(ErrorKind::Retryable) {
            bump(&counters.failed, 1);
            complain(complaints, &error, "Sink failed; not retrying.");
            return;
        }
        if retry >= max_retries {
            bump(&counters.failed, 1);
            complain(complaints, &error, "Sink failed; retries exhausted.");
            return;
        }
        let asked = error
            .retry_after_ms
            .into_option()
            .map(Duration::from_millis);
        if asked.is_some_and(|asked| asked > backoff.max) {
            bump(&counters.failed, 1);
            complain(
                complaints,
                &error,
                "Sink asked to wait longer than the back-off limit; giving the alert up.",
            );
            return;
        }
        let delay = asked.map_or(backoff.delay(retry), |asked| {
            asked.max(backoff.delay(retry))
        });
        tracing::debug!(error = %error, retry = retry + 1, delay_ms = delay.as_millis() as u64, "Sink failed; retrying.");
        if !shared.rest(delay) {
            bump(&counters.failed, 1);
            complain(
                complaints,
                &error,
                "Sink failed; no time left to retry before shutdown.",
            );
            return;
        }
        bump(&counters.retried, 1);
        retry += 1;
    }
}

fn call(sink: &mut SinkBox, text: &str) -> Result<(), PluginError> {
    sink.deliver(RStr::from_str(text)).into_result()
}

fn complain(complaints: &mut Throttle, error: &PluginError, message: &str) {
    if let Some(suppressed) = complaints.allow(Instant::now()) {
        tracing::warn!(error = %error, suppressed, "{message}");
    }
}

#[cfg(test)]
mod tests;
