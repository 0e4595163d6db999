//! The issue's "done when", as a new user meets it: the real server with the real
//! `notify` sink, one ntfy URL and one Gotify URL pointing at local HTTP servers. A
//! threshold lowered at run time gives exactly one notification at each, naming the
//! host and the value; a silence stops every repeat; the silence is still there, and
//! still silencing, after a restart.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use monitoring_test_support::http_server::{Reply, Request, TestServer};
use monitoring_test_support::{
    connect_with_token, next_of_type, send_text, Client, Server, Setup, ADMIN_ACCESS, ADMIN_TOKEN,
};
use serde_json::{json, Value};

const SECOND: Duration = Duration::from_secs(1);

const PLUGINS: [&str; 3] = ["collector-memory", "collector-system", "sink-notify"];

/// The notify sink's URLs are read from this variable, never from plugins.toml.
const URLS_ENV: &str = "TEST_NOTIFY_URLS";

/// Fast timing, so the test sees repeats within seconds: a group is sent 1 s after
/// its first alert, re-sent at most every 2 s when it changes and every 4 s while it
/// fires unchanged. A rule that never fires until a client lowers it.
const CONFIG: &str = "[alerts]\ngroup_wait = 1.0\ngroup_interval = 2.0\nrepeat_interval = 4.0\n\n\
     [[alerts.rules]]\nmetric = \"memory.percentage\"\ncomponent = \"memory\"\nwarning = 99.99\n\n\
     [plugins.notify]\nenabled = true\nurls_env = \"TEST_NOTIFY_URLS\"\n";

fn env(urls: &str) -> [(&str, &str); 2] {
    [("MONITORING_ADMIN_TOKEN", ADMIN_TOKEN), (URLS_ENV, urls)]
}

fn addr(server: &TestServer) -> SocketAddr {
    let url = server.url("/");
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("host:port")
}

/// One HTTP request to the server with the admin token; its status and JSON body.
fn admin_request(server: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    use std::io::{Read, Write};
    let port: u16 = server
        .url("")
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(10 * SECOND)).expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("reply");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head");
    let (status, headers) = monitoring_test_support::http::parse_head(head);
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        body.split_once("\r\n").map_or("", |(_, rest)| rest)
    } else {
        body
    };
    let end = body.rfind('}').map_or(0, |i| i + 1);
    let json = serde_json::from_str(&body[..end]).unwrap_or(Value::Null);
    (status, json)
}

async fn lower_memory_threshold(ws: &mut Client) {
    send_text(
        ws,
        r#"{"type":"set_threshold","component":"memory","level":"warning","value":1.0}"#,
    )
    .await;
    let (answer, _) = next_of_type(ws, "thresholds_updated", 5 * SECOND)
        .await
        .expect("the threshold is lowered");
    assert_eq!(answer["changes"][0]["value"], 1.0, "{answer}");
}

/// The first `monitoring_data` with an active alert: (host, value).
async fn firing(ws: &mut Client) -> (String, f64) {
    let deadline = Instant::now() + 10 * SECOND;
    loop {
        let (message, _) = next_of_type(ws, "monitoring_data", 5 * SECOND)
            .await
            .expect("monitoring_data keeps coming");
        if let Some(alert) = message["alerts"].get(0) {
            let host = alert["host"].as_str().expect("an alert names its host");
            return (host.to_owned(), alert["value"].as_f64().expect("a value"));
        }
        assert!(Instant::now() < deadline, "no alert fired: {message}");
    }
}

