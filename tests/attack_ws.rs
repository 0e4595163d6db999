//! Issue 20, item 6 and part of item 9, against the real binary: floods of frames
//! that never reached a limit (a first fragment then endless empty continuations;
//! endless pings with their pongs drained) are closed with 1008 at a bounded cost;
//! the answers hyper gives on its own (400, 414, 431) have JSON bodies; two `Host`
//! headers are refused; a burst of wrong tokens from one address is answered 429
//! after the first few. Through every attack a client connected before it receives
//! every tick ([`monitoring_test_support::witness::Witness`]).
//!
//! Every attack is bounded in count and time and aimed at 127.0.0.0/8 only.

#[path = "attacks/ws.rs"]
mod attack;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use attack::Mode;
use monitoring_test_support::witness::Witness;
use monitoring_test_support::{Server, Setup, ADMIN_ACCESS, ADMIN_TOKEN, CORE_COLLECTORS};

/// The server's default tick (`monitor.interval = 0.5`).
const INTERVAL: Duration = Duration::from_millis(500);
/// How long each flood runs at most; the old server never ended one.
const ATTACK: Duration = Duration::from_secs(5);
/// Flooding connections at once (the attack used two).
const CONNECTIONS: usize = 2;

/// Floods the server with `mode` from [`CONNECTIONS`] connections for [`ATTACK`] and
/// checks that each is closed with 1008 within a second or two, that the server used
/// little CPU over the whole window, and that the witness kept every tick.
async fn a_flood_is_closed_with_1008(mode: Mode, what: &str) {
    let server = Server::start_default();
    let witness = Witness::start(&server).await;
    let pid = server.pid();
    let before = attack::cpu_time(pid).expect("the server's CPU time");
    let started = Instant::now();
    let outcomes = attack::run(server.port, mode, CONNECTIONS, ATTACK, false).await;
    // The CPU is taken over the attack's whole window, however early it ended.
    tokio::time::sleep((started + ATTACK).saturating_duration_since(Instant::now())).await;
    let window = started.elapsed();
    let used = attack::cpu_time(pid).expect("the server's CPU time") - before;
    eprintln!(
        "{what}: server CPU {:.2} s over {:.1} s",
        used.as_secs_f64(),
        window.as_secs_f64()
    );
    assert_eq!(outcomes.len(), CONNECTIONS);
    for outcome in outcomes {
        let outcome = outcome.expect("the flooding connection opened");
        eprintln!("{what}: {outcome:?}");
        assert_eq!(
            outcome.close_code,
            Some(1008),
            "{what}: the flooding connection was not closed with 1008 within {ATTACK:?} \
             ({} frames sent): {outcome:?}",
            outcome.frames
        );
        assert!(
            !outcome.close_reason.is_empty(),
            "{what}: a close without a reason"
        );
        if mode == Mode::Ping {
            assert!(
                outcome.pongs > 0,
                "{what}: pings within the limit are answered"
            );
        }
        let closed_after = outcome.closed_after.unwrap_or(Duration::MAX);
        assert!(
            closed_after < Duration::from_secs(2),
            "{what}: closed only after {closed_after:?}"
        );
    }
    assert!(
        used.as_secs_f64() < 0.3 * window.as_secs_f64(),
        "{what}: the server used {:.2} s of CPU in {:.1} s",
        used.as_secs_f64(),
        window.as_secs_f64()
    );
    witness.assert_every_tick(INTERVAL, what);
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_empty_continuation_frames_are_closed_with_1008() {
    a_flood_is_closed_with_1008(Mode::Continuation, "a flood of empty continuations").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_pings_are_closed_with_1008() {
    a_flood_is_closed_with_1008(Mode::Ping, "a flood of pings").await;
}

/// An answer read off a raw connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The `{"error": …}` message, or a failure saying what came instead.
    fn error_message(&self, what: &str) -> String {
        let json: serde_json::Value = serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "{what}: {} with a body that is not JSON ({e}): {:?}\n{}",
                self.status, self.body, self.head
            )
        });
        let message = json["error"].as_str().unwrap_or_else(|| {
            panic!("{what}: {} without an `error` message: {json}", self.status)
        });
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{what}: {}",
            self.head
        );
        message.to_owned()
    }
}

/// Sends `request` from `source` (a 127.x address) to the server and reads the answer
/// to the end of the connection (every request here asks `Connection: close`, or is
/// one hyper closes after).
fn exchange(source: [u8; 4], port: u16, request: &[u8]) -> Answer {
    let socket = std::net::TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(5),
    );
    let mut stream: TcpStream = if source == [127, 0, 0, 1] {
        socket.expect("connect")
    } else {
        bound_connect(source, port)
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // The server may answer and close before it read everything (431, 414): a write
    // error then is no failure, the answer is what counts.
    let _ = stream.write_all(request);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head}"));
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// A blocking connection from `source` (bound by a tokio socket, then made blocking:
/// std cannot bind before it connects).
fn bound_connect(source: [u8; 4], port: u16) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from((source, 0)))
            .expect("bind a loopback source");
        let stream = socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .expect("connect");
        let stream = stream.into_std().expect("a std stream");
        stream.set_nonblocking(false).expect("blocking");
        stream
    })
}

