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
use crate::surfaces::admission::Admission;
use crate::throttle::Throttle;

/// The peer of a request's connection, in the request's extensions, for filters that
/// check or log who is asking (`warp::ext::get::<Peer>()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// Accepts connections until shutdown, serving each with `routes`. A connection past
/// `admission`'s limits (in all, or for its address) is closed at once; each one
/// served is counted until its task ends.
pub async fn serve<F>(
    listener: TcpListener,
    routes: F,
    handshake_timeout: Duration,
    admission: Admission,
    mut shutdown: Shutdown,
) where
    F: Filter<Error = Infallible> + Clone + Send + Sync + 'static,
    F::Extract: Reply,
{
    let mut refusals = Throttle::new(Duration::from_secs(10));
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
        let connection = match admission.admit(&stream, peer) {
            Ok(connection) => connection,
            Err(refusal) => {
                if let Some(skipped) = refusals.allow(std::time::Instant::now()) {
                    tracing::warn!(peer = %peer, ?refusal, skipped, "Connection refused.");
                }
                continue; // Dropping the stream closes it.
            }
        };
        let _ = stream.set_nodelay(true);
        let serving = serve_connection(stream, peer, routes.clone(), handshake_timeout);
        tokio::spawn(async move {
            // Released when the connection ends or hands its socket to a WebSocket
            // session, which counts it from then on.
            let _connection = connection;
            serving.await;
        });
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
