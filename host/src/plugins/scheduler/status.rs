//! What the scheduler tells the rest of the server about each collector: a
//! [`CollectorStatus`] per collector, published on a [`StatusBoard`] after every tick
//! for `/health` and `/metrics`, which never touch the scheduler itself.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, Local};
use serde::Serialize;
use tokio::time::Instant;

use super::slot::{backoff, Slot, Timing};

/// Where a collector stands, as `/health` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CollectorState {
    /// Its latest collection succeeded.
    Ok,
    /// It has not answered yet.
    Pending,
    /// Its latest collection failed; it is backing off.
    Failing,
    /// Disabled after a fatal error.
    Disabled,
    /// A fallback provider not asked while a preferred one serves.
    Standby,
}

/// One collector as `/health` shows it, as of the latest tick.
#[derive(Debug, Clone, Serialize)]
pub struct CollectorStatus {
    /// The collector plugin's name.
    pub name: String,
    /// Where it stands.
    pub state: CollectorState,
    /// Its last successful collection, ISO 8601 local time.
    #[serde(serialize_with = "crate::timestamp::serialize_option")]
    pub last_success: Option<DateTime<Local>>,
    /// The same, for computing its age.
    #[serde(skip)]
    pub last_success_at: Option<std::time::Instant>,
    /// Failures since its last success.
    pub consecutive_failures: u32,
    /// Failures since start.
    pub errors_total: u64,
    /// Its latest error, if it ever failed.
    pub last_error: Option<String>,
    /// How long it rests after its latest failure, ms (0 when not failing).
    pub backoff_ms: u64,
    /// Time until it is asked again, ms, as of the latest tick.
    pub next_due_in_ms: u64,
    /// Whether a collection is running now.
    pub busy: bool,
    /// How long the running collection has taken so far, ms.
    pub busy_ms: Option<u64>,
    /// Busy for more than a whole tick past its deadline: it has cost its section at
    /// least one snapshot.
    pub hung: bool,
}

/// The latest [`CollectorStatus`] of every collector. Written once per tick by the
/// collection loop, read by HTTP handlers; an `RwLock` held only to swap or clone the
/// list.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard(Arc<RwLock<Vec<CollectorStatus>>>);

impl StatusBoard {
    /// Every collector, in snapshot order.
    pub fn all(&self) -> Vec<CollectorStatus> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn set(&self, statuses: Vec<CollectorStatus>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = statuses;
    }
}

/// What `/health` shows of one slot at `now`.
pub(super) fn status_of(slot: &Slot, now: Instant, timing: Timing) -> CollectorStatus {
    let busy_for = slot
        .busy_since
        .map(|since| now.saturating_duration_since(since));
    let state = if slot.disabled {
        CollectorState::Disabled
    } else if slot.standby {
        CollectorState::Standby
    } else if slot.failures > 0 {
        CollectorState::Failing
    } else if slot.last_success.is_none() {
        CollectorState::Pending
    } else {
        CollectorState::Ok
    };
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    CollectorStatus {
        name: slot.name.clone(),
        state,
        last_success: slot.last_success.map(|(_, at)| at),
        last_success_at: slot.last_success.as_ref().map(|(at, _)| at.into_std()),
        consecutive_failures: slot.failures,
        errors_total: slot.errors,
        last_error: slot.last_error.clone(),
        backoff_ms: if slot.failures > 0 {
            millis(backoff(timing.interval, slot.failures, timing.max_backoff))
        } else {
            0
        },
        next_due_in_ms: millis(slot.next_due.saturating_duration_since(now)),
        busy: busy_for.is_some(),
        busy_ms: busy_for.map(millis),
        hung: busy_for.is_some_and(|busy| busy > timing.collect_timeout + timing.interval),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_keep_their_wire_words() {
        let states = [
            CollectorState::Ok,
            CollectorState::Pending,
            CollectorState::Failing,
            CollectorState::Disabled,
            CollectorState::Standby,
        ];
        let words = states.map(|s| serde_json::to_string(&s).unwrap_or_default());
        assert_eq!(
            words,
            [
                "\"ok\"",
                "\"pending\"",
                "\"failing\"",
                "\"disabled\"",
                "\"standby\""
            ]
        );
    }
}
