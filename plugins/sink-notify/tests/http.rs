//! The notify sink through its real sender to a local HTTP server: every service's
//! request as received (method, path, headers, body), the failure classification, and
//! the retry that re-sends only to the URL that failed. Services with fixed hosts
//! (Telegram, Discord, Pushover, Google Chat, PagerDuty, Opsgenie, Teams) are sent to
//! the local server by rewriting only the origin.
// clippy.toml allows unwrap in #[test] functions; these files' helpers are test code too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use monitoring_plugin_api::{Alert, AlertState, ErrorKind, Notification, Sink, SinkEvent};
use monitoring_test_support::critical_alert;
use monitoring_test_support::http_server::{Reply, Request, TestServer};
use serde_json::Value;
use sink_notify::{Config, NotifySink};

const TITLE: &str = "[CRITICAL] web-1: memory usage 96.2% (threshold 90%)";

fn alert(state: AlertState) -> Alert {
    Alert {
        host: "web-1".into(),
        starts_at: "2025-01-03T10:15:00Z".into(),
        fingerprint: "00ff00ff00ff00ff".into(),
        state,
        ends_at: if state == AlertState::Resolved {
            "2025-01-03T10:30:00Z".into()
        } else {
            String::new()
        },
        ..critical_alert()
    }
}

fn notification(state: AlertState) -> Notification {
    Notification {
        status: state,
        receiver: "notify".into(),
        group_key: "{}:{host=\"web-1\"}".into(),
        group_labels: BTreeMap::new(),
        alerts: vec![alert(state)],
        public_url: Some("https://mon.example/".into()),
        timestamp: "2025-01-03T10:16:00Z".into(),
    }
}

