//! How long to wait before resending a batch: exponential from `min` to `max`,
//! doubled per failure and reset by a success; a receiver's `Retry-After` is honoured
//! when it asks for longer (up to [`LONGEST_HINT`]).

use std::time::Duration;

/// The longest `Retry-After` obeyed; a receiver asking for more is retried then.
pub const LONGEST_HINT: Duration = Duration::from_secs(300);

/// Exponential back-off state.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `min`, doubles up to `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        let max = max.max(min);
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The delay before the next attempt, given the receiver's hint, and doubles the
    /// one after.
    pub fn next_delay(&mut self, hint: Option<Duration>) -> Duration {
        let delay = self.next.max(hint.unwrap_or_default().min(LONGEST_HINT));
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    /// Back to `min` after a success.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_honours_hints_and_resets() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(500), ms(3000));
        let delays: Vec<Duration> = (0..5).map(|_| backoff.next_delay(None)).collect();
        assert_eq!(delays, [ms(500), ms(1000), ms(2000), ms(3000), ms(3000)]);
        assert_eq!(backoff.next_delay(Some(ms(10_000))), ms(10_000));
        assert_eq!(
            backoff.next_delay(Some(Duration::from_secs(3600))),
            LONGEST_HINT
        );
        backoff.reset();
        assert_eq!(backoff.next_delay(Some(ms(1))), ms(500));
    }
}
