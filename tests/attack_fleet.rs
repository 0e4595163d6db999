//! Issue 20, items 4 and 5: a fleet gateway under attack from anyone allowed to
//! publish on its bus. A real `nats-server` started here on a free port and stopped by
//! its PID, a real publishing server, a real gateway, a real viewer subscribed to every
//! host, and the attacks of `tests/attacks/fleet.rs`. During each, a witness client of
//! the gateway's own stream must get every tick.

#[path = "attacks/fleet.rs"]
mod attack;

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use monitoring_test_support::http::get;
use monitoring_test_support::nats::Nats;
use monitoring_test_support::witness::Witness;
use monitoring_test_support::{connect, next_of_type, send_text, Client, Server, Setup};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

const SECOND: Duration = Duration::from_secs(1);
/// The bus's token.
const TOKEN: &str = "attack-fleet-token-0123456789";
/// The variable the servers read it from.
const TOKEN_ENV: &str = "MONITORING_ATTACK_FLEET_TOKEN";
/// The interval of every server here (the default).
const INTERVAL: Duration = Duration::from_millis(500);
/// The real publisher's name.
const REAL: &str = "real-1";
const PLUGINS: [&str; 4] = [
    "collector-cpu",
    "collector-disk",
    "collector-memory",
    "collector-system",
];
/// A rule that cannot fire, replacing the seed's.
const QUIET: &str =
    "[[alerts.rules]]\nmetric = \"memory.percentage\"\ncomponent = \"memory\"\nwarning = 100.0\n";

/// A server on the bus named `host`; a gateway too when `gateway`.
fn fleet_server(nats: &Nats, host: &str, gateway: bool) -> Server {
    let config = format!(
        "[fleet]\nnats_url = \"{}\"\nhost_name = \"{host}\"\ntoken_env = \"{TOKEN_ENV}\"\n\
         gateway = {gateway}\nstale_after = 4\n\n{QUIET}",
        nats.url()
    );
    let server = Server::start_with_env(
        Setup {
            plugins: &PLUGINS,
            config: &config,
            extra_files: &[],
        },
        &[(TOKEN_ENV, TOKEN)],
    );
    let joined = server.wait_for_log(|l| l.contains("Connected to NATS."), 10 * SECOND);
    assert!(
        joined.is_some(),
        "{host} did not connect:\n{}",
        server.log_text()
    );
    server
}

/// The gateway and the real publisher, once the gateway shows the publisher `up`.
fn fleet(nats: &Nats) -> (Server, Server) {
    let gateway = fleet_server(nats, "gateway", true);
    let real = fleet_server(nats, REAL, false);
    let deadline = Instant::now() + 15 * SECOND;
    while host_state(&gateway, REAL).as_deref() != Some("up") {
        assert!(
            Instant::now() < deadline,
            "the gateway never showed {REAL} up:\n{}",
            gateway.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (gateway, real)
}

/// `host`'s state in the gateway's `/api/hosts`.
fn host_state(gateway: &Server, host: &str) -> Option<String> {
    let reply = get(gateway.port, "/api/hosts");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["hosts"]
        .as_array()?
        .iter()
        .find(|info| info["name"] == host)
        .and_then(|info| info["state"].as_str().map(str::to_owned))
}

/// A viewer of the gateway subscribed to every host, past its `subscribed` reply.
async fn viewer(gateway: &Server) -> Client {
    let mut ws = connect(&gateway.url("/ws")).await;
    next_of_type(&mut ws, "connection", 5 * SECOND)
        .await
        .expect("greeting");
    send_text(&mut ws, r#"{"type":"subscribe","hosts":["*"]}"#).await;
    next_of_type(&mut ws, "subscribed", 5 * SECOND)
        .await
        .expect("subscribed");
    ws
}

/// What a viewer received.
#[derive(Debug, Default, Clone)]
struct Received {
    messages: usize,
    bytes: usize,
    hosts_messages: usize,
    /// `hosts` messages that showed [`REAL`] other than `up`.
    real_not_up: Vec<String>,
}

/// Reads `ws` in the background until `budget` bytes arrived (then it stops: the
/// test has failed already, and the old gateway would send gigabytes) or `for_at_most`.
fn record(mut ws: Client, budget: usize, for_at_most: Duration) -> Arc<Mutex<Received>> {
    let received = Arc::new(Mutex::new(Received::default()));
    let sink = Arc::clone(&received);
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + for_at_most;
        loop {
            let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, ws.next()).await else {
                break;
            };
            let Message::Text(text) = message else {
                continue;
            };
            let mut seen = sink.lock().unwrap_or_else(|e| e.into_inner());
            seen.messages += 1;
            seen.bytes += text.len();
            if text.as_str().starts_with(r#"{"type":"hosts""#) {
                seen.hosts_messages += 1;
                let value: Value = serde_json::from_str(text.as_str()).expect("JSON");
                let shown = value["hosts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|info| info["name"] == REAL && info["state"] != "up");
                let changed = value["changes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|change| change["host"] == REAL && change["to"] != "up");
                for bad in shown.chain(changed) {
                    seen.real_not_up.push(bad.to_string());
                }
            }
            if seen.bytes > budget {
                break;
            }
        }
    });
    received
}

fn snapshot(received: &Mutex<Received>) -> Received {
    received.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The gateway's peak resident memory (`VmHWM`), in MB.
fn peak_rss_mb(server: &Server) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid()))
        .expect("the gateway's /proc status");
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line");
    kb / 1024.0
}