/// A sink sending to `urls`; with `origin`, every request goes there instead.
fn sink(urls: &str, origin: Option<&TestServer>) -> NotifySink {
    let config: Config =
        serde_json::from_str(r#"{"urls_env": "URLS", "timeout_secs": 5}"#).unwrap();
    let urls = urls.to_owned();
    let mut sink =
        NotifySink::with_sources(config, move |_| Some(urls.clone()), |_| Ok(String::new()))
            .unwrap();
    if let Some(server) = origin {
        sink.override_origin_for_tests(server.url(""));
    }
    sink
}

/// `host:port` of the server.
fn addr(server: &TestServer) -> String {
    server.url("").trim_start_matches("http://").to_owned()
}

/// Sends one firing notification to `url` and returns the one request received.
fn one(url: impl Fn(&TestServer) -> String, rewrite: bool) -> Request {
    let server = TestServer::start(Reply::status(200));
    let mut sink = sink(&url(&server), rewrite.then_some(&server));
    sink.notify(&notification(AlertState::Firing)).unwrap();
    let mut requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    requests.remove(0)
}

fn form(request: &Request) -> BTreeMap<String, String> {
    form_urlencoded::parse(&request.body).into_owned().collect()
}

#[test]
fn ntfy() {
    let r = one(
        |s| format!("ntfy://tk_token@{}/alerts?tags=db", addr(s)),
        false,
    );
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/"));
    assert_eq!(r.header("x-priority"), Some("5"));
    assert_eq!(r.header("x-tags"), Some("db,rotating_light"));
    assert_eq!(r.header("authorization"), Some("Bearer tk_token"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(
        (body["topic"].as_str(), body["title"].as_str()),
        (Some("alerts"), Some(TITLE))
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("Dashboard: https://mon.example/"));
}

#[test]
fn gotify() {
    let r = one(|s| format!("gotify://{}/AppToken", addr(s)), false);
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/message"));
    assert_eq!(r.header("x-gotify-key"), Some("AppToken"));
    assert_eq!(
        (r.json()["priority"].as_i64(), r.json()["title"].as_str()),
        (Some(8), Some(TITLE))
    );
}

#[test]
fn telegram() {
    let r = one(|_| "tgram://123456:AAH_bot-key/-1001".to_owned(), true);
    assert_eq!(r.path, "/bot123456:AAH_bot-key/sendMessage");
    assert_eq!(r.json()["chat_id"], "-1001");
    assert!(r.json()["text"].as_str().unwrap().contains(TITLE));
}

#[test]
fn discord() {
    let r = one(|_| "discord://4242/webhook-token".to_owned(), true);
    assert_eq!(r.path, "/api/webhooks/4242/webhook-token");
    assert_eq!(r.json()["embeds"][0]["title"], TITLE);
    assert_eq!(r.json()["embeds"][0]["color"], 0xE01E2B);
}

#[test]
fn pushover() {
    let r = one(
        |_| {
            "pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@azGDORePK8gMaC0QOYAMyEEuzJnyUi?sound=siren"
                .to_owned()
        },
        true,
    );
    assert_eq!(r.path, "/1/messages.json");
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = form(&r);
    assert_eq!(form["title"], TITLE);
    assert_eq!(
        (form["priority"].as_str(), form["sound"].as_str()),
        ("1", "siren")
    );
    assert_eq!(form["user"], "uQiRzpo4DXghDmr9QzzfQu27cmVRsG");
}

#[test]
fn workflows() {
    let r = one(
        |_| "workflows://prod.logic.azure.com/wf42/SIGNATURE".to_owned(),
        true,
    );
    assert_eq!(
        r.path,
        "/workflows/wf42/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SIGNATURE"
    );
    let content = &r.json()["attachments"][0]["content"];
    assert_eq!(content["type"], "AdaptiveCard");
    assert_eq!(
        (
            content["body"][0]["text"].as_str(),
            content["body"][0]["color"].as_str()
        ),
        (Some(TITLE), Some("attention"))
    );
}

#[test]
fn matrix_joins_the_alias_then_puts_the_message() {
    let server = TestServer::start(Reply::Status {
        code: 200,
        headers: vec![],
        body: r#"{"room_id": "!room:example.org", "event_id": "$e"}"#.into(),
    });
    let mut sink = sink(
        &format!("matrix://syt_token@{}/%23ops:example.org", addr(&server)),
        None,
    );
    sink.notify(&notification(AlertState::Firing)).unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("POST", "/_matrix/client/v3/join/%23ops%3Aexample.org")
    );
    assert_eq!(requests[1].method, "PUT");
    assert!(
        requests[1]
            .path
            .starts_with("/_matrix/client/v3/rooms/%21room%3Aexample.org/send/m.room.message/"),
        "{}",
        requests[1].path
    );
    assert_eq!(
        requests[1].header("authorization"),
        Some("Bearer syt_token")
    );
    assert!(requests[1].json()["body"]
        .as_str()
        .unwrap()
        .starts_with(&format!("# {TITLE}")));
}

#[test]
fn matrix_without_a_room_id_in_the_join_answer_is_retryable() {
    let server = TestServer::start(Reply::status(200));
    let mut sink = sink(
        &format!("matrix://syt_token@{}/%23ops", addr(&server)),
        None,
    );
    let err = sink.notify(&notification(AlertState::Firing)).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(err.message().contains("room_id"), "{err}");
    assert_eq!(server.requests().len(), 1, "no send without a room id");
}

#[test]
fn mattermost_and_rocketchat() {
    let r = one(
        |s| format!("mmost://bot@{}/hook-token?channel=ops", addr(s)),
        false,
    );
    assert_eq!(r.path, "/hooks/hook-token");
    assert_eq!(
        (r.json()["channel"].as_str(), r.json()["username"].as_str()),
        (Some("ops"), Some("bot"))
    );
    assert_eq!(r.json()["attachments"][0]["color"], "#E01E2B");
    let r = one(|s| format!("rocket://tokA/tokB@{}/%23ops", addr(s)), false);
    assert_eq!(r.path, "/hooks/tokA/tokB");
    assert_eq!(r.json()["channel"], "#ops");
    assert!(r.json()["text"].as_str().unwrap().contains(TITLE));
}

#[test]
fn google_chat() {
    let r = one(|_| "gchat://SPACE/KEY/TOKEN".to_owned(), true);
    assert_eq!(r.path, "/v1/spaces/SPACE/messages?key=KEY&token=TOKEN");
    assert!(r.json()["text"].as_str().unwrap().contains(TITLE));
}

#[test]
fn json_endpoint() {
    let r = one(
        |s| format!("json://{}/in?+X-Api-Key=k1&-env=prod&method=PUT", addr(s)),
        false,
    );
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("PUT", "/in?env=prod")
    );
    assert_eq!(r.header("x-api-key"), Some("k1"));
    assert_eq!(
        (r.json()["title"].as_str(), r.json()["type"].as_str()),
        (Some(TITLE), Some("failure"))
    );
}

#[test]
fn pagerduty_resolve_closes_the_incident_its_trigger_opened() {
    let server = TestServer::start(Reply::status(202));
    let mut sink = sink("pagerduty://ROUTING@APIKEY", Some(&server));
    sink.notify(&notification(AlertState::Firing)).unwrap();
    sink.notify(&notification(AlertState::Resolved)).unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let (trigger, resolve) = (requests[0].json(), requests[1].json());
    assert_eq!(requests[0].path, "/v2/enqueue");
    assert_eq!(
        (
            trigger["event_action"].as_str(),
            resolve["event_action"].as_str()
        ),
        (Some("trigger"), Some("resolve"))
    );
    assert_eq!(trigger["dedup_key"], "00ff00ff00ff00ff");
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
    assert_eq!(
        (
            trigger["routing_key"].as_str(),
            trigger["payload"]["severity"].as_str()
        ),
        (Some("ROUTING"), Some("critical"))
    );
}

#[test]
fn opsgenie_creates_then_closes_by_alias() {
    let server = TestServer::start(Reply::status(202));
    let mut sink = sink("opsgenie://GENIEKEY", Some(&server));
    sink.notify(&notification(AlertState::Firing)).unwrap();
    sink.notify(&notification(AlertState::Resolved)).unwrap();
    let requests = server.requests();
    assert_eq!(requests[0].path, "/v2/alerts");
    assert_eq!(
        requests[0].header("authorization"),
        Some("GenieKey GENIEKEY")
    );
    assert_eq!(
        (
            requests[0].json()["alias"].as_str(),
            requests[0].json()["priority"].as_str()
        ),
        (Some("00ff00ff00ff00ff"), Some("P1"))
    );
    assert_eq!(
        requests[1].path,
        "/v2/alerts/00ff00ff00ff00ff/close?identifierType=alias"
    );
}

#[test]
fn statuses_are_classified_and_replies_redacted() {
    let limited = TestServer::start(Reply::with_header(429, "Retry-After", "7"));
    let err = sink(&format!("gotify://{}/T0KEN", addr(&limited)), None)
        .notify(&notification(AlertState::Firing))
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable));
    assert_eq!(err.retry_after_ms.into_option(), Some(7000));
    assert!(
        err.message().starts_with(&format!(
            "url #1 (gotify://{}…): POST answered 429",
            addr(&limited)
        )),
        "{err}"
    );
    let broken = TestServer::start(Reply::status(502));
    let err = sink(&format!("gotify://{}/T0KEN", addr(&broken)), None)
        .notify(&notification(AlertState::Firing))
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable));
    let echo = TestServer::start(Reply::Echo(401));
    let err = sink(&format!("gotify://{}/T0KEN", addr(&echo)), None)
        .notify(&notification(AlertState::Firing))
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Fatal));
    assert!(!err.message().contains("T0KEN"), "{err}");
}