fn get(port: u16, path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n")
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_answer_of_the_http_edge_is_json() {
    let server = Server::start_default();
    let witness = Witness::start(&server).await;
    let port = server.port;
    let local = [127, 0, 0, 1];
    let answers = tokio::task::spawn_blocking(move || {
        let long_target = format!("/api/current?q={}", "a".repeat(70_000));
        let many_headers: String = (0..150).map(|i| format!("X-Filler-{i}: y\r\n")).collect();
        [
            ("a 70,000-byte target", 414, get(port, &long_target, "")),
            (
                "150 header fields",
                431,
                get(port, "/health", &many_headers),
            ),
            (
                "a header line without a colon",
                400,
                get(port, "/health", "Not A Header\r\n"),
            ),
            (
                "a request line that is not HTTP",
                400,
                b"GET /health HTTP/9 nonsense\r\n\r\n".to_vec(),
            ),
            ("an unknown route", 404, get(port, "/nowhere", "")),
        ]
        .map(|(what, status, request)| (what, status, exchange(local, port, &request)))
    })
    .await
    .expect("the requests ran");
    for (what, status, answer) in answers {
        assert_eq!(answer.status, status, "{what}: {answer:?}");
        let message = answer.error_message(what);
        assert!(!message.is_empty(), "{what}: an empty message");
    }
    witness.assert_every_tick(INTERVAL, "malformed HTTP requests");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_host_headers_are_refused_with_400() {
    let server = Server::start_default();
    let witness = Witness::start(&server).await;
    let port = server.port;
    let local = [127, 0, 0, 1];
    let answers = tokio::task::spawn_blocking(move || {
        [
            (
                "the good Host first",
                get(port, "/health", "Host: attacker.example\r\n"),
            ),
            (
                "the good Host second",
                format!(
                    "GET /health HTTP/1.1\r\nHost: attacker.example\r\nHost: 127.0.0.1:{port}\r\n\
                     Connection: close\r\n\r\n"
                )
                .into_bytes(),
            ),
            (
                "a WebSocket upgrade",
                format!(
                    "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: attacker.example\r\n\
                     Upgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                )
                .into_bytes(),
            ),
        ]
        .map(|(what, request)| (what, exchange(local, port, &request)))
    })
    .await
    .expect("the requests ran");
    for (what, answer) in answers {
        assert_eq!(answer.status, 400, "two Host headers, {what}: {answer:?}");
        let message = answer.error_message(what);
        assert!(message.contains("Host"), "{what}: {message}");
    }
    // One Host header, as ever, is served.
    let one = tokio::task::spawn_blocking(move || exchange(local, port, &get(port, "/health", "")))
        .await
        .expect("ran");
    assert!(
        one.status == 200 || one.status == 503,
        "one Host header: {one:?}"
    );
    witness.assert_every_tick(INTERVAL, "requests with two Host headers");
}

/// Wrong tokens sent in all by the guessing burst.
const GUESSES: usize = 2_000;
/// Threads the burst is sent from.
const GUESSERS: usize = 8;

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_wrong_tokens_is_answered_429_after_the_first_few() {
    let env = monitoring_test_support::admin_env();
    let server = Server::start_with_env(
        Setup {
            plugins: &CORE_COLLECTORS,
            config: ADMIN_ACCESS,
            extra_files: &[],
        },
        &env,
    );
    let witness = Witness::start(&server).await;
    let port = server.port;
    let local = [127, 0, 0, 1];
    let started = Instant::now();
    let guessers: Vec<_> = (0..GUESSERS)
        .map(|g| {
            tokio::task::spawn_blocking(move || {
                let mut answers = Vec::new();
                for i in 0..GUESSES / GUESSERS {
                    if started.elapsed() > Duration::from_secs(30) {
                        break; // Bounded in time as well as in count.
                    }
                    let wrong = format!("Authorization: Bearer wrong-guess-{g}-{i}\r\n");
                    answers.push(exchange(local, port, &get(port, "/api/current", &wrong)));
                }
                answers
            })
        })
        .collect();
    let mut answers = Vec::new();
    for guesser in guessers {
        answers.extend(guesser.await.expect("a guesser ran"));
    }
    let took = started.elapsed();
    let count = |status: u16| answers.iter().filter(|a| a.status == status).count();
    let (refused, backed_off) = (count(401), count(429));
    eprintln!(
        "{} wrong tokens in {:.2} s: {refused} answered 401, {backed_off} answered 429",
        answers.len(),
        took.as_secs_f64()
    );
    assert_eq!(answers.len(), GUESSES, "the burst was cut short");
    assert_eq!(
        refused + backed_off,
        GUESSES,
        "only 401 and 429 are expected"
    );
    assert!(
        refused <= 50,
        "{refused} of {GUESSES} wrong tokens were checked and answered 401: no back-off"
    );
    let mut longest = 0;
    for answer in answers.iter().filter(|a| a.status == 429) {
        let message = answer.error_message("a backed-off request");
        assert!(message.contains("retry"), "{message}");
        let after: u64 = answer
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("429 without a Retry-After in seconds: {}", answer.head));
        assert!((1..=60).contains(&after), "Retry-After {after}");
        longest = longest.max(after);
    }
    // The right token from another address is served at once ...
    let right = format!("Authorization: Bearer {ADMIN_TOKEN}\r\n");
    let request = get(port, "/api/current", &right);
    let elsewhere = {
        let request = request.clone();
        tokio::task::spawn_blocking(move || exchange([127, 0, 0, 2], port, &request))
            .await
            .expect("ran")
    };
    assert_eq!(
        elsewhere.status, 200,
        "the admin token from another address: {elsewhere:?}"
    );
    // ... and from the guessing address once its back-off has passed.
    tokio::time::sleep(Duration::from_secs(longest) + Duration::from_millis(200)).await;
    let here = tokio::task::spawn_blocking(move || exchange(local, port, &request))
        .await
        .expect("ran");
    assert_eq!(
        here.status, 200,
        "the admin token from the guessing address after {longest} s: {here:?}"
    );
    witness.assert_every_tick(INTERVAL, "a burst of wrong tokens");
}
