//! The host's view of one collector ([`Slot`]) and the timing policy it runs under,
//! shared by the scheduler and the status it publishes; in a file of its own so that
//! both import it from here and never each other.

use std::time::Duration;

use chrono::{DateTime, Local};
use monitoring_plugin_api::{CollectorBox, Sections};
use tokio::time::Instant;

use crate::throttle::Throttle;

/// Timing policy, from `[monitor]`.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Time between ticks.
    pub interval: Duration,
    /// How long a tick waits for collectors.
    pub collect_timeout: Duration,
    /// Longest back-off for a failing collector.
    pub max_backoff: Duration,
}

/// How long a failing collector rests: the interval doubled per consecutive failure,
/// capped.
pub fn backoff(interval: Duration, failures: u32, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
    interval.saturating_mul(factor).min(max).max(interval)
}

/// The host's view of one collector.
pub(super) struct Slot {
    /// Unique for the scheduler's life: answers find their slot by it, so a slot
    /// replaced or removed meanwhile never gets another instance's answer.
    pub(super) id: u64,
    pub(super) name: String,
    /// The collector while it is idle; `None` while a collection has it.
    pub(super) collector: Option<CollectorBox>,
    pub(super) busy_since: Option<Instant>,
    pub(super) next_due: Instant,
    pub(super) failures: u32,
    pub(super) disabled: bool,
    pub(super) fresh: Option<Sections>,
    /// Time between its collections: a whole number of ticks.
    pub(super) period: Duration,
    /// Its latest result and when it came, carried between collections of a collector
    /// whose period is longer than the tick.
    pub(super) latest: Option<(Sections, Instant)>,
    /// A fallback provider not asked now: a collector preferred to it serves.
    pub(super) standby: bool,
    pub(super) complaints: Throttle,
    pub(super) hang_complaints: Throttle,
    pub(super) errors: u64,
    pub(super) last_error: Option<String>,
    pub(super) last_success: Option<(Instant, DateTime<Local>)>,
}

impl Slot {
    /// An idle collector, due at once.
    pub(super) fn new(
        id: u64,
        name: String,
        collector: CollectorBox,
        period: Duration,
        now: Instant,
    ) -> Slot {
        Slot {
            id,
            name,
            collector: Some(collector),
            busy_since: None,
            next_due: now,
            failures: 0,
            disabled: false,
            fresh: None,
            period,
            latest: None,
            standby: false,
            complaints: Throttle::new(Duration::from_secs(60)),
            hang_complaints: Throttle::new(Duration::from_secs(60)),
            errors: 0,
            last_error: None,
            last_success: None,
        }
    }
}
