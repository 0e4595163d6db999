//! The Slack sink against a real HTTP server on loopback: the incoming-webhook payload
//! field by field, and the shared failure classification seen through this sink.
// clippy.toml allows unwrap in #[test] functions; these files' helpers are test code too.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use monitoring_plugin_api::abi_stable::std_types::ROption;
use monitoring_plugin_api::{Alert, AlertLevel, ErrorKind, Sink, SinkEvent};
use monitoring_test_support::http_server::{refused_url, Reply, TestServer};
use serde_json::{json, Value};
use sink_slack::{unix_time, Config, SlackSink};

fn alert(level: AlertLevel) -> Alert {
    let (word, threshold) = match level {
        AlertLevel::Warning => ("High", 80.0),
        AlertLevel::Critical => ("Critical", 90.0),
    };
    Alert {
        timestamp: "2025-01-03T10:15:30+00:00".into(),
        component: "memory".into(),
        metric: "usage_percent".into(),
        value: 96.2,
        threshold,
        level,
        message: format!("{word} memory usage: 96.2% (threshold: {threshold:.1}%)"),
        ..Default::default()
    }
}

fn sink(url: String, channel: Option<&str>, timeout_secs: f64) -> SlackSink {
    let config = Config {
        url,
        channel: channel.map(str::to_owned),
        icon_emoji: Some(":bar_chart:".into()),
        timeout_secs,
        ..Config::default()
    };
    SlackSink::new(config).unwrap()
}

fn host() -> String {
    hostname::get().unwrap().to_string_lossy().into_owned()
}

fn field<'a>(attachment: &'a Value, title: &str) -> &'a Value {
    let fields = attachment["fields"].as_array().unwrap();
    let found = fields
        .iter()
        .find(|f| f["title"] == title)
        .unwrap_or_else(|| panic!("no field {title}"));
    assert_eq!(found["short"], true);
    &found["value"]
}

fn posted(event: &SinkEvent, channel: Option<&str>) -> Value {
    let server = TestServer::start(Reply::status(200));
    sink(server.url("/services/T0/B0/secret"), channel, 5.0)
        .deliver(event)
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/services/T0/B0/secret");
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    requests[0].json()
}

#[test]
fn a_critical_alert_is_red_with_a_siren() {
    let body = posted(
        &SinkEvent::Alert {
            alert: alert(AlertLevel::Critical),
        },
        Some("#monitoring"),
    );
    assert_eq!(body["channel"], "#monitoring");
    assert_eq!(body["username"], "MonitoringBot");
    assert_eq!(body["icon_emoji"], ":bar_chart:");
    assert_eq!(
        body["text"],
        format!(
            "🚨 *CRITICAL* on {}: Critical memory usage: 96.2% (threshold: 90.0%)",
            host()
        )
    );
    let attachments = body["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    let attachment = &attachments[0];
    assert_eq!(attachment["color"], "danger");
    assert_eq!(
        attachment["title"],
        "CRITICAL: memory usage percent at 96.2%"
    );
    assert_eq!(
        attachment["text"],
        "Critical memory usage: 96.2% (threshold: 90.0%)"
    );
    assert_eq!(attachment["ts"], json!(1_735_899_330));
    assert_eq!(field(attachment, "Component"), "memory");
    assert_eq!(field(attachment, "Metric"), "usage_percent");
    assert_eq!(field(attachment, "Value"), "96.2%");
    assert_eq!(field(attachment, "Threshold"), "90.0%");
    assert_eq!(field(attachment, "Level"), "CRITICAL");
    assert_eq!(field(attachment, "Host"), host().as_str());
    assert_eq!(field(attachment, "Raised at"), "2025-01-03T10:15:30+00:00");
}

#[test]
fn a_warning_is_yellow_and_the_channel_is_optional() {
    let body = posted(
        &SinkEvent::Alert {
            alert: alert(AlertLevel::Warning),
        },
        None,
    );
    assert!(
        body.get("channel").is_none(),
        "no channel key without a channel: {body}"
    );
    assert!(body["text"]
        .as_str()
        .unwrap()
        .starts_with("⚠️ *WARNING* on "));
    assert_eq!(body["attachments"][0]["color"], "warning");
    assert_eq!(field(&body["attachments"][0], "Threshold"), "80.0%");
}

#[test]
fn a_resolution_is_green_with_a_check_mark() {
    let event = SinkEvent::Resolved {
        alert: alert(AlertLevel::Critical),
        resolved_at: "2025-01-03T10:20:00Z".into(),
    };
    let body = posted(&event, None);
    assert_eq!(
        body["text"],
        format!(
            "✅ *RESOLVED* on {}: memory usage percent is back to normal",
            host()
        )
    );
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["color"], "good");
    assert_eq!(
        attachment["title"],
        "Resolved: memory usage percent (was CRITICAL at 96.2%)"
    );
    assert_eq!(field(attachment, "Resolved at"), "2025-01-03T10:20:00Z");
    assert_eq!(
        attachment["ts"],
        json!(unix_time("2025-01-03T10:20:00Z").unwrap())
    );
}

