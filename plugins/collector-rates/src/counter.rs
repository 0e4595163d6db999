//! Counts between two readings of a cumulative counter, and rates from them.
//!
//! # A counter that went backwards
//!
//! The kernel's counters only grow, except when they wrap (32-bit counters: some
//! drivers' network statistics, `io_ticks` of older kernels' diskstats) or are reset (a
//! driver reloaded, a device re-created under the same name). A rate must never come
//! out negative or absurd from either, so [`delta`] decides:
//!
//! - the previous value fit in 32 bits and the wrap-around distance
//!   `2^32 - previous + current` is at most `2^31` (half the range in one interval):
//!   the counter wrapped at 2^32, and that distance is what went by;
//! - otherwise the counter was reset (or the reading is inconsistent): nothing is
//!   counted for this interval, so its rate is 0, and the next interval counts from the
//!   new value as usual.
//!
//! Counting a reset as 0 under-counts one interval; counting it "from 0" (`current`)
//! would turn a counter that merely looked backwards into a giant spike, which is
//! worse for alerts and graphs than one missing interval.

use std::time::Duration;

/// Where a 32-bit counter wraps.
const WRAP_32: u64 = 1 << 32;

/// What went by between two readings of a cumulative counter (see the module docs for
/// a counter that went backwards).
pub fn delta(previous: u64, current: u64) -> u64 {
    if current >= previous {
        return current - previous;
    }
    if previous < WRAP_32 {
        let wrapped = WRAP_32 - previous + current;
        if wrapped <= WRAP_32 / 2 {
            return wrapped;
        }
    }
    0
}

/// `count` over `elapsed`, per second, one decimal; 0 when no time went by (two
/// readings with the same monotonic time carry no rate).
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        round1(count as f64 / seconds)
    } else {
        0.0
    }
}

/// One decimal, as every rate of the snapshot is reported.
pub fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_growing_counter_gives_its_difference() {
        assert_eq!(delta(100, 250), 150);
        assert_eq!(delta(7, 7), 0);
        assert_eq!(delta(u64::MAX - 1, u64::MAX), 1);
    }

    #[test]
    fn a_32_bit_counter_near_its_end_wrapped() {
        // 4_294_967_000 is 296 short of 2^32 = 4_294_967_296; 200 more after the wrap.
        assert_eq!(delta(4_294_967_000, 200), 496);
        assert_eq!(delta(u64::from(u32::MAX), 0), 1);
    }

    #[test]
    fn a_counter_that_fell_far_was_reset_and_counts_nothing_this_interval() {
        // Wrapping from 1_000 would mean 2^32 - 1_000 + 10 went by in one interval:
        // more than half the range, so it is a reset.
        assert_eq!(delta(1_000, 10), 0);
        // Beyond 32 bits it cannot be a 32-bit wrap at all.
        assert_eq!(delta(68_210_035_552, 5_000), 0);
    }

    #[test]
    fn rates_are_per_second_with_one_decimal_and_never_from_zero_time() {
        assert_eq!(per_second(1_000, Duration::from_millis(500)), 2_000.0);
        assert_eq!(per_second(1, Duration::from_millis(300)), 3.3);
        assert_eq!(per_second(1_000, Duration::ZERO), 0.0);
        assert_eq!(round1(2.25), 2.3);
    }
}
