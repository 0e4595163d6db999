//! Who may use the server and from where, against the real binary: `Origin` and `Host`
//! rules, viewer and admin tokens (raw clients, the published seed client, the
//! dashboard in headless Chromium), and HTTP/handshake hygiene (JSON 404/405/426/400).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use monitoring_test_support::http::parse_head;
use monitoring_test_support::{next_of_type, send_text, Peer, Server, Setup, CORE_COLLECTORS};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const SECOND: Duration = Duration::from_secs(1);
const VIEWER: &str = "viewer-token-for-tests-0123456789";
const ADMIN: &str = "admin-token-for-tests-0123456789";

/// `[access]` reading both tokens from the environment.
const TOKENS: &str = "\n[access]\nviewer_token_env = \"MONITORING_VIEWER_TOKEN\"\n\
                      admin_token_env = \"MONITORING_ADMIN_TOKEN\"\n";

fn server(config: &str, env: &[(&str, &str)]) -> Server {
    Server::start_with_env(
        Setup {
            plugins: &CORE_COLLECTORS,
            config,
            extra_files: &[],
        },
        env,
    )
}

fn tokened_server() -> Server {
    server(
        TOKENS,
        &[
            ("MONITORING_VIEWER_TOKEN", VIEWER),
            ("MONITORING_ADMIN_TOKEN", ADMIN),
        ],
    )
}

/// A reply read off a raw connection: status, headers (lower-case names), body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body, which must be `{"error": "…"}`.
    fn error(&self) -> String {
        let body: Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body));
        body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no `error`: {body}"))
            .to_owned()
    }
}

/// Sends `method path` with exactly `headers` (so `Host` is the caller's) and reads
/// the reply: headers, then a `Content-Length` body unless it is a HEAD or a 101.
fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(10 * SECOND)).expect("timeout");
    let mut text = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("Connection: close\r\n\r\n");
    stream.write_all(text.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("read the head");
        assert!(n == 1, "closed before the head ended: {raw:?}");
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).into_owned();
    let (status, headers) = parse_head(&head);
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![
        0u8;
        if method == "HEAD" || status == 101 {
            0
        } else {
            length
        }
    ];
    stream.read_exact(&mut body).expect("read the body");
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// The headers of a WebSocket handshake to `port`, plus `extra`.
fn upgrade_headers<'a>(host: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![
        ("Host", host),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    headers.extend_from_slice(extra);
    headers
}

