//! Hands each tick's snapshot to every WebSocket session, the history, the HTTP API and
//! the sinks.
//!
//! A tick's sections are serialized once, into [`Frame::data`]; every text made of the
//! frame (the `monitoring_data` message, the API's view, the sinks' snapshot event)
//! copies those bytes instead of serializing the data again. Sessions get an `Arc` and
//! clone the message's reference-counted bytes, never the text. Clients that
//! subscribed to some sections only share one serialization per distinct section set,
//! made by the first session that needs it. A `watch` channel holds only the newest
//! frame, so a client that falls behind skips straight to the latest snapshot instead
//! of building a backlog, and publishing never waits for anyone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use monitoring_plugin_api::{Alert, Sections};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::pipeline::snapshot::Snapshot;
use crate::pipeline::wire::ServerMessage;

/// One tick, ready to send.
#[derive(Debug)]
pub struct Frame {
    /// Tick counter, from 1.
    pub seq: u64,
    /// The snapshot, for anything that needs the data rather than the text.
    pub snapshot: Snapshot,
    /// The snapshot's time in the seed's format, written once for every use.
    pub timestamp: String,
    /// Alerts active in this tick.
    pub alerts: Vec<Alert>,
    /// The sections as JSON, serialized once.
    pub data: Box<RawValue>,
    /// The full `monitoring_data` message.
    pub text: Utf8Bytes,
    /// Messages restricted to a set of sections, keyed by the sorted, comma-joined
    /// section names; filled on first use. The lock is held only to look up or insert.
    filtered: Mutex<HashMap<String, Utf8Bytes>>,
}

impl Frame {
    /// The message for a subscriber: the full one, or one with only `sections` (sorted,
    /// deduplicated names).
    pub fn text_for(&self, sections: Option<&[String]>) -> Utf8Bytes {
        let Some(sections) = sections else {
            return self.text.clone();
        };
        let key = sections.join(",");
        let mut cache = self
            .filtered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(key)
            .or_insert_with(|| {
                let data: Sections = sections
                    .iter()
                    .filter_map(|name| {
                        self.snapshot
                            .data
                            .get(name)
                            .map(|v| (name.clone(), v.clone()))
                    })
                    .collect();
                let data = serde_json::value::to_raw_value(&data).unwrap_or_default();
                let message = ServerMessage::MonitoringData {
                    timestamp: &self.timestamp,
                    data: &data,
                    alerts: &self.alerts,
                };
                Utf8Bytes::from(message.to_json())
            })
            .clone()
    }

    /// The snapshot event sinks receive: `{"event":"snapshot","timestamp":…,"data":…}`.
    pub fn sink_event(&self) -> String {
        #[derive(Serialize)]
        struct SnapshotEvent<'a> {
            event: &'static str,
            timestamp: &'a str,
            data: &'a RawValue,
        }
        serde_json::to_string(&SnapshotEvent {
            event: "snapshot",
            timestamp: &self.timestamp,
            data: &self.data,
        })
        .unwrap_or_default()
    }

    /// How many distinct filtered messages were made for this tick.
    pub fn filtered_variants(&self) -> usize {
        self.filtered.lock().map_or(0, |cache| cache.len())
    }
}

/// The publishing side.
pub struct Bus {
    sender: watch::Sender<Option<Arc<Frame>>>,
    seq: u64,
}

/// What sessions hold: always the newest frame.
pub type FrameReceiver = watch::Receiver<Option<Arc<Frame>>>;

impl Bus {
    /// A bus with no frame yet.
    pub fn new() -> Self {
        let (sender, _) = watch::channel(None);
        Self { sender, seq: 0 }
    }

    /// A receiver for a new session.
    pub fn subscribe(&self) -> FrameReceiver {
        self.sender.subscribe()
    }

    /// Serializes and publishes a snapshot, stamped `timestamp` (its time in the seed's
    /// format), with the alerts active in it.
    pub fn publish(
        &mut self,
        snapshot: Snapshot,
        timestamp: String,
        alerts: &[Alert],
    ) -> Arc<Frame> {
        self.seq += 1;
        let data = serde_json::value::to_raw_value(&snapshot.data).unwrap_or_default();
        let message = ServerMessage::MonitoringData {
            timestamp: &timestamp,
            data: &data,
            alerts,
        };
        let text = Utf8Bytes::from(message.to_json());
        let frame = Arc::new(Frame {
            seq: self.seq,
            snapshot,
            timestamp,
            alerts: alerts.to_vec(),
            data,
            text,
            filtered: Mutex::new(HashMap::new()),
        });
        self.sender.send_replace(Some(Arc::clone(&frame)));
        frame
    }
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot() -> Snapshot {
        let data = json!({"memory": {"percentage": 50.0}, "disk": {"percentage": 10.0}, "system": {"hostname": "h"}});
        Snapshot::now(data.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn each_section_set_is_serialized_once_per_tick() {
        let mut bus = Bus::new();
        let frame = bus.publish(snapshot(), "2025-01-03T10:15:30.123456".into(), &[]);
        let wanted = vec!["disk".to_owned(), "memory".to_owned()];
        let first = frame.text_for(Some(&wanted));
        let second = frame.text_for(Some(&wanted));
        assert_eq!(
            first.as_str().as_ptr(),
            second.as_str().as_ptr(),
            "the same bytes are shared"
        );
        assert_eq!(frame.filtered_variants(), 1);
        let value: serde_json::Value = serde_json::from_str(first.as_str()).expect("JSON");
        assert_eq!(value["data"].as_object().map(|d| d.len()), Some(2));
        assert!(value["data"].get("system").is_none());
        assert_eq!(
            frame.text_for(None).as_str().as_ptr(),
            frame.text.as_str().as_ptr()
        );
    }

    #[test]
    fn the_sink_event_is_a_snapshot_event_of_the_same_data() {
        let mut bus = Bus::new();
        let snapshot = snapshot();
        let frame = bus.publish(snapshot.clone(), "2025-01-03T10:15:30.123456".into(), &[]);
        let event: monitoring_plugin_api::SinkEvent =
            serde_json::from_str(&frame.sink_event()).expect("decodes");
        assert_eq!(
            event,
            monitoring_plugin_api::SinkEvent::Snapshot {
                timestamp: "2025-01-03T10:15:30.123456".into(),
                data: snapshot.data,
            }
        );
    }

    #[test]
    fn receivers_see_only_the_newest_frame() {
        let mut bus = Bus::new();
        let receiver = bus.subscribe();
        bus.publish(snapshot(), "2025-01-03T10:15:30.123456".into(), &[]);
        bus.publish(snapshot(), "2025-01-03T10:15:30.123456".into(), &[]);
        let newest = receiver.borrow().clone().map(|frame| frame.seq);
        assert_eq!(newest, Some(2));
    }
}
