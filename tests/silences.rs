//! Silences and acknowledgements with the real binary: created, listed and expired
//! over REST and the WebSocket by an admin, refused to a viewer, bad bodies answered
//! with the field named, kept across a restart (in the history store, and in a file
//! with history off), and `/api/rules` showing a threshold changed at run time.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use monitoring_test_support::http::parse_head;
use monitoring_test_support::{
    connect_with_token, next_of_type, send_text, Server, Setup, CORE_COLLECTORS,
};
use serde_json::{json, Value};

const SECOND: Duration = Duration::from_secs(1);
const VIEWER: &str = "viewer-token-for-silences-0123456789";
const ADMIN: &str = "admin-token-for-silences-0123456789";

/// Both tokens from files beside plugins.toml, so a restart (which passes no
/// environment) finds them again.
const TOKENS: &str = "\n[access]\nviewer_token_file = \"viewer.token\"\n\
                      admin_token_file = \"admin.token\"\n";

fn start(extra: &str) -> Server {
    let config = format!("{TOKENS}{extra}");
    Server::start_prepared(
        Setup {
            plugins: &CORE_COLLECTORS,
            config: &config,
            extra_files: &[],
        },
        &[],
        |plugins: &Path| {
            let dir = plugins.parent().expect("the scratch folder");
            std::fs::write(dir.join("viewer.token"), VIEWER).expect("viewer token");
            std::fs::write(dir.join("admin.token"), ADMIN).expect("admin token");
        },
    )
}

/// A reply: status, headers (lower-case names), body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no `error`: {}", self.body))
            .to_owned()
    }
}

