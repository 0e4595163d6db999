//! A tick's time, and the events every alert source makes alike: shared by the
//! threshold engine ([`super::engine`]) and the checks ([`super::checks`]) so that
//! neither imports the other.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use monitoring_plugin_api::{Alert, AlertState, SinkEvent};

use crate::timestamp;

/// How long a firing instance without a reading stays active before it counts as
/// cleared: a collector's hiccup is not a recovery, a disk gone for a minute is.
pub const READING_GRACE: Duration = Duration::from_secs(60);

/// When a tick was taken: the monotonic instant for durations, the wall time for
/// `starts_at`/`ends_at`, and the tick's timestamp in the seed's format.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    /// For `for` and the reading grace.
    pub now: Instant,
    /// For `starts_at` and `ends_at`.
    pub wall: DateTime<Utc>,
    /// The alert's `timestamp`.
    pub timestamp: &'a str,
}

/// The `Resolved` event of an alert that cleared at `tick`.
pub fn resolved(mut alert: Alert, tick: Tick<'_>) -> SinkEvent {
    alert.state = AlertState::Resolved;
    alert.ends_at = timestamp::rfc3339(&tick.wall);
    SinkEvent::Resolved {
        alert,
        resolved_at: tick.timestamp.to_owned(),
    }
}
