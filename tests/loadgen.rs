//! `loadgen`: opens N WebSocket clients against a running server and measures what the
//! issue's benchmark asks for, per broadcast: end-to-end latency (receipt time − the
//! message's timestamp), fan-out spread (last − first receipt of one broadcast), the
//! broadcast interval, `ping` → `pong` round-trip time under load, and the server's CPU
//! seconds and RSS from /proc.
//!
//! It speaks only the seed's protocol, so the same run measures the Python seed and
//! this server. See `bench/compare.sh` for the side-by-side run behind BENCHMARKS.md.
//!
//! ```text
//! loadgen --url ws://127.0.0.1:8765/ --pid 1234 --clients 1000 --duration 30 [--stalled 5] [--pingers 20]
//! loadgen --url wss://127.0.0.1:8443/ --ca ca.pem ...        (TLS, trusting that CA)
//! loadgen --url ws://127.0.0.1:8765/ --pid 1234 --handshakes 500   (connection cost)
//! loadgen ... --subscribe junk    (each client subscribes to 64 random 64-char names)
//! ```
//!
//! `--handshakes N` opens N connections one after another (TCP, TLS with `--ca`, the
//! WebSocket upgrade, the first message, close) and reports the time and the server's
//! CPU per connection.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

struct Args {
    url: String,
    pid: Option<u32>,
    clients: usize,
    duration: Duration,
    warmup: Duration,
    stalled: usize,
    pingers: usize,
    label: String,
    /// PEM CA to trust for `wss://` URLs.
    ca: Option<PathBuf>,
    /// Sequential connections to time instead of the fan-out run.
    handshakes: usize,
    /// What each client subscribes to right after connecting.
    subscribe: Subscribe,
}

/// `--subscribe`: the subscription each client sends once it is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subscribe {
    /// None: the default full stream.
    Plain,
    /// A random non-empty subset of the built-in sections (distinct sets per client).
    Real,
    /// 64 random 64-character section names: the memory attack of issue 10.
    Junk,
}

