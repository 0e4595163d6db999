//! Runs a checked history request on the store and shapes the JSON answer that
//! `/api/series|query|events|processes` send and a WebSocket `query_result` carries.
//!
//! The store reads SQLite, which blocks: each request runs on the blocking pool, and
//! at most [`MAX_IN_FLIGHT`] at once, so no number of viewers can tie up the threads
//! the live stream needs; the rest are told to retry.

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::Semaphore;
use warp::http::StatusCode;

use crate::store::{QueryError, Store};
use crate::surfaces::lookback::params::Request;

/// History requests answered at once; more get 503.
pub const MAX_IN_FLIGHT: usize = 4;

/// What the history endpoints read.
#[derive(Clone)]
pub struct LookbackSources {
    /// The store; `None` when `[history] enabled = false`.
    pub store: Option<Store>,
    /// One permit per request being answered.
    pub slots: Arc<Semaphore>,
}

impl LookbackSources {
    /// Sources reading `store`.
    pub fn new(store: Option<Store>) -> Self {
        Self {
            store,
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }
}

/// Why a request got no answer: the HTTP status and the `error` text.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// The answer to `request`, off the runtime's threads.
pub async fn answer(sources: &LookbackSources, request: Request) -> Result<Value, Refusal> {
    let Some(store) = sources.store.clone() else {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "this server keeps no history ([history] enabled = false)",
        ));
    };
    let Ok(permit) = Arc::clone(&sources.slots).try_acquire_owned() else {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{MAX_IN_FLIGHT} history queries are being answered already: retry in 1 s"),
        ));
    };
    let answered = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        run(&store, request)
    })
    .await;
    match answered {
        Ok(result) => result,
        Err(_) => Err(Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the history query failed",
        )),
    }
}

/// The request, on the calling (blocking) thread.
fn run(store: &Store, request: Request) -> Result<Value, Refusal> {
    let refused = |e: QueryError| match e {
        QueryError::Bad(message) => Refusal::new(StatusCode::BAD_REQUEST, message),
        QueryError::Store(message) => {
            tracing::warn!(error = %message, "A history query failed.");
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("history store: {message}"),
            )
        }
    };
    match request {
        Request::Series { host, prefix } => {
            let series = store.series(&host, &prefix).map_err(refused)?;
            Ok(json!({ "host": host, "series": series }))
        }
        Request::Query {
            host,
            series,
            span,
            points,
        } => {
            let mut results = Vec::with_capacity(series.len());
            for name in &series {
                let result = store.query(&host, name, span, points).map_err(refused)?;
                results.push(
                    serde_json::to_value(result).map_err(|e| {
                        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
                    })?,
                );
            }
            Ok(match <[Value; 1]>::try_from(results) {
                Ok([one]) => one,
                Err(results) => json!({ "results": results }),
            })
        }
        Request::Events { host, span } => {
            let events = store.events(host.as_deref(), span).map_err(refused)?;
            Ok(json!({ "events": events }))
        }
        Request::Processes { host, at_ms } => {
            match store.processes(&host, at_ms).map_err(refused)? {
                Some(processes) => serde_json::to_value(processes)
                    .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
                None => Err(Refusal::new(
                    StatusCode::NOT_FOUND,
                    "no top processes recorded at or before that time",
                )),
            }
        }
    }
}
