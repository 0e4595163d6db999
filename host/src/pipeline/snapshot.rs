//! A snapshot: every collector's sections at one instant. Its time is typed; the text
//! form is made once per tick, when the frame is built ([`super::bus`]).

use chrono::{DateTime, Local};
use monitoring_plugin_api::Sections;

/// One tick's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// When its tick asked the collectors (see [`Self::taken`]).
    pub taken_at: DateTime<Local>,
    /// The sections, as in `monitoring_data.data`.
    pub data: Sections,
}

impl Snapshot {
    /// The sections, taken now.
    pub fn now(data: Sections) -> Self {
        Self::taken(Local::now(), data)
    }

    /// The sections a tick asked for at `at`.
    ///
    /// A tick's snapshot carries the instant the collectors were asked, as Prometheus
    /// stamps a scrape with its start: that is when each collector reads its counters
    /// (within microseconds of being asked), whereas the moment the last answer comes
    /// back depends on how busy the machine is. Stamped after the answers, the
    /// timestamps of a steady 0.5 s cadence wandered by the collection's wall time
    /// (up to 9 ms on a core also serving 10,000 clients).
    pub fn taken(at: DateTime<Local>, data: Sections) -> Self {
        Self { taken_at: at, data }
    }

    /// How long ago it was taken, as of `now`; zero if the clock went back.
    pub fn age(&self, now: DateTime<Local>) -> std::time::Duration {
        (now - self.taken_at).to_std().unwrap_or_default()
    }
}