#[test]
fn a_retry_resends_only_to_the_url_that_failed() {
    let fine = TestServer::start(Reply::status(200));
    let flaky = TestServer::start_script(vec![Reply::status(503), Reply::status(200)]);
    let urls = format!("gotify://{}/A, ntfy://{}/topic", addr(&fine), addr(&flaky));
    let mut sink = sink(&urls, None);
    let n = notification(AlertState::Firing);
    let err = sink.notify(&n).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable));
    assert!(err.message().starts_with("url #2 (ntfy://"), "{err}");
    assert_eq!((fine.requests().len(), flaky.requests().len()), (1, 1));
    sink.notify(&n).unwrap();
    assert_eq!(
        (fine.requests().len(), flaky.requests().len()),
        (1, 2),
        "only the failed URL again"
    );
    let mut later = n.clone();
    later.timestamp = "2025-01-03T10:20:00Z".into();
    sink.notify(&later).unwrap();
    assert_eq!(
        (fine.requests().len(), flaky.requests().len()),
        (2, 3),
        "a new notification goes to all"
    );
}

#[test]
fn a_refusal_at_one_url_does_not_stop_the_others() {
    let refusing = TestServer::start(Reply::status(400));
    let fine = TestServer::start(Reply::status(200));
    let urls = format!("json://{} gotify://{}/A", addr(&refusing), addr(&fine));
    let mut sink = sink(&urls, None);
    let err = sink.notify(&notification(AlertState::Firing)).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Fatal));
    assert_eq!(fine.requests().len(), 1);
}

