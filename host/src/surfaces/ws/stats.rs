//! The WebSocket side's counters: written by the sessions and the fan-out, read by
//! `get_status`, `/health` and `/metrics`. Atomics, so no writer waits for a reader.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::pipeline::wire::StatsSnapshot;

/// Counters of what the WebSocket side did, for `get_status` and metrics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Clients connected now.
    pub connected: AtomicUsize,
    /// Connections accepted since start.
    pub connections_total: AtomicU64,
    /// Connections closed with 1008 because the server was full.
    pub refused_at_capacity: AtomicU64,
    /// `monitoring_data` messages sent.
    pub frames_sent: AtomicU64,
    /// Ticks a client missed because it was still busy with an older one.
    pub frames_skipped: AtomicU64,
    /// Clients dropped because a send took longer than the send timeout.
    pub slow_disconnects: AtomicU64,
    /// Control messages refused by the rate limiter.
    pub rate_limited: AtomicU64,
    /// Clients closed because they stopped answering pings.
    pub ping_timeouts: AtomicU64,
}

impl Stats {
    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsSnapshot {
            connected: self.connected.load(Ordering::Relaxed),
            connections_total: get(&self.connections_total),
            refused_at_capacity: get(&self.refused_at_capacity),
            frames_sent: get(&self.frames_sent),
            frames_skipped: get(&self.frames_skipped),
            slow_disconnects: get(&self.slow_disconnects),
            rate_limited: get(&self.rate_limited),
            ping_timeouts: get(&self.ping_timeouts),
        }
    }

    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
