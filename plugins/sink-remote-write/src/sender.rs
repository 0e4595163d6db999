//! The plugin's own sending thread: batches the queued samples and POSTs them, with
//! retries and back-off, while `deliver` only appends to the queue.
//!
//! Why the plugin, not the host, batches and retries: the host's sink runner delivers
//! snapshots through a one-snapshot slot and never retries them (the next supersedes
//! them), which is right for a live view but loses data for a store. Remote write
//! wants every sample, in requests of many samples, resent until the receiver takes
//! them. So `deliver` converts a snapshot and appends its samples to a bounded queue
//! (a lock held for microseconds, never across I/O); this thread does the waiting.
//!
//! - A batch leaves when `batch_max_samples` are queued or `flush_interval` has passed.
//! - Connection errors, timeouts, 5xx and 429 are retried with exponential back-off
//!   (honouring `Retry-After`), the same batch until it is taken; meanwhile the queue
//!   keeps filling and, when full, drops its oldest samples (counted).
//! - Any other answer (400 for out-of-order samples, 401, 404, …) is not retried: the
//!   batch is dropped and counted, and the reason logged (the first time, then at
//!   most once a minute).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use monitoring_plugin_api::{ErrorKind, PluginError};

use crate::backoff::Backoff;
use crate::proto::encode;
use crate::queue::{Queued, SampleQueue};

/// At most one log line per kind of trouble per this long; the rest are counted.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// One POST of an encoded body.
pub type Post = Box<dyn Fn(Vec<u8>) -> Result<(), PluginError> + Send>;

/// When batches leave and how failures are retried.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Most samples per request.
    pub batch_max_samples: usize,
    /// Longest time a sample waits before its batch leaves.
    pub flush_interval: Duration,
    /// Most samples queued; the oldest go first.
    pub queue_max_samples: usize,
    /// First retry delay.
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
}

/// What the thread counts since start, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Samples the receiver took.
    pub sent: u64,
    /// Samples in batches the receiver refused (not retried).
    pub rejected: u64,
    /// Attempts that failed and were retried.
    pub retries: u64,
}

struct State {
    queue: SampleQueue,
    /// Set when the sink is dropped: the thread stops, even mid-retry.
    closing: bool,
    /// A batch has been taken and is being sent.
    in_flight: bool,
    /// `flush` asked for everything queued to leave now.
    flush_wanted: bool,
    counts: Counts,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the thread (new samples, flush, closing) and `flush` (queue drained).
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic on the sending thread cannot leave the queue half-updated in a way
        // that matters more than stopping would; keep going with what is there.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The handle `deliver` appends through; stops the thread when dropped.
pub struct Sender {
    shared: Arc<Shared>,
    settings: Settings,
    _thread: JoinHandle<()>,
}

impl Sender {
    /// Starts the sending thread.
    pub fn start(settings: Settings, post: Post) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: SampleQueue::new(settings.queue_max_samples),
                closing: false,
                in_flight: false,
                flush_wanted: false,
                counts: Counts::default(),
            }),
            wake: Condvar::new(),
        });
        let thread = std::thread::Builder::new()
            .name("remote-write".into())
            .spawn({
                let (shared, settings) = (Arc::clone(&shared), settings.clone());
                move || run(&shared, &settings, &post)
            })?;
        Ok(Self {
            shared,
            settings,
            _thread: thread,
        })
    }

    /// Appends samples; wakes the thread when a batch is full. Never waits for I/O.
    pub fn enqueue(&self, items: Vec<Queued>) {
        let mut state = self.shared.lock();
        for item in items {
            state.queue.push(item);
        }
        if state.queue.len() >= self.settings.batch_max_samples {
            self.shared.wake.notify_all();
        }
    }

    /// Sends everything queued now; waits at most `within` for it to be taken.
    /// Whether the queue was emptied.
    pub fn flush(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut state = self.shared.lock();
        state.flush_wanted = true;
        self.shared.wake.notify_all();
        while !state.queue.is_empty() || state.in_flight {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.shared.wake.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(e) => e.into_inner().0,
            };
        }
        true
    }

    /// The counts so far, and the samples dropped from a full queue.
    pub fn counts(&self) -> (Counts, u64) {
        let state = self.shared.lock();
        (state.counts, state.queue.dropped())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_all();
    }
}

