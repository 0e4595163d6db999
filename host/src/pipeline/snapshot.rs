//! A snapshot: every collector's sections at one instant. Its time is typed; the text
//! form is made once per tick, when the frame is built ([`super::bus`]).

use chrono::{DateTime, Local};
use monitoring_plugin_api::Sections;

/// One tick's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// When it was assembled.
    pub taken_at: DateTime<Local>,
    /// The sections, as in `monitoring_data.data`.
    pub data: Sections,
}

impl Snapshot {
    /// The sections, taken now.
    pub fn now(data: Sections) -> Self {
        Self {
            taken_at: Local::now(),
            data,
        }
    }

    /// How long ago it was taken, as of `now`; zero if the clock went back.
    pub fn age(&self, now: DateTime<Local>) -> std::time::Duration {
        (now - self.taken_at).to_std().unwrap_or_default()
    }
}
