//! Routing only: which path goes to which handler, on the one port.

use std::convert::Infallible;
use std::sync::Arc;

use warp::{Filter, Rejection, Reply};

use crate::ws::{self, ServerState};

/// Every route the server answers, with rejections turned into HTTP replies.
pub fn routes(
    state: Arc<ServerState>,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    routed(state).recover(|rejection: Rejection| async move {
        let status = if rejection.is_not_found() {
            warp::http::StatusCode::NOT_FOUND
        } else {
            warp::http::StatusCode::BAD_REQUEST
        };
        Ok::<_, Infallible>(warp::reply::with_status(format!("{rejection:?}\n"), status))
    })
}

fn routed(
    state: Arc<ServerState>,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let index = warp::path::end().and(warp::get()).map(|| {
        warp::reply::with_header(
            "monitoring-websocket-server: connect a WebSocket client to this address (ws://HOST:PORT/ or /ws).\n",
            "content-type",
            "text/plain; charset=utf-8",
        )
    });
    ws::upgrade(state).or(index)
}
