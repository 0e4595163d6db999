//! The time between ticks as the collection loop runs it now, shared with the surfaces
//! that report it (`get_status`, `/health`) or check against it (a subscription's
//! `interval_ms`): a reload can change it while the server runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A cloneable handle on the current tick length.
#[derive(Debug, Clone)]
pub struct Cadence(Arc<AtomicU64>);

impl Cadence {
    /// A tick of `seconds`.
    pub fn new(seconds: f64) -> Self {
        Self(Arc::new(AtomicU64::new(seconds.to_bits())))
    }

    /// Seconds between ticks.
    pub fn seconds(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// The loop's new tick.
    pub fn set(&self, interval: Duration) {
        self.0
            .store(interval.as_secs_f64().to_bits(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clone_sees_a_change() {
        let cadence = Cadence::new(0.5);
        let reader = cadence.clone();
        assert_eq!(reader.seconds(), 0.5);
        cadence.set(Duration::from_millis(250));
        assert_eq!(reader.seconds(), 0.25);
    }
}
