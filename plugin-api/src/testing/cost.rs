//! What one `collect()` costs, for the collectors' `cost` examples behind
//! BENCHMARKS.md: one way of measuring, so their figures compare.

use std::fmt;
use std::time::{Duration, Instant};

use crate::{Collector, PluginError};

/// The calls measured after [`WARM_UP`] unmeasured ones.
pub const CALLS: usize = 200;
/// Unmeasured first calls: caches, page faults, a first reading.
pub const WARM_UP: usize = 5;

/// The spread of [`CALLS`] timed calls.
#[derive(Debug, Clone, Copy)]
pub struct CollectCost {
    /// Median.
    pub median: Duration,
    /// 90th percentile.
    pub p90: Duration,
}

impl fmt::Display for CollectCost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "median {:?}, p90 {:?} per collect() over {CALLS} calls",
            self.median, self.p90
        )
    }
}

/// Times [`CALLS`] calls of `collector.collect()` after [`WARM_UP`] untimed ones;
/// `last` gets the final output (to say what was collected).
pub fn collect_cost<C: Collector>(
    collector: &mut C,
    mut last: impl FnMut(&C::Output),
) -> Result<CollectCost, PluginError> {
    for _ in 0..WARM_UP {
        Collector::collect(collector)?;
    }
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let start = Instant::now();
        let output = Collector::collect(collector)?;
        times.push(start.elapsed());
        last(&output);
    }
    times.sort_unstable();
    Ok(CollectCost {
        median: times[CALLS / 2],
        p90: times[CALLS * 9 / 10],
    })
}