/// `method path` with `token` (if any) and `body` (if any), read to the end.
fn call(port: u16, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(10 * SECOND)).expect("timeout");
    let mut text =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(token) = token {
        text.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() || method == "POST" {
        text.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    text.push_str("\r\n");
    text.push_str(body);
    stream.write_all(text.as_bytes()).expect("send");
    let mut raw = Vec::new();
    // A server may close before reading a refused body: what was read counts.
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: no reply head in {raw:?}"));
    let (status, headers) = parse_head(head);
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn silence_body() -> String {
    json!({
        "matchers": {"component": "disk", "host": "web-1"},
        "duration": "2h",
        "comment": "replacing the disk",
    })
    .to_string()
}

/// `GET /api/silences` as the viewer: the list.
fn listed(server: &Server) -> Vec<Value> {
    let reply = call(server.port, "GET", "/api/silences", Some(VIEWER), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["silences"]
        .as_array()
        .unwrap_or_else(|| panic!("silences: {}", reply.body))
        .clone()
}

/// Creates the usual silence as the admin; its id.
fn create(server: &Server) -> String {
    let reply = call(
        server.port,
        "POST",
        "/api/silences",
        Some(ADMIN),
        Some(&silence_body()),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["id"].as_str().expect("an id").to_owned()
}

#[test]
fn rest_creates_lists_and_expires_for_an_admin_only() {
    let server = start("");
    let port = server.port;
    let id = create(&server);
    assert_eq!(id.len(), 16, "{id}");
    let silences = listed(&server);
    assert_eq!(silences.len(), 1, "{silences:?}");
    let silence = &silences[0];
    assert_eq!(silence["id"], id);
    assert_eq!(silence["state"], "active");
    assert_eq!(silence["matchers"]["host"], "web-1");
    assert_eq!(silence["comment"], "replacing the disk");
    assert!(
        silence["created_by"]
            .as_str()
            .unwrap_or_default()
            .starts_with("admin"),
        "{silence}"
    );
    let log = server.log_text();
    assert!(log.contains("Silence created."), "{log}");
    assert!(!log.contains(ADMIN), "the token is never logged");

    // A viewer may read but not change; without a token, 401.
    let viewer = call(
        port,
        "POST",
        "/api/silences",
        Some(VIEWER),
        Some(&silence_body()),
    );
    assert_eq!(viewer.status, 403, "{}", viewer.body);
    assert!(viewer.error().contains("admin token"), "{}", viewer.body);
    let nobody = call(port, "POST", "/api/silences", None, Some(&silence_body()));
    assert_eq!(nobody.status, 401, "{}", nobody.body);
    let viewer = call(
        port,
        "DELETE",
        &format!("/api/silences/{id}"),
        Some(VIEWER),
        None,
    );
    assert_eq!(viewer.status, 403, "{}", viewer.body);

    // Bad bodies are refused naming the field.
    for (body, field) in [
        (
            r#"{"matchers":{"host":"a"},"duration":"2h","colour":"red"}"#,
            "`colour`",
        ),
        (r#"{"matchers":"disk","duration":"2h"}"#, "`matchers`"),
        (
            r#"{"matchers":{"host":"a"},"duration":"two hours"}"#,
            "`duration`",
        ),
        (
            r#"{"matchers_regex":{"host":"web-("},"duration":"2h"}"#,
            "`matchers_regex.host`",
        ),
        (r#"{"matchers":{},"duration":"2h"}"#, "`matchers`"),
        (r#"{"matchers":{"host":"a"}}"#, "`duration`"),
        (
            r#"{"matchers":{"host":"a"},"ends_at":"yesterday"}"#,
            "`ends_at`",
        ),
        ("not json", "not JSON"),
    ] {
        let reply = call(port, "POST", "/api/silences", Some(ADMIN), Some(body));
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert!(reply.error().contains(field), "{body}: {}", reply.body);
    }
    let huge = json!({"matchers": {"host": "a"}, "duration": "2h", "comment": "x".repeat(20_000)});
    let reply = call(
        port,
        "POST",
        "/api/silences",
        Some(ADMIN),
        Some(&huge.to_string()),
    );
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(listed(&server).len(), 1, "nothing refused was kept");

    // Expiring: 200, then listed as expired; an unknown id is a 404.
    let reply = call(
        port,
        "DELETE",
        &format!("/api/silences/{id}"),
        Some(ADMIN),
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!({"id": id, "state": "expired"}));
    assert_eq!(listed(&server)[0]["state"], "expired");
    let reply = call(
        port,
        "DELETE",
        "/api/silences/0000000000000000",
        Some(ADMIN),
        None,
    );
    assert_eq!(reply.status, 404, "{}", reply.body);

    // No firing alert has this fingerprint.
    let reply = call(
        port,
        "POST",
        "/api/alerts/0123456789abcdef/ack",
        Some(ADMIN),
        None,
    );
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert!(reply.error().contains("0123456789abcdef"), "{}", reply.body);

    // Wrong methods are a 405 with `Allow`.
    for (method, path, allow) in [
        ("GET", "/api/silences/abc", "DELETE"),
        ("PUT", "/api/silences", "GET, HEAD, POST"),
        ("GET", "/api/alerts/abc/ack", "POST"),
        ("POST", "/api/rules", "GET, HEAD"),
    ] {
        let reply = call(port, method, path, Some(ADMIN), None);
        assert_eq!(reply.status, 405, "{method} {path}: {}", reply.body);
        let allowed = reply
            .headers
            .iter()
            .find(|(name, _)| name == "allow")
            .map(|(_, value)| value.as_str());
        assert_eq!(allowed, Some(allow), "{method} {path}");
    }

    // `/api/alerts` keeps its keys and gains the lifecycle's lists.
    let alerts = call(port, "GET", "/api/alerts", Some(VIEWER), None).json();
    for key in ["active", "recent", "fired_total", "firing", "resolved"] {
        assert!(alerts.get(key).is_some(), "{key} in {alerts}");
    }
}

#[tokio::test]
async fn the_websocket_silences_unsilences_and_refuses_a_viewer() {
    let server = start("");
    let mut admin = connect_with_token(&server.url("/"), ADMIN).await;
    let silence = json!({
        "type": "silence",
        "matchers": {"component": "disk"},
        "matchers_regex": {"host": "web-\\d+"},
        "duration": "1h30m",
        "comment": "maintenance",
    });
    send_text(&mut admin, &silence.to_string()).await;
    let (reply, _) = next_of_type(&mut admin, "silence_result", 3 * SECOND)
        .await
        .expect("silence_result");
    let id = reply["id"].as_str().expect("an id").to_owned();
    assert!(reply["timestamp"].is_string(), "{reply}");

    send_text(&mut admin, r#"{"type":"get_silences"}"#).await;
    let (list, _) = next_of_type(&mut admin, "silences", 3 * SECOND)
        .await
        .expect("silences");
    assert_eq!(list["silences"][0]["id"], id.as_str(), "{list}");
    assert_eq!(list["silences"][0]["matchers_regex"]["host"], "web-\\d+");

    send_text(
        &mut admin,
        r#"{"type":"silence","matchers":{"host":"a"},"duration":"2h","until":"x"}"#,
    )
    .await;
    let (error, _) = next_of_type(&mut admin, "error", 3 * SECOND)
        .await
        .expect("error");
    assert_eq!(error["code"], "INVALID_PARAMS", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`until`"),
        "{error}"
    );

    let mut viewer = connect_with_token(&server.url("/"), VIEWER).await;
    send_text(&mut viewer, &silence.to_string()).await;
    let (error, _) = next_of_type(&mut viewer, "error", 3 * SECOND)
        .await
        .expect("error");
    assert_eq!(error["code"], "FORBIDDEN", "{error}");
    send_text(
        &mut viewer,
        &json!({"type": "unsilence", "id": id}).to_string(),
    )
    .await;
    let (error, _) = next_of_type(&mut viewer, "error", 3 * SECOND)
        .await
        .expect("error");
    assert_eq!(error["code"], "FORBIDDEN", "{error}");
    send_text(&mut viewer, r#"{"type":"get_alerts"}"#).await;
    let (alerts, _) = next_of_type(&mut viewer, "alerts", 3 * SECOND)
        .await
        .expect("alerts");
    assert!(
        alerts["firing"].is_array() && alerts["resolved"].is_array(),
        "{alerts}"
    );
    send_text(
        &mut viewer,
        r#"{"type":"ack","fingerprint":"0123456789abcdef"}"#,
    )
    .await;
    let (error, _) = next_of_type(&mut viewer, "error", 3 * SECOND)
        .await
        .expect("error");
    assert_eq!(error["code"], "FORBIDDEN", "{error}");

    send_text(
        &mut admin,
        &json!({"type": "unsilence", "id": id}).to_string(),
    )
    .await;
    let (reply, _) = next_of_type(&mut admin, "unsilence_result", 3 * SECOND)
        .await
        .expect("unsilence_result");
    assert_eq!(reply["id"], id.as_str());
    send_text(&mut viewer, r#"{"type":"get_silences"}"#).await;
    let (list, _) = next_of_type(&mut viewer, "silences", 3 * SECOND)
        .await
        .expect("silences");
    assert_eq!(list["silences"][0]["state"], "expired", "{list}");
    send_text(
        &mut admin,
        r#"{"type":"unsilence","id":"ffffffffffffffff"}"#,
    )
    .await;
    let (error, _) = next_of_type(&mut admin, "error", 3 * SECOND)
        .await
        .expect("error");
    assert_eq!(error["code"], "NOT_FOUND", "{error}");
}

/// Creates a silence, restarts the server on the same folder, finds it active.
fn survives_a_restart(extra: &str) -> tempfile::TempDir {
    let server = start(extra);
    let id = create(&server);
    let dir = server.stop_keeping_dir("TERM");
    let server = Server::restart_in(dir);
    let silences = listed(&server);
    assert_eq!(
        silences.len(),
        1,
        "{silences:?}; log:\n{}",
        server.log_text()
    );
    assert_eq!(silences[0]["id"], id.as_str());
    assert_eq!(silences[0]["state"], "active");
    server.stop_keeping_dir("TERM")
}

#[test]
fn a_silence_survives_a_restart_in_the_history_store() {
    let dir = survives_a_restart("");
    assert!(dir.path().join("data").join("history.db").is_file());
    assert!(!dir.path().join("data").join("alerts-state.json").exists());
}

#[test]
fn a_silence_survives_a_restart_in_a_file_without_history() {
    let dir = survives_a_restart("\n[history]\nenabled = false\n");
    let path = dir.path().join("data").join("alerts-state.json");
    let text = std::fs::read_to_string(&path).expect("the silences' file");
    let document: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(document["version"], 1, "{document}");
    assert_eq!(document["silences"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn rules_show_a_threshold_changed_at_run_time() {
    let server = start("");
    let rules = call(server.port, "GET", "/api/rules", Some(VIEWER), None);
    assert_eq!(rules.status, 200, "{}", rules.body);
    let body = rules.json();
    for key in [
        "repeat_interval",
        "group_wait",
        "group_interval",
        "group_by",
    ] {
        assert!(body.get(key).is_some(), "{key} in {body}");
    }
    let memory = |body: &Value| -> Value {
        body["rules"]
            .as_array()
            .and_then(|rules| {
                rules
                    .iter()
                    .find(|rule| rule["metric"] == "memory.percentage")
            })
            .cloned()
            .unwrap_or_else(|| panic!("a memory rule in {body}"))
    };
    let before = memory(&body);
    assert_eq!(before["direction"], "above", "{before}");
    assert_eq!(before["warning"], 80.0, "{before}");
    assert!(
        before["labels"].is_object() && before.get("for").is_some(),
        "{before}"
    );

    let mut admin = connect_with_token(&server.url("/"), ADMIN).await;
    send_text(
        &mut admin,
        r#"{"type":"set_threshold","component":"memory","level":"warning","value":42}"#,
    )
    .await;
    next_of_type(&mut admin, "thresholds_updated", 3 * SECOND)
        .await
        .expect("thresholds_updated");
    let after = call(server.port, "GET", "/api/rules", Some(VIEWER), None).json();
    assert_eq!(memory(&after)["warning"], 42.0, "{after}");
    send_text(&mut admin, r#"{"type":"get_rules"}"#).await;
    let (rules, _) = next_of_type(&mut admin, "rules", 3 * SECOND)
        .await
        .expect("rules");
    assert_eq!(memory(&rules)["warning"], 42.0, "{rules}");
    assert_eq!(rules["group_by"], after["group_by"]);
}
