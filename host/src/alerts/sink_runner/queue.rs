//! What a sink's worker and the dispatcher share: the bounded alert queue, the
//! one-snapshot slot, the shutdown deadline and the counters `get_status` reads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Counters of one sink, written by its worker and by `dispatch`, read by `get_status`.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) handled: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) retried: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) snapshots_delivered: AtomicU64,
    pub(super) snapshots_failed: AtomicU64,
    pub(super) snapshots_skipped: AtomicU64,
}

pub(super) fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// What waits for one sink.
#[derive(Debug, Default)]
pub(super) struct Queue {
    /// Encoded `Alert`/`Resolved` events, oldest first, at most `capacity`.
    pub(super) events: VecDeque<Arc<str>>,
    /// The newest encoded snapshot not yet delivered.
    pub(super) snapshot: Option<Arc<str>>,
    /// Set at shutdown: finish by then.
    pub(super) closing: Option<Instant>,
    /// Rate-limits the warning about a full queue (made on the first drop).
    pub(super) drop_complaints: Option<crate::throttle::Throttle>,
}

/// The part of a sink shared by its worker, the dispatcher and the stats handle. A std
/// `Mutex` + `Condvar` rather than a channel: the dispatcher must be able to evict the
/// oldest entry and overwrite the snapshot slot, which channels do not allow; the lock
/// is held only to push or pop, never while plugin code runs.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) name: String,
    pub(super) capacity: usize,
    pub(super) queue: Mutex<Queue>,
    pub(super) ready: Condvar,
    pub(super) counters: Counters,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits `delay`; false if shutdown's deadline comes first.
    pub(super) fn rest(&self, delay: Duration) -> bool {
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
    pub(super) sinks: Arc<std::sync::RwLock<Vec<Arc<Shared>>>>,
}

impl SinkStats {
    pub(super) fn set(&self, sinks: Vec<Arc<Shared>>) {
        *self
            .sinks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = sinks;
    }

    /// Every running sink's numbers, in start order.
    pub fn all(&self) -> Vec<SinkStatus> {
        let sinks = self
            .sinks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        sinks
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
