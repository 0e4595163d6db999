//! The in-memory history behind `GET /api/history`: the last `monitor.history_size`
//! snapshots, none older than [`TTL`] (the seed's `MAX_SNAPSHOTS_HISTORY` and 1-hour
//! cleanup), in at most [`MAX_HISTORY_BYTES`].
//!
//! It keeps each snapshot as the bytes `/api/history` sends, not the frame: a frame
//! holds the typed tree of its data, its text, its WebSocket frame and maybe a deflated
//! one (about 52 KB for a 6.4 KB snapshot), while its API view is one immutable
//! allocation of its serialized size, made once per tick and shared by every request
//! that sends it (a reference count each, never a copy). Memory is bounded three times
//! over: by the count (a ring that drops its oldest entry), by age (entries past the
//! TTL are dropped on every push and read) and by the bytes held (the oldest go first
//! when a tick would pass [`MAX_HISTORY_BYTES`], whatever the snapshots weigh).
//! Nothing is allocated up front: the ring grows with what it holds. Time is passed
//! in, never read here, so the TTL is tested without sleeping.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Local};

pub use crate::config::MAX_HISTORY_BYTES;
use crate::pipeline::bus::Frame;

/// How long a snapshot stays in the history, as in the seed.
pub const TTL: Duration = crate::config::HISTORY_TTL;

/// One stored tick.
#[derive(Debug, Clone)]
struct Entry {
    /// When it was stored, for the TTL.
    stored: Instant,
    /// When the snapshot was taken, for `since`.
    taken_at: DateTime<Local>,
    /// `,` and the snapshot's API view (see [`History::query`]).
    view: Bytes,
}

impl Entry {
    /// `frame`'s API view, stored at `now`.
    fn of(frame: &Frame, now: Instant) -> Self {
        let mut view = Vec::with_capacity(frame.data.get().len() + frame.timestamp.len() + 64);
        view.push(b',');
        frame.write_api_view(&mut view);
        Self {
            stored: now,
            taken_at: frame.snapshot.taken_at,
            // Exactly its size: a Vec's spare capacity would be kept for an hour.
            view: Bytes::from(view.into_boxed_slice()),
        }
    }
}

/// The ring itself; see [`SharedHistory`] for the handle the server uses.
#[derive(Debug)]
pub struct History {
    capacity: usize,
    ttl: Duration,
    /// Most bytes of views held.
    max_bytes: usize,
    /// Bytes of views held now.
    bytes: usize,
    entries: VecDeque<Entry>,
}

impl History {
    /// An empty history of at most `capacity` snapshots, each kept for at most `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self::with_max_bytes(capacity, ttl, MAX_HISTORY_BYTES)
    }

    /// As [`Self::new`], holding at most `max_bytes` of snapshots.
    pub fn with_max_bytes(capacity: usize, ttl: Duration, max_bytes: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            max_bytes,
            bytes: 0,
            // Grown as frames arrive: memory follows what is kept, never the
            // configured maximum.
            entries: VecDeque::new(),
        }
    }

    /// The most snapshots kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the most snapshots kept; the oldest go at once when it shrinks.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        while self.entries.len() > self.capacity {
            self.pop_oldest();
        }
    }

    /// Stores a frame's API view, taken at `now`, dropping the oldest past the
    /// capacity, the byte bound or the TTL.
    pub fn push(&mut self, frame: &Frame, now: Instant) {
        self.store(Entry::of(frame, now));
    }

    fn store(&mut self, entry: Entry) {
        self.expire(entry.stored);
        while !self.entries.is_empty()
            && (self.entries.len() >= self.capacity
                || self.bytes.saturating_add(entry.view.len()) > self.max_bytes)
        {
            self.pop_oldest();
        }
        self.bytes += entry.view.len();
        self.entries.push_back(entry);
    }

    /// Snapshots still alive at `now`.
    pub fn len(&mut self, now: Instant) -> usize {
        self.expire(now);
        self.entries.len()
    }

    /// Whether nothing is stored (at `now`).
    pub fn is_empty(&mut self, now: Instant) -> bool {
        self.len(now) == 0
    }

    /// The newest `count` snapshots (all when `None`) taken at or after `since` (local
    /// time), oldest first, each as `,` followed by its API view (`{"timestamp":…,
    /// "data":…,"alerts":[…]}`): joined, they make a JSON array's items once the
    /// first one's comma is sliced off. The bytes are shared with the history.
    pub fn query(
        &mut self,
        count: Option<usize>,
        since: Option<DateTime<Local>>,
        now: Instant,
    ) -> Vec<Bytes> {
        self.expire(now);
        // Filtered, not bisected: a clock stepped back leaves the entries out of order.
        let matching: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|entry| since.is_none_or(|since| entry.taken_at >= since))
            .collect();
        let skip = count.map_or(0, |count| matching.len().saturating_sub(count));
        matching
            .into_iter()
            .skip(skip)
            .map(|entry| entry.view.clone())
            .collect()
    }

    /// Bytes of snapshots held now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn pop_oldest(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            self.bytes -= entry.view.len();
        }
    }

    fn expire(&mut self, now: Instant) {
        while self
            .entries
            .front()
            .is_some_and(|entry| now.saturating_duration_since(entry.stored) > self.ttl)
        {
            self.pop_oldest();
        }
    }
}