/// Connects with extra handshake headers; the refusal's HTTP status when refused.
async fn connect_with(
    url: &str,
    headers: &[(&'static str, &str)],
) -> Result<monitoring_test_support::Client, u16> {
    let mut request = url.into_client_request().expect("a request");
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, HeaderValue::from_str(value).expect("header value"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("connect {url}: {e}"),
    }
}

#[test]
fn browsers_must_come_from_the_servers_own_origin_and_hosts_from_loopback() {
    let server = Server::start_default();
    let port = server.port;
    let host = format!("127.0.0.1:{port}");
    let foreign = request(
        port,
        "GET",
        "/ws",
        &upgrade_headers(&host, &[("Origin", "http://evil.example")]),
    );
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    assert!(foreign.error().contains("evil.example"), "{}", foreign.body);
    let own = format!("http://127.0.0.1:{port}");
    let same = request(
        port,
        "GET",
        "/ws",
        &upgrade_headers(&host, &[("Origin", &own)]),
    );
    assert_eq!(same.status, 101, "same origin: {}", same.body);
    let plain = request(port, "GET", "/ws", &upgrade_headers(&host, &[]));
    assert_eq!(plain.status, 101, "no Origin (not a browser)");
    // DNS rebinding: a name that resolved to 127.0.0.1 for an attacker's page.
    let rebound_host = format!("attacker.example:{port}");
    for path in ["/ws", "/api/current", "/"] {
        let rebound = request(port, "GET", path, &upgrade_headers(&rebound_host, &[]));
        assert_eq!(rebound.status, 403, "{path}: {}", rebound.body);
        assert!(rebound.error().contains("loopback"), "{}", rebound.body);
    }
    let local = request(
        port,
        "GET",
        "/health",
        &[("Host", &format!("localhost:{port}"))],
    );
    assert_ne!(local.status, 403, "localhost is loopback");
}

#[tokio::test]
async fn admin_commands_are_refused_until_an_admin_token_is_configured() {
    let server = Server::start_default();
    let mut ws = monitoring_test_support::connect(&server.url("/")).await;
    let lower =
        json!({"type": "set_threshold", "component": "memory", "level": "warning", "value": 1.0});
    send_text(&mut ws, &lower.to_string()).await;
    let (error, _) = next_of_type(&mut ws, "error", 5 * SECOND)
        .await
        .expect("an error");
    assert_eq!(error["code"], "FORBIDDEN", "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("admin_token_env")),
        "says how to enable them: {error}"
    );
    send_text(&mut ws, r#"{"type":"get_status"}"#).await;
    assert!(
        next_of_type(&mut ws, "status", 5 * SECOND).await.is_some(),
        "viewing still works"
    );
}

#[tokio::test]
async fn only_the_admin_token_runs_admin_commands_and_each_is_logged() {
    let server = tokened_server();
    let lower =
        json!({"type": "set_threshold", "component": "memory", "level": "warning", "value": 75.0});
    let viewer = format!("Bearer {VIEWER}");
    let mut ws = connect_with(&server.url("/"), &[("authorization", &viewer)])
        .await
        .expect("the viewer token opens the stream");
    send_text(&mut ws, &lower.to_string()).await;
    let (error, _) = next_of_type(&mut ws, "error", 5 * SECOND)
        .await
        .expect("an error");
    assert_eq!(error["code"], "FORBIDDEN", "{error}");

    let admin = format!("Bearer {ADMIN}");
    let mut ws = connect_with(
        &server.url("/"),
        &[
            ("authorization", &admin),
            ("origin", &format!("http://127.0.0.1:{}", server.port)),
        ],
    )
    .await
    .expect("the admin token opens the stream");
    send_text(&mut ws, &lower.to_string()).await;
    let (updated, _) = next_of_type(&mut ws, "thresholds_updated", 5 * SECOND)
        .await
        .expect("the admin's command runs");
    assert_eq!(updated["changes"][0]["value"], 75.0, "{updated}");
    let logged = server.wait_for_log(
        |l| {
            l.contains("Admin command.") && l.contains("role=\"admin\"")
                || l.contains("Admin command.") && l.contains("role=admin")
        },
        5 * SECOND,
    );
    let logged = logged.unwrap_or_else(|| panic!("not logged:\n{}", server.log_text()));
    assert!(
        logged.contains("set_threshold")
            && logged.contains("peer=127.0.0.1:")
            && logged.contains("origin="),
        "{logged}"
    );
    assert!(
        !server.log_text().contains(ADMIN),
        "the token is never logged"
    );

    let wrong = connect_with(
        &server.url("/"),
        &[("authorization", "Bearer not-the-right-token-at-all")],
    )
    .await;
    assert_eq!(wrong.err(), Some(401));
    let warned = server.wait_for_log(
        |l| l.contains("WARN") && l.contains("wrong access token"),
        5 * SECOND,
    );
    let warned = warned.unwrap_or_else(|| panic!("no warning:\n{}", server.log_text()));
    assert!(warned.contains("peer=127.0.0.1:"), "{warned}");
    assert!(!warned.contains("not-the-right-token"), "{warned}");
}

#[tokio::test]
async fn a_viewer_token_locks_the_stream_and_the_data_routes() {
    let server = tokened_server();
    let port = server.port;
    let host = format!("127.0.0.1:{port}");
    assert_eq!(connect_with(&server.url("/"), &[]).await.err(), Some(401));
    let anonymous = request(port, "GET", "/api/current", &[("Host", &host)]);
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.error().contains("token"), "{}", anonymous.body);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Bearer realm=\"monitoring\"")
    );
    let wrong = request(
        port,
        "GET",
        "/metrics",
        &[
            ("Host", &host),
            ("Authorization", "Bearer nope-nope-nope-nope"),
        ],
    );
    assert_eq!(wrong.status, 401);
    let bearer = format!("Bearer {VIEWER}");
    for path in ["/api/alerts", "/metrics", "/api/history"] {
        let ok = request(
            port,
            "GET",
            path,
            &[("Host", &host), ("Authorization", &bearer)],
        );
        assert_eq!(ok.status, 200, "{path}: {}", ok.body);
    }
    let page = request(port, "GET", "/", &[("Host", &host)]);
    assert_eq!(page.status, 200, "the page itself holds no data");

    let mut ws = connect_with(&server.url("/ws"), &[("authorization", &bearer)])
        .await
        .expect("tokened client");
    assert!(next_of_type(&mut ws, "monitoring_data", 5 * SECOND)
        .await
        .is_some());

    // The browser's way: the token as a subprotocol entry; the answer names only the
    // real protocol.
    let entry = format!("monitoring.v1, bearer.{}", base64url(VIEWER));
    let handshake = request(
        port,
        "GET",
        "/ws",
        &upgrade_headers(&host, &[("Sec-WebSocket-Protocol", &entry)]),
    );
    assert_eq!(handshake.status, 101);
    assert_eq!(
        handshake.header("sec-websocket-protocol"),
        Some("monitoring.v1")
    );
}