/// The subscription of one client, from its own pseudo-random sequence.
fn subscription(mode: Subscribe, client: u64) -> Option<String> {
    // splitmix64: cheap, deterministic per client, and no dependency.
    let mut state = client.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let names: Vec<String> = match mode {
        Subscribe::Plain => return None,
        Subscribe::Real => {
            let all = ["processor", "memory", "disk", "system"];
            let mask = (next() % 15) + 1;
            all.iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, name)| (*name).to_owned())
                .collect()
        }
        Subscribe::Junk => (0..64)
            .map(|_| (0..4).map(|_| format!("{:016x}", next())).collect())
            .collect(),
    };
    let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    Some(format!(
        r#"{{"type":"subscribe","sections":[{}]}}"#,
        names.join(",")
    ))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: "ws://127.0.0.1:8765/".into(),
        pid: None,
        clients: 100,
        duration: Duration::from_secs(20),
        warmup: Duration::from_secs(3),
        stalled: 0,
        pingers: 10,
        label: "server".into(),
        ca: None,
        handshakes: 0,
        subscribe: Subscribe::Plain,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--pid" => args.pid = Some(value()?.parse().map_err(|e| format!("--pid: {e}"))?),
            "--clients" => {
                args.clients = value()?.parse().map_err(|e| format!("--clients: {e}"))?
            }
            "--duration" => args.duration = secs(&value()?)?,
            "--warmup" => args.warmup = secs(&value()?)?,
            "--stalled" => {
                args.stalled = value()?.parse().map_err(|e| format!("--stalled: {e}"))?
            }
            "--pingers" => {
                args.pingers = value()?.parse().map_err(|e| format!("--pingers: {e}"))?
            }
            "--label" => args.label = value()?,
            "--ca" => args.ca = Some(PathBuf::from(value()?)),
            "--subscribe" => {
                args.subscribe = match value()?.as_str() {
                    "plain" => Subscribe::Plain,
                    "real" => Subscribe::Real,
                    "junk" => Subscribe::Junk,
                    other => return Err(format!("--subscribe: plain, real or junk, not {other}")),
                }
            }
            "--handshakes" => {
                args.handshakes = value()?.parse().map_err(|e| format!("--handshakes: {e}"))?
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

fn secs(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .map(Duration::from_secs_f64)
        .map_err(|e| format!("{text}: {e}"))
}

/// What every client records; merged at the end. Receipt handling does as little as
/// possible (note the time, keep the stamp) so the tool measures the server, not itself.
#[derive(Default)]
struct Record {
    /// (receipt time, the message's timestamp) per `monitoring_data`.
    receipts: Vec<(Instant, String)>,
    pings_ms: Vec<f64>,
    messages: u64,
    disconnects: u64,
}

/// Maps `Instant`s to local wall-clock time, from one reference pair.
struct Clock {
    instant: Instant,
    wall: chrono::NaiveDateTime,
}

impl Clock {
    fn now() -> Self {
        Self {
            instant: Instant::now(),
            wall: chrono::Local::now().naive_local(),
        }
    }

    fn wall(&self, at: Instant) -> chrono::NaiveDateTime {
        let offset = chrono::Duration::from_std(at.saturating_duration_since(self.instant))
            .unwrap_or_default();
        self.wall + offset
    }
}

/// Pulls `"timestamp":"…"` out of a message without parsing the whole JSON.
/// Both spellings occur: ours is compact, Python's `json.dumps` puts a space after `:`.
fn timestamp_of(text: &str) -> Option<&str> {
    let key = text.find("\"timestamp\":")? + "\"timestamp\":".len();
    let rest = text[key..].trim_start().strip_prefix('"')?;
    let len = rest.find('"')?;
    Some(&rest[..len])
}

fn latency_ms(clock: &Clock, received: Instant, stamp: &str) -> Option<f64> {
    let sent = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some((clock.wall(received) - sent).num_microseconds()? as f64 / 1000.0)
}

async fn client(
    url: String,
    pinger: bool,
    subscribe: Option<String>,
    measuring: Arc<std::sync::atomic::AtomicBool>,
    stop: Instant,
) -> Record {
    let mut record = Record::default();
    let Some(mut ws) = open(&url).await else {
        record.disconnects += 1;
        return record;
    };
    if let Some(subscribe) = subscribe {
        if ws.send(Message::text(subscribe)).await.is_err() {
            record.disconnects += 1;
            return record;
        }
    }
    let mut ping_every = tokio::time::interval(Duration::from_secs(1));
    let mut ping_sent: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if now >= stop {
            break;
        }
        tokio::select! {
            message = ws.next() => {
                let received = Instant::now();
                let Some(Ok(message)) = message else { record.disconnects += 1; break };
                let Message::Text(text) = message else { continue };
                let text = text.as_str();
                if !measuring.load(std::sync::atomic::Ordering::Relaxed) {
                    continue;
                }
                if text.contains("\"type\":\"monitoring_data\"") || text.contains("\"type\": \"monitoring_data\"") {
                    record.messages += 1;
                    if let Some(stamp) = timestamp_of(text) {
                        record.receipts.push((received, stamp.to_owned()));
                    }
                } else if text.contains("pong") {
                    if let Some(sent) = ping_sent.take() {
                        record.pings_ms.push(received.duration_since(sent).as_secs_f64() * 1000.0);
                    }
                }
            }
            _ = ping_every.tick(), if pinger => {
                if ping_sent.is_none() && measuring.load(std::sync::atomic::Ordering::Relaxed) {
                    ping_sent = Some(Instant::now());
                    if ws.send(Message::text(r#"{"type":"ping"}"#)).await.is_err() {
                        record.disconnects += 1;
                        break;
                    }
                }
            }
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(stop)) => break,
        }
    }
    let _ = ws.close(None).await;
    record
}

/// Plain TCP or TLS, behind one type.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The TLS client for `wss://` URLs, trusting `--ca`.
static TLS: OnceLock<tokio_rustls::TlsConnector> = OnceLock::new();

