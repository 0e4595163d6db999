//! The WebSocket protocol, hardened: subscriptions with sections and rates, floods,
//! stalled and half-open clients, keepalive, and the published Python client — all
//! against the real binary over real sockets. Bad input and oversized messages need
//! no plugins and are tested in process, in `host/tests/server.rs`.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use monitoring_test_support::{
    close_code, connect, next_of_type, send_text, Peer, Server, Setup, CORE_COLLECTORS,
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

#[tokio::test(flavor = "multi_thread")]
async fn subscribe_chooses_sections_and_rate() {
    let server = Server::start_default();
    let mut ws = connect(&server.url("/")).await;
    send_text(
        &mut ws,
        r#"{"type":"subscribe","sections":["memory","processor"],"interval_ms":1000}"#,
    )
    .await;
    let (reply, _) = next_of_type(&mut ws, "subscribed", SECOND)
        .await
        .expect("confirmation");
    assert_eq!(
        reply["sections"],
        serde_json::json!(["memory", "processor"])
    );
    assert_eq!(reply["interval_ms"], 1000);
    let (first, first_at) = next_of_type(&mut ws, "monitoring_data", 3 * SECOND)
        .await
        .expect("tick");
    let (second, second_at) = next_of_type(&mut ws, "monitoring_data", 3 * SECOND)
        .await
        .expect("tick");
    for message in [&first, &second] {
        let keys: Vec<&String> = message["data"].as_object().expect("data").keys().collect();
        assert_eq!(keys, ["memory", "processor"], "{message}");
    }
    let apart = second_at.duration_since(first_at);
    assert!(
        (Duration::from_millis(800)..=Duration::from_millis(1200)).contains(&apart),
        "{apart:?} apart"
    );

    send_text(&mut ws, r#"{"type":"subscribe"}"#).await;
    let (reply, _) = next_of_type(&mut ws, "subscribed", SECOND)
        .await
        .expect("confirmation");
    assert_eq!(reply["interval_ms"], 500);
    assert!(reply.get("sections").is_none());
    let (full, _) = next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
        .await
        .expect("tick");
    assert!(
        full["data"].get("system").is_some(),
        "a bare subscribe restores everything"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flooding_client_is_limited_then_closed_while_others_miss_nothing() {
    let server = server_with("rate_limit = 10.0\nrate_burst = 20.0\n");
    let mut healthy = connect(&server.url("/")).await;
    next_of_type(&mut healthy, "monitoring_data", 2 * SECOND)
        .await
        .expect("first tick");
    let mut flood = connect(&server.url("/")).await;
    let flooding = tokio::spawn(async move {
        let mut limited = false;
        for _ in 0..2000 {
            if flood
                .send(Message::text(r#"{"type":"ping"}"#))
                .await
                .is_err()
            {
                break;
            }
        }
        let mut close = None;
        while let Some(Ok(message)) = flood.next().await {
            match message {
                Message::Text(text) => limited |= text.as_str().contains("RATE_LIMITED"),
                Message::Close(frame) => {
                    close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    break;
                }
                _ => {}
            }
        }
        (limited, close)
    });
    let mut previous = Instant::now();
    for _ in 0..6 {
        let (_, at) = next_of_type(&mut healthy, "monitoring_data", 2 * SECOND)
            .await
            .expect("tick");
        let apart = at.duration_since(previous);
        assert!(
            apart <= Duration::from_millis(700),
            "the healthy client waited {apart:?} for a tick"
        );
        previous = at;
    }
    let (limited, close) = tokio::time::timeout(10 * SECOND, flooding)
        .await
        .expect("flood ends")
        .expect("join");
    assert!(limited, "the flooder was told RATE_LIMITED");
    assert_eq!(close, Some((1008, "Rate limit exceeded".to_owned())));
}

#[tokio::test(flavor = "multi_thread")]
async fn capacity_plus_ten_closes_exactly_ten_with_1008() {
    let server = server_with("max_clients = 20\n");
    let mut clients = Vec::new();
    for _ in 0..30 {
        clients.push(connect(&server.url("/")).await);
    }
    // Each client is either greeted or closed with 1008 "Server at capacity"; a client
    // that hears nothing in time is neither, and fails the test.
    let mut refused = 0;
    let mut served = 0;
    for (i, ws) in clients.iter_mut().enumerate() {
        match tokio::time::timeout(2 * SECOND, ws.next()).await {
            Ok(Some(Ok(Message::Text(text))))
                if serde_json::from_str::<serde_json::Value>(text.as_str())
                    .is_ok_and(|greeting| greeting["type"] == "connection") =>
            {
                served += 1
            }
            Ok(Some(Ok(Message::Close(Some(frame)))))
                if u16::from(frame.code) == 1008
                    && frame.reason.as_str() == "Server at capacity" =>
            {
                refused += 1
            }
            other => panic!("client {i}: neither greeted nor closed with 1008: {other:?}"),
        }
    }
    assert_eq!((served, refused), (20, 10));
    // Still full: one more is refused too.
    let mut extra = connect(&server.url("/")).await;
    assert_eq!(close_code(&mut extra, 2 * SECOND).await, Some(1008));
}

#[tokio::test(flavor = "multi_thread")]
async fn stalled_clients_do_not_delay_healthy_ones() {
    let server = server_with("send_timeout = 1.0\n");
    // Clients that complete the handshake and then never read, with a tiny receive
    // buffer so their TCP window closes quickly.
    let mut stalled = Vec::new();
    for _ in 0..5 {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(2048).expect("rcvbuf");
        let stream = socket
            .connect(format!("127.0.0.1:{}", server.port).parse().expect("addr"))
            .await
            .expect("connect");
        let (ws, _) = tokio_tungstenite::client_async(server.url("/"), stream)
            .await
            .expect("handshake");
        stalled.push(ws);
    }
    let mut healthy = connect(&server.url("/")).await;
    next_of_type(&mut healthy, "monitoring_data", 2 * SECOND)
        .await
        .expect("first tick");
    let mut previous = Instant::now();
    let mut stamps = Vec::new();
    for _ in 0..10 {
        let (message, at) = next_of_type(&mut healthy, "monitoring_data", 2 * SECOND)
            .await
            .expect("tick");
        let apart = at.duration_since(previous);
        assert!(
            apart <= Duration::from_millis(700),
            "healthy client waited {apart:?}"
        );
        previous = at;
        stamps.push(monitoring_test_support::parse_timestamp(
            &message["timestamp"],
        ));
    }
    for pair in stamps.windows(2) {
        let gap = (pair[1] - pair[0]).num_milliseconds();
        assert!(
            (400..=600).contains(&gap),
            "a tick was missed or late: {gap} ms"
        );
    }
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread")]
async fn half_open_connections_are_dropped_after_the_handshake_timeout() {
    let server = server_with("handshake_timeout = 1.0\n");
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    socket
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
        .await
        .expect("partial header");
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    let read = tokio::time::timeout(5 * SECOND, socket.read(&mut buffer))
        .await
        .expect("closed within 5 s");
    if let Ok(n) = read {
        let answer = String::from_utf8_lossy(&buffer[..n]);
        assert!(
            !answer.contains(" 101 "),
            "a half-open request must not be upgraded: {answer}"
        );
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(4),
        "closed after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_answering_pings_is_closed() {
    let server = server_with("ping_interval = 0.5\nping_timeout = 0.5\n");
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    let request = monitoring_test_support::raw_upgrade_request(server.port);
    socket
        .write_all(request.as_bytes())
        .await
        .expect("handshake");
    // Read everything (pings included) but never answer: the server must give up.
    let started = Instant::now();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut response = Vec::new();
    loop {
        match tokio::time::timeout(10 * SECOND, socket.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => response.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("the silent client was not closed within 10 s"),
        }
    }
    assert!(String::from_utf8_lossy(&response).starts_with("HTTP/1.1 101"));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "closed after {took:?}");
    // The stream after the 101 answer is whole frames (pings, ticks), ending with a
    // close frame that carries 1011 "Ping timeout".
    let body_at = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of the HTTP answer")
        + 4;
    let frames = server_frames(&response[body_at..]);
    let (opcode, payload) = frames.last().expect("at least one frame");
    assert_eq!(
        *opcode, 0x8,
        "the last frame is a close frame; frames: {frames:?}"
    );
    assert!(
        payload.len() >= 2,
        "the close frame has a code: {payload:?}"
    );
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1011);
    assert_eq!(String::from_utf8_lossy(&payload[2..]), "Ping timeout");
}

/// Splits what a server sent (unmasked frames, RFC 6455 §5.2) into `(opcode, payload)`
/// pairs, failing on a truncated frame.
fn server_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "a truncated frame header: {bytes:?}");
        let opcode = bytes[0] & 0x0F;
        assert_eq!(bytes[1] & 0x80, 0, "server frames are not masked");
        let (length, header) = match bytes[1] & 0x7F {
            126 => (u64::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 => (
                u64::from_be_bytes(bytes[2..10].try_into().expect("8 bytes")),
                10,
            ),
            short => (u64::from(short), 2),
        };
        let end = header + usize::try_from(length).expect("a frame length fits");
        assert!(
            bytes.len() >= end,
            "a truncated frame: {length} bytes announced"
        );
        frames.push((opcode, bytes[header..end].to_vec()));
        bytes = &bytes[end..];
    }
    frames
}

#[test]
fn the_published_python_client_works_unchanged() {
    let Some(client) = monitoring_test_support::require(Peer::PublishedClient) else {
        return;
    };
    let server = Server::start_default();
    let output = std::process::Command::new(&client)
        .args([
            "--uri",
            &server.url(""),
            "--duration",
            "5",
            "--no-color",
            "--stats",
        ])
        .output()
        .expect("run the client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        output.status
    );
    let data_lines = stdout
        .lines()
        .filter(|l| l.contains("CPU:") && l.contains("RAM:") && l.contains("Disk:"))
        .count();
    assert!(
        data_lines >= 8,
        "expected ~10 data lines in 5 s, got {data_lines}:\n{stdout}"
    );
    let all = format!("{stdout}\n{stderr}");
    assert!(
        all.contains("Erreurs: 0"),
        "the client counted errors:\n{all}"
    );
    assert!(
        all.contains("Reconnexions: 0"),
        "the client had to reconnect:\n{all}"
    );
}

#[test]
fn the_published_clients_detailed_view_shows_the_mount_point() {
    let Some(client) = monitoring_test_support::require(Peer::PublishedClient) else {
        return;
    };
    let server = Server::start_default();
    let output = std::process::Command::new(&client)
        .args([
            "--uri",
            &server.url(""),
            "--duration",
            "3",
            "--no-color",
            "--format",
            "detailed",
        ])
        .output()
        .expect("run the client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}",
        output.status
    );
    // It reads `disk.mount_point`: without it every block says `Mount: N/A`.
    let mounts: Vec<&str> = stdout.lines().filter(|l| l.contains("Mount:")).collect();
    assert!(
        !mounts.is_empty(),
        "no disk block in the detailed view:\n{stdout}"
    );
    assert!(
        mounts.iter().all(|l| l.trim_end().ends_with("Mount: /")),
        "{mounts:?}"
    );
}
