//! The accept loop: one TCP port for HTTP and WebSocket.
//!
//! We drive hyper ourselves rather than through `warp::serve` to set what warp does not
//! expose: a deadline for the request header (so half-open connections that never
//! finish their handshake are dropped), `TCP_NODELAY` (ticks are small and latency
//! matters), and a clean stop on shutdown. Routing is still warp's, via
//! `warp::service`. With TLS configured ([`crate::accept::tls`]) every connection is
//! TLS first, and the handshake and the request header share the one deadline.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use warp::{Filter, Reply};

use crate::accept::admission::Admission;
use crate::accept::parse_errors::ParseErrorBodies;
use crate::accept::tls::Tls;
use crate::accept::write_watch::WriteWatch;
use crate::shutdown::Shutdown;
use crate::throttle::Throttle;

/// The peer of a request's connection, in the request's extensions, for filters that
/// check or log who is asking (`warp::ext::get::<Peer>()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// Accepts connections until shutdown, serving each with `routes`, over TLS when `tls`
/// is set. A connection past `admission`'s limits (in all, or for its address) is
/// closed at once; each one served is counted until its task ends.
pub async fn serve<F>(
    listener: TcpListener,
    routes: F,
    handshake_timeout: Duration,
    admission: Admission,
    tls: Option<Arc<Tls>>,
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
        let serving =
            serve_connection(stream, peer, routes.clone(), handshake_timeout, tls.clone());
        tokio::spawn(async move {
            // Released when the connection ends or hands its socket to a WebSocket
            // session, which counts it from then on.
            let _connection = connection;
            serving.await;
        });
    }
}

/// Serves one accepted connection: the TLS handshake when `tls` is set, then HTTP/1.1
/// with upgrades, its peer address in every request's extensions. A peer that has not
/// finished the handshake and sent its request header within `handshake_timeout` is
/// dropped, so a silent TCP connection cannot hold a task.
async fn serve_connection<F>(
    stream: TcpStream,
    peer: SocketAddr,
    routes: F,
    handshake_timeout: Duration,
    tls: Option<Arc<Tls>>,
) where
    F: Filter<Error = Infallible> + Clone + Send + Sync + 'static,
    F::Extract: Reply,
{
    let Some(tls) = tls else {
        return serve_http(stream, peer, routes, handshake_timeout).await;
    };
    let started = tokio::time::Instant::now();
    match tokio::time::timeout(handshake_timeout, tls.accept(stream)).await {
        Ok(Ok(Some(stream))) => {
            let left = handshake_timeout.saturating_sub(started.elapsed());
            serve_http(stream, peer, routes, left).await;
        }
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::debug!(peer = %peer, error = %e, "TLS handshake failed."),
        Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out."),
    }
}

/// HTTP/1.1 with upgrades on an established stream, plain or TLS. What hyper answers
/// on its own to a request it cannot parse gets a JSON body ([`ParseErrorBodies`]);
/// each request gets the connection's [`WriteWatch`], and a long reply its reader
/// stopped taking ends the connection.
async fn serve_http<F, S>(stream: S, peer: SocketAddr, routes: F, header_timeout: Duration)
where
    F: Filter<Error = Infallible> + Clone + Send + Sync + 'static,
    F::Extract: Reply,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let routes = warp::service(routes);
    let watch = WriteWatch::default();
    let watching = watch.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        request.extensions_mut().insert(watching.clone());
        tower_service::Service::call(&mut routes.clone(), request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(ParseErrorBodies::new(stream)), service)
        .with_upgrades();
    tokio::select! {
        ended = connection => if let Err(e) = ended {
            tracing::debug!(error = %e, "HTTP connection ended with an error.");
        },
        // Dropping the connection closes the socket.
        () = watch.expired() => {
            tracing::debug!(peer = %peer, "Reader stopped taking its reply; connection closed.");
        }
    }
}
