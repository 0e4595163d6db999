//! Routing only: which path goes to which handler, on the one port.

use std::convert::Infallible;
use std::sync::Arc;

use warp::{Filter, Rejection, Reply};

use crate::surfaces::api;
use crate::surfaces::dashboard;
use crate::surfaces::state::ServerState;
use crate::surfaces::ws;

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
    // The upgrade is tried first: a WebSocket client at `/` never gets the page.
    ws::upgrade(Arc::clone(&state))
        .or(dashboard::routes())
        .or(api_routes(state))
}

/// `GET /api/current`, `/api/history`, `/api/alerts`, `/health` and `/metrics`.
fn api_routes(
    state: Arc<ServerState>,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let with_state = warp::any().map(move || Arc::clone(&state));
    let current = warp::path!("api" / "current")
        .and(with_state.clone())
        .map(|state: Arc<ServerState>| api::current(&state));
    let history = warp::path!("api" / "history")
        .and(with_state.clone())
        .and(warp::query::<Vec<(String, String)>>())
        .map(|state: Arc<ServerState>, params: Vec<(String, String)>| {
            api::history(&state, &params)
        });
    let alerts = warp::path!("api" / "alerts")
        .and(with_state.clone())
        .map(|state: Arc<ServerState>| api::alerts(&state));
    let health = warp::path!("health")
        .and(with_state.clone())
        .map(|state: Arc<ServerState>| api::health(&state));
    let metrics = warp::path!("metrics")
        .and(with_state)
        .and(warp::header::optional::<String>("accept"))
        .map(|state: Arc<ServerState>, accept: Option<String>| {
            api::metrics(&state, accept.as_deref())
        });
    warp::get().and(current.or(history).or(alerts).or(health).or(metrics))
}
