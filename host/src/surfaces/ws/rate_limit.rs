//! A token bucket per connection for control messages: a client may burst, then is
//! held to a steady rate. Past the bucket it gets `RATE_LIMITED` replies (at most one a
//! second, so the replies are no flood themselves); if it keeps going it is closed.

use std::time::Duration;

// The tokio clock, so the session tests run on a paused one.
use tokio::time::Instant;

/// What to do with one incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle it.
    Allow,
    /// Drop it and tell the client (first refusal in a second).
    Refuse,
    /// Drop it silently (further refusals in the same second).
    Drop,
    /// The client keeps flooding: close the connection.
    Close,
}

/// Per-connection limiter.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    last_refusal_reply: Option<Instant>,
    strikes: u32,
    max_strikes: u32,
}

impl RateLimiter {
    /// `rate` messages per second on average, bursts of `burst`; closed after
    /// `max_strikes` refused messages without the bucket refilling in between.
    pub fn new(rate: f64, burst: f64, max_strikes: u32, now: Instant) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
            last_refusal_reply: None,
            strikes: 0,
            max_strikes,
        }
    }

    /// Judges one message arriving at `now`.
    pub fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= self.burst {
            self.strikes = 0;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Allow;
        }
        self.strikes += 1;
        if self.strikes >= self.max_strikes {
            return Verdict::Close;
        }
        match self.last_refusal_reply {
            Some(at) if now.saturating_duration_since(at) < Duration::from_secs(1) => Verdict::Drop,
            _ => {
                self.last_refusal_reply = Some(now);
                Verdict::Refuse
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(10.0, 5.0, 100, start);
        for _ in 0..5 {
            assert_eq!(limiter.check(start), Verdict::Allow);
        }
        assert_eq!(limiter.check(start), Verdict::Refuse);
        assert_eq!(limiter.check(start), Verdict::Drop);
        // 100 ms later one token is back.
        assert_eq!(
            limiter.check(start + Duration::from_millis(100)),
            Verdict::Allow
        );
    }

    #[test]
    fn a_sustained_flood_is_closed() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(10.0, 5.0, 20, start);
        let verdicts: Vec<Verdict> = (0..30)
            .map(|i| limiter.check(start + Duration::from_micros(i)))
            .collect();
        assert_eq!(verdicts.iter().filter(|v| **v == Verdict::Allow).count(), 5);
        assert_eq!(verdicts.last(), Some(&Verdict::Close));
    }

    #[test]
    fn a_quiet_spell_forgives() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(10.0, 2.0, 3, start);
        limiter.check(start);
        limiter.check(start);
        assert_eq!(limiter.check(start), Verdict::Refuse);
        assert_eq!(limiter.check(start), Verdict::Drop);
        let later = start + Duration::from_secs(5);
        assert_eq!(limiter.check(later), Verdict::Allow);
        assert_eq!(limiter.check(later), Verdict::Allow);
        assert_eq!(
            limiter.check(later),
            Verdict::Refuse,
            "strikes were reset, so no close yet"
        );
    }
}
