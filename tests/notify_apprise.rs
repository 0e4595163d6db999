//! The notify sink against the real `apprise` CLI (pinned `apprise==1.9.3`): for each
//! service whose Apprise URL takes a host and port (ntfy, Gotify, Matrix, Mattermost,
//! Rocket.Chat, Workflows, JSON), the same notification goes through Apprise and through
//! the sink to one capture server, and the requests must agree on method, path and the
//! fields that matter (title, body text, priority where both set it, target fields).
//!
//! The capture server answers what each service expects (Matrix's `room_id` and
//! `event_id`, Gotify's `id`) and speaks TLS too, because Apprise always sends
//! Workflows over https (the sink's side of that one is sent over plain HTTP by the
//! test-only origin override, to the same server).
// clippy.toml allows unwrap in #[test] functions; these files' helpers are test code too.
#![allow(clippy::unwrap_used)]

#[path = "notify_apprise/capture.rs"]
mod capture;

use std::collections::BTreeMap;
use std::process::Command;

use capture::{Capture, Captured};
use monitoring_plugin_api::{Alert, AlertLevel, AlertState, Notification, Sink};
use monitoring_test_support::{critical_alert, require, Peer};
use serde_json::Value;
use sink_notify::message::Message;
use sink_notify::{Config, NotifySink};

fn notification() -> Notification {
    let alert = Alert {
        host: "web-1".into(),
        starts_at: "2025-01-03T10:15:00Z".into(),
        fingerprint: "00ff00ff00ff00ff".into(),
        level: AlertLevel::Critical,
        ..critical_alert()
    };
    Notification {
        status: AlertState::Firing,
        receiver: "notify".into(),
        group_key: "{}:{host=\"web-1\"}".into(),
        group_labels: BTreeMap::new(),
        alerts: vec![alert],
        public_url: Some("https://mon.example/".into()),
        timestamp: "2025-01-03T10:16:00Z".into(),
    }
}

const TITLE: &str = "[CRITICAL] web-1: memory usage 96.2% (threshold 90%)";

/// What Apprise and the sink sent for `url` (`{addr}` replaced by the server's
/// address), with `apprise_extra` appended to Apprise's copy only (`?verify=no`).
fn both(url: &str, apprise_extra: &str) -> Option<(Vec<Captured>, Vec<Captured>)> {
    let apprise = require(Peer::Apprise)?;
    let server = Capture::start();
    let url = url.replace("{addr}", &server.addr());
    let n = notification();
    let message = Message::render(&n, None, "unused");
    assert_eq!(message.title, TITLE);
    // A home of its own: Apprise's persistent store (Matrix room ids, transaction ids)
    // and config files from the user's home would change what it sends.
    let home = monitoring_test_support::tempfile::tempdir().unwrap();
    let output = Command::new(apprise)
        .args([
            "-vv",
            "-n",
            "failure",
            "-t",
            &message.title,
            "-b",
            &message.body,
        ])
        .arg(format!("{url}{apprise_extra}"))
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "apprise failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let from_apprise = server.take();
    let config: Config = serde_json::from_str(r#"{"urls_env": "U", "timeout_secs": 5}"#).unwrap();
    let mut sink =
        NotifySink::with_sources(config, |_| Some(url.clone()), |_| Ok(String::new())).unwrap();
    if url.starts_with("workflows://") {
        sink.override_origin_for_tests(format!("http://{}", server.addr()));
    }
    sink.notify(&n).unwrap();
    let from_sink = server.take();
    Some((from_apprise, from_sink))
}

/// The only request with `method` from each side.
fn the_one<'a>(requests: &'a [Captured], method: &str, who: &str) -> &'a Captured {
    let matching: Vec<&Captured> = requests.iter().filter(|r| r.method == method).collect();
    assert_eq!(matching.len(), 1, "{who}: {requests:#?}");
    matching[0]
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// ntfy's priority names as numbers (Apprise sends the name, the sink the number).
fn ntfy_priority(value: &str) -> &str {
    match value {
        "max" | "urgent" => "5",
        "high" => "4",
        "default" => "3",
        "low" => "2",
        "min" => "1",
        number => number,
    }
}

#[test]
fn ntfy_matches_apprise() {
    let Some((a, s)) = both("ntfy://tk_secret@{addr}/alerts?priority=high", "") else {
        return;
    };
    let (a, s) = (the_one(&a, "POST", "apprise"), the_one(&s, "POST", "sink"));
    assert_eq!((a.path.as_str(), s.path.as_str()), ("/", "/"));
    for field in ["topic", "title"] {
        assert_eq!(a.json()[field], s.json()[field], "{field}");
    }
    assert_eq!(text(&s.json()["title"]), TITLE);
    assert!(text(&a.json()["message"]).contains("Host: web-1"));
    assert!(text(&s.json()["message"]).contains("Host: web-1"));
    assert_eq!(
        ntfy_priority(a.header("x-priority").unwrap()),
        s.header("x-priority").unwrap()
    );
    assert_eq!(a.header("authorization"), s.header("authorization"));
}

