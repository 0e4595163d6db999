//! Sessions in process: a real tungstenite client on one end of a
//! `tokio::io::duplex` pipe, a session on the other, on tokio's paused clock. What
//! depends on time (keepalive, ping timeout, the send deadline, the rate limiter) is
//! driven by the clock, not by sleeping.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use monitoring_plugin_api::Sections;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::context::SessionContext;
use super::fanout::{self, Fanout, FanoutParts};
use super::limits::Limits;
use super::outlet::Outlet;
use super::session;
use super::socket;
use super::stats::Stats;
use crate::accept::admission::Admission;
use crate::alerts::{AlertControl, RuleSet};
use crate::config::ServerConfig;
use crate::pipeline::bus::Bus;
use crate::pipeline::cadence::Cadence;
use crate::pipeline::snapshot::Snapshot;
use crate::shutdown::{self, Trigger};
use crate::surfaces::access::{Access, Grant};
use crate::surfaces::status::StatusSources;

type Client = WebSocketStream<DuplexStream>;

/// A server side with no plugins, a bus the test publishes on, and its shutdown.
struct Server {
    context: Arc<SessionContext>,
    bus: Bus,
    _trigger: Trigger,
}

fn server(limits: Limits) -> Server {
    let bus = Bus::new();
    let (trigger, shutdown) = shutdown::channel();
    let stats = Arc::new(Stats::default());
    let cadence = Cadence::new(0.5);
    let alerts = AlertControl::new(RuleSet::default());
    let status = Arc::new(StatusSources {
        start_time: crate::timestamp::now_iso(),
        started: std::time::Instant::now(),
        cadence: cadence.clone(),
        max_clients: limits.max_clients,
        stats: Arc::clone(&stats),
        frames: bus.subscribe(),
        collectors: Default::default(),
        plugins: Default::default(),
        sinks: Default::default(),
        alerts: alerts.clone(),
    });
    let fanout = Arc::new(Fanout::default());
    let context = Arc::new(SessionContext {
        limits,
        stats: Arc::clone(&stats),
        access: Arc::new(Access::new(
            &Default::default(),
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        )),
        admission: Admission::new(
            ServerConfig {
                max_clients: limits.max_clients,
                ..ServerConfig::default()
            }
            .connection_limits(),
            limits.send_timeout,
        ),
        fanout: Arc::clone(&fanout),
        frames: bus.subscribe(),
        cadence,
        status,
        alerts: alerts.clone(),
        plugin_events: Default::default(),
        live: None,
        fleet: None,
        lookback: crate::surfaces::lookback::answer::LookbackSources::new(None),
        silencing: crate::surfaces::silences::Silencing {
            silences: Default::default(),
            board: Default::default(),
            rules: alerts,
            grouping: crate::surfaces::silences::Grouping::from_policy(&Default::default()),
        },
        shutdown: shutdown.clone(),
    });
    // The ticks reach the sessions through the fan-out, on the test's runtime here.
    tokio::spawn(fanout::run(FanoutParts {
        frames: bus.subscribe(),
        fanout,
        limits,
        stats,
        shutdown,
    }));
    Server {
        context,
        bus,
        _trigger: trigger,
    }
}

fn limits() -> Limits {
    Limits::from_config(&ServerConfig::default())
}

/// Runs an anonymous client's session on `stream`, with `outlet`, in a task.
fn spawn_session<S>(server: &Server, stream: S, outlet: Arc<Outlet>) -> tokio::task::JoinHandle<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let context = Arc::clone(&server.context);
    let config = context.limits.websocket_config();
    tokio::spawn(async move {
        let ws = WebSocketStream::from_raw_socket(stream, Role::Server, Some(config)).await;
        session::run(ws, context, Grant::anonymous(), outlet).await;
    })
}

