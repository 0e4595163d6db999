//! Cuts an HTTP connection whose reader stops taking a long reply, as a WebSocket
//! client that stops reading is cut after `server.send_timeout`.
//!
//! hyper has no write timeout: a reply it cannot write waits as long as the peer keeps
//! the connection open, holding its task, its admission slot and whatever the body
//! holds. A watch per connection ([`WriteWatch`], in every request's extensions) is
//! armed by a handler that streams a long body ([`WriteWatch::arm`]); the body marks
//! progress each time hyper takes a chunk, which it does only when the socket took the
//! earlier ones. The accept loop races the connection against [`WriteWatch::expired`]
//! and drops it (closing the socket) when the body made no progress for the idle
//! timeout, or was not all taken by its overall deadline (a reader that drips a few
//! bytes at a time makes progress but must not hold the reply forever).
//!
//! The kernel's `TCP_USER_TIMEOUT` ([`crate::accept::admission`]) catches a peer
//! whose window stays shut; this catches one that keeps it barely open. Only armed
//! replies are watched: a connection idle between requests is hyper's business.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// One connection's watch; clones share it.
#[derive(Debug, Clone, Default)]
pub struct WriteWatch(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    /// A std `Mutex`: held to read or stamp a few instants, never across an `.await`.
    armed: Mutex<Option<Armed>>,
    /// Wakes [`WriteWatch::expired`] when a reply is armed.
    changed: Notify,
}

#[derive(Debug, Clone, Copy)]
struct Armed {
    /// When the body last gave hyper a chunk.
    progress: Instant,
    /// Longest time without progress.
    idle: Duration,
    /// When the whole body must have been taken.
    deadline: Instant,
}

impl Armed {
    fn cut_at(&self) -> Instant {
        (self.progress + self.idle).min(self.deadline)
    }
}

impl WriteWatch {
    fn armed(&self) -> MutexGuard<'_, Option<Armed>> {
        self.0.armed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts watching a reply that must make progress every `idle` and be all taken
    /// within `total`; watching stops when the returned [`Progress`] is dropped.
    pub fn arm(&self, idle: Duration, total: Duration) -> Progress {
        let now = Instant::now();
        *self.armed() = Some(Armed {
            progress: now,
            idle,
            deadline: now + total,
        });
        self.0.changed.notify_one();
        Progress(self.clone())
    }

    /// Resolves once an armed reply stalled past its idle timeout or its deadline;
    /// pending forever while nothing is armed.
    pub async fn expired(&self) {
        loop {
            // Registered before the state is read, so an `arm` in between is not missed.
            let changed = self.0.changed.notified();
            let armed = *self.armed();
            match armed {
                None => changed.await,
                Some(armed) => {
                    let cut_at = armed.cut_at();
                    if Instant::now() >= cut_at {
                        return;
                    }
                    // Progress moves the cut further: woken, the loop reads it again.
                    tokio::select! {
                        () = tokio::time::sleep_until(cut_at) => {}
                        () = changed => {}
                    }
                }
            }
        }
    }
}

/// Held by an armed reply's body: marks progress, and disarms the watch when dropped
/// (the body ended, or hyper dropped it).
#[derive(Debug)]
pub struct Progress(WriteWatch);

impl Progress {
    /// The body handed hyper another chunk.
    pub fn made(&self) {
        if let Some(armed) = self.0.armed().as_mut() {
            armed.progress = Instant::now();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        *self.0.armed() = None;
        self.0 .0.changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stalled_reply_expires_after_the_idle_timeout() {
        let watch = WriteWatch::default();
        let progress = watch.arm(Duration::from_secs(1), Duration::from_secs(60));
        let started = Instant::now();
        let expired = tokio::spawn({
            let watch = watch.clone();
            async move { watch.expired().await }
        });
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(800)).await;
            progress.made();
        }
        assert!(!expired.is_finished(), "progress keeps it alive");
        expired.await.expect("resolves");
        assert_eq!(started.elapsed(), Duration::from_millis(5 * 800 + 1000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_dripping_reply_expires_at_its_deadline() {
        let watch = WriteWatch::default();
        let progress = watch.arm(Duration::from_secs(1), Duration::from_secs(3));
        let started = Instant::now();
        let drip = async {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                progress.made();
            }
        };
        tokio::select! {
            () = watch.expired() => {}
            () = drip => {}
        }
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_armed_never_expires_and_a_finished_reply_disarms() {
        let watch = WriteWatch::default();
        let idle = tokio::time::timeout(Duration::from_secs(3600), watch.expired()).await;
        assert!(idle.is_err(), "no reply, no cut");
        drop(watch.arm(Duration::from_secs(1), Duration::from_secs(1)));
        let done = tokio::time::timeout(Duration::from_secs(3600), watch.expired()).await;
        assert!(done.is_err(), "the body ended in time");
    }
}
