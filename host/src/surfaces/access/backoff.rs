//! Per-address back-off on failed authentication.
//!
//! A token is checked in constant time and a wrong one costs little, but answering
//! every guess lets a guesser try as fast as the network allows (the attack
//! had 2,000 wrong tokens in half a second answered), and fills the log. After
//! [`FAILURES_BEFORE_BACKOFF`] wrong or malformed tokens from one address within
//! [`FAILURE_WINDOW`], that address is backed off: for [`FIRST_BACKOFF`], doubling with
//! each further lockout up to [`MAX_BACKOFF`]. While backed off, a request from it that
//! presents a token is answered 429 with `Retry-After` **without checking the token**:
//! checking it would tell a guesser when it hit, and the back-off would slow nothing.
//! Requests without a token, other addresses, and the clients already connected are
//! not affected; a right token once the back-off has passed clears the address.
//!
//! An address is an IPv4 address or an IPv6 /64 ([`Source`]). The table is bounded by
//! [`MAX_TRACKED`]: when it is full, records that expired are dropped, then the one
//! idle the longest.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::accept::admission::Source;

/// Failed authentications from one address, within [`FAILURE_WINDOW`], before it is
/// backed off. A person mistyping a token a few times never reaches it.
pub const FAILURES_BEFORE_BACKOFF: u32 = 10;
/// The window failures are counted in; a record with no failure for this long (and no
/// back-off running) is forgotten.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// The first back-off; each further lockout doubles it.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest back-off.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Addresses tracked at most (a record is ~64 bytes: 256 KiB in all).
pub const MAX_TRACKED: usize = 4096;

/// What one address did lately.
#[derive(Debug, Clone, Copy)]
struct Record {
    /// Failures since `since`.
    failures: u32,
    /// The first failure of the current window.
    since: Instant,
    /// The latest failure.
    last: Instant,
    /// Lockouts in a row, for the doubling.
    lockouts: u32,
    /// The end of the back-off running, if one is.
    until: Option<Instant>,
}

impl Record {
    fn new(now: Instant) -> Self {
        Self {
            failures: 0,
            since: now,
            last: now,
            lockouts: 0,
            until: None,
        }
    }

    /// Whether it can be forgotten: no back-off running and quiet for a window.
    fn expired(&self, now: Instant) -> bool {
        self.until.is_none_or(|until| until <= now)
            && now.saturating_duration_since(self.last) >= FAILURE_WINDOW
    }
}

/// The per-address failure table; see the module doc.
#[derive(Debug, Default)]
pub struct Backoff {
    records: HashMap<Source, Record>,
}

impl Backoff {
    /// How long `source` is still backed off at `now`, if it is.
    pub fn remaining(&self, source: Source, now: Instant) -> Option<Duration> {
        let until = self.records.get(&source)?.until?;
        (until > now).then(|| until - now)
    }

    /// Records a failed authentication from `source` at `now`; returns the back-off
    /// it starts, if it starts one.
    pub fn failed(&mut self, source: Source, now: Instant) -> Option<Duration> {
        if !self.records.contains_key(&source) {
            self.make_room(now);
        }
        let record = self
            .records
            .entry(source)
            .or_insert_with(|| Record::new(now));
        if record.expired(now) {
            *record = Record::new(now);
        } else if now.saturating_duration_since(record.since) >= FAILURE_WINDOW {
            // A new window: the count starts again, the lockouts are remembered
            // until the address has been quiet for a whole window.
            record.failures = 0;
            record.since = now;
        }
        record.failures = record.failures.saturating_add(1);
        record.last = now;
        if record.failures < FAILURES_BEFORE_BACKOFF {
            return None;
        }
        record.lockouts = record.lockouts.saturating_add(1);
        let doublings = record.lockouts.saturating_sub(1).min(16);
        let backoff = FIRST_BACKOFF
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF);
        record.until = Some(now + backoff);
        Some(backoff)
    }

    /// A right token from `source`: its failures are forgotten.
    pub fn succeeded(&mut self, source: Source) {
        self.records.remove(&source);
    }

    /// How many addresses are tracked.
    pub fn tracked(&self) -> usize {
        self.records.len()
    }

    /// Keeps the table under [`MAX_TRACKED`] before a new address goes in.
    fn make_room(&mut self, now: Instant) {
        if self.records.len() < MAX_TRACKED {
            return;
        }
        self.records.retain(|_, record| !record.expired(now));
        if self.records.len() < MAX_TRACKED {
            return;
        }
        let idlest = self
            .records
            .iter()
            .min_by_key(|(_, record)| record.last)
            .map(|(source, _)| *source);
        if let Some(source) = idlest {
            self.records.remove(&source);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn source(n: u32) -> Source {
        Source::of(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)))
    }

    #[test]
    fn an_address_is_backed_off_after_the_allowed_failures_then_longer_each_time() {
        let start = Instant::now();
        let mut backoff = Backoff::default();
        let guesser = source(1);
        for _ in 1..FAILURES_BEFORE_BACKOFF {
            assert_eq!(backoff.failed(guesser, start), None);
        }
        assert_eq!(backoff.remaining(guesser, start), None);
        assert_eq!(backoff.failed(guesser, start), Some(FIRST_BACKOFF));
        assert_eq!(backoff.remaining(guesser, start), Some(FIRST_BACKOFF));
        assert_eq!(
            backoff.remaining(source(2), start),
            None,
            "others unaffected"
        );
        // Past the back-off, the next failure backs it off for twice as long.
        let later = start + FIRST_BACKOFF;
        assert_eq!(backoff.remaining(guesser, later), None);
        assert_eq!(backoff.failed(guesser, later), Some(2 * FIRST_BACKOFF));
        // A guesser that waits out each back-off: doubling stops at the ceiling, and a
        // new window gives it at most the allowed failures again.
        let mut now = later;
        let mut longest = Duration::ZERO;
        for _ in 0..20 {
            now += backoff.remaining(guesser, now).unwrap_or_default();
            let tries = (1..=FAILURES_BEFORE_BACKOFF)
                .find_map(|tries| backoff.failed(guesser, now).map(|next| (tries, next)));
            let (_, next) = tries.expect("backed off within the allowed failures");
            longest = longest.max(next);
        }
        assert_eq!(longest, MAX_BACKOFF);
    }

    #[test]
    fn slow_failures_and_a_right_token_are_forgiven() {
        let start = Instant::now();
        let mut backoff = Backoff::default();
        let typist = source(1);
        // One mistake every 10 s never adds up to a back-off.
        for i in 0..30u64 {
            let now = start + Duration::from_secs(10 * i);
            assert_eq!(backoff.failed(typist, now), None, "failure {i}");
        }
        for _ in 1..FAILURES_BEFORE_BACKOFF {
            backoff.failed(typist, start);
        }
        backoff.succeeded(typist);
        assert_eq!(
            backoff.failed(typist, start),
            None,
            "the count started again"
        );
    }

    #[test]
    fn the_table_never_holds_more_than_its_bound() {
        let start = Instant::now();
        let mut backoff = Backoff::default();
        for n in 0..(MAX_TRACKED as u32 + 500) {
            backoff.failed(source(n), start + Duration::from_millis(u64::from(n)));
        }
        assert_eq!(backoff.tracked(), MAX_TRACKED);
        // The idlest went first; the newest is still there.
        let newest = source(MAX_TRACKED as u32 + 499);
        for _ in 1..FAILURES_BEFORE_BACKOFF {
            backoff.failed(newest, start + Duration::from_secs(10));
        }
        assert!(backoff
            .remaining(newest, start + Duration::from_secs(10))
            .is_some());
    }
}
