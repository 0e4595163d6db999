//! A bystander for attack tests: a client connected before the attack that keeps
//! reading in the background, so a test can prove that whatever it threw at the server,
//! an innocent client still received every tick, on time, and was never cut.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::{connect, parse_timestamp, Server};

/// What the bystander saw.
#[derive(Debug, Default, Clone)]
struct Seen {
    /// Each tick's own timestamp, with its arrival time.
    ticks: Vec<(chrono::NaiveDateTime, Instant)>,
    /// Why the connection ended, once it has.
    closed: Option<String>,
}

/// A connected client recording the ticks it receives.
pub struct Witness {
    seen: Arc<Mutex<Seen>>,
    since: Instant,
    task: tokio::task::JoinHandle<()>,
}

impl Witness {
    /// Connects to `server` and starts recording; returns once the first tick arrived.
    pub async fn start(server: &Server) -> Self {
        let mut ws = connect(&server.url("/")).await;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let sink = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            let closed = loop {
                let text = match ws.next().await {
                    None => break "the stream ended".to_owned(),
                    Some(Err(e)) => break format!("error: {e}"),
                    Some(Ok(Message::Close(frame))) => break format!("closed: {frame:?}"),
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                };
                let at = Instant::now();
                let value: Value = serde_json::from_str(text.as_str()).expect("server sends JSON");
                if value["type"] == "monitoring_data" {
                    let stamp = parse_timestamp(&value["timestamp"]);
                    lock(&sink).ticks.push((stamp, at));
                }
            };
            lock(&sink).closed = Some(closed);
        });
        let witness = Self {
            seen,
            since: Instant::now(),
            task,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while lock(&witness.seen).ticks.is_empty() {
            assert!(Instant::now() < deadline, "the witness got no tick in 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        witness
    }

    /// How many ticks arrived so far.
    pub fn ticks(&self) -> usize {
        lock(&self.seen).ticks.len()
    }

    /// Asserts that the connection is still open and that no tick of the server's
    /// `interval` went missing since the witness started: consecutive timestamps are
    /// less than two intervals apart (a skipped tick shows as two), and ticks kept
    /// arriving up to now. `during` names the attack in the failure message.
    pub fn assert_every_tick(&self, interval: Duration, during: &str) {
        let seen = lock(&self.seen).clone();
        assert!(
            seen.closed.is_none(),
            "during {during}, the witness's connection ended: {:?}",
            seen.closed
        );
        let worst = seen
            .ticks
            .windows(2)
            .map(|pair| (pair[1].0 - pair[0].0).to_std().unwrap_or_default())
            .max()
            .unwrap_or_default();
        assert!(
            worst.as_secs_f64() < 1.9 * interval.as_secs_f64(),
            "during {during}, the witness missed a tick: {:.0} ms between two ticks' \
             timestamps ({} ticks seen)",
            worst.as_secs_f64() * 1000.0,
            seen.ticks.len()
        );
        let last = seen.ticks.last().map_or(self.since, |t| t.1);
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

impl Drop for Witness {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(seen: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(PoisonError::into_inner)
}
