//! The webhook sink against a real HTTP server on loopback, one scripted answer per
//! test: what arrives, field by field, and how each failure is classified.
// clippy.toml allows unwrap in #[test] functions; these files' helpers are test code too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use monitoring_plugin_api::abi_stable::std_types::{ROption, RStr};
use monitoring_plugin_api::{ErrorKind, PluginError, Sink, SinkEvent};
use monitoring_test_support::critical_alert;
use sink_http_common::test_server::{refused_url, Reply, TestServer};
use sink_webhook::{Config, WebhookSink};

fn sink(url: String, timeout_secs: f64) -> WebhookSink {
    let headers = BTreeMap::from([("Authorization".to_owned(), "Bearer token123".to_owned())]);
    WebhookSink::new(Config {
        url,
        headers,
        timeout_secs,
    })
    .unwrap()
}

fn deliver_to(reply: Reply) -> (PluginError, TestServer) {
    let server = TestServer::start(reply);
    let err = sink(server.url("/hook"), 5.0)
        .deliver(&SinkEvent::Alert {
            alert: critical_alert(),
        })
        .unwrap_err();
    assert_eq!(
        server.requests().len(),
        1,
        "exactly one attempt, no retry inside the plugin"
    );
    (err, server)
}

#[test]
fn posts_the_alert_as_json_with_the_configured_headers() {
    let server = TestServer::start(Reply::status(200));
    let mut sink = sink(server.url("/hooks/alerts?x=1"), 5.0);
    sink.deliver(&SinkEvent::Alert {
        alert: critical_alert(),
    })
    .unwrap();
    sink.deliver(&SinkEvent::Snapshot {
        timestamp: "t".into(),
        data: Default::default(),
    })
    .unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "snapshots are not posted");
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/alerts?x=1");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("authorization"), Some("Bearer token123"));
    let body = request.json();
    assert_eq!(body["event"], "alert");
    assert_eq!(body["timestamp"], "2025-01-03T10:15:30.123456");
    assert_eq!(body["component"], "memory");
    assert_eq!(body["metric"], "usage_percent");
    assert_eq!(body["value"], 96.2);
    assert_eq!(body["threshold"], 90.0);
    assert_eq!(body["level"], "CRITICAL");
    assert_eq!(
        body["message"],
        "Critical memory usage: 96.2% (threshold: 90.0%)"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        8,
        "no field beyond the seed's and `event`: {body}"
    );
}

#[test]
fn posts_resolutions_with_their_time() {
    let server = TestServer::start(Reply::status(204));
    let event = SinkEvent::Resolved {
        alert: critical_alert(),
        resolved_at: "2025-01-03T10:20:00".into(),
    };
    sink(server.url("/"), 5.0).deliver(&event).unwrap();
    let body = server.requests()[0].json();
    assert_eq!(body["event"], "resolved");
    assert_eq!(body["resolved_at"], "2025-01-03T10:20:00");
    assert_eq!(body["level"], "CRITICAL");
}

#[test]
fn server_errors_are_retryable() {
    let (err, _server) = deliver_to(Reply::status(500));
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(err.message().contains("500"), "{err}");
    assert_eq!(err.retry_after_ms, ROption::RNone);
}

#[test]
fn too_many_requests_is_retryable_after_the_delay_asked_for() {
    let (err, _server) = deliver_to(Reply::with_header(429, "Retry-After", "7"));
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert_eq!(err.retry_after_ms, ROption::RSome(7000));

    let in_an_hour = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    let (err, _server) = deliver_to(Reply::with_header(429, "Retry-After", &in_an_hour));
    let ROption::RSome(ms) = err.retry_after_ms else {
        panic!("no retry-after in {err:?}")
    };
    assert!((3_590_000..=3_600_000).contains(&ms), "{ms}");
}

#[test]
fn client_errors_are_fatal_and_say_what_the_server_said() {
    let reply = Reply::Status {
        code: 400,
        headers: vec![],
        body: "missing field `text`".into(),
    };
    let (err, _server) = deliver_to(reply);
    assert_eq!(err.kind(), Some(ErrorKind::Fatal), "{err}");
    assert!(
        err.message().contains("400") && err.message().contains("missing field"),
        "{err}"
    );
    let (err, _server) = deliver_to(Reply::status(404));
    assert_eq!(err.kind(), Some(ErrorKind::Fatal), "{err}");
}

#[test]
fn a_hanging_server_is_a_retryable_timeout_within_the_limit() {
    let server = TestServer::start(Reply::Hang);
    let mut sink = sink(server.url("/hook"), 0.5);
    let started = Instant::now();
    let err = sink
        .deliver(&SinkEvent::Alert {
            alert: critical_alert(),
        })
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(err.message().contains("timed out"), "{err}");
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[test]
fn a_refused_connection_is_retryable_at_once() {
    let mut sink = sink(refused_url(), 5.0);
    let started = Instant::now();
    let err = sink
        .deliver(&SinkEvent::Alert {
            alert: critical_alert(),
        })
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(err.message().contains("cannot connect"), "{err}");
    assert!(
        !err.message().contains("/hook"),
        "the URL's path may be a secret: {err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// The same delivery through the exported plugin module, as the host makes it: settings
/// and events as JSON across the ABI.
#[test]
fn works_through_the_plugin_abi() {
    let server = TestServer::start(Reply::status(200));
    let root = sink_webhook::__monitoring_plugin_root();
    let new_sink = root.new_sink().unwrap();
    let Err(bad) = new_sink(RStr::from_str(r#"{"url": "http://x", "timeout": 3}"#)).into_result()
    else {
        panic!("an unknown key must be refused");
    };
    assert_eq!(bad.kind(), Some(ErrorKind::Config));
    assert!(bad.message().contains("timeout"), "{bad}");

    let settings = serde_json::json!({"url": server.url("/abi"), "timeout_secs": 2}).to_string();
    let mut sink = new_sink(RStr::from_str(&settings)).unwrap();
    let event = serde_json::to_string(&SinkEvent::Alert {
        alert: critical_alert(),
    })
    .unwrap();
    sink.deliver(RStr::from_str(&event)).unwrap();
    assert_eq!(server.requests()[0].json()["component"], "memory");
}

/// The shared sink contract through the exported module, against a live peer (both
/// notifications posted) and against a refused port (both retryable).
#[test]
fn obeys_the_sink_contract() {
    use monitoring_plugin_api::serde_json::json;
    use monitoring_plugin_api::testing::{check_sink, Delivery};

    let server = TestServer::start(Reply::status(200));
    let settings = json!({ "url": server.url("/hook") }).to_string();
    check_sink::<WebhookSink>(&settings, Delivery::Succeeds);
    let events: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.json()["event"].clone())
        .collect();
    assert_eq!(events, ["alert", "resolved"]);
    let settings = json!({ "url": refused_url(), "timeout_secs": 5.0 }).to_string();
    check_sink::<WebhookSink>(&settings, Delivery::FailsWith(ErrorKind::Retryable));
}
