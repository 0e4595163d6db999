//! The WebSocket endpoint: the upgrade, and the per-connection sessions (in `session`).
//!
//! The upgrade is done here rather than with `warp::ws()` so the connection is handed
//! to tokio-tungstenite with our own [`WebSocketConfig`]: warp's filter fixes a 128 KiB
//! read buffer per connection (~135 KiB RSS per idle client), and it cannot be changed.

pub mod closing;
pub mod echo;
pub mod rate_limit;
pub mod session;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use crate::surfaces::state::ServerState;

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
