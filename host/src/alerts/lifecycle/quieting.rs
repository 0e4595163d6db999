//! The seam between the lifecycle and the silences store: what silences and
//! acknowledgements say about an alert, behind a trait so the lifecycle's tests can
//! stand in for the store (another module's) without a file or a clock.

use chrono::{DateTime, Utc};
use monitoring_plugin_api::Alert;

use super::super::silences::{AckView, Silences};

/// What silences and acknowledgements say about an alert. [`Silences`] is the real
/// one; the seam lets the lifecycle's tests stand in for it.
pub(super) trait Quieting: Send + Sync {
    /// The ids of the active silences matching `alert`, whose host has `tags`.
    fn silencing(&self, alert: &Alert, tags: &[String], now: DateTime<Utc>) -> Vec<String>;
    /// The acknowledgement of `alert`'s current episode.
    fn acked(&self, alert: &Alert) -> Option<AckView>;
    /// `fingerprint` resolved: its acknowledgement ends.
    fn resolved(&self, fingerprint: &str);
    /// Changes whenever a silence or acknowledgement is made, expired or forgotten.
    fn version(&self) -> u64;
    /// The first time after `after` at which a silence starts or ends by itself.
    fn next_boundary(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>>;
}

impl Quieting for Silences {
    fn silencing(&self, alert: &Alert, tags: &[String], now: DateTime<Utc>) -> Vec<String> {
        Silences::silencing(self, alert, tags, now)
    }

    fn acked(&self, alert: &Alert) -> Option<AckView> {
        Silences::acked(self, alert)
    }

    fn resolved(&self, fingerprint: &str) {
        Silences::resolved(self, fingerprint);
    }

    fn version(&self) -> u64 {
        Silences::version(self)
    }

    fn next_boundary(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Silences::next_boundary(self, after)
    }
}
