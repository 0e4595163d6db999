//! The WebSocket endpoint: the upgrade, the shared state and counters sessions use,
//! and the per-connection sessions (in `session`).
//!
//! The upgrade is done here rather than with `warp::ws()` so the connection is handed
//! to tokio-tungstenite with our own [`WebSocketConfig`]: warp's filter fixes a 128 KiB
//! read buffer per connection (~135 KiB RSS per idle client), and it cannot be changed.

pub mod closing;
pub mod echo;
pub mod protocol;
pub mod rate_limit;
pub mod session;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use crate::alert::{AlertControl, AlertLog};
use crate::bus::FrameReceiver;
use crate::config::ServerConfig;
use crate::history::SharedHistory;
use crate::registry::PluginRecord;
use crate::scheduler::StatusBoard;
use crate::service_memory::ServiceMemoryMonitor;
use crate::shutdown::Shutdown;
use crate::sink_runner::SinkStats;

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

    /// Buffers sized for many small, mostly idle connections.
    pub fn websocket_config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(1024)
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

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Clone, Serialize)]
pub struct StatsSnapshot {
    /// Clients connected now.
    pub connected: usize,
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Connections closed with 1008 because the server was full.
    pub refused_at_capacity: u64,
    /// `monitoring_data` messages sent.
    pub frames_sent: u64,
    /// Ticks clients missed while busy with an older one.
    pub frames_skipped: u64,
    /// Clients dropped for slow sends.
    pub slow_disconnects: u64,
    /// Control messages refused by the rate limiter.
    pub rate_limited: u64,
    /// Clients closed for not answering pings.
    pub ping_timeouts: u64,
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
    pub monitor_interval: f64,
    /// Per-connection policy.
    pub limits: Limits,
    /// Counters.
    pub stats: Stats,
    /// Every plugin file and what became of it.
    pub plugins: Vec<PluginRecord>,
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
}

impl ServerState {
    /// Clients connected now.
    pub fn connected_clients(&self) -> usize {
        self.stats.connected.load(Ordering::Relaxed)
    }

    /// The tick, in whole milliseconds.
    pub fn tick_ms(&self) -> u64 {
        (self.monitor_interval * 1000.0).round() as u64
    }
}

/// Which session an upgraded connection gets.
#[derive(Debug, Clone, Copy)]
enum Route {
    /// `/` and `/ws`: the monitoring stream.
    Monitor,
    /// `/echo`: the conformance echo (see [`echo`]).
    Echo,
}

/// Environment variable that turns on `/echo` for the Autobahn conformance suite.
pub const CONFORMANCE_ECHO_ENV: &str = "MONITORING_CONFORMANCE_ECHO";

/// `GET /`, `/ws` (and `/echo` when enabled) with `Upgrade: websocket`: answers 101
/// and starts the session.
pub fn upgrade(
    state: Arc<ServerState>,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let echo_enabled = std::env::var_os(CONFORMANCE_ECHO_ENV).is_some_and(|v| v == "1");
    let monitor = warp::path::end()
        .or(warp::path!("ws"))
        .unify()
        .map(|| Route::Monitor);
    let echo = warp::path!("echo").and_then(move || async move {
        if echo_enabled {
            Ok(Route::Echo)
        } else {
            Err(warp::reject::not_found())
        }
    });
    monitor
        .or(echo)
        .unify()
        .and(warp::get())
        .and(warp::header::exact_ignore_case("upgrade", "websocket"))
        .and(warp::header::<String>("sec-websocket-key"))
        .and(warp::ext::optional::<OnUpgrade>())
        .map(
            move |route: Route, key: String, on_upgrade: Option<OnUpgrade>| {
                let Some(on_upgrade) = on_upgrade else {
                    return warp::reply::with_status(
                        "connection cannot be upgraded",
                        StatusCode::BAD_REQUEST,
                    )
                    .into_response();
                };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    match on_upgrade.await {
                        Ok(upgraded) => {
                            let config = state.limits.websocket_config();
                            let ws = WebSocketStream::from_raw_socket(
                                TokioIo::new(upgraded),
                                Role::Server,
                                Some(config),
                            )
                            .await;
                            match route {
                                Route::Monitor => session::run(ws, state).await,
                                Route::Echo => echo::run(ws).await,
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed."),
                    }
                });
                let accept = derive_accept_key(key.as_bytes());
                let reply =
                    warp::reply::with_status(warp::reply(), StatusCode::SWITCHING_PROTOCOLS);
                let reply = warp::reply::with_header(reply, "connection", "upgrade");
                let reply = warp::reply::with_header(reply, "upgrade", "websocket");
                warp::reply::with_header(reply, "sec-websocket-accept", accept).into_response()
            },
        )
}
