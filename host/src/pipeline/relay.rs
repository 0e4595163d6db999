//! Where the fleet plugs into the collection loop, without the loop knowing NATS.
//!
//! [`Outbox`]: each tick's frame and alert events leave the loop through a bounded
//! channel; `try_send` never waits, so a slow or absent bus costs the tick nothing.
//! What does not fit is dropped and counted ([`RelayCounters`]).
//!
//! [`Inbox`]: news of other hosts (a gateway's fleet: the alerts firing on each, which
//! hosts went down) comes in through another bounded channel, drained once per tick into
//! this server's alert lifecycle with its own alerts, so the fleet's alerts are grouped,
//! routed and silenced as one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use monitoring_plugin_api::{Alert, SinkEvent};
use tokio::sync::mpsc;

use crate::pipeline::bus::Frame;

/// What the fleet tells the collection loop's alert lifecycle.
#[derive(Debug, Clone, PartialEq)]
pub enum FleetNews {
    /// The alerts firing on `host` now (its newest frame's), and its tags.
    Alerts {
        /// The host.
        host: String,
        /// Its `[fleet] tags`.
        tags: Vec<String>,
        /// Its active alerts, each with `host` and `fingerprint` set.
        active: Vec<Alert>,
    },
    /// `host` stopped publishing (`down`), or is back.
    Down {
        /// The host.
        host: String,
        /// Whether it is down now.
        down: bool,
    },
    /// `host` was forgotten: gone for long.
    Forgotten {
        /// The host.
        host: String,
    },
}

/// Most news an inbox hands the lifecycle per tick; the rest wait for the next.
pub const MAX_INBOX_PER_TICK: usize = 256;

/// What leaves the loop for the fleet.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// The tick's frame; its `text` is the `monitoring_data` message clients get.
    Frame(Arc<Frame>),
    /// The tick's alert notifications (fired and resolved), never empty.
    Alerts(Arc<[SinkEvent]>),
}

/// Counters of the outbox, shared with `/health` and `/metrics`.
#[derive(Debug, Default)]
pub struct RelayCounters {
    /// Items handed to the publisher.
    pub queued: AtomicU64,
    /// Items dropped because the publisher's buffer was full.
    pub dropped: AtomicU64,
}

impl RelayCounters {
    /// (queued, dropped).
    pub fn read(&self) -> (u64, u64) {
        (
            self.queued.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
        )
    }
}

/// The loop's side of the way out.
#[derive(Debug)]
pub struct Outbox {
    /// Bounded by `[fleet] publish_buffer`: a full buffer means the bus is slow or
    /// away, and the newest ticks are worth no more than the ones already waiting.
    sender: mpsc::Sender<Outgoing>,
    counters: Arc<RelayCounters>,
}

impl Outbox {
    /// An outbox holding at most `capacity` items, and the publisher's receiver.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Outgoing>, Arc<RelayCounters>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let counters = Arc::<RelayCounters>::default();
        (
            Self {
                sender,
                counters: Arc::clone(&counters),
            },
            receiver,
            counters,
        )
    }

    /// Hands `item` on, or drops and counts it; never waits.
    pub fn offer(&self, item: Outgoing) {
        let counter = match self.sender.try_send(item) {
            Ok(()) => &self.counters.queued,
            Err(_) => &self.counters.dropped,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The loop's side of the way in.
#[derive(Debug)]
pub struct Inbox(mpsc::Receiver<FleetNews>);

impl Inbox {
    /// An inbox of at most `capacity` waiting news, and the sender the fleet holds.
    pub fn new(capacity: usize) -> (Self, mpsc::Sender<FleetNews>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        (Self(receiver), sender)
    }

    /// The news waiting now, at most [`MAX_INBOX_PER_TICK`].
    pub fn drain(&mut self) -> Vec<FleetNews> {
        let mut events = Vec::new();
        while events.len() < MAX_INBOX_PER_TICK {
            match self.0.try_recv() {
                Ok(event) => events.push(event),
                Err(_) => break,
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::bus::Bus;
    use crate::pipeline::snapshot::Snapshot;

    #[test]
    fn a_full_outbox_drops_and_counts_without_waiting() {
        let (outbox, mut receiver, counters) = Outbox::new(2);
        let mut bus = Bus::new();
        for _ in 0..5 {
            let frame = bus.publish(Snapshot::now(Default::default()), "t".into(), &[]);
            outbox.offer(Outgoing::Frame(frame));
        }
        assert_eq!(counters.read(), (2, 3));
        let mut seqs = Vec::new();
        while let Ok(Outgoing::Frame(frame)) = receiver.try_recv() {
            seqs.push(frame.seq);
        }
        assert_eq!(seqs, [1, 2], "the oldest waiting ones are kept, in order");
    }

    #[test]
    fn the_inbox_hands_over_what_waits() {
        let (mut inbox, sender) = Inbox::new(8);
        assert!(inbox.drain().is_empty());
        for _ in 0..3 {
            sender
                .try_send(FleetNews::Forgotten {
                    host: "web-1".into(),
                })
                .expect("room in the inbox");
        }
        assert_eq!(inbox.drain().len(), 3);
        assert!(inbox.drain().is_empty());
    }
}
