//! Hands each tick's snapshot to every WebSocket session.
//!
//! The `monitoring_data` message is serialized once per tick and shared: sessions get an
//! `Arc` and clone the text's reference-counted bytes, never the text. A `watch` channel
//! holds only the newest frame, so a client that falls behind skips straight to the
//! latest snapshot instead of building a backlog, and publishing never waits for anyone.

use std::sync::Arc;

use monitoring_plugin_api::Alert;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::snapshot::Snapshot;
use crate::ws::protocol::ServerMessage;

/// One tick, ready to send.
#[derive(Debug)]
pub struct Frame {
    /// Tick counter, from 1.
    pub seq: u64,
    /// The snapshot, for anything that needs the data rather than the text.
    pub snapshot: Snapshot,
    /// The `monitoring_data` message, serialized once.
    pub text: Utf8Bytes,
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

    /// Serializes and publishes a snapshot with the alerts active in it.
    pub fn publish(&mut self, snapshot: Snapshot, alerts: &[Alert]) {
        self.seq += 1;
        let message = ServerMessage::MonitoringData {
            timestamp: &snapshot.timestamp,
            data: &snapshot.data,
            alerts,
        };
        let text = Utf8Bytes::from(message.to_json());
        let frame = Frame {
            seq: self.seq,
            snapshot,
            text,
        };
        self.sender.send_replace(Some(Arc::new(frame)));
    }
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}