#[test]
fn an_older_hosts_alert_event_is_one_alert_notification() {
    let server = TestServer::start(Reply::status(200));
    let mut sink = sink(&format!("json://{}", addr(&server)), None);
    sink.deliver(&SinkEvent::Alert {
        alert: alert(AlertState::Firing),
    })
    .unwrap();
    sink.deliver(&SinkEvent::Resolved {
        alert: alert(AlertState::Firing),
        resolved_at: "2025-01-03T10:30:00Z".into(),
    })
    .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].json()["title"], TITLE);
    let resolved: Value = requests[1].json();
    assert_eq!(resolved["type"], "success");
    assert!(resolved["title"]
        .as_str()
        .unwrap()
        .starts_with("[RESOLVED] web-1"));
    assert!(resolved["message"]
        .as_str()
        .unwrap()
        .contains("Resolved: 2025-01-03T10:30:00Z"));
}

/// The shared sink contract through the exported module (URLs from `urls_file`),
/// against a live peer and a refused port; then a grouped notification through the
/// ABI, as a 1.2 host sends it.
#[test]
fn obeys_the_sink_contract_and_takes_notifications_through_the_abi() {
    use monitoring_plugin_api::abi_stable::std_types::RStr;
    use monitoring_plugin_api::testing::{check_sink, Delivery};
    use monitoring_plugin_api::Exported;
    use monitoring_test_support::http_server::refused_url;

    let dir = monitoring_test_support::tempfile::tempdir().unwrap();
    let server = TestServer::start(Reply::status(200));
    let file = dir.path().join("urls.txt");
    std::fs::write(
        &file,
        format!("# ours\nops = json://{}/in\n", addr(&server)),
    )
    .unwrap();
    let settings = serde_json::json!({ "urls_file": file }).to_string();
    check_sink::<NotifySink>(&settings, Delivery::Succeeds);
    assert_eq!(server.requests().len(), 2, "the alert and the resolution");

    let new = NotifySink::root_module().new_sink().unwrap();
    let mut sink = new(RStr::from_str(&settings)).into_result().unwrap();
    let event = serde_json::json!({"event": "notification", "notification": notification(AlertState::Firing)});
    sink.deliver(RStr::from_str(&event.to_string()))
        .into_result()
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].json()["title"], TITLE);

    let refused = dir.path().join("refused.txt");
    std::fs::write(&refused, refused_url().replace("http://", "json://")).unwrap();
    let settings = serde_json::json!({ "urls_file": refused, "timeout_secs": 5.0 }).to_string();
    check_sink::<NotifySink>(&settings, Delivery::FailsWith(ErrorKind::Retryable));
}
