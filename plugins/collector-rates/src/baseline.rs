//! The reading rates are computed against, and when it was taken.

use std::time::{Duration, Instant};

/// The last reading of a set of cumulative counters: each new reading is compared with
/// it, then takes its place. A collector primes it with a first reading when it starts.
#[derive(Debug)]
pub struct Baseline<R> {
    reading: R,
    at: Instant,
}

impl<R> Baseline<R> {
    /// `reading`, taken `at`.
    pub fn new(reading: R, at: Instant) -> Self {
        Self { reading, at }
    }

    /// `compare(baseline, current, time between the two)`; `current`, taken `at`, is
    /// the baseline afterwards.
    pub fn advance<T>(
        &mut self,
        current: R,
        at: Instant,
        compare: impl FnOnce(&R, &R, Duration) -> T,
    ) -> T {
        let elapsed = at.saturating_duration_since(self.at);
        let result = compare(&self.reading, &current, elapsed);
        self.reading = current;
        self.at = at;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reading_is_compared_with_the_last_then_replaces_it() {
        let start = Instant::now();
        let mut baseline = Baseline::new(10u64, start);
        let second = start + Duration::from_secs(2);
        let first = baseline.advance(30, second, |before, now, elapsed| (*before, *now, elapsed));
        assert_eq!(first, (10, 30, Duration::from_secs(2)));
        let third = second + Duration::from_millis(500);
        let next = baseline.advance(35, third, |before, _, elapsed| (*before, elapsed));
        assert_eq!(next, (30, Duration::from_millis(500)));
        // A clock that went backwards gives no time, not a panic.
        let back = baseline.advance(36, start, |_, _, elapsed| elapsed);
        assert_eq!(back, Duration::ZERO);
    }
}