#[test]
fn snapshots_are_not_posted() {
    let server = TestServer::start(Reply::status(200));
    let snapshot = SinkEvent::Snapshot {
        timestamp: "t".into(),
        data: Default::default(),
    };
    sink(server.url("/"), None, 5.0).deliver(&snapshot).unwrap();
    assert!(server.requests().is_empty());
}

#[test]
fn failures_are_classified_like_the_webhooks() {
    let event = SinkEvent::Alert {
        alert: alert(AlertLevel::Warning),
    };
    let attempt = |reply: Reply| {
        let server = TestServer::start(reply);
        let err = sink(server.url("/hook"), None, 5.0)
            .deliver(&event)
            .unwrap_err();
        assert_eq!(server.requests().len(), 1, "one attempt only");
        err
    };
    assert_eq!(
        attempt(Reply::status(500)).kind(),
        Some(ErrorKind::Retryable)
    );
    let limited = attempt(Reply::with_header(429, "Retry-After", "30"));
    assert_eq!(limited.kind(), Some(ErrorKind::Retryable));
    assert_eq!(limited.retry_after_ms, ROption::RSome(30_000));
    // What Slack answers to a malformed payload.
    let invalid = attempt(Reply::Status {
        code: 400,
        headers: vec![],
        body: "invalid_payload".into(),
    });
    assert_eq!(invalid.kind(), Some(ErrorKind::Fatal));
    assert!(invalid.message().contains("invalid_payload"), "{invalid}");
    let gone = attempt(Reply::status(404));
    assert_eq!(gone.kind(), Some(ErrorKind::Fatal));
    assert!(
        !gone.message().contains("/hook"),
        "the webhook path is the secret: {gone}"
    );
}

/// The webhook URL is Slack's credential: read from the variable `url_env` names, it
/// reaches the server, and an endpoint echoing the request line gets no part of it
/// into the error.
#[test]
fn the_url_from_the_environment_is_used_and_never_quoted() {
    let server = TestServer::start(Reply::Echo(403));
    let url = server.url("/services/T0ABCDEF1/B0ABCDEF2/abcdefghijklmnopqrstuvwx");
    let config = || Config {
        url_env: Some("SLACK_WEBHOOK_URL".into()),
        timeout_secs: 5.0,
        ..Config::default()
    };
    let env = |name: &str| (name == "SLACK_WEBHOOK_URL").then(|| url.clone());
    let err = SlackSink::with_env(config(), env)
        .unwrap()
        .deliver(&SinkEvent::Alert {
            alert: alert(AlertLevel::Warning),
        })
        .unwrap_err();
    assert_eq!(
        server.requests()[0].path,
        "/services/T0ABCDEF1/B0ABCDEF2/abcdefghijklmnopqrstuvwx"
    );
    assert_eq!(err.kind(), Some(ErrorKind::Fatal), "{err}");
    assert!(err.message().contains("POST [redacted]"), "{err}");
    for part in ["T0ABCDEF1", "B0ABCDEF2", "abcdefghijklmnopqrstuvwx"] {
        assert!(!err.message().contains(part), "{part} leaked: {err}");
    }

    let unset = SlackSink::with_env(config(), |_| None).err().unwrap();
    assert_eq!(unset.kind(), Some(ErrorKind::Config));
    assert_eq!(
        unset.message(),
        "`url_env`: environment variable SLACK_WEBHOOK_URL is not set"
    );
    let both = Config {
        url: url.clone(),
        ..config()
    };
    let both = SlackSink::with_env(both, env).err().unwrap();
    assert!(both.message().contains("not both"), "{both}");
}

#[test]
fn hangs_time_out_and_refusals_fail_fast_both_retryable() {
    let event = SinkEvent::Alert {
        alert: alert(AlertLevel::Warning),
    };
    let server = TestServer::start(Reply::Hang);
    let started = Instant::now();
    let err = sink(server.url("/hook"), None, 0.5)
        .deliver(&event)
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let err = sink(refused_url(), None, 5.0).deliver(&event).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// The shared sink contract through the exported module, against a live peer (both
/// notifications posted) and against a refused port (both retryable).
#[test]
fn obeys_the_sink_contract() {
    use monitoring_plugin_api::testing::{check_sink, Delivery};

    let server = TestServer::start(Reply::status(200));
    let settings = json!({ "url": server.url("/services/T0/B0/x") }).to_string();
    check_sink::<SlackSink>(&settings, Delivery::Succeeds);
    assert_eq!(server.requests().len(), 2, "the alert and the resolution");
    let settings = json!({ "url": refused_url(), "timeout_secs": 5.0 }).to_string();
    check_sink::<SlackSink>(&settings, Delivery::FailsWith(ErrorKind::Retryable));
}
