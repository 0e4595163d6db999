//! Publishing: takes what the collection loop put in its [`Outbox`] and sends it to
//! NATS, `<prefix>.<host>.data` for each frame (the very bytes WebSocket clients get)
//! and `<prefix>.<host>.alert` for each fired or resolved alert (the sinks' JSON).
//!
//! The loop never waits for this task (the outbox drops when full). Frames are not
//! buffered while NATS is away: one offered while the client is not connected is
//! dropped and counted, so a NATS restart is not followed by a burst of minutes-old
//! frames. Alert events are rare and each one matters: they go to the client, which
//! holds them (up to its capacity) until it has reconnected.
//!
//! [`Outbox`]: crate::pipeline::relay::Outbox

use async_nats::connection::State;
use tokio::sync::mpsc;

use crate::fleet::link::Link;
use crate::fleet::status::FleetStatus;
use crate::pipeline::relay::Outgoing;
use crate::shutdown::Shutdown;

/// Publishes until `shutdown`, then flushes what the client holds.
pub async fn run(link: Link, mut outbox: mpsc::Receiver<Outgoing>, mut shutdown: Shutdown) {
    let Link {
        client,
        subjects,
        status,
        ..
    } = link;
    let data = subjects.data(&status.host);
    let alert = subjects.alert(&status.host);
    loop {
        let item = tokio::select! {
            item = outbox.recv() => item,
            () = shutdown.wait() => None,
        };
        let Some(item) = item else { break };
        match item {
            Outgoing::Frame(_) if client.connection_state() != State::Connected => {
                FleetStatus::bump(&status.dropped_disconnected);
            }
            Outgoing::Frame(frame) => {
                let payload = bytes::Bytes::from(frame.message.text_bytes().clone());
                publish(&client, &data, payload, &status, &status.frames_published).await;
            }
            Outgoing::Alerts(events) => {
                for event in events.iter() {
                    let Ok(payload) = serde_json::to_vec(event) else {
                        continue;
                    };
                    let counter = &status.alerts_published;
                    publish(&client, &alert, payload.into(), &status, counter).await;
                }
            }
        }
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), client.flush()).await;
}

async fn publish(
    client: &async_nats::Client,
    subject: &str,
    payload: bytes::Bytes,
    status: &FleetStatus,
    counter: &std::sync::atomic::AtomicU64,
) {
    match client.publish(subject.to_owned(), payload).await {
        Ok(()) => FleetStatus::bump(counter),
        Err(error) => {
            FleetStatus::bump(&status.publish_errors);
            status.set_error(format!("publish to {subject} failed: {error}"));
        }
    }
}