/// Connects a client through a pipe of `buffer` bytes; the session runs in a task.
async fn connect(server: &Server, buffer: usize) -> (Client, tokio::task::JoinHandle<()>) {
    let (client_io, server_io) = tokio::io::duplex(buffer);
    let session = spawn_session(server, server_io, Arc::new(Outlet::through_session(false)));
    let client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
    (client, session)
}

/// A TCP connection on loopback whose buffers are small (4 KiB asked for on each
/// side), so a few frames fill it: the client's end and the server's.
async fn small_buffer_pair() -> (tokio::net::TcpStream, tokio::net::TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("its address");
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let (client, accepted) = tokio::join!(socket.connect(address), listener.accept());
    let (client, (server, _)) = (client.expect("connects"), accepted.expect("accepts"));
    socket2::SockRef::from(&server)
        .set_send_buffer_size(4096)
        .expect("a small buffer");
    (client, server)
}

/// The next text message as JSON, answering pings on the way (as a client does).
/// Fails after a minute of the paused clock rather than waiting forever.
async fn next_json<S: AsyncRead + AsyncWrite + Unpin>(client: &mut WebSocketStream<S>) -> Value {
    let next = async {
        loop {
            match client.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(text.as_str()).expect("the server sends JSON")
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), next)
        .await
        .expect("a message within a minute")
}

async fn send<S: AsyncRead + AsyncWrite + Unpin>(client: &mut WebSocketStream<S>, value: Value) {
    client
        .send(Message::text(value.to_string()))
        .await
        .expect("the session reads");
}

fn publish(server: &mut Server, data: Value) {
    let data: Sections = data.as_object().cloned().unwrap_or_default();
    let snapshot = Snapshot::now(data);
    let stamp = crate::timestamp::iso(&snapshot.taken_at);
    server.bus.publish(snapshot, stamp, &[]);
}

#[tokio::test(start_paused = true)]
async fn a_client_is_greeted_then_streamed_every_tick() {
    let mut server = server(limits());
    let (mut client, _session) = connect(&server, 64 * 1024).await;
    let greeting = next_json(&mut client).await;
    assert_eq!(
        (greeting["type"].as_str(), greeting["status"].as_str()),
        (Some("connection"), Some("connected"))
    );
    for n in 1..=3 {
        publish(&mut server, json!({"memory": {"percentage": n}}));
        let frame = next_json(&mut client).await;
        assert_eq!(frame["type"], "monitoring_data");
        assert_eq!(frame["data"]["memory"]["percentage"], n);
    }
    assert_eq!(server.context.stats.frames_sent.load(Ordering::Relaxed), 3);
}