/// Unpadded base64url, as the dashboard encodes a token.
fn base64url(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[test]
fn the_published_client_cannot_view_a_tokened_server() {
    let Some(client) = monitoring_test_support::require(Peer::PublishedClient) else {
        return;
    };
    let server = tokened_server();
    let output = std::process::Command::new(&client)
        .args([
            "--uri",
            &server.url(""),
            "--duration",
            "3",
            "--no-color",
            "--no-reconnect",
        ])
        .output()
        .expect("run the client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let data_lines = stdout.lines().filter(|l| l.contains("CPU:")).count();
    assert_eq!(
        data_lines, 0,
        "it got data without a token:\n{stdout}\n{stderr}"
    );
    let all = format!("{stdout}\n{stderr}");
    // It cannot send a token, so its handshake is refused (401) and it says so.
    assert!(
        all.contains("Connection failed"),
        "the client reports the refusal:\n{all}"
    );
}

#[test]
fn http_errors_are_json_with_the_right_status() {
    let server = Server::start_default();
    let port = server.port;
    let host = format!("127.0.0.1:{port}");
    let missing = request(
        port,
        "GET",
        &format!("/nope/{}", "x".repeat(300)),
        &[("Host", &host)],
    );
    assert_eq!(missing.status, 404);
    assert!(
        missing.error().len() < 120,
        "quotes a prefix only: {}",
        missing.body
    );
    let wrong_method = request(
        port,
        "POST",
        "/api/current",
        &[("Host", &host), ("Content-Length", "0")],
    );
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("GET, HEAD"));
    wrong_method.error();
    let page_post = request(port, "DELETE", "/", &[("Host", &host)]);
    assert_eq!(
        (page_post.status, page_post.header("allow")),
        (405, Some("GET, HEAD"))
    );
    for path in [
        "/api/current",
        "/api/history",
        "/api/alerts",
        "/health",
        "/metrics",
        "/",
    ] {
        let head = request(port, "HEAD", path, &[("Host", &host)]);
        assert!(
            matches!(head.status, 200 | 503),
            "HEAD {path}: {}",
            head.status
        );
        assert!(head.header("content-type").is_some(), "HEAD {path}");
    }
    let plain = request(port, "GET", "/ws", &[("Host", &host)]);
    assert_eq!(plain.status, 426, "a plain GET /ws");
    plain.error();
    let mut old_version = upgrade_headers(&host, &[]);
    old_version.retain(|(n, _)| *n != "Sec-WebSocket-Version");
    old_version.push(("Sec-WebSocket-Version", "8"));
    let old = request(port, "GET", "/ws", &old_version);
    assert_eq!(old.status, 426, "{}", old.body);
    assert_eq!(old.header("sec-websocket-version"), Some("13"));
    old.error();
    let mut bad_key = upgrade_headers(&host, &[]);
    bad_key.retain(|(n, _)| *n != "Sec-WebSocket-Key");
    bad_key.push(("Sec-WebSocket-Key", "c2hvcnQ="));
    let bad = request(port, "GET", "/ws", &bad_key);
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.error().contains("Sec-WebSocket-Key"), "{}", bad.body);
}

#[tokio::test]
async fn the_conformance_echo_needs_the_admin_token_when_there_is_one() {
    let server = Server::start_with_env(
        Setup {
            plugins: &CORE_COLLECTORS,
            config: "\n[access]\nadmin_token_env = \"MONITORING_ADMIN_TOKEN\"\n",
            extra_files: &[],
        },
        &[
            ("MONITORING_CONFORMANCE_ECHO", "1"),
            ("MONITORING_ADMIN_TOKEN", ADMIN),
        ],
    );
    assert_eq!(
        connect_with(&server.url("/echo"), &[]).await.err(),
        Some(401)
    );
    let admin = format!("Bearer {ADMIN}");
    let mut ws = connect_with(&server.url("/echo"), &[("authorization", &admin)])
        .await
        .expect("the admin may use /echo");
    send_text(&mut ws, r#"{"echo":1}"#).await;
    let echoed = monitoring_test_support::next_json(&mut ws, 5 * SECOND).await;
    assert_eq!(echoed, Some(json!({"echo": 1})));
    // Viewing stays open: only the admin token is configured.
    assert!(connect_with(&server.url("/"), &[]).await.is_ok());
}

#[path = "access_browser.rs"]
mod access_browser;
