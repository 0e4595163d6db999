//! A client that keeps reading in the background and records what it got: every
//! `monitoring_data` (the tick's timestamp, when it arrived, and the data if asked),
//! every other message, and whether and why the connection ended. Tests look at the
//! record while the server changes under it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{parse_timestamp, Client};

/// One `monitoring_data` message.
#[derive(Debug, Clone)]
pub struct Tick {
    /// The snapshot's own timestamp: the same for every client of one tick.
    pub timestamp: String,
    /// When this client received it.
    pub at: Instant,
    /// `data`, when the recorder keeps it.
    pub data: Option<Value>,
    /// Whether the message carried active alerts.
    pub alerts: Option<Value>,
}

/// Everything one client received so far.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// Every tick, in arrival order.
    pub ticks: Vec<Tick>,
    /// Every other message, with its arrival time.
    pub others: Vec<(Value, Instant)>,
    /// Why the connection ended, once it has.
    pub closed: Option<String>,
}

impl Record {
    /// The `plugin_event` messages so far.
    pub fn plugin_events(&self) -> Vec<Value> {
        self.others
            .iter()
            .filter(|(m, _)| m["type"] == "plugin_event")
            .map(|(m, _)| m.clone())
            .collect()
    }

    /// Ticks received at or after `since`.
    pub fn ticks_since(&self, since: Instant) -> Vec<Tick> {
        self.ticks
            .iter()
            .filter(|t| t.at >= since)
            .cloned()
            .collect()
    }
}

/// A recording client.
pub struct Recorder {
    record: Arc<Mutex<Record>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Starts reading `ws`; `keep_data` keeps each tick's `data`.
    pub fn start(mut ws: Client, keep_data: bool) -> Self {
        let record = Arc::new(Mutex::new(Record::default()));
        let sink = Arc::clone(&record);
        let task = tokio::spawn(async move {
            let closed = loop {
                let message = match ws.next().await {
                    None => break "the stream ended".to_owned(),
                    Some(Err(e)) => break format!("error: {e}"),
                    Some(Ok(Message::Close(frame))) => break format!("closed: {frame:?}"),
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                };
                let at = Instant::now();
                let value: Value = serde_json::from_str(message.as_str()).expect("JSON");
                let mut record = sink.lock().unwrap_or_else(PoisonError::into_inner);
                if value["type"] == "monitoring_data" {
                    record.ticks.push(Tick {
                        timestamp: value["timestamp"].as_str().expect("timestamp").to_owned(),
                        at,
                        alerts: value.get("alerts").cloned(),
                        data: keep_data.then(|| value["data"].clone()),
                    });
                } else {
                    record.others.push((value, at));
                }
            };
            sink.lock().unwrap_or_else(PoisonError::into_inner).closed = Some(closed);
        });
        Self { record, task }
    }

    /// A copy of the record now.
    pub fn record(&self) -> Record {
        self.record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until `pred` holds for the record; the record that satisfied it, or
    /// `None` after `timeout`.
    pub async fn wait_for(
        &self,
        pred: impl Fn(&Record) -> bool,
        timeout: Duration,
    ) -> Option<Record> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let record = self.record.lock().unwrap_or_else(PoisonError::into_inner);
                if pred(&record) {
                    return Some(record.clone());
                }
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The largest gap between two consecutive ticks' own timestamps: a missed tick shows
/// as a gap of two intervals whatever the client's own delays.
pub fn worst_timestamp_gap(ticks: &[Tick]) -> Duration {
    ticks
        .windows(2)
        .map(|pair| {
            let a = parse_timestamp(&Value::from(pair[0].timestamp.as_str()));
            let b = parse_timestamp(&Value::from(pair[1].timestamp.as_str()));
            (b - a).to_std().unwrap_or(Duration::ZERO)
        })
        .max()
        .unwrap_or(Duration::ZERO)
}

/// The largest gap between two consecutive ticks as this client received them.
pub fn worst_arrival_gap(ticks: &[Tick]) -> Duration {
    ticks
        .windows(2)
        .map(|pair| pair[1].at.saturating_duration_since(pair[0].at))
        .max()
        .unwrap_or(Duration::ZERO)
}
