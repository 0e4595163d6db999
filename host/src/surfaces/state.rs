//! What every surface reads: the shared [`ServerState`], the WebSocket counters and the
//! per-connection limits. Built once in [`crate::run`]; sessions and HTTP handlers hold
//! an `Arc` of it and only read (counters are atomics; alert thresholds change through
//! [`AlertControl`], which owns its own lock).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::alerts::sink_runner::SinkStats;
use crate::alerts::{AlertControl, AlertLog};
use crate::config::ServerConfig;
use crate::fleet::Fleet;
use crate::live::events::PluginEvents;
use crate::live::reload::ReloadStatus;
use crate::live::LiveHandle;
use crate::pipeline::bus::FrameReceiver;
use crate::pipeline::cadence::Cadence;
use crate::pipeline::history::SharedHistory;
pub use crate::pipeline::wire::StatsSnapshot;
use crate::plugins::registry::PluginBoard;
use crate::plugins::scheduler::StatusBoard;
use crate::shutdown::Shutdown;
use crate::surfaces::access::Access;
use crate::accept::admission::Admission;
use crate::accept::service_memory::ServiceMemoryMonitor;

/// The server version reported to clients.
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

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

/// Counters of what the WebSocket side did, for `get_status` and metrics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Clients connected now.
    pub connected: AtomicUsize,
    /// Connections accepted since start.
    pub connections_total: AtomicU64,
    /// Connections closed with 1008 because the server was full.
    pub refused_at_capacity: AtomicU64,
    /// `monitoring_data` messages sent.
    pub frames_sent: AtomicU64,
    /// Ticks a client missed because it was still busy with an older one.
    pub frames_skipped: AtomicU64,
    /// Clients dropped because a send took longer than the send timeout.
    pub slow_disconnects: AtomicU64,
    /// Control messages refused by the rate limiter.
    pub rate_limited: AtomicU64,
    /// Clients closed because they stopped answering pings.
    pub ping_timeouts: AtomicU64,
}

impl Stats {
    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsSnapshot {
            connected: self.connected.load(Ordering::Relaxed),
            connections_total: get(&self.connections_total),
            refused_at_capacity: get(&self.refused_at_capacity),
            frames_sent: get(&self.frames_sent),
            frames_skipped: get(&self.frames_skipped),
            slow_disconnects: get(&self.slow_disconnects),
            rate_limited: get(&self.rate_limited),
            ping_timeouts: get(&self.ping_timeouts),
        }
    }

    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// State every session and HTTP handler reads.
pub struct ServerState {
    /// When the server started, ISO 8601.
    pub start_time: String,
    /// When the server started, for uptime.
    pub started: Instant,
    /// Seconds between snapshots.
    pub monitor_interval: Cadence,
    /// Per-connection policy.
    pub limits: Limits,
    /// Counters.
    pub stats: Stats,
    /// Every plugin file and what became of it.
    pub plugins: PluginBoard,
    /// Alert thresholds (`set_threshold`, `configure_thresholds`) and active alerts.
    pub alerts: AlertControl,
    /// Per-sink delivery counters.
    pub sinks: SinkStats,
    /// The newest frame.
    pub frames: FrameReceiver,
    /// The last `monitor.history_size` frames, for `/api/history`.
    pub history: SharedHistory,
    /// The last alert notifications, for `/api/alerts`.
    pub alert_log: AlertLog,
    /// Each collector's status as of the latest tick, for `/health` and `/metrics`.
    pub collectors: StatusBoard,
    /// The server's own RSS trend, for `/health`.
    pub memory: ServiceMemoryMonitor,
    /// Server shutdown.
    pub shutdown: Shutdown,
    /// Tokens, roles and the `Host`/`Origin` rules (knows the bound address).
    pub access: Access,
    /// Connection and client limits, in all and per address, and their counts.
    pub admission: Admission,
    /// `plugin_event` messages for every session.
    pub plugin_events: PluginEvents,
    /// The last configuration reload, for `/health`.
    pub reload: ReloadStatus,
    /// Reloads and rescans on request (set once the live task runs).
    pub live: std::sync::OnceLock<LiveHandle>,
    /// The fleet link and, on a gateway, the fleet view; `None` without `[fleet]`.
    pub fleet: Option<Arc<Fleet>>,
    /// Every WebSocket client's outlet, written to once per tick.
    pub fanout: crate::surfaces::ws::fanout::Fanout,
}

impl ServerState {
    /// Hands the sessions the live task's handle, for the admin's `reload`.
    pub fn set_live(&self, live: LiveHandle) {
        let _ = self.live.set(live);
    }

    /// Clients connected now.
    pub fn connected_clients(&self) -> usize {
        self.stats.connected.load(Ordering::Relaxed)
    }

    /// The tick, in whole milliseconds.
    pub fn tick_ms(&self) -> u64 {
        (self.monitor_interval.seconds() * 1000.0).round() as u64
    }
}
