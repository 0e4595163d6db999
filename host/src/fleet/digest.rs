//! Rate-limited summary lines for what anyone on the bus can make happen in bulk.
//!
//! A flood of new host names or of oversize frames must not become a flood of log
//! lines (issue 20: 5,000 names made 10,006 INFO lines). A [`Digest`] counts events
//! by kind and keeps a few examples; [`Digest::due`] hands out one summary line at
//! most once per period ("5000 new, 1 stale, e.g. flood-1: new→up, …"), the first
//! one at once after a quiet period, so a lone change is still logged when it
//! happens.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Examples a summary line names.
const EXAMPLES: usize = 5;

/// Events counted since the last summary line.
#[derive(Debug)]
pub struct Digest {
    period: Duration,
    last_line: Option<Instant>,
    counts: BTreeMap<&'static str, u64>,
    examples: Vec<String>,
}

/// One summary line's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Events in it.
    pub total: u64,
    /// `5000 new, 1 stale`.
    pub counts: String,
    /// A few of them, comma-separated.
    pub examples: String,
}

impl Digest {
    /// A digest writing at most one line per `period`.
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            last_line: None,
            counts: BTreeMap::new(),
            examples: Vec::new(),
        }
    }

    /// Counts one event of `kind`; `example` is only made while examples are wanted.
    pub fn note(&mut self, kind: &'static str, example: impl FnOnce() -> String) {
        *self.counts.entry(kind).or_insert(0) += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example());
        }
    }

    /// The summary of what was noted, when there is some and the period since the
    /// last line is over; the counts start again from zero.
    pub fn due(&mut self, now: Instant) -> Option<Line> {
        if self.counts.is_empty()
            || self
                .last_line
                .is_some_and(|last| now.saturating_duration_since(last) < self.period)
        {
            return None;
        }
        self.last_line = Some(now);
        let counts = std::mem::take(&mut self.counts);
        let mut text = String::new();
        for (kind, count) in &counts {
            let separator = if text.is_empty() { "" } else { ", " };
            let _ = write!(text, "{separator}{count} {kind}");
        }
        Some(Line {
            total: counts.values().sum(),
            counts: text,
            examples: std::mem::take(&mut self.examples).join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_flood_is_one_line_per_period() {
        let start = Instant::now();
        let mut digest = Digest::new(10 * SECOND);
        assert_eq!(digest.due(start), None, "nothing noted");
        digest.note("stale", || "web-1".into());
        let first = digest.due(start).expect("a lone event is logged at once");
        assert_eq!((first.total, first.counts.as_str()), (1, "1 stale"));
        for i in 0..5000 {
            digest.note("new", || format!("flood-{i}"));
        }
        digest.note("stale", || "web-2".into());
        assert_eq!(digest.due(start + SECOND), None, "within the period");
        let line = digest.due(start + 10 * SECOND).expect("after it");
        assert_eq!(line.total, 5001);
        assert_eq!(line.counts, "5000 new, 1 stale");
        assert_eq!(line.examples, "flood-0, flood-1, flood-2, flood-3, flood-4");
        assert_eq!(digest.due(start + 30 * SECOND), None, "counted once");
    }
}
