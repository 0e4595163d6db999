//! Changes to a running collection loop: plugins added, replaced and removed, and a
//! reloaded configuration's rules, cadence, history size and the store's limits.
//!
//! The loop owns the scheduler and the sinks, so nothing else touches them: changes
//! arrive on a channel and are applied between two ticks, never during one. A tick is
//! never skipped for a change, and a replaced plugin's new instance takes its old
//! slot, so the snapshot keeps its order.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::alerts::lifecycle::Policy;
use crate::alerts::rules::RuleSet;
use crate::alerts::sink_runner::SinkSpec;
use crate::plugins::scheduler::NewCollector;
use crate::store::Limits;

/// One change to apply between ticks.
pub enum Change {
    /// Starts a collector, replacing a running one of the same name in its slot.
    Collector(NewCollector),
    /// Starts a sink, retiring a running one of the same name.
    Sink(SinkSpec),
    /// Stops the collector or sink of this name.
    Remove(String),
    /// New alert rules, and how their alerts are notified (grouping, repeats, routes).
    Rules(RuleSet, Policy),
    /// A new time between ticks.
    Interval(Duration),
    /// A new history size.
    HistorySize(usize),
    /// New retention and caps for the on-disk history (`[history]`).
    HistoryLimits(Limits),
    /// New provider chains (`[providers]`).
    Providers(Vec<Vec<String>>),
}

/// The sending side, held by whoever decides on changes (`live`).
#[derive(Clone)]
pub struct Changes(mpsc::UnboundedSender<Change>);

/// The receiving side, owned by the collection loop.
pub struct ChangeReceiver(pub(super) mpsc::UnboundedReceiver<Change>);

/// A connected pair.
pub fn channel() -> (Changes, ChangeReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Changes(tx), ChangeReceiver(rx))
}

impl Changes {
    /// Queues `change` for the loop; `false` once the loop has ended.
    pub fn send(&self, change: Change) -> bool {
        self.0.send(change).is_ok()
    }
}
