//! A bounded cost per client, against the real binary over real sockets: subscriptions
//! name only sections that exist, a client that reads nothing is dropped even while it
//! keeps sending pongs, one address holds only its share, `connected_clients` never
//! counts a refused client, and absurd sizes are refused at start.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use monitoring_test_support::{
    connect, next_of_type, send_text, Client, Server, Setup, CORE_COLLECTORS,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const SECOND: Duration = Duration::from_secs(1);

fn server_with(config: &str) -> Server {
    Server::start(Setup {
        plugins: &CORE_COLLECTORS,
        config,
        extra_files: &[],
    })
}

/// A client connected from `source` (any 127.x address is this host).
async fn connect_from(server: &Server, source: [u8; 4]) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("bind a loopback source");
    let stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], server.port)))
        .await
        .expect("connect");
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (ws, _) = tokio_tungstenite::client_async(server.url("/"), stream)
        .await
        .expect("handshake");
    ws
}

/// The first message: `Ok(())` for the greeting, `Err(reason)` for a 1008 close.
async fn greeted(ws: &mut Client) -> Result<(), String> {
    match tokio::time::timeout(3 * SECOND, ws.next()).await {
        Ok(Some(Ok(Message::Text(text)))) if text.as_str().contains("\"connection\"") => Ok(()),
        Ok(Some(Ok(Message::Close(Some(frame))))) if u16::from(frame.code) == 1008 => {
            Err(frame.reason.to_string())
        }
        other => panic!("neither greeted nor closed with 1008: {other:?}"),
    }
}

