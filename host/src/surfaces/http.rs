//! Routing only: which path goes to which handler, on the one port.
//!
//! Every request first meets the `Host`/`Origin` rules ([`access::refusals`]); then
//! the WebSocket upgrade, the dashboard, the data routes (behind the token check), and
//! last a fallback that answers what nothing else did: 405 with `Allow` for a known
//! path asked with the wrong method, 404 for the rest. Every error is
//! `{"error": "…"}`, quoting at most a short prefix of what the client sent.

use std::convert::Infallible;
use std::sync::Arc;

use warp::http::header::{ALLOW, UPGRADE};
use warp::http::{HeaderValue, Method, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::accept::write_watch::WriteWatch;
use crate::pipeline::wire::excerpt;
use crate::surfaces::access::{self, Access, Denial, Grant};
use crate::surfaces::api::{self, ApiSources};
use crate::surfaces::dashboard;
use crate::surfaces::history_reply::HistoryReplies;
use crate::surfaces::lookback::answer;
use crate::surfaces::lookback::params::{self, Endpoint as Lookback};
use crate::surfaces::reply;
use crate::surfaces::silences::{self, Silencing};
use crate::surfaces::ws::{self, context::SessionContext};

/// Every route the server answers. Nothing is left to a rejection: the last route,
/// [`fallback`], answers whatever the others did not, in JSON, so no request ever gets
/// warp's plain-text rejection reply. `access` guards them all, `sessions` is what
/// each WebSocket session gets, `api` what the data routes read.
pub fn routes(
    access: Arc<Access>,
    sessions: Arc<SessionContext>,
    api: Arc<ApiSources>,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    // The upgrade is tried first: a WebSocket client at `/` never gets the page.
    let routed = ws::upgrade(sessions)
        .or(dashboard::routes())
        .or(lookback_routes(Arc::clone(&access), Arc::clone(&api)))
        .or(silence_routes(Arc::clone(&access), Arc::clone(&api)))
        .or(api_routes(Arc::clone(&access), api))
        .or(fallback());
    access::refusals(access)
        .or(routed.map(Reply::into_response))
        .unify()
}

/// The data routes; each answers `GET` and `HEAD`.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Current,
    History,
    Alerts,
    Hosts,
    Health,
    Metrics,
}

/// `/api/current`, `/api/history`, `/api/alerts`, `/health` and `/metrics`, for
/// viewers (anyone, without a viewer token).
fn api_routes(
    access: Arc<Access>,
    sources: Arc<ApiSources>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let endpoint = warp::path!("api" / "current")
        .map(|| Endpoint::Current)
        .or(warp::path!("api" / "history").map(|| Endpoint::History))
        .unify()
        .or(warp::path!("api" / "alerts").map(|| Endpoint::Alerts))
        .unify()
        .or(warp::path!("api" / "hosts").map(|| Endpoint::Hosts))
        .unify()
        .or(warp::path!("health").map(|| Endpoint::Health))
        .unify()
        .or(warp::path!("metrics").map(|| Endpoint::Metrics))
        .unify();
    let grant = access::grant(access);
    let with_sources = warp::any().map(move || Arc::clone(&sources));
    // One set of history slots for every connection: the filter is built once.
    let replies = HistoryReplies::default();
    endpoint
        .and(warp::get().or(warp::head()).unify())
        .and(grant)
        .and(with_sources)
        .and(warp::query::<Vec<(String, String)>>())
        .and(warp::header::optional::<String>("accept"))
        .and(warp::ext::optional::<WriteWatch>())
        .map(
            move |endpoint: Endpoint,
                  grant: Result<Grant, Denial>,
                  sources: Arc<ApiSources>,
                  params: Vec<(String, String)>,
                  accept: Option<String>,
                  watch: Option<WriteWatch>| {
                if let Err(denial) = grant {
                    return denial.into_response();
                }
                match endpoint {
                    Endpoint::Current => api::current(&sources),
                    Endpoint::History => api::history(&sources, &params, &replies, watch.as_ref()),
                    Endpoint::Alerts => api::alerts(&sources),
                    Endpoint::Hosts => api::hosts(&sources),
                    Endpoint::Health => api::health(&sources.health),
                    Endpoint::Metrics => api::metrics(&sources.metrics, accept.as_deref()),
                }
            },
        )
}

/// `/api/series`, `/api/query`, `/api/events` and `/api/processes`: the store's
/// history, for viewers, answered off the runtime (see [`answer`]).
fn lookback_routes(
    access: Arc<Access>,
    sources: Arc<ApiSources>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let endpoint = warp::path!("api" / "series")
        .map(|| Lookback::Series)
        .or(warp::path!("api" / "query").map(|| Lookback::Query))
        .unify()
        .or(warp::path!("api" / "events").map(|| Lookback::Events))
        .unify()
        .or(warp::path!("api" / "processes").map(|| Lookback::Processes))
        .unify();
    let with_sources = warp::any().map(move || Arc::clone(&sources));
    endpoint
        .and(warp::get().or(warp::head()).unify())
        .and(access::grant(access))
        .and(with_sources)
        .and(warp::query::<Vec<(String, String)>>())
        .then(
            |endpoint: Lookback,
             grant: Result<Grant, Denial>,
             sources: Arc<ApiSources>,
             query: Vec<(String, String)>| async move {
                if let Err(denial) = grant {
                    return denial.into_response();
                }
                let now_ms = chrono::Utc::now().timestamp_millis();
                let request = match params::parse(endpoint, &query, now_ms) {
                    Ok(request) => request,
                    Err(message) => return reply::error(StatusCode::BAD_REQUEST, message),
                };
                match answer::answer(&sources.lookback, request).await {
                    Ok(body) => reply::json(StatusCode::OK, &body),
                    Err(refusal) => {
                        let mut response = reply::error(refusal.status, refusal.message);
                        if refusal.status == StatusCode::SERVICE_UNAVAILABLE {
                            response
                                .headers_mut()
                                .insert("retry-after", HeaderValue::from_static("1"));
                        }
                        response
                    }
                }
            },
        )
}