/// The gateway's `/health` `fleet` object.
fn fleet_health(gateway: &Server) -> Value {
    get(gateway.port, "/health").json()["fleet"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_new_host_names_costs_a_viewer_only_the_changes() {
    let Some(nats) = Nats::start(TOKEN) else {
        return;
    };
    let (gateway, _real) = fleet(&nats);
    let witness = Witness::start(&gateway).await;
    // What an honest viewer gets: the flood's data (5,000 tiny frames, ~0.6 MB), the
    // flood's hosts appearing and, 2 s later, going stale (~1.2 MB each), the real
    // host's frames. The old gateway sent the whole table per change: gigabytes.
    const ALLOWED: usize = 8 << 20;
    let received = record(viewer(&gateway).await, 4 * ALLOWED, 10 * SECOND);
    let bus = attack::connect(&nats.url(), Some(TOKEN))
        .await
        .expect("the attacker connects");
    let sent = attack::names(&bus, "monitoring", 0, 5000)
        .await
        .expect("the flood is published");
    eprintln!(
        "flood: {} frames, {} bytes in {:.3} s",
        sent.messages,
        sent.bytes,
        sent.elapsed.as_secs_f64()
    );
    // Long enough for the flood's hosts to appear and go stale (stale_after = 2 s).
    let deadline = Instant::now() + 8 * SECOND;
    while Instant::now() < deadline && snapshot(&received).bytes <= ALLOWED {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = snapshot(&received);
    eprintln!(
        "viewer: {} messages ({} hosts), {} bytes",
        seen.messages, seen.hosts_messages, seen.bytes
    );
    assert!(
        seen.bytes <= ALLOWED,
        "a viewer of all hosts received {} bytes ({} messages, {} of them `hosts`) \
         for 5,000 tiny frames; at most {ALLOWED} expected",
        seen.bytes,
        seen.messages,
        seen.hosts_messages
    );
    assert!(
        seen.hosts_messages <= 20,
        "{} `hosts` messages in 8 s: not one per tick",
        seen.hosts_messages
    );
    assert!(
        seen.real_not_up.is_empty(),
        "the real host was shown not up during the flood: {:?}",
        seen.real_not_up
    );
    assert_eq!(host_state(&gateway, REAL).as_deref(), Some("up"));
    let state_lines = gateway
        .logs()
        .iter()
        .filter(|line| line.contains("Fleet host"))
        .count();
    assert!(
        state_lines <= 5,
        "{state_lines} log lines about fleet hosts for one flood: not rate-limited"
    );
    witness.assert_every_tick(INTERVAL, "a flood of 5,000 new host names");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_frames_are_refused_counted_and_never_kept() {
    let Some(nats) = Nats::start(TOKEN) else {
        return;
    };
    let (gateway, _real) = fleet(&nats);
    let witness = Witness::start(&gateway).await;
    let before = peak_rss_mb(&gateway);
    // A gigabyte: four times what the gateway may hold, so keeping them would show.
    const HOSTS: u64 = 1000;
    let bus = attack::connect(&nats.url(), Some(TOKEN))
        .await
        .expect("the attacker connects");
    let sent = attack::big(&bus, "monitoring", HOSTS as usize, 1_000_000)
        .await
        .expect("the big frames are published");
    eprintln!(
        "big: {} frames, {} bytes in {:.3} s",
        sent.messages,
        sent.bytes,
        sent.elapsed.as_secs_f64()
    );
    // Until the gateway has taken in all of them, one way or the other.
    let deadline = Instant::now() + 20 * SECOND;
    let big_hosts = |gateway: &Server| {
        get(gateway.port, "/api/hosts").json()["hosts"]
            .as_array()
            .map_or(0, |hosts| {
                hosts
                    .iter()
                    .filter(|info| info["name"].as_str().is_some_and(|n| n.starts_with("big-")))
                    .count() as u64
            })
    };
    // A frame the NATS client dropped while the gateway was behind never reached it.
    let taken_in = |health: &Value| {
        health["frames_oversize"].as_u64().unwrap_or(0)
            + health["frames_dropped"].as_u64().unwrap_or(0)
    };
    loop {
        if taken_in(&fleet_health(&gateway)) + big_hosts(&gateway) >= HOSTS
            || Instant::now() > deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = peak_rss_mb(&gateway);
    eprintln!("gateway peak RSS: {before:.1} MB before, {after:.1} MB after");
    // What the gateway may hold at once: the NATS client's queue for the fleet's
    // subscription (the host's `SUBSCRIPTION_CAPACITY`, 256 messages) of these 1 MB
    // frames, plus room for the client's read buffer and the allocator. Without that
    // bound async-nats queues 65,536 messages, and a gateway starved of CPU while the
    // flood arrived held 67 MB of 300 (CI, 2026-12-06).
    const QUEUE_MB: f64 = 256.0;
    assert!(
        after - before < QUEUE_MB + 32.0,
        "1,000 frames of 1 MB grew the gateway's peak RSS from {before:.1} MB to {after:.1} MB"
    );
    let health = fleet_health(&gateway);
    let oversize = health["frames_oversize"].as_u64().unwrap_or(0);
    // Dropped messages may include the real host's frames too, never refused ones.
    assert!(
        taken_in(&health) >= HOSTS && (1..=HOSTS).contains(&oversize),
        "1,000 big frames, yet {health}"
    );
    assert_eq!(big_hosts(&gateway), 0, "a refused frame adds no host");
    let metrics = get(gateway.port, "/metrics").body;
    assert!(
        metrics.contains(&format!(
            "monitoring_fleet_frames_oversize_total {oversize}"
        )),
        "{metrics}"
    );
    let warned = gateway
        .logs()
        .iter()
        .filter(|line| line.contains("max_frame_bytes were refused"))
        .count();
    assert!(
        (1..=3).contains(&warned),
        "{warned} warnings about refused frames"
    );
    // A viewer arriving now gets a small greeting: the table and the real host's frame.
    const GREETING: usize = 256 << 10;
    let greeting = record(viewer(&gateway).await, 4 * GREETING, SECOND);
    tokio::time::sleep(SECOND + SECOND / 5).await;
    let seen = snapshot(&greeting);
    assert!(
        seen.bytes <= GREETING,
        "a new viewer's first second was {} bytes in {} messages",
        seen.bytes,
        seen.messages
    );
    assert_eq!(host_state(&gateway, REAL).as_deref(), Some("up"));
    witness.assert_every_tick(INTERVAL, "300 hosts publishing 1 MB frames");
}
