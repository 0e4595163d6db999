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
        tags,
        group,
        publish_every,
        ..
    } = link;
    // Frames seen, for `publish_interval`: the first is published, then one in
    // `publish_every`; the skipped ones cost nothing but this count.
    let mut frames_seen: u64 = 0;
    let tags = identity_fields(&tags, group.as_deref());
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
            Outgoing::Frame(_) if !due(&mut frames_seen, publish_every) => {}
            Outgoing::Frame(frame) => {
                let text = frame.message.text_bytes();
                let payload = match &tags {
                    Some(tags) => with_tags(text.as_str().as_bytes(), tags),
                    None => bytes::Bytes::from(text.clone()),
                };
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

/// `"tags":["db","eu"],"group":"eu-west"` for a host with tags or a group; `None`
/// (frames go out untouched) for one with neither. Written once per publisher.
fn identity_fields(tags: &[String], group: Option<&str>) -> Option<String> {
    let mut fields = Vec::new();
    if !tags.is_empty() {
        fields.push(format!("\"tags\":{}", serde_json::to_string(tags).ok()?));
    }
    if let Some(group) = group {
        fields.push(format!("\"group\":{}", serde_json::to_string(group).ok()?));
    }
    (!fields.is_empty()).then(|| fields.join(","))
}

/// `{"type":…}` as `{"tags":["db","eu"],"group":"eu-west","type":…}`: the host's tags
/// and group travel with each frame, so a gateway routes, silences and groups by them.
/// One copy of the frame per tick, only for a host that has tags or a group.
fn with_tags(text: &[u8], fields: &str) -> bytes::Bytes {
    let rest = text.strip_prefix(b"{").unwrap_or(text);
    let mut tagged = Vec::with_capacity(text.len() + fields.len() + 2);
    tagged.push(b'{');
    tagged.extend_from_slice(fields.as_bytes());
    if !rest.starts_with(b"}") {
        tagged.push(b',');
    }
    tagged.extend_from_slice(rest);
    tagged.into()
}

/// Counts one frame; whether it is one to publish (the first, then one in `every`).
fn due(seen: &mut u64, every: u64) -> bool {
    let publish = *seen % every.max(1) == 0;
    *seen = seen.wrapping_add(1);
    publish
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

#[cfg(test)]
mod tests {
    #[test]
    fn publish_interval_publishes_one_frame_in_every() {
        let mut seen = 0;
        let published: Vec<bool> = (0..6).map(|_| super::due(&mut seen, 3)).collect();
        assert_eq!(published, [true, false, false, true, false, false]);
        let mut seen = 0;
        assert!(
            (0..4).all(|_| super::due(&mut seen, 1)),
            "every frame by default"
        );
    }

    #[test]
    fn tags_are_spliced_in_front() {
        let fields =
            super::identity_fields(&["db".into(), "eu".into()], Some("eu-west")).expect("fields");
        let tagged = super::with_tags(br#"{"type":"monitoring_data","data":{}}"#, &fields);
        let value: serde_json::Value = serde_json::from_slice(&tagged).unwrap_or_default();
        assert_eq!(value["tags"][1], "eu");
        assert_eq!(value["group"], "eu-west");
        assert_eq!(value["type"], "monitoring_data");
        assert_eq!(
            &super::with_tags(b"{}", r#""tags":[]"#)[..],
            br#"{"tags":[]}"#
        );
        assert_eq!(super::identity_fields(&[], None), None);
        assert_eq!(
            super::identity_fields(&[], Some("g")).as_deref(),
            Some(r#""group":"g""#)
        );
    }
}
