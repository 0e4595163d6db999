//! The accept loop: one TCP port for HTTP and WebSocket.
//!
//! We drive hyper ourselves rather than through `warp::serve` to set what warp does not
//! expose: a deadline for the request header (so half-open connections that never
//! finish their handshake are dropped), `TCP_NODELAY` (ticks are small and latency
//! matters), and a clean stop on shutdown. Routing is still warp's, via
//! `warp::service`.

use std::convert::Infallible;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use warp::{Filter, Reply};

use crate::shutdown::Shutdown;

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
        let (stream, _peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Usually EMFILE/ENFILE: back off briefly instead of spinning.
                tracing::warn!(error = %e, "Cannot accept a connection.");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(warp::service(routes.clone()));
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(handshake_timeout)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "HTTP connection ended with an error.");
            }
        });
    }
}
