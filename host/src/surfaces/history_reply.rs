//! `/api/history`'s body, and what one costs the server.
//!
//! A full history is megabytes of JSON. Serialized per request, each request in flight
//! held its own copy until the peer had read it: 600 readers that never read took the
//! server past 3 GB. Here the body is a chain of the history's own immutable bytes (a
//! prefix, each snapshot's view as stored, a suffix), so a request costs a list of
//! reference counts whatever its size and however slowly it is read. The bytes are
//! exactly those one `serde_json::to_vec` of the whole reply gave.
//!
//! The cost is bounded in count and time as well: at most [`MAX_IN_FLIGHT`] history
//! bodies are being sent at once (past that, 503 with `Retry-After`), and each one is
//! watched ([`crate::accept::write_watch`]): a reader that takes nothing for
//! `server.send_timeout`, or has not taken it all by [`deadline`], loses the
//! connection, and with it the snapshots its body still pinned.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::accept::write_watch::{Progress, WriteWatch};

/// Most `/api/history` bodies being sent at once. Each costs next to no memory; the
/// bound keeps a crowd of readers from holding every connection slot and the CPU
/// that writing megabytes takes, while a few dashboards loading at once still fit.
pub const MAX_IN_FLIGHT: usize = 16;

/// What `Retry-After` says when every slot is taken, in seconds.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// The slowest reader a history body waits for, over its whole length.
const MIN_RATE: u64 = 256 * 1024;
/// Time every body gets before [`MIN_RATE`] counts: connection set-up, a slow start.
const DEADLINE_BASE: Duration = Duration::from_secs(10);

/// By when a body of `len` bytes must have been taken: [`DEADLINE_BASE`] plus its
/// length at [`MIN_RATE`] (6 MB: 34 s).
pub fn deadline(len: usize) -> Duration {
    DEADLINE_BASE + Duration::from_millis((len as u64).saturating_mul(1000) / MIN_RATE)
}

/// The slots for history bodies, shared by every request.
#[derive(Debug, Clone)]
pub struct HistoryReplies(Arc<Semaphore>);

impl Default for HistoryReplies {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(MAX_IN_FLIGHT)))
    }
}

/// A slot, held by the body until it is dropped.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl HistoryReplies {
    /// A slot if one is free; `None` when [`MAX_IN_FLIGHT`] bodies are being sent.
    pub fn try_slot(&self) -> Option<Slot> {
        Arc::clone(&self.0)
            .try_acquire_owned()
            .ok()
            .map(|permit| Slot { _permit: permit })
    }
}

/// The reply's JSON as chunks: `{"count":…,"history_size":…,"ttl_seconds":…,
/// "snapshots":[`, the views (each stored with a leading comma, the first one's cut
/// off), `]}`.
pub fn chunks(views: Vec<Bytes>, history_size: usize, ttl_seconds: u64) -> Vec<Bytes> {
    let prefix = format!(
        r#"{{"count":{},"history_size":{history_size},"ttl_seconds":{ttl_seconds},"snapshots":["#,
        views.len()
    );
    let mut chunks = Vec::with_capacity(views.len() + 2);
    chunks.push(Bytes::from(prefix));
    for (i, view) in views.into_iter().enumerate() {
        chunks.push(if i == 0 { view.slice(1..) } else { view });
    }
    chunks.push(Bytes::from_static(b"]}"));
    chunks
}

/// A history body in flight: hands hyper one shared chunk at a time, marks the
/// connection's progress as it does, and holds its slot until dropped.
pub struct Body {
    chunks: std::vec::IntoIter<Bytes>,
    progress: Option<Progress>,
    _slot: Slot,
}

impl Body {
    /// `chunks`, sent under `slot`, watched by `watch` (when the connection has one)
    /// with `idle` as the longest stall.
    pub fn new(chunks: Vec<Bytes>, slot: Slot, watch: Option<&WriteWatch>, idle: Duration) -> Self {
        let len = chunks.iter().map(Bytes::len).sum();
        Self {
            chunks: chunks.into_iter(),
            progress: watch.map(|watch| watch.arm(idle, deadline(len))),
            _slot: slot,
        }
    }
}

impl Stream for Body {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(progress) = &self.progress {
            progress.made();
        }
        let next = self.chunks.next();
        if next.is_none() {
            // All taken: what is left sits in buffers, bounded by the socket's.
            self.progress = None;
        }
        Poll::Ready(next.map(Ok))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chunks_are_the_json_one_serialization_gives() {
        let views: Vec<Bytes> = [
            r#"{"timestamp":"a","data":{},"alerts":[]}"#,
            r#"{"timestamp":"b","data":{"x":1},"alerts":[]}"#,
        ]
        .iter()
        .map(|view| Bytes::from(format!(",{view}")))
        .collect();
        let joined: Vec<u8> = chunks(views.clone(), 1000, 3600).concat();
        // The reply as `/api/history` serialized it before: one `to_vec` of these.
        #[derive(serde::Serialize)]
        struct View {
            timestamp: &'static str,
            data: serde_json::Value,
            alerts: [u8; 0],
        }
        #[derive(serde::Serialize)]
        struct Whole {
            count: usize,
            history_size: usize,
            ttl_seconds: u64,
            snapshots: Vec<View>,
        }
        let whole = Whole {
            count: 2,
            history_size: 1000,
            ttl_seconds: 3600,
            snapshots: vec![
                View {
                    timestamp: "a",
                    data: serde_json::json!({}),
                    alerts: [],
                },
                View {
                    timestamp: "b",
                    data: serde_json::json!({"x": 1}),
                    alerts: [],
                },
            ],
        };
        assert_eq!(
            String::from_utf8_lossy(&joined),
            serde_json::to_string(&whole).expect("JSON")
        );
        let empty: Vec<u8> = chunks(Vec::new(), 5, 3600).concat();
        assert_eq!(
            &empty[..],
            br#"{"count":0,"history_size":5,"ttl_seconds":3600,"snapshots":[]}"#
        );
        let shared = chunks(views.clone(), 1000, 3600);
        assert_eq!(shared[2].as_ptr(), views[1].as_ptr(), "not copied");
    }

    #[test]
    fn slots_run_out_and_come_back() {
        let replies = HistoryReplies::default();
        let slots: Vec<Slot> = (0..MAX_IN_FLIGHT)
            .filter_map(|_| replies.try_slot())
            .collect();
        assert_eq!(slots.len(), MAX_IN_FLIGHT);
        assert!(replies.try_slot().is_none());
        drop(slots);
        assert!(replies.try_slot().is_some());
    }

    #[test]
    fn the_deadline_grows_with_the_body() {
        assert_eq!(deadline(0), DEADLINE_BASE);
        assert_eq!(
            deadline(6 * 1024 * 1024),
            DEADLINE_BASE + Duration::from_secs(24)
        );
    }
}
