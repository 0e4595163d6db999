//! The gateway: subscribes to the whole fleet and serves it.
//!
//! Plain subscriptions (`<prefix>.*.data`, `<prefix>.*.alert`), no queue group: every
//! gateway sees every message, so any number of them serve the same fleet behind a
//! load balancer without knowing of each other.
//!
//! Each frame updates the [`Hosts`] view and is re-sent, with a `host` field spliced
//! in once, on a `broadcast` channel every fleet-watching session reads; a session
//! that falls behind lags and skips, it never slows the gateway. A sweep on the
//! gateway's own tick moves silent hosts to `stale` and `gone`; each change goes out
//! as one `hosts` message. Alert events of other hosts go, their host named in the
//! message, to this server's sinks through the collection loop's inbox.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use monitoring_plugin_api::SinkEvent;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::fleet::hosts::{Change, HostInfo, HostState, Hosts, Published};
use crate::fleet::status::FleetStatus;
use crate::fleet::Link;
use crate::pipeline::wire::ServerMessage;
use crate::shutdown::Shutdown;
use crate::timestamp::now_iso;

/// Fleet messages waiting for the slowest session before it lags: a few ticks of a
/// large fleet.
const EVENTS_CAPACITY: usize = 4096;

/// What fleet-watching sessions receive.
#[derive(Debug, Clone)]
pub enum FleetEvent {
    /// A host's `monitoring_data`, with its `host` field.
    Data {
        /// The host.
        host: Arc<str>,
        /// The message.
        text: Utf8Bytes,
    },
    /// A `hosts` message: the whole list after a change.
    Hosts(Utf8Bytes),
}

/// The gateway's shared side: the view and the fan-out.
pub struct Gateway {
    /// A std `Mutex`: held to record one frame or list the hosts, never across an await.
    hosts: Mutex<Hosts>,
    events: broadcast::Sender<FleetEvent>,
}

impl Gateway {
    /// A gateway with an empty view.
    pub fn new(stale_after: Duration, gone_after: Duration) -> Self {
        let (events, _) = broadcast::channel(EVENTS_CAPACITY);
        Self {
            hosts: Mutex::new(Hosts::new(stale_after, gone_after)),
            events,
        }
    }

    fn view(&self) -> MutexGuard<'_, Hosts> {
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every known host, for `/api/hosts`.
    pub fn hosts(&self) -> Vec<HostInfo> {
        self.view().list(Instant::now())
    }

    /// (up, stale, gone), for `/metrics`.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.view().counts()
    }

    /// A receiver for a session that starts watching the fleet.
    pub fn subscribe(&self) -> broadcast::Receiver<FleetEvent> {
        self.events.subscribe()
    }

    /// What a session that starts watching gets first: the `hosts` message and the
    /// newest frame of each host it wants.
    pub fn greeting(&self, wanted: impl Fn(&str) -> bool) -> Vec<Utf8Bytes> {
        let view = self.view();
        let mut texts = vec![hosts_message(&view.list(Instant::now()), &[])];
        texts.extend(view.latest(wanted));
        texts
    }

    /// Takes in one published frame of `host`.
    pub fn on_frame(&self, host: &str, payload: &[u8], status: &FleetStatus) {
        let (Ok(text), Ok(published)) = (
            std::str::from_utf8(payload),
            serde_json::from_slice::<Published>(payload),
        ) else {
            FleetStatus::bump(&status.malformed);
            return;
        };
        let Some(tagged) = tag_with_host(text, host) else {
            FleetStatus::bump(&status.malformed);
            return;
        };
        FleetStatus::bump(&status.frames_received);
        let tagged = Utf8Bytes::from(tagged);
        let now = Instant::now();
        let (change, list) = {
            let mut view = self.view();
            let change = view.record(host, published, tagged.clone(), now);
            let list = change.is_some().then(|| view.list(now));
            (change, list)
        };
        if let (Some(change), Some(list)) = (change, list) {
            log_change(&change);
            let _ = self
                .events
                .send(FleetEvent::Hosts(hosts_message(&list, &[change])));
        }
        // No receiver is not an error: nobody watches the fleet right now.
        let _ = self.events.send(FleetEvent::Data {
            host: Arc::from(host),
            text: tagged,
        });
    }

    /// Moves silent hosts on; tells sessions when something changed.
    pub fn sweep(&self, now: Instant) {
        let (changes, list) = {
            let mut view = self.view();
            let changes = view.sweep(now);
            let list = (!changes.is_empty()).then(|| view.list(now));
            (changes, list)
        };
        if let Some(list) = list {
            changes.iter().for_each(log_change);
            let _ = self
                .events
                .send(FleetEvent::Hosts(hosts_message(&list, &changes)));
        }
    }
}

