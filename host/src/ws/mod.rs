//! The WebSocket endpoint: the upgrade, the shared server state sessions read, and the
//! per-connection sessions (in `session`).
//!
//! The upgrade is done here rather than with `warp::ws()` so the connection is handed
//! to tokio-tungstenite with our own [`WebSocketConfig`]: warp's filter fixes a 128 KiB
//! read buffer per connection (~135 KiB RSS per idle client), and it cannot be changed.

pub mod protocol;
pub mod session;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use crate::bus::FrameReceiver;
use crate::registry::PluginRecord;
use crate::shutdown::Shutdown;

/// Largest message a client may send; control messages are tiny.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// The server version reported to clients.
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// State every session reads.
pub struct ServerState {
    /// When the server started, ISO 8601.
    pub start_time: String,
    /// When the server started, for uptime.
    pub started: Instant,
    /// Seconds between snapshots.
    pub monitor_interval: f64,
    /// Most clients at once.
    pub max_clients: usize,
    /// How long one send may take before the client is dropped.
    pub send_timeout: Duration,
    /// Clients connected now.
    pub clients: AtomicUsize,
    /// Every plugin file and what became of it.
    pub plugins: Vec<PluginRecord>,
    /// The newest frame.
    pub frames: FrameReceiver,
    /// Server shutdown.
    pub shutdown: Shutdown,
}

impl ServerState {
    /// Clients connected now.
    pub fn connected_clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }
}

/// Buffers sized for many small, mostly idle connections.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE))
}

/// `GET /` or `/ws` with `Upgrade: websocket`: answers 101 and starts a session.
pub fn upgrade(
    state: Arc<ServerState>,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let path = warp::path::end().or(warp::path!("ws")).unify();
    path.and(warp::get())
        .and(warp::header::exact_ignore_case("upgrade", "websocket"))
        .and(warp::header::<String>("sec-websocket-key"))
        .and(warp::ext::optional::<OnUpgrade>())
        .map(move |key: String, on_upgrade: Option<OnUpgrade>| {
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
                        let io = TokioIo::new(upgraded);
                        let ws = WebSocketStream::from_raw_socket(
                            io,
                            Role::Server,
                            Some(websocket_config()),
                        )
                        .await;
                        session::run(ws, state).await;
                    }
                    Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed."),
                }
            });
            let accept = derive_accept_key(key.as_bytes());
            let reply = warp::reply::with_status(warp::reply(), StatusCode::SWITCHING_PROTOCOLS);
            let reply = warp::reply::with_header(reply, "connection", "upgrade");
            let reply = warp::reply::with_header(reply, "upgrade", "websocket");
            warp::reply::with_header(reply, "sec-websocket-accept", accept).into_response()
        })
}