fn tls_connector(ca: &std::path::Path) -> Result<tokio_rustls::TlsConnector, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| format!("--ca: {e}"))? {
        roots
            .add(cert.map_err(|e| format!("--ca: {e}"))?)
            .map_err(|e| format!("--ca: {e}"))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// `host:port` of a `ws://` or `wss://` URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

/// A WebSocket client on `url`, over TLS for `wss://`.
async fn open(url: &str) -> Option<WebSocketStream<Box<dyn Io>>> {
    let authority = authority(url);
    let tcp = TcpStream::connect(authority).await.ok()?;
    let stream: Box<dyn Io> = if url.starts_with("wss://") {
        let host = authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host);
        let name = rustls::pki_types::ServerName::try_from(host.to_owned()).ok()?;
        Box::new(TLS.get()?.connect(name, tcp).await.ok()?)
    } else {
        Box::new(tcp)
    };
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await.ok()?;
    Some(ws)
}

/// `--handshakes`: N connections one after another, each to its first message.
async fn handshakes(args: &Args) {
    let before = args.pid.and_then(proc_usage);
    let started = Instant::now();
    let mut times = Vec::with_capacity(args.handshakes);
    let mut failed = 0;
    for _ in 0..args.handshakes {
        let one = Instant::now();
        match open(&args.url).await {
            Some(mut ws) => {
                let _ = ws.next().await;
                times.push(one.elapsed().as_secs_f64() * 1000.0);
                let _ = ws.close(None).await;
            }
            None => failed += 1,
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let after = args.pid.and_then(proc_usage);
    let cpu = match (before, after) {
        (Some((a, _)), Some((b, _))) => b - a,
        _ => f64::NAN,
    };
    let times = sorted(times);
    println!(
        "== {} : {} sequential connections ({failed} failed) in {wall:.2} s",
        args.label, args.handshakes
    );
    println!(
        "connect to first message ms: p50 {:.2}  p99 {:.2}",
        percentile(&times, 50.0),
        percentile(&times, 99.0)
    );
    println!(
        "server CPU per connection: {:.0} µs ({cpu:.2} s total)",
        cpu / args.handshakes.max(1) as f64 * 1e6
    );
}

/// Clients that complete the handshake and never read again.
async fn stall(url: String, port: u16) -> Option<Box<dyn std::any::Any + Send>> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.set_recv_buffer_size(2048).ok()?;
    let stream = socket.connect(([127, 0, 0, 1], port).into()).await.ok()?;
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await.ok()?;
    Some(Box::new(ws))
}

/// utime+stime in seconds, and RSS in bytes, of a process.
fn proc_usage(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ticks / 100.0, rss_kb * 1024))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(|a, b| a.total_cmp(b));
    values
}

