//! The in-memory history behind `GET /api/history`: the last `monitor.history_size`
//! frames, none older than [`TTL`] (the seed's `MAX_SNAPSHOTS_HISTORY` and 1-hour
//! cleanup).
//!
//! It stores the `Arc<Frame>` the bus publishes, so keeping a snapshot costs a
//! reference count, not a copy. Memory is bounded twice over: by the count (a ring that
//! drops its oldest entry) and by age (entries past the TTL are dropped on every push
//! and read). Nothing is allocated up front: the ring grows with the frames it holds.
//! Time is passed in, never read here, so the TTL is tested without sleeping.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};

use crate::pipeline::bus::Frame;

/// How long a snapshot stays in the history, as in the seed.
pub const TTL: Duration = Duration::from_secs(3600);

/// One stored tick.
#[derive(Debug, Clone)]
struct Entry {
    /// When it was stored, for the TTL.
    stored: Instant,
    frame: Arc<Frame>,
}

/// The ring itself; see [`SharedHistory`] for the handle the server uses.
#[derive(Debug)]
pub struct History {
    capacity: usize,
    ttl: Duration,
    entries: VecDeque<Entry>,
}

impl History {
    /// An empty history of at most `capacity` frames, each kept for at most `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            ttl,
            // Grown as frames arrive: memory follows what is kept, never the
            // configured maximum.
            entries: VecDeque::new(),
        }
    }

    /// The most frames kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the most frames kept; the oldest go at once when it shrinks.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        while self.entries.len() > self.capacity {
            self.entries.pop_front();
        }
    }

    /// Stores a frame taken at `now`, dropping the oldest past the capacity or the TTL.
    pub fn push(&mut self, frame: Arc<Frame>, now: Instant) {
        self.expire(now);
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry { stored: now, frame });
    }

    /// Frames still alive at `now`.
    pub fn len(&mut self, now: Instant) -> usize {
        self.expire(now);
        self.entries.len()
    }

    /// Whether nothing is stored (at `now`).
    pub fn is_empty(&mut self, now: Instant) -> bool {
        self.len(now) == 0
    }

    /// The newest `count` frames (all when `None`) taken at or after `since` (local
    /// time), oldest first.
    pub fn query(
        &mut self,
        count: Option<usize>,
        since: Option<DateTime<Local>>,
        now: Instant,
    ) -> Vec<Arc<Frame>> {
        self.expire(now);
        let matching: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|entry| since.is_none_or(|since| entry.frame.snapshot.taken_at >= since))
            .collect();
        let skip = count.map_or(0, |count| matching.len().saturating_sub(count));
        matching
            .into_iter()
            .skip(skip)
            .map(|entry| Arc::clone(&entry.frame))
            .collect()
    }

    fn expire(&mut self, now: Instant) {
        while self
            .entries
            .front()
            .is_some_and(|entry| now.saturating_duration_since(entry.stored) > self.ttl)
        {
            self.entries.pop_front();
        }
    }
}

/// The history shared by the collection loop (one push per tick) and the HTTP handlers.
/// A std `Mutex`: it is held only to push or to clone out a few `Arc`s, never across an
/// `.await` or while serializing.
#[derive(Debug, Clone)]
pub struct SharedHistory(Arc<Mutex<History>>);

impl SharedHistory {
    /// An empty history of at most `capacity` frames kept for [`TTL`].
    pub fn new(capacity: usize) -> Self {
        Self(Arc::new(Mutex::new(History::new(capacity, TTL))))
    }

    /// Runs `f` on the locked history.
    pub fn with<T>(&self, f: impl FnOnce(&mut History) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stores this tick's frame.
    pub fn push(&self, frame: Arc<Frame>) {
        self.with(|history| history.push(frame, Instant::now()));
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

    fn stamps(frames: &[Arc<Frame>]) -> Vec<String> {
        frames.iter().map(|f| f.timestamp.clone()).collect()
    }

    #[test]
    fn keeps_at_most_capacity_frames_newest_last() {
        let mut bus = Bus::new();
        let mut history = History::new(3, TTL);
        let now = Instant::now();
        for second in 0..5 {
            history.push(
                frame(&mut bus, &format!("2025-01-03T10:00:0{second}.000000")),
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
        assert_eq!(all[2].seq, 5, "the frames are the bus's own");
        let last_two = history.query(Some(2), None, now);
        assert_eq!(stamps(&last_two)[0], "2025-01-03T10:00:03.000000");
        assert_eq!(history.query(Some(10), None, now).len(), 3);
    }

    #[test]
    fn a_huge_capacity_allocates_nothing_up_front() {
        let mut bus = Bus::new();
        let mut history = History::new(usize::MAX / 2, TTL);
        let now = Instant::now();
        history.push(frame(&mut bus, "2025-01-03T10:00:00.000000"), now);
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
        history.push(frame(&mut bus, "2025-01-03T10:00:00.000000"), start);
        history.push(
            frame(&mut bus, "2025-01-03T10:30:00.000000"),
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
            history.push(frame(&mut bus, stamp), now);
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
