//! Hands each tick's snapshot to every WebSocket session, the history, the HTTP API and
//! the sinks.
//!
//! A tick's sections are serialized once, into [`Frame::data`]; every text made of the
//! frame (the `monitoring_data` message, the API's view, the sinks' snapshot event)
//! copies those bytes instead of serializing the data again. The `monitoring_data`
//! message is framed once as a WebSocket text frame ([`Framed`]); the WebSocket side
//! gets an `Arc` and writes the frame's reference-counted bytes to every socket as they
//! are, never re-serializing, re-framing or copying them. A `watch` channel
//! holds only the newest frame, so a client that falls behind skips straight to the
//! latest snapshot instead of building a backlog, and publishing never waits for anyone.
//!
//! Clients that subscribed to some sections share one serialization per distinct
//! section set, made by the first session that needs it and kept in the bus's one
//! per-tick cache ([`FilteredTexts`]), never on the frame: the history keeps frames for
//! an hour, and what clients choose must not be kept with them. Publishing the next
//! frame empties the cache; a session still sending an older frame serializes its
//! text without caching it. At most [`MAX_FILTERED_PER_TICK`] distinct sets are
//! cached per tick; past that, each further set is serialized for its session alone
//! (memory stays bounded, the cost is CPU) rather than refused, so no client is
//! turned away because others chose many combinations.
//!
//! Each frame also carries the section names a subscription may ask for
//! ([`Frame::sections`]): those the newest snapshot has, and those seen within the
//! last [`KNOWN_FOR`], so a collector backing off for a while does not make its
//! section unknown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use monitoring_plugin_api::{Alert, Sections};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::watch;

use crate::pipeline::framed::Framed;
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
    /// The full `monitoring_data` message, framed.
    pub message: Framed,
    /// The section names a subscription may ask for, sorted (see the module doc).
    pub sections: Arc<[String]>,
    /// The bus's one per-tick cache, shared by every frame; it holds the newest
    /// frame's filtered texts only.
    filtered: Arc<FilteredTexts>,
}

/// Most distinct section sets whose text is cached per tick.
pub const MAX_FILTERED_PER_TICK: usize = 64;
/// How long a section no snapshot has had stays subscribable.
pub const KNOWN_FOR: Duration = Duration::from_secs(300);
/// Most section names remembered; a collector inventing more is not followed.
pub const MAX_KNOWN_SECTIONS: usize = 256;

/// The filtered messages of the newest tick, keyed by the sorted, comma-joined section
/// names. A std `Mutex`, held only to look up, insert or empty, never to serialize.
#[derive(Debug, Default)]
pub struct FilteredTexts(Mutex<TickTexts>);

#[derive(Debug, Default)]
struct TickTexts {
    /// The tick the texts belong to.
    seq: u64,
    texts: HashMap<String, Framed>,
}

impl FilteredTexts {
    fn lock(&self) -> std::sync::MutexGuard<'_, TickTexts> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts tick `seq`, dropping the texts of the one before.
    fn start(&self, seq: u64) {
        let old = {
            let mut cache = self.lock();
            cache.seq = seq;
            std::mem::take(&mut cache.texts)
        };
        drop(old); // Freed outside the lock.
    }
}

impl Frame {
    /// The message for a subscriber, framed: the full one, or one with only `sections`
    /// (sorted, deduplicated names).
    pub fn text_for(&self, sections: Option<&[String]>) -> Framed {
        let Some(sections) = sections else {
            return self.message.clone();
        };
        let key = sections.join(",");
        let cacheable = {
            let cache = self.filtered.lock();
            if cache.seq != self.seq {
                false // An older tick: its texts are gone for good.
            } else if let Some(text) = cache.texts.get(&key) {
                return text.clone();
            } else {
                cache.texts.len() < MAX_FILTERED_PER_TICK
            }
        };
        let text = self.serialize(sections);
        if !cacheable {
            return text;
        }
        let mut cache = self.filtered.lock();
        if cache.seq != self.seq || cache.texts.len() >= MAX_FILTERED_PER_TICK {
            return text;
        }
        cache.texts.entry(key).or_insert(text).clone()
    }

