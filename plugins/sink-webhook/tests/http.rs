//! The webhook sink against a real HTTP server on loopback, one scripted answer per
//! test: what arrives, field by field, and how each failure is classified.
// clippy.toml allows unwrap in #[test] functions; these files' helpers are test code too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use monitoring_plugin_api::abi_stable::std_types::{ROption, RStr};
use monitoring_plugin_api::{ErrorKind, PluginError, Sink, SinkEvent};
use monitoring_test_support::critical_alert;
use monitoring_test_support::http_server::{refused_url, Reply, TestServer};
use sink_webhook::{Config, WebhookSink};

fn sink(url: String, timeout_secs: f64) -> WebhookSink {
    let headers = BTreeMap::from([("Authorization".to_owned(), "Bearer token123".to_owned())]);
    WebhookSink::new(Config {
        url,
        headers,
        timeout_secs,
        ..Config::default()
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
    // The seed's seven fields, `event`, and of the alert's identity (plugin-api 1.2)
    // only what it has: this sample alert has no host, labels or fingerprint.
    assert_eq!(body["state"], "firing");
    assert_eq!(
        body.as_object().unwrap().len(),
        9,
        "no field beyond the seed's, `event` and `state`: {body}"
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

/// An endpoint that echoes the request it got (some do, in their error answers) must
/// not put the credentials into the error the host logs: configured and environment
/// header values and the URL's secrets come back `[redacted]`, and only a short prefix.
#[test]
fn an_echoing_endpoint_never_gets_the_credentials_into_the_error() {
    let server = TestServer::start(Reply::Echo(400));
    let config = Config {
        url: server.url("/hook/c0ffee12deadbeef?sig=q1w2e3r4"),
        headers: BTreeMap::from([
            ("X-A".to_owned(), "plain-config-secret".to_owned()),
            ("Authorization".to_owned(), "Bearer token123".to_owned()),
        ]),
        headers_env: BTreeMap::from([("X-B".to_owned(), "WEBHOOK_SECRET".to_owned())]),
        ..Config::default()
    };
    let env = |name: &str| (name == "WEBHOOK_SECRET").then(|| "env-secret-42".to_owned());
    let err = WebhookSink::with_env(config, env)
        .unwrap()
        .deliver(&SinkEvent::Alert {
            alert: critical_alert(),
        })
        .unwrap_err();

    // The server did get (and so echoed) every secret.
    let request = &server.requests()[0];
    assert_eq!(request.header("authorization"), Some("Bearer token123"));
    assert_eq!(request.header("x-a"), Some("plain-config-secret"));
    assert_eq!(request.header("x-b"), Some("env-secret-42"));
    let message = err.message();
    eprintln!("{message}");
    assert_eq!(err.kind(), Some(ErrorKind::Fatal), "{err}");
    assert!(
        message.contains("400") && message.contains("[redacted]"),
        "{err}"
    );
    for secret in [
        "token123",
        "plain-config",
        "env-secret",
        "c0ffee12deadbeef",
        "q1w2e3r4",
    ] {
        assert!(!message.contains(secret), "{secret} leaked: {err}");
    }
    assert!(
        !message.contains('\n'),
        "control characters are escaped: {err}"
    );
}

#[test]
fn a_long_reply_is_quoted_as_a_short_escaped_prefix() {
    let reply = Reply::Status {
        code: 500,
        headers: vec![],
        body: format!("\u{1b}[31mred\r\n{}", "y".repeat(10_000)),
    };
    let (err, _server) = deliver_to(reply);
    let message = err.message();
    assert!(message.contains("\\u{1b}[31mred\\r\\n"), "{err}");
    let quoted = message.split_once("Internal Server Error: ").unwrap().1;
    assert_eq!(
        quoted.chars().count(),
        sink_http_common::QUOTE_LIMIT,
        "{err}"
    );
    assert!(quoted.ends_with('…'), "{err}");
}

/// The URL and a header value from environment variables, as the email password is:
/// they reach the server, an unset variable is a config error naming it, and a value
/// is never quoted.
#[test]
fn the_url_and_header_values_may_come_from_the_environment() {
    let server = TestServer::start(Reply::status(200));
    let url = server.url("/from-env");
    let vars = |name: &str| match name {
        "WEBHOOK_URL" => Some(url.clone()),
        "WEBHOOK_AUTH" => Some("Bearer from-env-77".to_owned()),
        _ => None,
    };
    let config = || Config {
        url_env: Some("WEBHOOK_URL".into()),
        headers_env: BTreeMap::from([("Authorization".to_owned(), "WEBHOOK_AUTH".to_owned())]),
        timeout_secs: 5.0,
        ..Config::default()
    };
    WebhookSink::with_env(config(), vars)
        .unwrap()
        .deliver(&SinkEvent::Alert {
            alert: critical_alert(),
        })
        .unwrap();
    let request = &server.requests()[0];
    assert_eq!(request.path, "/from-env");
    assert_eq!(request.header("authorization"), Some("Bearer from-env-77"));

    let config_error = |config: Config, vars: &dyn Fn(&str) -> Option<String>| {
        let err = WebhookSink::with_env(config, vars).err().unwrap();
        assert_eq!(err.kind(), Some(ErrorKind::Config), "{err}");
        err.message().to_owned()
    };
    let no_url = config_error(config(), &|name| {
        (name == "WEBHOOK_AUTH").then(|| "x".to_owned())
    });
    assert_eq!(
        no_url,
        "`url_env`: environment variable WEBHOOK_URL is not set"
    );
    let no_auth = config_error(config(), &|name| {
        (name == "WEBHOOK_URL").then(|| url.clone())
    });
    assert_eq!(
        no_auth,
        "`headers_env.Authorization`: environment variable WEBHOOK_AUTH is not set"
    );
    let bad_value = config_error(config(), &|name| match name {
        "WEBHOOK_URL" => Some(url.clone()),
        _ => Some("Bearer multi\nline-secret".to_owned()),
    });
    assert!(!bad_value.contains("secret"), "{bad_value}");
    assert!(bad_value.contains("WEBHOOK_AUTH"), "{bad_value}");
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
