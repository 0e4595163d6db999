//! A sink's worker thread: takes alerts first, then the newest snapshot, delivers each
//! with the host's retry policy, and flushes at shutdown if there is time.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use abi_stable::std_types::RStr;
use monitoring_plugin_api::{ErrorKind, PluginError, SinkBox};

use super::queue::{bump, Shared};
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
pub(super) fn work(shared: &Shared, mut sink: SinkBox, max_retries: u32, backoff: Backoff) {
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