#[tokio::test(start_paused = true)]
async fn subscribe_filters_sections_and_thins_the_cadence() {
    let mut server = server(limits());
    let (mut client, _session) = connect(&server, 64 * 1024).await;
    next_json(&mut client).await;
    send(
        &mut client,
        json!({"type": "subscribe", "sections": ["memory"], "interval_ms": 1000}),
    )
    .await;
    let reply = next_json(&mut client).await;
    assert_eq!(reply["type"], "subscribed");
    assert_eq!(reply["interval_ms"], 1000);
    assert_eq!(reply["sections"], json!(["memory"]));
    for n in 1..=4 {
        publish(
            &mut server,
            json!({"memory": {"percentage": n}, "disk": {"percentage": 1}}),
        );
    }
    // Ticks 2 and 4 of a 500 ms server at 1000 ms; the bus keeps only the newest, so
    // the client sees the newest even tick.
    let frame = next_json(&mut client).await;
    assert_eq!(frame["data"], json!({"memory": {"percentage": 4}}));
    send(
        &mut client,
        json!({"type": "subscribe", "interval_ms": 700}),
    )
    .await;
    let refused = next_json(&mut client).await;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("INVALID_PARAMS"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_burst_past_the_limit_is_answered_once_rate_limited_then_allowed_again() {
    let mut limits = limits();
    limits.rate_limit = 2.0;
    limits.rate_burst = 3.0;
    let server = server(limits);
    let (mut client, _session) = connect(&server, 64 * 1024).await;
    next_json(&mut client).await;
    for _ in 0..6 {
        send(&mut client, json!({"type": "ping"})).await;
    }
    let mut replies = Vec::new();
    for _ in 0..4 {
        let reply = next_json(&mut client).await;
        let kind = reply["code"]
            .as_str()
            .or(reply["type"].as_str())
            .unwrap_or("?");
        replies.push(kind.to_owned());
    }
    assert_eq!(replies, ["pong", "pong", "pong", "RATE_LIMITED"]);
    assert_eq!(server.context.stats.rate_limited.load(Ordering::Relaxed), 3);
    // A second refills two tokens at 2 per second; the two refused pings after the
    // first got no reply of their own, so the next message is this ping's pong.
    tokio::time::advance(Duration::from_secs(1)).await;
    send(&mut client, json!({"type": "ping"})).await;
    assert_eq!(next_json(&mut client).await["type"], "pong");
}

#[tokio::test(start_paused = true)]
async fn a_client_that_answers_pings_stays_connected() {
    let mut limits = limits();
    limits.ping_interval = Duration::from_secs(20);
    limits.ping_timeout = Duration::from_secs(20);
    let server = server(limits);

    // Reading answers pings (tungstenite replies with a pong).
    let (mut alive, alive_session) = connect(&server, 64 * 1024).await;
    next_json(&mut alive).await;
    let reader = tokio::spawn(async move {
        let mut pings = 0;
        while let Some(Ok(message)) = alive.next().await {
            if message.is_ping() {
                pings += 1;
                if pings == 5 {
                    break;
                }
            }
        }
        (pings, alive)
    });
    let (pings, _alive) = tokio::time::timeout(Duration::from_secs(300), reader)
        .await
        .expect("five pings within five minutes")
        .expect("the reader ends");
    assert_eq!(pings, 5, "five keepalive pings, each answered");
    assert!(
        !alive_session.is_finished(),
        "still connected after five intervals"
    );
    assert_eq!(
        server.context.stats.ping_timeouts.load(Ordering::Relaxed),
        0
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_answers_pings_is_closed_with_1011() {
    let mut limits = limits();
    limits.ping_interval = Duration::from_secs(20);
    limits.ping_timeout = Duration::from_secs(20);
    let server = server(limits);
    // A raw peer that never answers pings; it reads the bytes to see the close frame.
    let (mut silent, server_io) = tokio::io::duplex(64 * 1024);
    let started = tokio::time::Instant::now();
    let session = spawn_session(&server, server_io, Arc::new(Outlet::through_session(false)));
    let mut bytes = Vec::new();
    let reading = tokio::io::AsyncReadExt::read_to_end(&mut silent, &mut bytes);
    tokio::time::timeout(Duration::from_secs(300), reading)
        .await
        .expect("the session ends within five minutes")
        .expect("the pipe reads until the session ends");
    session.await.expect("the session ends");
    let lasted = started.elapsed();
    assert!(
        lasted > Duration::from_secs(40) && lasted <= Duration::from_secs(70),
        "closed after the ping interval and timeout: {lasted:?}"
    );
    assert_eq!(
        server.context.stats.ping_timeouts.load(Ordering::Relaxed),
        1
    );
    let frames = frames(&bytes);
    assert!(
        frames
            .iter()
            .any(|(op, _)| *op == OpCode::Control(Control::Ping)),
        "{frames:?}"
    );
    let (last, payload) = frames.last().expect("frames");
    assert_eq!(*last, OpCode::Control(Control::Close), "{frames:?}");
    let code = payload.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    assert_eq!(code, Some(1011), "ping timeout closes with 1011");
}

/// Splits server-to-client bytes into (opcode, payload) frames.
fn frames(bytes: &[u8]) -> Vec<(OpCode, Vec<u8>)> {
    let mut cursor = std::io::Cursor::new(bytes);
    let mut frames = Vec::new();
    while let Some((header, length)) = FrameHeader::parse(&mut cursor).expect("a frame header") {
        let start = usize::try_from(cursor.position()).expect("in memory");
        let end = start + usize::try_from(length).expect("in memory");
        frames.push((header.opcode, bytes[start..end].to_vec()));
        cursor.set_position(end as u64);
    }
    frames
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_is_dropped_at_the_send_deadline_alone() {
    let mut limits = limits();
    limits.send_timeout = Duration::from_secs(2);
    let mut server = server(limits);
    // A 4 KiB pipe fills after a few frames the client never reads.
    let (_stalled, stalled_session) = connect(&server, 4 * 1024).await;
    let (mut reader, _reader_session) = connect(&server, 1024 * 1024).await;
    next_json(&mut reader).await;
    let big = "x".repeat(2000);
    let mut received = 0;
    for _ in 0..20 {
        publish(&mut server, json!({"system": {"padding": big}}));
        assert_eq!(next_json(&mut reader).await["type"], "monitoring_data");
        received += 1;
        tokio::time::advance(Duration::from_millis(500)).await;
        if stalled_session.is_finished() {
            break;
        }
    }
    assert!(
        stalled_session.is_finished(),
        "the stalled client was dropped"
    );
    assert_eq!(
        server
            .context
            .stats
            .slow_disconnects
            .load(Ordering::Relaxed),
        1
    );
    assert!(received >= 4, "the other client kept receiving: {received}");
    assert_eq!(server.context.stats.connected.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn broadcast_bytes_never_land_inside_a_queued_pong() {
    let mut server = server(limits());
    // A pipe so small that the pongs for the client's pings do not fit: tungstenite
    // keeps the rest of one queued while the session waits for the next tick.
    let (mut client, _session) = connect(&server, 256).await;
    next_json(&mut client).await;
    for n in 0..6u8 {
        client
            .send(Message::Ping(vec![n; 100].into()))
            .await
            .expect("the session reads pings");
    }
    // Paused time moves on only once every task waits: the session has read the pings
    // and answered what the pipe takes.
    tokio::time::sleep(Duration::from_millis(1)).await;
    let big = "y".repeat(1500);
    publish(&mut server, json!({"system": {"padding": big}}));
    let mut pongs = 0;
    let frame = loop {
        match client.next().await {
            Some(Ok(Message::Pong(payload))) => {
                assert_eq!(payload.len(), 100, "a whole pong");
                pongs += 1;
            }
            Some(Ok(Message::Text(text))) => {
                break serde_json::from_str::<Value>(text.as_str()).expect("intact JSON")
            }
            other => panic!("expected pongs then the tick, got {other:?}"),
        }
    };
    assert!(pongs >= 2, "the pipe held pongs before the tick: {pongs}");
    assert_eq!(frame["data"]["system"]["padding"], big.as_str());
}

/// A plain TCP client whose socket fills up: the fan-out writes ticks straight into the
/// socket while the session writes replies into the same socket. Whatever the order,
/// the client reads whole frames only: every reply, and the ticks in order, skipping
/// the ones that found the socket full, ending with the newest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_and_replies_never_interleave_on_a_full_socket() {
    let mut limits = limits();
    limits.send_timeout = Duration::from_secs(5);
    let mut server = server(limits);
    let (client_tcp, server_tcp) = small_buffer_pair().await;
    let (stream, outlet) = socket::direct(server_tcp, bytes::Bytes::new(), false);
    let session = spawn_session(&server, stream, outlet);
    let mut client = WebSocketStream::from_raw_socket(client_tcp, Role::Client, None).await;
    assert_eq!(next_json(&mut client).await["type"], "connection");

    // The client stops reading; ticks of 20 KB and its own pings go out meanwhile.
    const TICKS: u64 = 30;
    const PINGS: usize = 10;
    let padding = "x".repeat(20_000);
    for n in 1..=TICKS {
        publish(
            &mut server,
            json!({"memory": {"percentage": n}, "pad": padding}),
        );
        if n % 3 == 0 {
            send(&mut client, json!({"type": "ping"})).await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut ticks = Vec::new();
    let mut pongs = 0;
    let reading = async {
        while ticks.last() != Some(&TICKS) || pongs < PINGS {
            let message = client.next().await.expect("open").expect("whole frames");
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).expect("whole JSON");
            match value["type"].as_str() {
                Some("monitoring_data") => {
                    ticks.push(value["data"]["memory"]["percentage"].as_u64().expect("n"))
                }
                Some("pong") => pongs += 1,
                other => panic!("unexpected {other:?}: {value}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), reading)
        .await
        .expect("every reply and the newest tick within 10 s");
    assert!(ticks.windows(2).all(|w| w[0] < w[1]), "in order: {ticks:?}");
    assert!(
        ticks.len() < TICKS as usize,
        "a full socket skips ticks: {ticks:?}"
    );
    let skipped = server.context.stats.frames_skipped.load(Ordering::Relaxed);
    assert_eq!(skipped, TICKS - ticks.len() as u64, "each skip counted");
    session.abort();
}

/// tungstenite's reply went out in part; then the client reads and the socket has room
/// again: the tick must wait for the reply's end rather than land inside it.
#[tokio::test]
async fn a_tick_never_lands_inside_a_reply_that_went_out_in_part() {
    use tokio::io::AsyncReadExt;
    let mut server = server(limits());
    let (mut client_tcp, server_tcp) = small_buffer_pair().await;
    let outlet = Outlet::direct(server_tcp, false);
    outlet.start_pings(tokio::time::Instant::now() + Duration::from_secs(3600));
    let socket = outlet.socket().expect("a direct outlet");

    // A 200 KB reply, as tungstenite would write it: the socket takes a part.
    let reply = crate::pipeline::framed::Framed::text(&"r".repeat(200_000));
    let reply = reply.frame().clone();
    let first = std::future::poll_fn(|cx| outlet.poll_write_reply(socket, cx, &reply))
        .await
        .expect("a first part");
    assert!(first < reply.len(), "the socket took it all: {first}");

    // The client reads some of it: the socket has room again, mid-reply.
    let mut taken = vec![0u8; 32 * 1024];
    let read = client_tcp.read(&mut taken).await.expect("reads");
    assert!(read > 0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    publish(&mut server, json!({"memory": {"percentage": 7}}));
    let frame = server.context.frames.borrow().clone().expect("a frame");
    let offered = outlet.offer(Some(&frame), tokio::time::Instant::now());
    assert_eq!(offered.sent, 0, "a tick was written inside the reply");

    // The rest of the reply, then the tick: the client reads exactly both frames.
    let mut received = taken[..read].to_vec();
    let mut written = first;
    let writing = async {
        while written < reply.len() {
            written +=
                std::future::poll_fn(|cx| outlet.poll_write_reply(socket, cx, &reply[written..]))
                    .await
                    .expect("the rest");
        }
        std::future::poll_fn(|cx| outlet.poll_drain(cx))
            .await
            .expect("the tick");
    };
    let expected = reply.len() + frame.message.frame().len();
    let reading = async {
        while received.len() < expected {
            let n = client_tcp.read(&mut taken).await.expect("reads");
            assert!(n > 0, "closed early");
            received.extend_from_slice(&taken[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(writing, reading)
    })
    .await
    .expect("both within 10 s");
    assert_eq!(&received[..reply.len()], &reply[..], "the reply whole");
    assert_eq!(
        &received[reply.len()..],
        &frame.message.frame()[..],
        "then the tick"
    );
}