/// `connected` as `/health` reports it.
fn connected(server: &Server) -> u64 {
    monitoring_test_support::http::get(server.port, "/health").json()["clients"]["connected"]
        .as_u64()
        .expect("clients.connected")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_section_is_invalid_params_quoting_a_short_prefix() {
    let server = Server::start_default();
    let mut ws = connect(&server.url("/")).await;
    next_of_type(&mut ws, "monitoring_data", 3 * SECOND)
        .await
        .expect("a first tick, so sections are known");
    let invented = format!("zz{}", "q".repeat(62));
    send_text(
        &mut ws,
        &format!(r#"{{"type":"subscribe","sections":["memory","{invented}"]}}"#),
    )
    .await;
    let (error, _) = next_of_type(&mut ws, "error", SECOND)
        .await
        .expect("refused");
    assert_eq!(error["code"], "INVALID_PARAMS", "{error}");
    let message = error["message"].as_str().expect("a message");
    assert!(
        message.contains("unknown section") && message.contains("zzqq"),
        "{message}"
    );
    assert!(
        !message.contains(&invented),
        "the whole name is echoed: {message}"
    );
    send_text(&mut ws, r#"{"type":"subscribe","sections":["memory"]}"#).await;
    next_of_type(&mut ws, "subscribed", SECOND)
        .await
        .expect("a known section is fine");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_reads_nothing_but_sends_pongs_is_dropped() {
    // Pings far apart: only the send path can catch this client.
    let server = server_with("send_timeout = 1.0\nping_interval = 60.0\nping_timeout = 60.0\n");
    let mut observer = connect(&server.url("/")).await;
    next_of_type(&mut observer, "monitoring_data", 3 * SECOND)
        .await
        .expect("first tick");
    // A raw client with a tiny receive buffer: it reads the 101 answer and nothing
    // more, and sends an unsolicited (masked, empty) pong every 200 ms.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(2048).expect("rcvbuf");
    let mut stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], server.port)))
        .await
        .expect("connect");
    let request = monitoring_test_support::raw_upgrade_request(server.port);
    stream
        .write_all(request.as_bytes())
        .await
        .expect("handshake");
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.expect("the 101 answer");
        answer.push(byte[0]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 101"), "{answer:?}");
    let started = Instant::now();
    let (_reader, mut writer) = stream.into_split();
    let ponging = tokio::spawn(async move {
        let pong = [0x8A, 0x80, 1, 2, 3, 4];
        let mut sent = 0u32;
        while writer.write_all(&pong).await.is_ok() {
            sent += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sent
    });
    // Two clients until the server drops the silent one, then the observer alone.
    let deadline = started + 20 * SECOND;
    let mut seen_both = false;
    let dropped_after = loop {
        let now = connected(&server);
        seen_both |= now == 2;
        if seen_both && now == 1 {
            break started.elapsed();
        }
        assert!(Instant::now() < deadline, "still connected after 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("the silent client was dropped {dropped_after:?} after its handshake");
    assert!(
        // send_timeout + UNACKED_GRACE, + the filling of a 2 KiB window and the
        // kernel's probe timer.
        dropped_after < Duration::from_secs(1 + 4 + 5),
        "dropped only after {dropped_after:?} (send_timeout 1 s)"
    );
    assert!(!ponging.is_finished() || ponging.await.expect("join") >= 5);
    // The observer missed nothing meanwhile.
    next_of_type(&mut observer, "monitoring_data", 2 * SECOND)
        .await
        .expect("data still flows");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_gets_only_its_share() {
    let server = server_with("max_clients = 10\nmax_clients_per_ip = 3\n");
    let mut mine = Vec::new();
    for _ in 0..5 {
        mine.push(connect_from(&server, [127, 0, 0, 1]).await);
    }
    let mut outcomes = Vec::new();
    for ws in &mut mine {
        outcomes.push(greeted(ws).await);
    }
    let refused = "Too many clients from this address".to_owned();
    assert_eq!(
        outcomes,
        [Ok(()), Ok(()), Ok(()), Err(refused.clone()), Err(refused)]
    );
    let mut other = connect_from(&server, [127, 0, 0, 2]).await;
    assert_eq!(
        greeted(&mut other).await,
        Ok(()),
        "another address is served"
    );
    assert_eq!(connected(&server), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_never_counts_refused_clients_as_connected() {
    // Room above max_clients for the burst's refused half and the /health watcher.
    let server = server_with("max_clients = 20\nmax_clients_per_ip = 0\nmax_connections = 100\n");
    let url = server.url("/");
    let port = server.port;
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watch = std::sync::Arc::clone(&watching);
    let watcher = std::thread::spawn(move || {
        let mut highest = 0;
        while watch.load(std::sync::atomic::Ordering::Acquire) {
            let now = monitoring_test_support::http::get(port, "/health").json()["clients"]
                ["connected"]
                .as_u64()
                .expect("clients.connected");
            highest = highest.max(now);
        }
        highest
    });
    let burst = (0..40).map(|_| {
        let url = url.clone();
        tokio::spawn(async move {
            let mut ws = connect(&url).await;
            let outcome = greeted(&mut ws).await;
            (ws, outcome)
        })
    });
    let mut served = Vec::new();
    let mut refused = 0;
    for joined in futures_util::future::join_all(burst).await {
        let (ws, outcome) = joined.expect("join");
        match outcome {
            Ok(()) => served.push(ws),
            Err(reason) => {
                assert_eq!(reason, "Server at capacity");
                refused += 1;
            }
        }
    }
    watching.store(false, std::sync::atomic::Ordering::Release);
    let highest = watcher.join().expect("watcher");
    assert_eq!((served.len(), refused), (20, 20));
    assert!(highest <= 20, "/health said {highest} connected");
    // Leaving frees slots at once: the next five are served, not refused.
    served.truncate(15);
    let deadline = Instant::now() + 5 * SECOND;
    while connected(&server) != 15 {
        assert!(Instant::now() < deadline, "slots not freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..5 {
        let mut ws = connect(&url).await;
        assert_eq!(greeted(&mut ws).await, Ok(()));
        served.push(ws);
    }
    assert_eq!(connected(&server), 20);
}

#[test]
fn an_absurd_history_size_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("scratch folder");
    let path = dir.path().join("plugins.toml");
    std::fs::write(
        &path,
        "[server]\nhost = \"127.0.0.1\"\nport = 0\n\n[monitor]\nhistory_size = 1000000000000\n",
    )
    .expect("write config");
    let mut child = std::process::Command::new(monitoring_test_support::artifacts().join(format!(
        "monitoring-websocket-server{}",
        std::env::consts::EXE_SUFFIX
    )))
    .arg("--config")
    .arg(&path)
    .env("NO_COLOR", "1")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("run the server");
    // A server that accepted the size would run forever: give it 10 s to refuse.
    let deadline = Instant::now() + 10 * SECOND;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{stderr}");
    assert!(
        stderr.contains("line 6") && stderr.contains("monitor.history_size"),
        "{stderr}"
    );
    assert!(!stderr.contains("Listening"), "{stderr}");
}