/// `/api/silences` (`GET` for viewers, `POST` for admins), `DELETE
/// /api/silences/{id}`, `POST /api/alerts/{fingerprint}/ack` and `GET /api/rules`.
fn silence_routes(
    access: Arc<Access>,
    sources: Arc<ApiSources>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let grant = access::grant(Arc::clone(&access));
    let silencing = warp::any().map(move || sources.silencing.clone());
    let admin = warp::any().map(move || Arc::clone(&access));
    let read = warp::get().or(warp::head()).unify();
    let list = warp::path!("api" / "silences")
        .and(read)
        .and(grant.clone())
        .and(silencing.clone())
        .map(
            |grant: Result<Grant, Denial>, silencing: Silencing| match grant {
                Ok(_) => silences::list(&silencing),
                Err(denial) => denial.into_response(),
            },
        );
    let rules = warp::path!("api" / "rules")
        .and(read)
        .and(grant.clone())
        .and(silencing.clone())
        .map(
            |grant: Result<Grant, Denial>, silencing: Silencing| match grant {
                Ok(_) => silences::rules(&silencing),
                Err(denial) => denial.into_response(),
            },
        );
    // The changes: admins only, the grant checked before the body is read.
    let admitted = grant
        .and(admin)
        .map(|grant: Result<Grant, Denial>, access: Arc<Access>| {
            grant.and_then(|grant| {
                silences::admit_admin(&access, &grant, "silences").map(|()| grant)
            })
        });
    let create = warp::path!("api" / "silences")
        .and(warp::post())
        .and(admitted.clone())
        .and(silencing.clone())
        .and(warp::body::stream())
        .then(silences::post_silence);
    let expire = warp::path!("api" / "silences" / String)
        .and(warp::delete())
        .and(admitted.clone())
        .and(silencing.clone())
        .then(silences::delete_silence);
    let ack = warp::path!("api" / "alerts" / String / "ack")
        .and(warp::post())
        .and(admitted)
        .and(silencing)
        .and(warp::body::stream())
        .then(silences::post_ack);
    list.or(rules)
        .unify()
        .or(create)
        .unify()
        .or(expire)
        .unify()
        .or(ack)
        .unify()
}

/// The methods a known path answers; `None` for an unknown path.
pub fn allowed_methods(path: &str) -> Option<&'static str> {
    match path {
        "/" => Some("GET, HEAD"),
        "/ws" => Some("GET"),
        "/api/current" | "/api/history" | "/api/alerts" | "/api/hosts" | "/api/series"
        | "/api/query" | "/api/events" | "/api/processes" | "/api/rules" | "/health"
        | "/metrics" => Some("GET, HEAD"),
        "/api/silences" => Some("GET, HEAD, POST"),
        _ if path.strip_prefix("/api/silences/").is_some_and(is_segment) => Some("DELETE"),
        _ if path
            .strip_prefix("/api/alerts/")
            .and_then(|rest| rest.strip_suffix("/ack"))
            .is_some_and(is_segment) =>
        {
            Some("POST")
        }
        _ => path
            .strip_prefix("/assets/")
            .filter(|name| dashboard::ASSETS.iter().any(|asset| asset.name == *name))
            .map(|_| "GET, HEAD"),
    }
}

/// Whether `text` is one path segment (an id, a fingerprint).
fn is_segment(text: &str) -> bool {
    !text.is_empty() && !text.contains('/')
}

/// What no route took: 405 + `Allow`, 426 for a plain `GET /ws`, else 404 or 400.
fn fallback() -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    warp::method()
        .and(warp::path::full())
        .map(|method: Method, path: warp::path::FullPath| {
            let path = path.as_str();
            let Some(allowed) = allowed_methods(path) else {
                return reply::error(
                    StatusCode::NOT_FOUND,
                    format!("no such route: {}", excerpt(path)),
                );
            };
            if !allowed.split(", ").any(|m| m == method.as_str()) {
                let mut response = reply::error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("{} takes {allowed}", excerpt(path)),
                );
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allowed));
                return response;
            }
            if path == "/ws" {
                let mut response = reply::error(
                    StatusCode::UPGRADE_REQUIRED,
                    "/ws speaks WebSocket: connect with a WebSocket client",
                );
                response
                    .headers_mut()
                    .insert(UPGRADE, HeaderValue::from_static("websocket"));
                return response;
            }
            reply::error(StatusCode::BAD_REQUEST, "malformed request (query string?)")
        })
}