/// Waits until both capture servers hold `count` requests; what they hold then.
fn wait_for(ntfy: &TestServer, gotify: &TestServer, count: usize, log: &dyn Fn() -> String) {
    let deadline = Instant::now() + 10 * SECOND;
    while ntfy.requests().len() < count || gotify.requests().len() < count {
        assert!(
            Instant::now() < deadline,
            "ntfy got {}, gotify {} of {count}; server log:\n{}",
            ntfy.requests().len(),
            gotify.requests().len(),
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(request: &Request) -> String {
    String::from_utf8_lossy(&request.body).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_notification_per_service_a_silence_stops_repeats_and_survives_a_restart() {
    let ntfy = TestServer::start(Reply::status(200));
    let gotify = TestServer::start(Reply::Status {
        code: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: r#"{"id": 1}"#.into(),
    });
    let urls = format!(
        "ntfy://{}/server-alerts, gotify://{}/AbCdEfGhIjKlMnO",
        addr(&ntfy),
        addr(&gotify)
    );
    let config = format!("{ADMIN_ACCESS}{CONFIG}");
    let server = Server::start_with_env(
        Setup {
            plugins: &PLUGINS,
            config: &config,
            extra_files: &[],
        },
        &env(&urls),
    );
    let mut ws = connect_with_token(&server.url("/"), ADMIN_TOKEN).await;
    lower_memory_threshold(&mut ws).await;
    let (host, value) = firing(&mut ws).await;

    // Exactly one notification at each, naming the host and the value.
    wait_for(&ntfy, &gotify, 1, &|| server.log_text());
    let ntfy_request = &ntfy.requests()[0];
    assert_eq!(ntfy_request.method, "POST");
    // As Apprise does: JSON to the server's root, naming the topic.
    assert_eq!(ntfy_request.path, "/");
    assert_eq!(ntfy_request.json()["topic"], "server-alerts");
    let shown = format!("{ntfy_request:?} {}", text(ntfy_request));
    assert!(shown.contains(&host), "ntfy does not name {host}: {shown}");
    let gotify_request = &gotify.requests()[0];
    assert!(
        gotify_request.path.starts_with("/message"),
        "{}",
        gotify_request.path
    );
    let message = gotify_request.json();
    let said = format!("{} {}", message["title"], message["message"]);
    assert!(said.contains(&host), "gotify does not name {host}: {said}");
    let percent = format!("{:.1}%", value);
    let whole = format!("{}", value.trunc());
    assert!(
        said.contains(&percent) || said.contains(&whole),
        "gotify does not give the value {value}: {said}"
    );
    std::thread::sleep(SECOND + SECOND / 2);
    assert_eq!(
        ntfy.requests().len(),
        1,
        "one notification, not one per tick"
    );
    assert_eq!(gotify.requests().len(), 1);

    // Silence it: no repeat comes, though the repeat interval passes.
    let (status, created) = admin_request(
        &server,
        "POST",
        "/api/silences",
        Some(
            &json!({"matchers": {"component": "memory", "host": host}, "duration": "1h",
                     "comment": "known, being handled"}),
        ),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("an id").to_owned();
    std::thread::sleep(7 * SECOND);
    assert_eq!(
        (ntfy.requests().len(), gotify.requests().len()),
        (1, 1),
        "a silenced alert was repeated"
    );

    // Restart: the silence is kept, and silences the alert the new process raises.
    drop(ws);
    let dir = server.stop_keeping_dir("TERM");
    let server = Server::restart_in_with_env(dir, &env(&urls));
    let (status, listed) = admin_request(&server, "GET", "/api/silences", None);
    assert_eq!(status, 200, "{listed}");
    let kept = listed["silences"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["id"] == id.as_str()))
        .unwrap_or_else(|| panic!("silence {id} lost in the restart: {listed}"));
    assert_eq!(kept["state"], "active", "{kept}");
    let mut ws = connect_with_token(&server.url("/"), ADMIN_TOKEN).await;
    lower_memory_threshold(&mut ws).await;
    firing(&mut ws).await;
    std::thread::sleep(3 * SECOND);
    let (_, alerts) = admin_request(&server, "GET", "/api/alerts", None);
    let silenced_by = &alerts["firing"][0]["silenced_by"];
    assert_eq!(silenced_by, &json!([id]), "{alerts}");
    assert_eq!(
        (ntfy.requests().len(), gotify.requests().len()),
        (1, 1),
        "the restarted server notified a silenced alert"
    );
}
