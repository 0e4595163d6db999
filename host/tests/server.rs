//! The server driven in process, as mini-redis's `tests/server.rs` drives its
//! `server::run`: [`run`] on `127.0.0.1:0` with an empty plugins folder, spoken to over
//! real sockets. What needs only the pipeline (the greeting, the tick's cadence, the
//! commands, bad input, the HTTP routes' own checks) is tested here, without building
//! or starting the binary; what needs real plugins, the binary or a peer stays in
//! `tests/`.
//!
//! Each test starts its own server on its own runtime; nothing in [`run`] is global
//! (logging, the allocator and signals are `main.rs`'s), so many run in one process.
//! Time is real: the collection loop keeps a runtime of its own (so that no session
//! can delay a tick), which a test's paused clock does not reach; a 0.1 s tick keeps
//! these tests under a second. The scheduler's timing is tested on paused time in
//! its own unit tests.

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use monitoring_test_support::http::parse_head;
use monitoring_test_support::{
    close_code, connect_with_token, next_json, next_of_type, send_text, Client,
};
use monitoring_websocket_server::accept::tls::reload_channel;
use monitoring_websocket_server::config::Config;
use monitoring_websocket_server::plugins::probe::Isolation;
use monitoring_websocket_server::run;
use monitoring_websocket_server::shutdown::{self, Trigger};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

const SECOND: Duration = Duration::from_secs(1);

/// The admin token [`start`] gives every server, from a file in its folder.
const ADMIN_TOKEN: &str = "admin-token-of-the-in-process-tests-0123";

/// A server running in this process, stopped by [`Server::stop`].
struct Server {
    port: u16,
    trigger: Trigger,
    task: JoinHandle<std::io::Result<()>>,
    /// The config file's folder (with the empty plugins folder): kept until the end.
    _dir: tempfile::TempDir,
}

/// Starts [`run`] with a 0.1 s tick, no plugins, an admin token and `extra` appended
/// to the config file (more tables, not `[monitor]` keys).
async fn start(extra: &str) -> Server {
    let dir = tempfile::tempdir().expect("a scratch folder");
    std::fs::create_dir(dir.path().join("plugins")).expect("the plugins folder");
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, ADMIN_TOKEN).expect("the token file");
    let text = format!(
        "[monitor]\ninterval = 0.1\ncollect_timeout = 0.05\nhistory_size = 5\n\
         plugins_dir = \"plugins\"\n\n[access]\nadmin_token_file = {:?}\n\n{extra}",
        token_file.display().to_string()
    );
    let config = Config::parse(&text, &dir.path().join("plugins.toml")).expect("a valid config");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("its address").port();
    let (trigger, shutdown) = shutdown::channel();
    let (_reload, reload_requests) = reload_channel();
    let task = tokio::spawn(run(
        config,
        listener,
        shutdown,
        reload_requests,
        Isolation::InProcess,
    ));
    Server {
        port,
        trigger,
        task,
        _dir: dir,
    }
}

impl Server {
    /// Connects a WebSocket client with the admin token.
    async fn connect(&self) -> Client {
        connect_with_token(&format!("ws://127.0.0.1:{}/", self.port), ADMIN_TOKEN).await
    }

    /// `GET path` over plain HTTP/1.1: the status code and the body.
    async fn get(&self, path: &str) -> (u16, String) {
        let mut socket = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        socket.write_all(request.as_bytes()).await.expect("send");
        let mut answer = String::new();
        tokio::time::timeout(5 * SECOND, socket.read_to_string(&mut answer))
            .await
            .expect("an answer within 5 s")
            .expect("a UTF-8 answer");
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no header end in {answer}"));
        (parse_head(head).0, body.to_owned())
    }

    /// Fires the shutdown signal and waits for [`run`] to return.
    async fn stop(self) {
        self.trigger.fire();
        tokio::time::timeout(10 * SECOND, self.task)
            .await
            .expect("run returns after shutdown")
            .expect("run did not panic")
            .expect("run ended cleanly");
    }
}