fn log_change(change: &Change) {
    let name = |state: Option<HostState>| match state {
        None => "unknown",
        Some(HostState::Up) => "up",
        Some(HostState::Stale) => "stale",
        Some(HostState::Gone) => "gone",
    };
    tracing::info!(host = %change.host, from = name(change.from), to = name(change.to), "Fleet host changed state.");
}

/// One change, as the `hosts` message lists it.
#[derive(Serialize)]
struct ChangeView<'a> {
    host: &'a str,
    from: Option<HostState>,
    to: Option<HostState>,
}

/// The `hosts` message.
fn hosts_message(hosts: &[HostInfo], changes: &[Change]) -> Utf8Bytes {
    let changes: Vec<ChangeView<'_>> = changes
        .iter()
        .map(|change| ChangeView {
            host: &change.host,
            from: change.from,
            to: change.to,
        })
        .collect();
    Utf8Bytes::from(
        ServerMessage::Hosts {
            timestamp: now_iso(),
            changes: &raw(&changes),
            hosts: &raw(&hosts),
        }
        .to_json(),
    )
}

/// A value as raw JSON; `[]` if it cannot be written (it always can: plain data).
fn raw<T: Serialize>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value)
        .or_else(|_| RawValue::from_string("[]".into()))
        .unwrap_or_default()
}

/// `{"type":"monitoring_data",…}` as `{"host":"web-1","type":"monitoring_data",…}`:
/// one splice, the publisher's bytes otherwise untouched.
pub fn tag_with_host(text: &str, host: &str) -> Option<String> {
    let rest = text.trim_start().strip_prefix('{')?;
    let name = serde_json::to_string(host).ok()?;
    let mut tagged = String::with_capacity(text.len() + name.len() + 8);
    tagged.push_str("{\"host\":");
    tagged.push_str(&name);
    if !rest.trim_start().starts_with('}') {
        tagged.push(',');
    }
    tagged.push_str(rest);
    Some(tagged)
}

/// Runs the gateway's subscriptions and sweep until `shutdown`.
pub async fn run(
    link: Link,
    gateway: Arc<Gateway>,
    interval: Duration,
    sinks: mpsc::Sender<SinkEvent>,
    mut shutdown: Shutdown,
) {
    let Link {
        client,
        subjects,
        status,
        publishing: own_alerts_published,
    } = link;
    let (mut frames, mut alerts) = match (
        client.subscribe(subjects.all_data()).await,
        client.subscribe(subjects.all_alerts()).await,
    ) {
        (Ok(frames), Ok(alerts)) => (frames, alerts),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(error = %error, "The gateway cannot subscribe to the fleet.");
            status.set_error(format!("cannot subscribe to the fleet: {error}"));
            return;
        }
    };
    tracing::info!(subjects = %subjects.all_data(), "Serving the fleet as a gateway.");
    let mut sweep = tokio::time::interval(interval);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            Some(message) = frames.next() => {
                if let Some(host) = subjects.host_of(&message.subject) {
                    gateway.on_frame(host, &message.payload, &status);
                }
            }
            Some(message) = alerts.next() => {
                let Some(host) = subjects.host_of(&message.subject) else { continue };
                if own_alerts_published && host == status.host {
                    continue; // Already handed to the sinks by this server's own loop.
                }
                match serde_json::from_slice::<SinkEvent>(&message.payload) {
                    Ok(event) => {
                        FleetStatus::bump(&status.alerts_received);
                        if sinks.try_send(name_host(event, host)).is_err() {
                            tracing::warn!(host, "The sinks' inbox is full; a fleet alert was dropped.");
                        }
                    }
                    Err(_) => FleetStatus::bump(&status.malformed),
                }
            }
            _ = sweep.tick() => gateway.sweep(Instant::now()),
            () = shutdown.wait() => break,
        }
    }
}

