//! A bystander for attack tests: a client connected before the attack that keeps
//! reading in the background (a [`Recorder`]), so a test can prove that whatever it
//! threw at the server, an innocent client still received every tick, on time, and was
//! never cut.

use std::time::{Duration, Instant};

use crate::client::connect;
use crate::recorder::{worst_timestamp_gap, Recorder};
use crate::server::Server;

/// A connected client recording the ticks it receives.
pub struct Witness {
    recorder: Recorder,
    since: Instant,
}

impl Witness {
    /// Connects to `server` and starts recording; returns once the first tick arrived.
    pub async fn start(server: &Server) -> Self {
        let recorder = Recorder::start(connect(&server.url("/")).await, false);
        let first = recorder
            .wait_for(|record| !record.ticks.is_empty(), Duration::from_secs(10))
            .await;
        assert!(first.is_some(), "the witness got no tick in 10 s");
        Self {
            recorder,
            since: Instant::now(),
        }
    }

    /// How many ticks arrived so far.
    pub fn ticks(&self) -> usize {
        self.recorder.record().ticks.len()
    }

    /// Asserts that the connection is still open and that no tick of the server's
    /// `interval` went missing since the witness started: consecutive timestamps are
    /// less than two intervals apart (a skipped tick shows as two), and ticks kept
    /// arriving up to now. `during` names the attack in the failure message.
    pub fn assert_every_tick(&self, interval: Duration, during: &str) {
        let seen = self.recorder.record();
        assert!(
            seen.closed.is_none(),
            "during {during}, the witness's connection ended: {:?}",
            seen.closed
        );
        let worst = worst_timestamp_gap(&seen.ticks);
        assert!(
            worst.as_secs_f64() < 1.9 * interval.as_secs_f64(),
            "during {during}, the witness missed a tick: {:.0} ms between two ticks' \
             timestamps ({} ticks seen)",
            worst.as_secs_f64() * 1000.0,
            seen.ticks.len()
        );
        let last = seen.ticks.last().map_or(self.since, |t| t.at);
        assert!(
            last.elapsed() < interval * 4,
            "during {during}, the witness has had no tick for {:?}",
            last.elapsed()
        );
        let expected = self.since.elapsed().as_secs_f64() / interval.as_secs_f64();
        eprintln!(
            "witness during {during}: {} ticks in {:.1} s (≈{expected:.0} due), worst gap {:.0} ms",
            seen.ticks.len(),
            self.since.elapsed().as_secs_f64(),
            worst.as_secs_f64() * 1000.0
        );
    }
}