#[test]
fn gotify_matches_apprise() {
    let Some((a, s)) = both("gotify://{addr}/AppTok3n?priority=high", "") else {
        return;
    };
    let (a, s) = (the_one(&a, "POST", "apprise"), the_one(&s, "POST", "sink"));
    assert_eq!(a.path, "/message");
    assert_eq!(s.path, a.path);
    assert_eq!(a.header("x-gotify-key"), s.header("x-gotify-key"));
    for field in ["title", "priority"] {
        assert_eq!(a.json()[field], s.json()[field], "{field}");
    }
    assert!(text(&s.json()["message"]).contains("Value: 96.2%"));
}

#[test]
fn matrix_matches_apprise() {
    let Some((a, s)) = both(
        "matrix://syt_t0ken@{addr}/%23ops:example.org",
        "?discovery=no",
    ) else {
        return;
    };
    let (a_join, s_join) = (the_one(&a, "POST", "apprise"), the_one(&s, "POST", "sink"));
    assert_eq!(decode(&a_join.path), decode(&s_join.path));
    assert_eq!(
        decode(&s_join.path),
        "/_matrix/client/v3/join/#ops:example.org"
    );
    let (a, s) = (the_one(&a, "PUT", "apprise"), the_one(&s, "PUT", "sink"));
    let prefix = "/_matrix/client/v3/rooms/!room:example.org/send/m.room.message/";
    assert!(decode(&a.path).starts_with(prefix), "{}", a.path);
    assert!(decode(&s.path).starts_with(prefix), "{}", s.path);
    assert_eq!(a.header("authorization"), s.header("authorization"));
    assert_eq!(a.json()["msgtype"], s.json()["msgtype"]);
    for body in [a.json(), s.json()] {
        assert!(
            text(&body["body"]).starts_with(&format!("# {TITLE}")),
            "{body}"
        );
    }
}

#[test]
fn mattermost_matches_apprise() {
    let Some((a, s)) = both("mmost://bot@{addr}/hooktoken?channel=ops", "") else {
        return;
    };
    let (a, s) = (the_one(&a, "POST", "apprise"), the_one(&s, "POST", "sink"));
    assert_eq!(a.path, "/hooks/hooktoken");
    assert_eq!(s.path, a.path);
    for field in ["channel", "username"] {
        assert_eq!(a.json()[field], s.json()[field], "{field}");
    }
    assert!(text(&a.json()["text"]).contains(TITLE));
    assert!(text(&s.json()["text"]).contains(TITLE));
}

#[test]
fn rocketchat_matches_apprise() {
    let Some((a, s)) = both("rocket://tokA/tokB@{addr}/%23ops", "") else {
        return;
    };
    let (a, s) = (the_one(&a, "POST", "apprise"), the_one(&s, "POST", "sink"));
    assert_eq!(a.path, "/hooks/tokA/tokB");
    assert_eq!(s.path, a.path);
    assert_eq!(a.json()["channel"], s.json()["channel"]);
    assert!(text(&a.json()["text"]).contains("web-1: memory usage 96.2%"));
    assert!(text(&s.json()["text"]).contains(TITLE));
}

#[test]
fn workflows_matches_apprise() {
    let Some((a, s)) = both("workflows://{addr}/wf42/S1gnature", "?verify=no&image=no") else {
        return;
    };
    let (a, s) = (the_one(&a, "POST", "apprise"), the_one(&s, "POST", "sink"));
    assert!(
        a.tls && !s.tls,
        "Apprise speaks https, the sink was rewritten to http"
    );
    assert_eq!(
        a.path_only(),
        "/workflows/wf42/triggers/manual/paths/invoke"
    );
    assert_eq!(s.path_only(), a.path_only());
    assert_eq!(a.query(), s.query());
    let card = |r: &Captured| r.json()["attachments"][0].clone();
    assert_eq!(card(a)["contentType"], card(s)["contentType"]);
    assert_eq!(card(a)["content"]["type"], card(s)["content"]["type"]);
    let title = |r: &Captured| {
        card(r)["content"]["body"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == "title")
            .cloned()
            .unwrap()
    };
    assert_eq!(title(a)["text"], title(s)["text"]);
}

#[test]
fn json_matches_apprise() {
    let Some((a, s)) = both("json://{addr}/in?+X-Api-Key=k1", "") else {
        return;
    };
    let (a, s) = (the_one(&a, "POST", "apprise"), the_one(&s, "POST", "sink"));
    assert_eq!(a.path, "/in");
    assert_eq!(s.path, a.path);
    assert_eq!(a.header("x-api-key"), s.header("x-api-key"));
    for field in ["version", "title", "type", "attachments"] {
        assert_eq!(a.json()[field], s.json()[field], "{field}");
    }
    assert_eq!(
        a.json()["message"],
        s.json()["message"],
        "the same body text"
    );
}

/// Percent-decodes a path, for comparing Apprise's quoting with the sink's.
fn decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&path[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
