//! What the fleet link is doing, for `/health`, `/metrics` and the log: the NATS
//! connection's state as its events report it, what was published, dropped and
//! received, and the last error in words.
//!
//! Written by the NATS client's event callback, the publisher and the gateway, read
//! by the surfaces: atomics for counters, one std `Mutex` for the error text (held
//! only to copy a string).

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use crate::pipeline::relay::RelayCounters;

/// The NATS connection, as the client's events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Not connected yet since start.
    Connecting,
    /// Connected.
    Connected,
    /// Lost; the client reconnects with back-off.
    Disconnected,
    /// NATS refused the credentials; the client keeps retrying with back-off, in case
    /// the server's accounts are fixed, but nothing is published.
    AuthRefused,
}

impl Connection {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Connection::Connected,
            2 => Connection::Disconnected,
            3 => Connection::AuthRefused,
            _ => Connection::Connecting,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Connection::Connecting => 0,
            Connection::Connected => 1,
            Connection::Disconnected => 2,
            Connection::AuthRefused => 3,
        }
    }
}

/// The fleet link's shared state.
#[derive(Debug)]
pub struct FleetStatus {
    /// The name this server publishes under.
    pub host: String,
    /// The NATS servers, as configured (credentials are never part of it).
    pub url: String,
    /// `token`, `user_password`, `nkey` or `none`.
    pub auth: &'static str,
    /// Whether this server serves the fleet.
    pub gateway: bool,
    connection: AtomicU8,
    /// Times the client (re)connected.
    pub connects: AtomicU64,
    /// Times the connection was lost.
    pub disconnects: AtomicU64,
    /// Frames published.
    pub frames_published: AtomicU64,
    /// Alert events published.
    pub alerts_published: AtomicU64,
    /// Frames and alert batches dropped while NATS was not connected.
    pub dropped_disconnected: AtomicU64,
    /// Publishes the client refused.
    pub publish_errors: AtomicU64,
    /// Frames received from the fleet (gateway).
    pub frames_received: AtomicU64,
    /// Alert events received from the fleet (gateway).
    pub alerts_received: AtomicU64,
    /// Messages from the fleet that were not what a publisher sends (gateway).
    pub malformed: AtomicU64,
    /// Frames refused unread for being larger than `max_frame_bytes` (gateway).
    pub frames_oversize: AtomicU64,
    /// Messages the NATS client dropped because the gateway had not taken the
    /// [`SUBSCRIPTION_CAPACITY`](crate::fleet::connect::SUBSCRIPTION_CAPACITY) before
    /// them yet (NATS's "slow consumer"; gateway).
    pub frames_dropped: AtomicU64,
    /// The outbox's counters: queued and dropped because the buffer was full.
    pub relay: Arc<RelayCounters>,
    last_error: Mutex<Option<String>>,
}

/// Everything [`FleetStatus`] holds, read at once, as `/health` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// The name this server publishes under.
    pub host: String,
    /// The NATS servers.
    pub url: String,
    /// The authentication method.
    pub auth: &'static str,
    /// Whether this server serves the fleet.
    pub gateway: bool,
    /// The connection's state.
    pub connection: Connection,
    /// Times the client (re)connected.
    pub connects: u64,
    /// Times the connection was lost.
    pub disconnects: u64,
    /// Frames published.
    pub frames_published: u64,
    /// Alert events published.
    pub alerts_published: u64,
    /// Frames and alert batches dropped: buffer full, or NATS away.
    pub dropped: u64,
    /// Publishes the client refused.
    pub publish_errors: u64,
    /// Frames received from the fleet.
    pub frames_received: u64,
    /// Alert events received from the fleet.
    pub alerts_received: u64,
    /// Fleet messages that could not be read.
    pub malformed: u64,
    /// Fleet frames refused for being larger than `max_frame_bytes`.
    pub frames_oversize: u64,
    /// Fleet messages the NATS client dropped while the gateway was behind.
    pub frames_dropped: u64,
    /// The last error, in words.
    pub last_error: Option<String>,
}

impl FleetStatus {
    /// A link not connected yet.
    pub fn new(
        host: String,
        url: String,
        auth: &'static str,
        gateway: bool,
        relay: Arc<RelayCounters>,
    ) -> Self {
        Self {
            host,
            url,
            auth,
            gateway,
            connection: AtomicU8::new(Connection::Connecting.to_u8()),
            connects: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            frames_published: AtomicU64::new(0),
            alerts_published: AtomicU64::new(0),
            dropped_disconnected: AtomicU64::new(0),
            publish_errors: AtomicU64::new(0),
            frames_received: AtomicU64::new(0),
            alerts_received: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
            frames_oversize: AtomicU64::new(0),
            frames_dropped: AtomicU64::new(0),
            relay,
            last_error: Mutex::new(None),
        }
    }

    /// The connection's state.
    pub fn connection(&self) -> Connection {
        Connection::from_u8(self.connection.load(Ordering::Relaxed))
    }

    /// Sets the connection's state.
    pub fn set_connection(&self, state: Connection) {
        self.connection.store(state.to_u8(), Ordering::Relaxed);
    }

    /// Remembers the last error.
    pub fn set_error(&self, error: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error);
    }

    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads everything.
    pub fn report(&self) -> FleetReport {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let (_, full) = self.relay.read();
        FleetReport {
            host: self.host.clone(),
            url: self.url.clone(),
            auth: self.auth,
            gateway: self.gateway,
            connection: self.connection(),
            connects: get(&self.connects),
            disconnects: get(&self.disconnects),
            frames_published: get(&self.frames_published),
            alerts_published: get(&self.alerts_published),
            dropped: full + get(&self.dropped_disconnected),
            publish_errors: get(&self.publish_errors),
            frames_received: get(&self.frames_received),
            alerts_received: get(&self.alerts_received),
            malformed: get(&self.malformed),
            frames_oversize: get(&self.frames_oversize),
            frames_dropped: get(&self.frames_dropped),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_state_round_trips() {
        let status = FleetStatus::new("h".into(), "nats://x".into(), "none", false, Arc::default());
        assert_eq!(status.connection(), Connection::Connecting);
        for state in [
            Connection::Connected,
            Connection::Disconnected,
            Connection::AuthRefused,
        ] {
            status.set_connection(state);
            assert_eq!(status.report().connection, state);
        }
        status.set_error("boom".into());
        assert_eq!(status.report().last_error.as_deref(), Some("boom"));
    }
}