    /// The `monitoring_data` message with only `sections`.
    fn serialize(&self, sections: &[String]) -> Framed {
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
        Framed::text(&message.to_json())
    }

    /// The snapshot as the HTTP API shows it (`/api/current`, each of `/api/history`'s
    /// snapshots): `monitoring_data` without `type`, `alerts` always present. Appended
    /// to `out`, so the history can put its separator first without a second copy.
    pub fn write_api_view(&self, out: &mut Vec<u8>) {
        /// Borrows the frame's data: nothing is copied before serializing.
        #[derive(Serialize)]
        struct SnapshotView<'a> {
            timestamp: &'a str,
            data: &'a RawValue,
            alerts: &'a [Alert],
        }
        // Writing into a Vec cannot fail: string keys, raw data already JSON.
        let _ = serde_json::to_writer(
            out,
            &SnapshotView {
                timestamp: &self.timestamp,
                data: &self.data,
                alerts: &self.alerts,
            },
        );
    }

    /// The snapshot event sinks receive: `{"event":"snapshot","timestamp":…,"data":…}`.
    pub fn sink_event(&self) -> String {
        serde_json::to_string(&SinkEventView::Snapshot {
            timestamp: &self.timestamp,
            data: &self.data,
        })
        .unwrap_or_default()
    }

    /// How many distinct filtered messages are cached for this frame: 0 once a newer
    /// one is published.
    pub fn filtered_variants(&self) -> usize {
        let cache = self.filtered.lock();
        if cache.seq == self.seq {
            cache.texts.len()
        } else {
            0
        }
    }
}

/// The events of [`monitoring_plugin_api::SinkEvent`] the host sends, tagged and named
/// by the same serde attributes, borrowing the frame's already-serialized sections so
/// they are copied, not serialized again. A test decodes each as a `SinkEvent`, so the
/// two spellings cannot drift apart.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum SinkEventView<'a> {
    /// A full snapshot, for exporters.
    Snapshot {
        /// The snapshot's timestamp, ISO 8601.
        timestamp: &'a str,
        /// The sections, as in `monitoring_data.data`.
        data: &'a RawValue,
    },
}

/// The publishing side.
pub struct Bus {
    sender: watch::Sender<Option<Arc<Frame>>>,
    seq: u64,
    filtered: Arc<FilteredTexts>,
    /// When each section name was last in a snapshot.
    seen: HashMap<String, Instant>,
    /// `seen`'s names, sorted, as frames carry them.
    sections: Arc<[String]>,
}

/// What sessions hold: always the newest frame.
pub type FrameReceiver = watch::Receiver<Option<Arc<Frame>>>;

impl Bus {
    /// A bus with no frame yet.
    pub fn new() -> Self {
        let (sender, _) = watch::channel(None);
        Self {
            sender,
            seq: 0,
            filtered: Arc::default(),
            seen: HashMap::new(),
            sections: Arc::from([]),
        }
    }

    /// Notes the sections of a snapshot taken at `now`, forgetting those unseen for
    /// [`KNOWN_FOR`]; the names a subscription may ask for.
    fn known_sections(&mut self, snapshot: &Snapshot, now: Instant) -> Arc<[String]> {
        let before = self.seen.len();
        let mut added = false;
        for name in snapshot.data.keys() {
            if let Some(seen) = self.seen.get_mut(name) {
                *seen = now;
            } else if self.seen.len() < MAX_KNOWN_SECTIONS {
                self.seen.insert(name.clone(), now);
                added = true;
            }
        }
        self.seen
            .retain(|_, seen| now.saturating_duration_since(*seen) <= KNOWN_FOR);
        if added || self.seen.len() != before {
            let mut names: Vec<String> = self.seen.keys().cloned().collect();
            names.sort();
            self.sections = Arc::from(names);
        }
        Arc::clone(&self.sections)
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
        self.publish_at(snapshot, timestamp, alerts, Instant::now())
    }