/// Rate-limits one kind of log line.
#[derive(Default)]
struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    fn ready(&mut self) -> bool {
        let now = Instant::now();
        match self.last {
            Some(last) if now.duration_since(last) < LOG_EVERY => false,
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}

#[derive(Default)]
struct Logs {
    retry: Throttle,
    refused: Throttle,
    dropped: Throttle,
    reported_drops: u64,
}

fn warn(message: std::fmt::Arguments<'_>) {
    eprintln!("WARN plugin=remote-write: {message}");
}

fn run(shared: &Shared, settings: &Settings, post: &Post) {
    let mut logs = Logs::default();
    let mut last_send = Instant::now();
    let mut backoff = Backoff::new(settings.min_backoff, settings.max_backoff);
    loop {
        let Some((body, count)) = next_batch(shared, settings, last_send, &mut logs) else {
            return;
        };
        last_send = Instant::now();
        let outcome = body.map(|body| send(shared, &body, post, &mut backoff, &mut logs));
        let mut state = shared.lock();
        match outcome {
            Ok(Some(true)) => state.counts.sent += count as u64,
            Ok(Some(false)) => state.counts.rejected += count as u64,
            Ok(None) => return,
            Err(e) => {
                state.counts.rejected += count as u64;
                warn(format_args!(
                    "cannot encode a batch of {count} samples: {e}"
                ));
            }
        }
        state.in_flight = false;
        shared.wake.notify_all();
    }
}

/// Waits until a batch is due, takes and encodes it; `None` when closing.
#[allow(clippy::type_complexity)]
fn next_batch(
    shared: &Shared,
    settings: &Settings,
    last_send: Instant,
    logs: &mut Logs,
) -> Option<(Result<Vec<u8>, snap::Error>, usize)> {
    let mut state = shared.lock();
    loop {
        if state.closing {
            return None;
        }
        let due = last_send + settings.flush_interval;
        let now = Instant::now();
        let ready =
            state.queue.len() >= settings.batch_max_samples || state.flush_wanted || now >= due;
        if ready && !state.queue.is_empty() {
            break;
        }
        if state.queue.is_empty() {
            state.flush_wanted = false;
            shared.wake.notify_all();
        }
        let wait = match state.queue.is_empty() {
            true => settings.flush_interval,
            false => due.saturating_duration_since(now),
        };
        state = match shared.wake.wait_timeout(state, wait) {
            Ok((state, _)) => state,
            Err(e) => e.into_inner().0,
        };
    }
    let dropped = state.queue.dropped();
    if dropped > logs.reported_drops && logs.dropped.ready() {
        warn(format_args!(
            "the queue was full: dropped {} samples ({dropped} since start); the receiver is slower than the collection or unreachable",
            dropped - logs.reported_drops
        ));
        logs.reported_drops = dropped;
    }
    state.in_flight = true;
    let (request, count) = state.queue.take_batch(settings.batch_max_samples);
    drop(state);
    Some((encode(&request), count))
}

/// Sends `body` until it is taken (`Some(true)`), refused (`Some(false)`), or the
/// sink closes while waiting to retry (`None`).
fn send(
    shared: &Shared,
    body: &[u8],
    post: &Post,
    backoff: &mut Backoff,
    logs: &mut Logs,
) -> Option<bool> {
    loop {
        let error = match post(body.to_vec()) {
            Ok(()) => {
                backoff.reset();
                return Some(true);
            }
            Err(error) => error,
        };
        if error.kind() != Some(ErrorKind::Retryable) {
            let counts = shared.lock().counts;
            if logs.refused.ready() {
                warn(format_args!(
                    "the receiver refused a batch; not retrying it ({} samples refused before): {}",
                    counts.rejected,
                    error.message()
                ));
            }
            return Some(false);
        }
        let hint = error
            .retry_after_ms
            .into_option()
            .map(Duration::from_millis);
        let delay = backoff.next_delay(hint);
        if logs.retry.ready() {
            warn(format_args!(
                "sending failed, retrying in {delay:?}: {}",
                error.message()
            ));
        }
        let mut state = shared.lock();
        state.counts.retries += 1;
        let (state, _) = shared
            .wake
            .wait_timeout_while(state, delay, |state| !state.closing)
            .unwrap_or_else(|e| e.into_inner());
        if state.closing {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::proto::{Label, Sample};

    fn settings(batch: usize, queue: usize) -> Settings {
        Settings {
            batch_max_samples: batch,
            flush_interval: Duration::from_secs(3600),
            queue_max_samples: queue,
            min_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
        }
    }

    fn items(n: usize) -> Vec<Queued> {
        (0..n)
            .map(|i| Queued {
                labels: vec![Label {
                    name: "__name__".into(),
                    value: format!("s{i}"),
                }]
                .into(),
                sample: Sample {
                    value: 1.0,
                    timestamp: 0,
                },
            })
            .collect()
    }

    /// A post answering `answers` in turn (then success), counting calls.
    fn scripted(answers: Vec<PluginError>) -> (Post, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&calls);
        let answers = Mutex::new(answers.into_iter());
        let post: Post = Box::new(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            match answers.lock().expect("lock").next() {
                Some(error) => Err(error),
                None => Ok(()),
            }
        });
        (post, calls)
    }

    #[test]
    fn a_full_batch_leaves_without_waiting_for_the_interval() {
        let (post, calls) = scripted(vec![]);
        let sender = Sender::start(settings(10, 100), post).expect("thread");
        sender.enqueue(items(25));
        let deadline = Instant::now() + Duration::from_secs(5);
        while sender.counts().0.sent < 20 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        // Two full batches left; the remaining 5 wait for the interval or a flush.
        assert_eq!(sender.counts().0.sent, 20);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(sender.flush(Duration::from_secs(5)));
        assert_eq!(sender.counts().0.sent, 25);
    }

    #[test]
    fn retryable_failures_are_retried_and_refusals_are_not() {
        let (post, calls) = scripted(vec![
            PluginError::retryable("500"),
            PluginError::retryable("connection refused"),
        ]);
        let sender = Sender::start(settings(100, 100), post).expect("thread");
        sender.enqueue(items(3));
        assert!(sender.flush(Duration::from_secs(5)));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let (counts, dropped) = sender.counts();
        assert_eq!((counts.sent, counts.retries, dropped), (3, 2, 0));

        let (post, calls) = scripted(vec![PluginError::fatal("400 out of order")]);
        let sender = Sender::start(settings(100, 100), post).expect("thread");
        sender.enqueue(items(3));
        assert!(sender.flush(Duration::from_secs(5)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(sender.counts().0.rejected, 3);
    }

    #[test]
    fn a_dead_receiver_fills_the_queue_and_never_blocks_enqueue() {
        let post: Post = Box::new(|_| Err(PluginError::retryable("refused")));
        let sender = Sender::start(settings(5, 20), post).expect("thread");
        let started = Instant::now();
        for _ in 0..100 {
            sender.enqueue(items(5));
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(!sender.flush(Duration::from_millis(50)));
        let (counts, dropped) = sender.counts();
        assert_eq!(counts.sent, 0);
        // 500 samples offered, one batch of 5 in flight, at most 20 queued.
        assert!(dropped >= 475, "{dropped}");
    }
}