/// The event with its host named in the alert's message (`[web-1] High memory…`),
/// which every sink (file, e-mail, webhook) carries as it is.
pub fn name_host(event: SinkEvent, host: &str) -> SinkEvent {
    let tag = |mut alert: monitoring_plugin_api::Alert| {
        alert.message = format!("[{host}] {}", alert.message);
        alert
    };
    match event {
        SinkEvent::Alert { alert } => SinkEvent::Alert { alert: tag(alert) },
        SinkEvent::Resolved { alert, resolved_at } => SinkEvent::Resolved {
            alert: tag(alert),
            resolved_at,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_spliced_in_front() {
        let tagged =
            tag_with_host(r#"{"type":"monitoring_data","data":{}}"#, "web-1").expect("an object");
        let value: serde_json::Value = serde_json::from_str(&tagged).expect("still JSON");
        assert_eq!(value["host"], "web-1");
        assert_eq!(value["type"], "monitoring_data");
        assert_eq!(tag_with_host("{}", "a").as_deref(), Some(r#"{"host":"a"}"#));
        assert_eq!(tag_with_host("[1]", "a"), None);
    }

    #[test]
    fn a_frame_reaches_watchers_and_the_view() {
        let gateway = Gateway::new(Duration::from_secs(3), Duration::from_secs(60));
        let status = FleetStatus::new("gw".into(), "nats://x".into(), "none", true, Arc::default());
        let mut watcher = gateway.subscribe();
        let frame = br#"{"type":"monitoring_data","timestamp":"t","data":{"memory":{"percentage":42.0}},"alerts":[]}"#;
        gateway.on_frame("web-1", frame, &status);
        gateway.on_frame("web-1", b"not json", &status);
        let Ok(FleetEvent::Hosts(hosts)) = watcher.try_recv() else {
            panic!("a hosts message first");
        };
        let hosts: serde_json::Value = serde_json::from_str(hosts.as_str()).expect("JSON");
        assert_eq!(hosts["type"], "hosts");
        assert_eq!(hosts["hosts"][0]["name"], "web-1");
        assert_eq!(hosts["hosts"][0]["state"], "up");
        assert_eq!(hosts["changes"][0]["to"], "up");
        let Ok(FleetEvent::Data { host, text }) = watcher.try_recv() else {
            panic!("then the data");
        };
        assert_eq!(&*host, "web-1");
        assert!(text
            .as_str()
            .starts_with(r#"{"host":"web-1","type":"monitoring_data""#));
        assert_eq!(gateway.hosts()[0].summary.memory_percent, Some(42.0));
        let report = status.report();
        assert_eq!((report.frames_received, report.malformed), (1, 1));
        assert_eq!(gateway.greeting(|_| true).len(), 2);
        assert_eq!(gateway.greeting(|name| name == "other").len(), 1);
    }

    #[test]
    fn a_fleet_alert_names_its_host() {
        let event: SinkEvent = serde_json::from_value(serde_json::json!({
            "event": "alert",
            "alert": {"timestamp": "t", "component": "memory", "metric": "percentage",
                      "value": 50.0, "threshold": 1.0, "level": "WARNING", "message": "High memory usage"}
        }))
        .expect("an alert event");
        let SinkEvent::Alert { alert } = name_host(event, "web-2") else {
            panic!("still an alert");
        };
        assert_eq!(alert.message, "[web-2] High memory usage");
    }
}