    fn publish_at(
        &mut self,
        snapshot: Snapshot,
        timestamp: String,
        alerts: &[Alert],
        now: Instant,
    ) -> Arc<Frame> {
        self.seq += 1;
        let sections = self.known_sections(&snapshot, now);
        let data = serde_json::value::to_raw_value(&snapshot.data).unwrap_or_default();
        let message = ServerMessage::MonitoringData {
            timestamp: &timestamp,
            data: &data,
            alerts,
        };
        let message = Framed::text(&message.to_json());
        let frame = Arc::new(Frame {
            seq: self.seq,
            snapshot,
            timestamp,
            alerts: alerts.to_vec(),
            data,
            message,
            sections,
            filtered: Arc::clone(&self.filtered),
        });
        // Emptied before anyone can see the new frame, so no session caches a text
        // for the old one again.
        self.filtered.start(self.seq);
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
            first.frame().as_ptr(),
            second.frame().as_ptr(),
            "the same framed bytes are shared"
        );
        assert_eq!(frame.filtered_variants(), 1);
        let value: serde_json::Value =
            serde_json::from_str(first.text_bytes().as_str()).expect("JSON");
        assert_eq!(value["data"].as_object().map(|d| d.len()), Some(2));
        assert!(value["data"].get("system").is_none());
        assert_eq!(
            frame.text_for(None).frame().as_ptr(),
            frame.message.frame().as_ptr()
        );
    }

    #[test]
    fn filtered_texts_are_dropped_when_the_next_frame_is_published() {
        let mut bus = Bus::new();
        let old = bus.publish(snapshot(), "2025-01-03T10:15:30.123456".into(), &[]);
        let wanted = vec!["disk".to_owned()];
        old.text_for(Some(&wanted));
        assert_eq!(old.filtered_variants(), 1);
        let new = bus.publish(snapshot(), "2025-01-03T10:15:30.623456".into(), &[]);
        assert_eq!(
            old.filtered_variants(),
            0,
            "the history's frame keeps nothing"
        );
        // A session still on the old frame gets its text, uncached.
        let late = old.text_for(Some(&wanted));
        assert!(late.text_bytes().as_str().contains("\"disk\""));
        assert_eq!((old.filtered_variants(), new.filtered_variants()), (0, 0));
        new.text_for(Some(&wanted));
        assert_eq!(new.filtered_variants(), 1);
    }

    #[test]
    fn distinct_section_sets_cached_per_tick_are_bounded() {
        let mut data = serde_json::Map::new();
        for i in 0..10 {
            data.insert(format!("s{i}"), json!({"v": i}));
        }
        let mut bus = Bus::new();
        let frame = bus.publish(
            Snapshot::now(data),
            "2025-01-03T10:15:30.123456".into(),
            &[],
        );
        let names: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
        for mask in 1u32..200 {
            let set: Vec<String> = (0..10)
                .filter(|bit| mask & (1 << bit) != 0)
                .map(|bit| names[bit as usize].clone())
                .collect();
            let text = frame.text_for(Some(&set));
            let value: serde_json::Value =
                serde_json::from_str(text.text_bytes().as_str()).expect("JSON");
            assert_eq!(value["data"].as_object().map(|d| d.len()), Some(set.len()));
        }
        assert_eq!(frame.filtered_variants(), MAX_FILTERED_PER_TICK);
    }

    #[test]
    fn sections_seen_recently_stay_known() {
        let mut bus = Bus::new();
        let start = Instant::now();
        let stamp = || "2025-01-03T10:15:30.123456".to_owned();
        let frame = bus.publish_at(snapshot(), stamp(), &[], start);
        assert_eq!(&*frame.sections, ["disk", "memory", "system"]);
        let only_memory = json!({"memory": {"percentage": 50.0}});
        let only_memory = || Snapshot::now(only_memory.as_object().cloned().unwrap_or_default());
        let frame = bus.publish_at(only_memory(), stamp(), &[], start + KNOWN_FOR);
        assert_eq!(
            &*frame.sections,
            ["disk", "memory", "system"],
            "a backing-off collector"
        );
        let later = start + KNOWN_FOR + Duration::from_secs(1);
        let frame = bus.publish_at(only_memory(), stamp(), &[], later);
        assert_eq!(&*frame.sections, ["memory"]);
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
