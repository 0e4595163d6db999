//! The accept loop: one TCP port for HTTP and WebSocket.
//!
//! We drive hyper ourselves rather than through `warp::serve` to set what warp does not
//! expose: a deadline for the request header (so half-open connections that never
//! finish their handshake are dropped), `TCP_NODELAY` (ticks are small and latency
//! matters), and a clean stop on shutdown. Routing is still warp's, via
//! `warp::service`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use warp::{Filter, Reply};

use crate::shutdown::Shutdown;

/// The peer of a request's connection, in the request's extensions, for filters that
/// check or log who is asking (`warp::ext::get::<Peer>()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// Accepts connections until shutdown, serving each with `routes`.
pub async fn serve<F>(
    listener: TcpListener,
    routes: F,
    handshake_timeout: Duration,
    mut shutdown: Shutdown,
) where
    F: Filter<Error = Infallible> + Clone + Send + Sync + 'static,
    F::Extract: Reply,
{
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.wait() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Usually EMFILE/ENFILE: back off briefly instead of spinning.
                tracing::warn!(error = %e, "Cannot accept a connection.");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            peer,
            routes.clone(),
            handshake_timeout,
        ));
    }
}

/// Serves one accepted connection: HTTP/1.1 with upgrades, its peer address in every
/// request's extensions.
async fn serve_connection<F>(
    stream: TcpStream,
    peer: SocketAddr,
    routes: F,
    handshake_timeout: Duration,
) where
    F: Filter<Error = Infallible> + Clone + Send + Sync + 'static,
    F::Extract: Reply,
{
    let routes = warp::service(routes);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        tower_service::Service::call(&mut routes.clone(), request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(handshake_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(e) = connection.await {
        tracing::debug!(error = %e, "HTTP connection ended with an error.");
    }
}
