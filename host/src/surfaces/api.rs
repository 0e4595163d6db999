//! The HTTP handlers behind `/api/*`, `/health` and `/metrics`: what the seed made its
//! users write as glue (FastAPI routes, a Prometheus exporter script, a health report),
//! served on the WebSocket's port. `http.rs` only routes here.
//!
//! Every reply reads state the collection loop already produced (the latest frame, the
//! history, counters); nothing here triggers a collection. JSON errors are
//! `{"error": "…"}` and say what was wrong with the request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};
use monitoring_plugin_api::Alert;
use serde::Serialize;
use warp::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::Reply;

use crate::accept::write_watch::WriteWatch;
use crate::alerts::lifecycle::AlertsView;
use crate::alerts::{AlertControl, AlertLog};
use crate::fleet::Fleet;
use crate::pipeline::bus::FrameReceiver;
use crate::pipeline::history::{SharedHistory, TTL};
use crate::pipeline::wire::excerpt;
use crate::surfaces::health::{self, HealthSources};
use crate::surfaces::history_reply::{self, HistoryReplies, MAX_IN_FLIGHT, RETRY_AFTER_SECONDS};
use crate::surfaces::lookback::answer::LookbackSources;
use crate::surfaces::lookback::times::parse_since;
use crate::surfaces::metrics::{self, Format, MetricsSources};
use crate::surfaces::reply::{error, json, json_bytes};
use crate::surfaces::silences::Silencing;

/// What the API's handlers read.
pub struct ApiSources {
    /// The newest frame, for `/api/current`.
    pub frames: FrameReceiver,
    /// The recent frames, for `/api/history`.
    pub history: SharedHistory,
    /// How long a history body may take to be taken by its reader.
    pub send_timeout: Duration,
    /// The alerts active now, for `/api/alerts`.
    pub alerts: AlertControl,
    /// The last notifications, for `/api/alerts`.
    pub alert_log: AlertLog,
    /// The fleet view, for `/api/hosts` on a gateway; `None` without `[fleet]`.
    pub fleet: Option<Arc<Fleet>>,
    /// What `/health` reports.
    pub health: HealthSources,
    /// What `/metrics` exposes.
    pub metrics: MetricsSources,
    /// The on-disk history, for `/api/series`, `/api/query`, `/api/events` and
    /// `/api/processes`.
    pub lookback: LookbackSources,
    /// Silences, acknowledgements, the alerts' board and the rules, for
    /// `/api/silences`, `/api/alerts/{fingerprint}/ack`, `/api/rules` and the
    /// `firing` and `resolved` lists of `/api/alerts`.
    pub silencing: Silencing,
}

/// `GET /api/current`: the latest snapshot, 503 before the first tick.
pub fn current(sources: &ApiSources) -> Response {
    let frame = sources.frames.borrow().clone();
    match frame {
        Some(frame) => {
            let mut body = Vec::with_capacity(frame.data.get().len() + 256);
            frame.write_api_view(&mut body);
            json_bytes(StatusCode::OK, body)
        }
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no snapshot yet: the first collection has not finished",
        ),
    }
}

/// What `/api/history` was asked for.
#[derive(Debug, Default, PartialEq)]
pub struct HistoryQuery {
    /// The newest N.
    pub count: Option<usize>,
    /// Taken at or after.
    pub since: Option<DateTime<Local>>,
}

/// Checks `/api/history`'s parameters against a history of `capacity` frames.
pub fn parse_history_query(
    params: &[(String, String)],
    capacity: usize,
) -> Result<HistoryQuery, String> {
    let mut query = HistoryQuery::default();
    for (key, value) in params {
        match key.as_str() {
            "count" => {
                if query.count.is_some() {
                    return Err("`count` is given more than once".into());
                }
                let count = value
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=capacity).contains(n));
                let Some(count) = count else {
                    return Err(format!(
                        "`count` must be a whole number from 1 to {capacity} (the history size), got `{}`",
                        excerpt(value)
                    ));
                };
                query.count = Some(count);
            }
            "since" => {
                if query.since.is_some() {
                    return Err("`since` is given more than once".into());
                }
                query.since = Some(parse_since(value)?);
            }
            other => {
                return Err(format!(
                    "unknown parameter `{}`: /api/history takes `count` and `since`",
                    excerpt(other)
                ))
            }
        }
    }
    Ok(query)
}

