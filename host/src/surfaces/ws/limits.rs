//! Per-connection policy from `[server]`: client cap, send deadline, keepalive,
//! message size and rate limit, read by the upgrade, the sessions and the fan-out.

use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::config::ServerConfig;

/// Per-connection policy, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most clients at once.
    pub max_clients: usize,
    /// How long one send may take before the client is dropped.
    pub send_timeout: Duration,
    /// Time between pings.
    pub ping_interval: Duration,
    /// Silence after a ping that closes the connection.
    pub ping_timeout: Duration,
    /// Largest message a client may send.
    pub max_message_size: usize,
    /// Control messages per second, on average.
    pub rate_limit: f64,
    /// Control messages in a burst.
    pub rate_burst: f64,
}

impl Limits {
    /// The limits a `[server]` table sets.
    pub fn from_config(server: &ServerConfig) -> Self {
        Self {
            max_clients: server.max_clients,
            send_timeout: Duration::from_secs_f64(server.send_timeout),
            ping_interval: Duration::from_secs_f64(server.ping_interval),
            ping_timeout: Duration::from_secs_f64(server.ping_timeout),
            max_message_size: server.max_message_size,
            rate_limit: server.rate_limit,
            rate_burst: server.rate_burst,
        }
    }

    /// Buffers sized for many small, mostly idle connections: a client's commands and
    /// pongs are a few dozen bytes, so the read buffer starts at 256 bytes (it grows
    /// for a longer message); at 10,000 clients each KiB here is 10 MB of RSS.
    pub fn websocket_config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(256)
            .write_buffer_size(0)
            .max_write_buffer_size(4 * 1024 * 1024)
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_message_size))
    }
}