/// Every client's records, grouped by broadcast.
#[derive(Default)]
struct Merged {
    /// timestamp → (receipt time, end-to-end latency in ms) per client that got it.
    broadcasts: HashMap<String, Vec<(Instant, f64)>>,
    pings_ms: Vec<f64>,
    messages: u64,
    disconnects: u64,
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("loadgen: {e}\nusage: loadgen --url URL [--pid PID] [--clients N] [--duration S] [--warmup S] [--stalled K] [--pingers M] [--label NAME] [--ca PEM] [--handshakes N] [--subscribe plain|real|junk]");
            std::process::exit(2);
        }
    };
    if let Some(ca) = &args.ca {
        match tls_connector(ca) {
            Ok(connector) => {
                let _ = TLS.set(connector);
            }
            Err(e) => {
                eprintln!("loadgen: {e}");
                std::process::exit(2);
            }
        }
    }
    if args.handshakes > 0 {
        handshakes(&args).await;
        return;
    }
    let port: u16 = args
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or(8765);
    let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clock = Clock::now();
    let start = Instant::now();
    let stop = start + args.warmup + args.duration;
    let mut stalled = Vec::new();
    for _ in 0..args.stalled {
        stalled.push(stall(args.url.clone(), port).await);
    }
    let mut tasks = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        tasks.push(tokio::spawn(client(
            args.url.clone(),
            i < args.pingers,
            subscription(args.subscribe, i as u64),
            Arc::clone(&measuring),
            stop,
        )));
        if i % 200 == 199 {
            tokio::task::yield_now().await;
        }
    }
    let connected_in = start.elapsed();
    tokio::time::sleep_until(tokio::time::Instant::from_std(start + args.warmup)).await;
    measuring.store(true, std::sync::atomic::Ordering::Relaxed);
    let before = args.pid.and_then(proc_usage);
    let measured_from = Instant::now();
    tokio::time::sleep_until(tokio::time::Instant::from_std(stop)).await;
    let after = args.pid.and_then(proc_usage);
    let measured = measured_from.elapsed().as_secs_f64();

    let mut all = Merged::default();
    for task in tasks {
        if let Ok(record) = task.await {
            all.messages += record.messages;
            all.disconnects += record.disconnects;
            all.pings_ms.extend(record.pings_ms);
            for (received, stamp) in record.receipts {
                let latency = latency_ms(&clock, received, &stamp).unwrap_or(f64::NAN);
                all.broadcasts
                    .entry(stamp)
                    .or_default()
                    .push((received, latency));
            }
        }
    }
    drop(stalled);
    let mut stamps: Vec<&String> = all.broadcasts.keys().collect();
    stamps.sort();
    let latencies = sorted(all.broadcasts.values().flatten().map(|(_, l)| *l).collect());
    let spreads = sorted(
        all.broadcasts
            .values()
            .filter(|r| r.len() > 1)
            .map(|r| {
                let first = r.iter().map(|(t, _)| *t).min().expect("non-empty");
                let last = r.iter().map(|(t, _)| *t).max().expect("non-empty");
                last.duration_since(first).as_secs_f64() * 1000.0
            })
            .collect(),
    );
    let intervals = sorted(
        stamps
            .windows(2)
            .filter_map(|w| {
                let a = chrono::NaiveDateTime::parse_from_str(w[0], "%Y-%m-%dT%H:%M:%S%.f").ok()?;
                let b = chrono::NaiveDateTime::parse_from_str(w[1], "%Y-%m-%dT%H:%M:%S%.f").ok()?;
                Some((b - a).num_microseconds()? as f64 / 1000.0)
            })
            .collect(),
    );
    let pings = sorted(all.pings_ms.clone());
    let complete = all
        .broadcasts
        .values()
        .filter(|r| r.len() >= args.clients)
        .count();
    let (cpu_s, rss) = match (before, after) {
        (Some((cpu0, _)), Some((cpu1, rss1))) => (cpu1 - cpu0, rss1),
        _ => (f64::NAN, 0),
    };
    let broadcasts = all.broadcasts.len();
    println!("== {} : {} clients ({} stalled), {measured:.1} s measured, connected in {connected_in:.2?}", args.label, args.clients, args.stalled);
    println!(
        "broadcasts: {broadcasts} ({:.2}/s), complete (every client got it): {complete}",
        broadcasts as f64 / measured
    );
    println!(
        "messages delivered: {} ; client disconnects: {}",
        all.messages, all.disconnects
    );
    println!(
        "end-to-end latency ms: p50 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0)
    );
    println!(
        "fan-out spread ms:     p50 {:.2}  p99 {:.2}",
        percentile(&spreads, 50.0),
        percentile(&spreads, 99.0)
    );
    println!(
        "broadcast interval ms: p50 {:.1}  p99 {:.1}  max {:.1}",
        percentile(&intervals, 50.0),
        percentile(&intervals, 99.0),
        percentile(&intervals, 100.0)
    );
    println!(
        "ping RTT ms:           p50 {:.2}  p99 {:.2}  (n={})",
        percentile(&pings, 50.0),
        percentile(&pings, 99.0),
        pings.len()
    );
    println!(
        "server: CPU {:.2} s ({:.1} % of a core), {:.1} µs CPU per delivered message, RSS {:.1} MB",
        cpu_s,
        cpu_s / measured * 100.0,
        cpu_s / all.messages.max(1) as f64 * 1e6,
        rss as f64 / 1e6
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_timestamps_in_both_spellings() {
        assert_eq!(
            timestamp_of(r#"{"type":"monitoring_data","timestamp":"2025-01-03T10:15:30.1"}"#),
            Some("2025-01-03T10:15:30.1")
        );
        assert_eq!(
            timestamp_of(r#"{"type": "monitoring_data", "timestamp": "2025-01-03T10:15:30.1"}"#),
            Some("2025-01-03T10:15:30.1")
        );
        assert_eq!(timestamp_of(r#"{"type":"pong"}"#), None);
    }
}
