//! The WebSocket endpoint: the upgrade, the per-connection sessions ([`session`]) and
//! the fan-out that writes every tick to every client ([`fanout`], through each
//! client's [`outlet`] and, for plain TCP, straight into its socket, [`socket`]).
//! On the way in, [`frame_gate`] counts a client's frames, which tungstenite hides.
//! Every session gets the same [`context::SessionContext`]: the per-connection
//! [`limits`], the [`stats`] it counts into and the handles its commands act through.
//!
//! The upgrade is done here rather than with `warp::ws()` so the connection is handed
//! to tokio-tungstenite with our own [`WebSocketConfig`]: warp's filter fixes a 128 KiB
//! read buffer per connection (~135 KiB RSS per idle client), and it cannot be changed.

pub mod admin;
pub mod answers;
pub mod broadcast;
pub mod closing;
pub mod commands;
pub mod context;
pub mod deflate;
pub mod echo;
pub mod fanout;
pub mod frame_gate;
pub mod handshake;
pub mod limits;
pub mod lookup;
pub mod outlet;
pub mod rate_limit;
pub mod session;
pub mod silence_params;
pub mod silencing;
pub mod socket;
pub mod stats;
pub mod subscription;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use self::context::SessionContext;
use self::deflate::inflate::Inflating;
use self::frame_gate::FrameGate;
use crate::accept::server::Peer;
use crate::surfaces::reply;

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

/// `GET /`, `/ws` (and `/echo` when enabled) with `Upgrade: websocket`: checks the
/// handshake ([`handshake::check`]), answers 101 and starts the session.
pub fn upgrade(
    context: Arc<SessionContext>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
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
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<Peer>())
        .and(warp::ext::optional::<OnUpgrade>())
        .map(
            move |route: Route,
                  headers: HeaderMap,
                  peer: Option<Peer>,
                  on_upgrade: Option<OnUpgrade>| {
                let admin_only = matches!(route, Route::Echo);
                let accepted = match handshake::check(&context.access, &headers, peer, admin_only) {
                    Ok(accepted) => accepted,
                    Err(refusal) => return *refusal,
                };
                let Some(on_upgrade) = on_upgrade else {
                    return reply::error(StatusCode::BAD_REQUEST, "connection cannot be upgraded");
                };
                let grant = accepted.grant;
                // permessage-deflate, when the client offers what we can honour.
                let extension = deflate::negotiation::accept(
                    headers
                        .get_all(warp::http::header::SEC_WEBSOCKET_EXTENSIONS)
                        .iter()
                        .filter_map(|value| value.to_str().ok()),
                )
                .and_then(|answer| warp::http::HeaderValue::from_str(&answer).ok());
                let deflate = extension.is_some();
                let context = Arc::clone(&context);
                tokio::spawn(async move {
                    match on_upgrade.await {
                        Ok(upgraded) => {
                            let config = context.limits.websocket_config();
                            let limit = deflate.then_some(context.limits.max_message_size);
                            match route {
                                Route::Monitor => {
                                    let (stream, outlet) = socket::client_stream(upgraded, deflate);
                                    let ws = websocket(stream, limit, config).await;
                                    session::run(ws, context, grant, outlet).await;
                                }
                                Route::Echo => {
                                    echo::run(
                                        websocket(TokioIo::new(upgraded), limit, config).await,
                                    )
                                    .await;
                                }
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed."),
                    }
                });
                let accept = derive_accept_key(accepted.key.as_bytes());
                let reply =
                    warp::reply::with_status(warp::reply(), StatusCode::SWITCHING_PROTOCOLS);
                let reply = warp::reply::with_header(reply, "connection", "upgrade");
                let reply = warp::reply::with_header(reply, "upgrade", "websocket");
                let mut response =
                    warp::reply::with_header(reply, "sec-websocket-accept", accept).into_response();
                if let Some(extension) = extension {
                    response
                        .headers_mut()
                        .insert(warp::http::header::SEC_WEBSOCKET_EXTENSIONS, extension);
                }
                // Never the `bearer.` entry: only the protocol spoken is named back.
                if let Some(protocol) = accepted.protocol {
                    response.headers_mut().insert(
                        warp::http::header::SEC_WEBSOCKET_PROTOCOL,
                        warp::http::HeaderValue::from_static(protocol),
                    );
                }
                response
            },
        )
}

/// The server's WebSocket over an upgraded `stream`, with our configuration; with
/// `limit` (permessage-deflate agreed), incoming messages are inflated up to it. The
/// client's frames are counted as they come off the socket ([`frame_gate`]).
async fn websocket<S>(
    stream: S,
    limit: Option<usize>,
    config: WebSocketConfig,
) -> WebSocketStream<Inflating<FrameGate<S>>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let stream = Inflating::new(FrameGate::new(stream), limit);
    WebSocketStream::from_raw_socket(stream, Role::Server, Some(config)).await
}