/// The history shared by the collection loop (one push per tick) and the HTTP handlers.
/// A std `Mutex`: it is held only to push or to clone out a few `Bytes` handles, never
/// across an `.await` or while a reply is written.
#[derive(Debug, Clone)]
pub struct SharedHistory(Arc<Mutex<History>>);

impl SharedHistory {
    /// An empty history of at most `capacity` snapshots kept for [`TTL`].
    pub fn new(capacity: usize) -> Self {
        Self(Arc::new(Mutex::new(History::new(capacity, TTL))))
    }

    /// Runs `f` on the locked history.
    pub fn with<T>(&self, f: impl FnOnce(&mut History) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stores this tick's frame: its API view, serialized before the lock is taken.
    pub fn push(&self, frame: &Frame) {
        let entry = Entry::of(frame, Instant::now());
        self.with(|history| history.store(entry));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::pipeline::bus::Bus;
    use crate::pipeline::snapshot::Snapshot;

    fn at(text: &str) -> Option<DateTime<Local>> {
        chrono::NaiveDateTime::parse_from_str(text, crate::timestamp::FORMAT)
            .ok()?
            .and_local_timezone(Local)
            .earliest()
    }

    fn frame(bus: &mut Bus, timestamp: &str) -> Arc<Frame> {
        let data = json!({"memory": {"percentage": 50.0}});
        let snapshot = Snapshot {
            taken_at: at(timestamp).expect("a local time"),
            data: data.as_object().cloned().unwrap_or_default(),
        };
        bus.publish(snapshot, timestamp.into(), &[])
    }

    fn stamps(views: &[Bytes]) -> Vec<String> {
        views
            .iter()
            .map(|view| {
                assert_eq!(view.first(), Some(&b','), "each view starts with its comma");
                let value: serde_json::Value =
                    serde_json::from_slice(&view[1..]).expect("a JSON view");
                value["timestamp"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    }

    #[test]
    fn keeps_at_most_capacity_frames_newest_last() {
        let mut bus = Bus::new();
        let mut history = History::new(3, TTL);
        let now = Instant::now();
        for second in 0..5 {
            history.push(
                &frame(&mut bus, &format!("2025-01-03T10:00:0{second}.000000")),
                now,
            );
        }
        assert_eq!(history.len(now), 3);
        let all = history.query(None, None, now);
        assert_eq!(
            stamps(&all),
            [
                "2025-01-03T10:00:02.000000",
                "2025-01-03T10:00:03.000000",
                "2025-01-03T10:00:04.000000"
            ]
        );
        let again = history.query(None, None, now);
        assert_eq!(all[2].as_ptr(), again[2].as_ptr(), "shared, never copied");
        let last_two = history.query(Some(2), None, now);
        assert_eq!(stamps(&last_two)[0], "2025-01-03T10:00:03.000000");
        assert_eq!(history.query(Some(10), None, now).len(), 3);
    }

    #[test]
    fn a_huge_capacity_allocates_nothing_up_front() {
        let mut bus = Bus::new();
        let mut history = History::new(usize::MAX / 2, TTL);
        let now = Instant::now();
        history.push(&frame(&mut bus, "2025-01-03T10:00:00.000000"), now);
        assert_eq!(history.len(now), 1);
        assert!(
            history.entries.capacity() < 64,
            "{}",
            history.entries.capacity()
        );
    }

    #[test]
    fn frames_older_than_the_ttl_are_dropped() {
        let mut bus = Bus::new();
        let start = Instant::now();
        let mut history = History::new(100, TTL);
        history.push(&frame(&mut bus, "2025-01-03T10:00:00.000000"), start);
        history.push(
            &frame(&mut bus, "2025-01-03T10:30:00.000000"),
            start + Duration::from_secs(1800),
        );
        assert_eq!(history.len(start + TTL), 2, "exactly one hour old is kept");
        let later = start + TTL + Duration::from_secs(1);
        assert_eq!(
            stamps(&history.query(None, None, later)),
            ["2025-01-03T10:30:00.000000"]
        );
        assert!(history.is_empty(start + Duration::from_secs(1800) + TTL + Duration::from_secs(1)));
    }

    #[test]
    fn since_selects_by_the_snapshot_timestamp() {
        let mut bus = Bus::new();
        let now = Instant::now();
        let mut history = History::new(10, TTL);
        for stamp in [
            "2025-01-03T10:00:00.000000",
            "2025-01-03T10:00:01.500000",
            "2025-01-03T10:00:03.000000",
        ] {
            history.push(&frame(&mut bus, stamp), now);
        }
        let since = history.query(None, at("2025-01-03T10:00:01.500000"), now);
        assert_eq!(since.len(), 2, "inclusive");
        let both = history.query(Some(1), at("2025-01-03T10:00:01.000000"), now);
        assert_eq!(stamps(&both), ["2025-01-03T10:00:03.000000"]);
        assert!(history
            .query(None, at("2025-01-03T11:00:00.000000"), now)
            .is_empty());
    }
}

#[cfg(test)]
mod memory {
    use serde_json::json;

    use super::*;
    use crate::pipeline::bus::Bus;
    use crate::pipeline::snapshot::Snapshot;

    fn published(bus: &mut Bus, cores: usize) -> Arc<Frame> {
        let cores: Vec<_> = (0..cores)
            .map(|i| json!({"core": i, "usage": 12.5}))
            .collect();
        let data = json!({"cpu": {"cores": cores}});
        let snapshot = Snapshot::now(data.as_object().cloned().unwrap_or_default());
        bus.publish(snapshot, "2025-01-03T10:00:00.000000".into(), &[])
    }

    #[test]
    fn a_stored_snapshot_is_its_api_view_and_nothing_more() {
        let mut bus = Bus::new();
        let frame = published(&mut bus, 64);
        let mut history = History::new(10, TTL);
        let now = Instant::now();
        history.push(&frame, now);
        let mut view = Vec::new();
        frame.write_api_view(&mut view);
        assert_eq!(history.bytes(), view.len() + 1, "the view and its comma");
        assert_eq!(&history.query(None, None, now)[0][1..], &view[..]);
        drop(frame);
        assert_eq!(
            history.entries[0].view.len(),
            view.len() + 1,
            "no frame is kept alive"
        );
    }

    #[test]
    fn the_oldest_go_when_the_bytes_would_pass_the_bound() {
        let mut bus = Bus::new();
        let now = Instant::now();
        let one = {
            let mut view = vec![b','];
            published(&mut bus, 8).write_api_view(&mut view);
            view.len()
        };
        let mut history = History::with_max_bytes(100, TTL, 3 * one + one / 2);
        for _ in 0..5 {
            history.push(&published(&mut bus, 8), now);
        }
        assert_eq!(history.len(now), 3);
        assert_eq!(history.bytes(), 3 * one);
        history.push(&published(&mut bus, 200), now);
        assert_eq!(
            history.len(now),
            1,
            "a big one pushes out all the small ones"
        );
    }
}
