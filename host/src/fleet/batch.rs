//! The changes of the fleet view since the last `hosts` message, one per host.
//!
//! Viewers get at most one `hosts` message per gateway tick, listing only what
//! changed (issue 20: one message per change, each with the whole table, sent one
//! viewer 2.5 GB for 5,000 new names). A host that changes several times within a
//! tick is one change, from where it stood at the last message to where it is now;
//! one that came and went within it is none.

use std::collections::BTreeMap;

use crate::fleet::hosts::{Change, HostState};

/// Changes waiting for the next `hosts` message. At most one entry per host the view
/// holds or forgot at the last sweep, so it is bounded by the view's own cap.
#[derive(Debug, Default)]
pub struct Batch {
    /// host → (state at the last message, state now).
    pending: BTreeMap<String, (Option<HostState>, Option<HostState>)>,
}

impl Batch {
    /// Adds a change, folding it into an earlier one of the same host.
    pub fn push(&mut self, change: Change) {
        self.pending
            .entry(change.host)
            .and_modify(|(_, to)| *to = change.to)
            .or_insert((change.from, change.to));
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The net changes, by host name; empties the batch.
    pub fn take(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.pending)
            .into_iter()
            .filter(|(_, (from, to))| from != to)
            .map(|(host, (from, to))| Change { host, from, to })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(host: &str, from: Option<HostState>, to: Option<HostState>) -> Change {
        Change {
            host: host.into(),
            from,
            to,
        }
    }

    #[test]
    fn changes_fold_per_host() {
        let mut batch = Batch::default();
        batch.push(change("a", Some(HostState::Up), Some(HostState::Stale)));
        batch.push(change("a", Some(HostState::Stale), Some(HostState::Up)));
        batch.push(change("b", None, Some(HostState::Up)));
        batch.push(change("c", Some(HostState::Gone), None));
        batch.push(change("d", Some(HostState::Up), Some(HostState::Stale)));
        batch.push(change("d", Some(HostState::Stale), Some(HostState::Gone)));
        assert!(!batch.is_empty());
        assert_eq!(
            batch.take(),
            [
                change("b", None, Some(HostState::Up)),
                change("c", Some(HostState::Gone), None),
                change("d", Some(HostState::Up), Some(HostState::Gone)),
            ],
            "a: stale and back within the tick is no change"
        );
        assert!(batch.is_empty());
    }
}