/// `GET /api/history?count=N&since=T`: oldest first, streamed from the history's own
/// bytes (see [`history_reply`]); 503 with `Retry-After` while [`MAX_IN_FLIGHT`]
/// history bodies are being sent (`replies` holds the slots). `watch` is the
/// connection's, when it has one.
pub fn history(
    sources: &ApiSources,
    params: &[(String, String)],
    replies: &HistoryReplies,
    watch: Option<&WriteWatch>,
) -> Response {
    let capacity = sources.history.with(|h| h.capacity());
    let query = match parse_history_query(params, capacity) {
        Ok(query) => query,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let Some(slot) = replies.try_slot() else {
        let mut response = error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{MAX_IN_FLIGHT} history replies are being sent already: retry in \
                 {RETRY_AFTER_SECONDS} s"
            ),
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        return response;
    };
    // The lock is held only to clone the views' handles out.
    let views = sources
        .history
        .with(|h| h.query(query.count, query.since, Instant::now()));
    let chunks = history_reply::chunks(views, capacity, TTL.as_secs());
    let length: usize = chunks.iter().map(|chunk| chunk.len()).sum();
    let body = history_reply::Body::new(chunks, slot, watch, sources.send_timeout);
    let mut response = warp::reply::stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Known in advance: sent with a length, as before, not chunked.
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// `GET /api/hosts`: a fleet gateway's hosts (state, last seen, alerts, summary);
/// 404 on a server that is not a gateway.
pub fn hosts(sources: &ApiSources) -> Response {
    let Some(gateway) = sources
        .fleet
        .as_ref()
        .and_then(|fleet| fleet.gateway.as_ref())
    else {
        return error(
            StatusCode::NOT_FOUND,
            "this server is not a fleet gateway ([fleet] gateway = true)",
        );
    };
    #[derive(Serialize)]
    struct Body {
        timestamp: String,
        hosts: Vec<crate::fleet::hosts::HostInfo>,
    }
    json(
        StatusCode::OK,
        &Body {
            timestamp: crate::timestamp::now_iso(),
            hosts: gateway.hosts(),
        },
    )
}

/// `GET /api/alerts`: the alerts active now and the last notifications, newest first;
/// then the lifecycle's view: `firing` (with their silences and acknowledgements) and
/// recently `resolved`.
pub fn alerts(sources: &ApiSources) -> Response {
    #[derive(Serialize)]
    struct Body<'a> {
        timestamp: String,
        active: Vec<Alert>,
        recent: Vec<crate::alerts::log::LogEntry>,
        fired_total: u64,
        #[serde(flatten)]
        lifecycle: &'a AlertsView,
    }
    let view = sources.silencing.board.view();
    json(
        StatusCode::OK,
        &Body {
            timestamp: crate::timestamp::now_iso(),
            active: sources.alerts.active_alerts(),
            recent: sources.alert_log.recent(),
            fired_total: sources.alert_log.fired_total(),
            lifecycle: &view,
        },
    )
}

/// `GET /health`: 200 when healthy, 503 when not (see [`crate::surfaces::health`]).
pub fn health(sources: &HealthSources) -> Response {
    let (healthy, report) = health::report(sources, Instant::now());
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(status, &report)
}

/// `GET /metrics`: the format `Accept` asks for.
pub fn metrics(sources: &MetricsSources, accept: Option<&str>) -> Response {
    let format = Format::from_accept(accept);
    match metrics::render(sources, format) {
        Ok(text) => {
            warp::reply::with_header(text, "content-type", format.content_type()).into_response()
        }
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode the metrics",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn count_must_be_within_the_history_size() {
        let ok = parse_history_query(&params(&[("count", "5")]), 10);
        assert_eq!(ok.map(|q| q.count), Ok(Some(5)));
        for bad in ["0", "11", "-1", "abc", "2.5", ""] {
            let error = parse_history_query(&params(&[("count", bad)]), 10).expect_err(bad);
            assert!(error.contains("from 1 to 10"), "{error}");
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }

    #[test]
    fn a_long_value_is_quoted_in_part() {
        let long = "9".repeat(5000);
        for params in [
            params(&[("count", long.as_str())]),
            params(&[("since", long.as_str())]),
            params(&[(long.as_str(), "1")]),
        ] {
            let error = parse_history_query(&params, 10).expect_err("refused");
            assert!(error.len() < 400, "{} bytes: {error}", error.len());
            assert!(error.contains(&format!("{}…", "9".repeat(64))), "{error}");
        }
    }

    #[test]
    fn since_takes_local_or_offset_times() {
        let local = parse_since("2025-01-03T10:15:30");
        assert_eq!(
            local.map(|t| t.naive_local().to_string()),
            Ok("2025-01-03 10:15:30".into())
        );
        assert_eq!(
            parse_since("2025-01-03T10:15:30Z").map(|t| t.timestamp()),
            Ok(1_735_899_330),
            "an offset names an instant"
        );
        assert!(parse_since("2025-01-03T10:15:30.123456").is_ok());
        assert!(parse_since("2025-01-03T10:15").is_ok());
        assert!(parse_since("2025-01-03T10:15:30Z").is_ok());
        assert!(
            parse_since("2025-01-03T10:15:30 02:00").is_ok(),
            "decoded `+`"
        );
        let error = parse_since("yesterday").expect_err("refused");
        assert!(
            error.contains("`yesterday`") && error.contains("ISO 8601"),
            "{error}"
        );
    }

    #[test]
    fn unknown_or_repeated_parameters_are_refused() {
        let error = parse_history_query(&params(&[("limit", "5")]), 10).expect_err("refused");
        assert!(error.contains("unknown parameter `limit`"), "{error}");
        let twice = parse_history_query(&params(&[("count", "1"), ("count", "2")]), 10);
        assert!(twice.is_err());
    }
}