async fn assert_still_usable(ws: &mut Client) {
    send_text(ws, r#"{"type":"ping"}"#).await;
    next_of_type(ws, "pong", SECOND)
        .await
        .expect("the connection stays usable");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_is_greeted_then_fed_every_tick() {
    let server = start("").await;
    let mut ws = server.connect().await;
    let greeting = next_json(&mut ws, SECOND).await.expect("a greeting");
    assert_eq!(greeting["type"], "connection", "{greeting}");
    assert_eq!(greeting["status"], "connected");
    assert_eq!(greeting["server_version"], env!("CARGO_PKG_VERSION"));

    let mut arrivals = Vec::new();
    for _ in 0..6 {
        let (data, at) = next_of_type(&mut ws, "monitoring_data", SECOND)
            .await
            .expect("a tick");
        assert_eq!(data["data"], json!({}), "no plugins, empty sections");
        arrivals.push(at);
    }
    let spread = arrivals[5].duration_since(arrivals[0]);
    assert!(
        (Duration::from_millis(350)..=Duration::from_millis(900)).contains(&spread),
        "five 0.1 s ticks took {spread:?}"
    );
    drop(ws);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ping_get_status_and_set_threshold_are_answered() {
    let server = start("").await;
    let mut ws = server.connect().await;
    send_text(&mut ws, &json!({"type": "ping"}).to_string()).await;
    let (pong, _) = next_of_type(&mut ws, "pong", SECOND).await.expect("pong");
    assert!(pong["timestamp"].is_string(), "{pong}");

    send_text(&mut ws, &json!({"type": "get_status"}).to_string()).await;
    let (status, _) = next_of_type(&mut ws, "status", SECOND)
        .await
        .expect("status");
    assert_eq!(status["connected_clients"], 1, "{status}");
    assert_eq!(status["monitor_interval"], 0.1);
    assert_eq!(status["plugins"], json!([]));

    let set =
        json!({"type": "set_threshold", "component": "memory", "level": "warning", "value": 75.0});
    send_text(&mut ws, &set.to_string()).await;
    let (updated, _) = next_of_type(&mut ws, "thresholds_updated", SECOND)
        .await
        .expect("thresholds_updated");
    let change = &updated["changes"][0];
    assert_eq!(change["component"], "memory", "{updated}");
    assert_eq!(change["level"], "warning");
    assert_eq!(change["value"], 75.0);
    drop(ws);
    server.stop().await;
}

// Moved from tests/websocket.rs: only the session's parsing is involved.
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_an_error_and_the_connection_stays_usable() {
    let server = start("").await;
    let mut ws = server.connect().await;
    let cases = [
        ("{not json", "INVALID_FORMAT"),
        ("42", "INVALID_FORMAT"),
        (r#"["ping"]"#, "INVALID_FORMAT"),
        (r#"{"kind":"ping"}"#, "INVALID_FORMAT"),
        (r#"{"type":"self_destruct"}"#, "UNKNOWN_COMMAND"),
        (
            r#"{"type":"subscribe","sections":"memory"}"#,
            "INVALID_PARAMS",
        ),
        (
            r#"{"type":"subscribe","interval_ms":750}"#,
            "INVALID_PARAMS",
        ),
        (r#"{"type":"subscribe","interval_ms":0}"#, "INVALID_PARAMS"),
    ];
    for (input, code) in cases {
        send_text(&mut ws, input).await;
        let (error, _) = next_of_type(&mut ws, "error", SECOND)
            .await
            .unwrap_or_else(|| panic!("reply to {input}"));
        assert_eq!(error["code"], code, "{input} → {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_still_usable(&mut ws).await;
    }
    ws.send(Message::binary(vec![1u8, 2, 3]))
        .await
        .expect("send binary");
    let (error, _) = next_of_type(&mut ws, "error", SECOND)
        .await
        .expect("reply to binary");
    assert_eq!(error["code"], "UNSUPPORTED_DATA");
    assert_still_usable(&mut ws).await;
    next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
        .await
        .expect("data still flows");
    drop(ws);
    server.stop().await;
}

// Moved from tests/websocket.rs.
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_message_is_closed_with_1009() {
    let server = start("").await;
    let mut ws = server.connect().await;
    let huge = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(70 * 1024));
    let _ = ws.send(Message::text(huge)).await;
    assert_eq!(close_code(&mut ws, 3 * SECOND).await, Some(1009));
    drop(ws);
    server.stop().await;
}

/// The `error` of a 400 reply.
fn error_of((status, body): (u16, String)) -> String {
    assert_eq!(status, 400, "{body}");
    let reply: Value = serde_json::from_str(&body).expect("a JSON body");
    reply["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {body}"))
        .to_owned()
}

// Moved from tests/http_api.rs: the query checks need a history size, not plugins.
#[tokio::test(flavor = "multi_thread")]
async fn bad_queries_get_a_400_that_says_what_is_wrong() {
    let server = start("").await;
    for bad in ["0", "6", "-1", "ten", "1.5"] {
        let message = error_of(server.get(&format!("/api/history?count={bad}")).await);
        assert!(
            message.contains("`count`") && message.contains("from 1 to 5"),
            "{message}"
        );
        assert!(message.contains(&format!("`{bad}`")), "{message}");
    }
    let message = error_of(server.get("/api/history?since=yesterday").await);
    assert!(
        message.contains("`since`") && message.contains("ISO 8601"),
        "{message}"
    );
    assert!(message.contains("`yesterday`"), "{message}");
    let message = error_of(server.get("/api/history?limit=3").await);
    assert!(message.contains("unknown parameter `limit`"), "{message}");
    let message = error_of(server.get("/api/history?count=1&count=2").await);
    assert!(message.contains("more than once"), "{message}");
    assert_eq!(server.get("/api/nothing-here").await.0, 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_current_snapshot_is_served_over_http() {
    let server = start("").await;
    let deadline = Instant::now() + 5 * SECOND;
    let current = loop {
        let (status, body) = server.get("/api/current").await;
        if status == 200 {
            break serde_json::from_str::<Value>(&body).expect("a JSON body");
        }
        assert_eq!(status, 503, "before the first tick: {body}");
        assert!(Instant::now() < deadline, "no snapshot within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(current["timestamp"].is_string(), "{current}");
    server.stop().await;
}

/// Two servers in one process, one after the other and side by side: nothing in
/// `run` is global.
#[tokio::test(flavor = "multi_thread")]
async fn servers_run_side_by_side_in_one_process() {
    let first = start("").await;
    let second = start("").await;
    for server in [&first, &second] {
        let mut ws = server.connect().await;
        next_of_type(&mut ws, "monitoring_data", SECOND)
            .await
            .expect("a tick");
    }
    first.stop().await;
    second.stop().await;
}
