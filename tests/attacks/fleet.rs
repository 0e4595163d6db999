//! Issue 20's attacks on a fleet gateway, as anyone allowed to publish on the bus
//! can run them: shared by the black-box test (`tests/attack_fleet.rs`) and the
//! `attack-fleet` bin that `bench/security.sh` runs against the old and new gateway.
//!
//! - [`names`]: a burst of tiny frames, each under a host name never seen before
//!   (item 4: the gateway's `hosts` messages grew with the square of the host count).
//! - [`big`]: one large frame from each of many hosts (item 5: the gateway kept each
//!   host's newest frame whole, up to NATS's 1 MB limit).
//!
//! Every attack is bounded in count; only loopback NATS URLs are meant for it.

use std::time::{Duration, Instant};

use bytes::Bytes;

/// A tiny but well-formed `monitoring_data` frame.
const TINY: &str = r#"{"type":"monitoring_data","timestamp":"2026-12-06T00:00:00.000000","data":{"memory":{"percentage":1.0}},"alerts":[]}"#;

/// What an attack sent.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    /// Messages published.
    pub messages: usize,
    /// Their payload bytes.
    pub bytes: usize,
    /// From the first publish to the flush that confirmed them all.
    pub elapsed: Duration,
}

/// An error of the bus, in words.
#[derive(Debug)]
pub struct AttackError(pub String);

impl std::fmt::Display for AttackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Connects to the NATS server at `url` (a token when the bus wants one).
pub async fn connect(url: &str, token: Option<&str>) -> Result<async_nats::Client, AttackError> {
    let mut options = async_nats::ConnectOptions::new().client_capacity(65_536);
    if let Some(token) = token {
        options = options.token(token.to_owned());
    }
    options
        .connect(url)
        .await
        .map_err(|e| AttackError(format!("cannot connect to {url}: {e}")))
}

/// Publishes every `(subject, payload)` and waits until NATS has them all.
async fn publish_all(
    client: &async_nats::Client,
    messages: impl Iterator<Item = (String, Bytes)>,
) -> Result<Sent, AttackError> {
    let start = Instant::now();
    let (mut count, mut bytes) = (0, 0);
    for (subject, payload) in messages {
        bytes += payload.len();
        count += 1;
        client
            .publish(subject, payload)
            .await
            .map_err(|e| AttackError(format!("publish refused: {e}")))?;
    }
    client
        .flush()
        .await
        .map_err(|e| AttackError(format!("flush failed: {e}")))?;
    Ok(Sent {
        messages: count,
        bytes,
        elapsed: start.elapsed(),
    })
}

/// Item 4: `hosts` tiny frames under as many new names (`flood-<round>-<i>`, so each
/// round's names are new again), published as fast as the client goes.
pub async fn names(
    client: &async_nats::Client,
    prefix: &str,
    round: usize,
    hosts: usize,
) -> Result<Sent, AttackError> {
    let payload = Bytes::from_static(TINY.as_bytes());
    publish_all(
        client,
        (0..hosts).map(|i| (format!("{prefix}.flood-{round}-{i}.data"), payload.clone())),
    )
    .await
}

/// A well-formed `monitoring_data` frame of exactly `bytes` bytes (at least the
/// tiny frame's size): the tiny frame with a long string in `data`.
pub fn big_frame(bytes: usize) -> Bytes {
    let head = r#"{"type":"monitoring_data","timestamp":"2026-12-06T00:00:00.000000","data":{"memory":{"percentage":1.0},"pad":""#;
    let tail = r#""},"alerts":[]}"#;
    let pad = bytes.saturating_sub(head.len() + tail.len());
    let mut frame = String::with_capacity(head.len() + pad + tail.len());
    frame.push_str(head);
    frame.extend(std::iter::repeat_n('x', pad));
    frame.push_str(tail);
    Bytes::from(frame)
}

/// Item 5: one frame of `bytes` bytes from each of `hosts` hosts (`big-<i>`).
pub async fn big(
    client: &async_nats::Client,
    prefix: &str,
    hosts: usize,
    bytes: usize,
) -> Result<Sent, AttackError> {
    let payload = big_frame(bytes);
    publish_all(
        client,
        (0..hosts).map(|i| (format!("{prefix}.big-{i}.data"), payload.clone())),
    )
    .await
}
