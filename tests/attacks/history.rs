//! Issue 20, item 1: exhausting the server's memory through `/api/history`.
//!
//! Two crowds at once, for a bounded time: `readers` clients that ask for the whole
//! history again and again and read every reply (as `wrk -c200` did), and `slow`
//! clients per source address that each send one request and then read nothing, from
//! a socket with a 4 KiB receive buffer, so the reply stays in the server. Every peer
//! is on 127.0.0.0/8: the slow ones come from 127.0.0.2 onwards, one address per
//! `slow_per_address` (the server's per-address limits would refuse more from one).
//! Shared by `tests/attack_history.rs` and the `attack-history` binary
//! (`bench/security.sh`), which reports the server's peak RSS and CPU.

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// What to throw at the server.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// The server's port on 127.0.0.1.
    pub port: u16,
    /// How long the attack lasts.
    pub duration: Duration,
    /// Clients reading whole replies in a loop.
    pub readers: usize,
    /// Clients that send one request and read nothing, per source address.
    pub slow_per_address: usize,
    /// Source addresses of the slow clients: 127.0.0.2 and on.
    pub addresses: u8,
    /// `count=` in every request (the history size asks for all of it).
    pub count: usize,
    /// The server's process, to sample its memory and CPU.
    pub pid: Option<u32>,
}

/// What the attack saw.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Whole `200` replies the readers got.
    pub replies_ok: u64,
    /// `503` replies (busy) the readers got.
    pub replies_busy: u64,
    /// Other statuses, refused or failed connections.
    pub failures: u64,
    /// Bytes of body the readers read.
    pub bytes_read: u64,
    /// Slow clients that got their request out.
    pub slow_opened: u64,
    /// Slow clients whose connection the server ended before the whole reply.
    pub slow_cut: u64,
    /// Slow clients still being sent their reply when the attack ended.
    pub slow_alive: u64,
    /// Slow clients that turned out to be refused (a `503`, or closed at once).
    pub slow_refused: u64,
    /// The server's largest RSS seen while sampling every 50 ms, KiB.
    pub peak_rss_kib: u64,
    /// The server's RSS high-water mark (`VmHWM`) at the end, KiB.
    pub hwm_kib: u64,
    /// CPU seconds the server used during the attack.
    pub cpu_seconds: f64,
}

/// `VmRSS` or `VmHWM` of `pid`, in KiB.
pub fn memory_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU seconds of `pid` (clock ticks of 1/100 s, as on Linux).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn request(count: usize) -> String {
    format!(
        "GET /api/history?count={count} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
}

/// The status code and `Content-Length` of a reply head, once it is all in `buf`, and
/// where the body starts.
fn head(buf: &[u8]) -> Option<(u16, Option<u64>, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = String::from_utf8_lossy(&buf[..end]);
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let length = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    });
    Some((status, length, end))
}

#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    busy: AtomicU64,
    failures: AtomicU64,
    bytes: AtomicU64,
}

/// One reader: whole replies, one connection each, until `until`.
async fn read_replies(port: u16, count: usize, until: Instant, counters: Arc<Counters>) {
    let request = request(count);
    while Instant::now() < until {
        let left = until.saturating_duration_since(Instant::now());
        let attempt = tokio::time::timeout(left, async {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
            stream.write_all(request.as_bytes()).await.ok()?;
            let mut reply = Vec::new();
            stream.read_to_end(&mut reply).await.ok()?;
            let (status, _, body) = head(&reply)?;
            Some((status, (reply.len() - body) as u64))
        })
        .await;
        match attempt {
            Ok(Some((200, bytes))) => {
                counters.ok.fetch_add(1, Ordering::Relaxed);
                counters.bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            Ok(Some((503, _))) => {
                counters.busy.fetch_add(1, Ordering::Relaxed);
                // As `Retry-After` asks, briefly: the attack is bounded in time anyway.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(_) => {
                counters.failures.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(_) => break,
        }
    }
}

/// A slow client: connects from `source` with a 4 KiB receive buffer, sends one
/// request, reads nothing.
async fn open_slow(source: Ipv4Addr, port: u16, count: usize) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.set_recv_buffer_size(4096).ok()?;
    socket.bind(SocketAddr::from((source, 0))).ok()?;
    let mut stream = tokio::time::timeout(
        Duration::from_secs(5),
        socket.connect(SocketAddr::from(([127, 0, 0, 1], port))),
    )
    .await
    .ok()?
    .ok()?;
    stream.write_all(request(count).as_bytes()).await.ok()?;
    Some(stream)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlowEnd {
    /// The connection ended before the whole reply.
    Cut,
    /// The reply kept coming: the server still held it.
    Alive,
    /// Refused: not a `200`.
    Refused,
}

/// What became of a slow client, found by reading what is left for up to `within`: the
/// kernel's buffers hold at most a few hundred KiB, so a cut connection ends soon after,
/// while a held one goes on to the whole reply.
async fn settle(mut stream: TcpStream, within: Duration) -> SlowEnd {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + within;
    let mut total = 0u64;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Err(_) => return SlowEnd::Alive,
            Ok(Err(_)) | Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                total += n as u64;
                if buf.len() < 16 * 1024 {
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
    }
    match head(&buf) {
        Some((200, Some(length), body)) if total - body as u64 >= length => SlowEnd::Alive,
        Some((status, _, _)) if status != 200 => SlowEnd::Refused,
        // Part of a reply, or nothing (reset): ended by the server.
        _ => SlowEnd::Cut,
    }
}

/// Runs the attack for `knobs.duration` (plus a few seconds to settle the slow
/// clients), sampling the server's memory when its pid is known.
pub async fn run(knobs: Knobs) -> Outcome {
    let started = Instant::now();
    let until = started + knobs.duration;
    let cpu_before = knobs.pid.and_then(cpu_seconds);
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = knobs.pid.map(|pid| {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                if let Some(rss) = memory_kib(pid, "VmRSS") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });
    let counters = Arc::new(Counters::default());
    let readers: Vec<_> = (0..knobs.readers)
        .map(|_| {
            tokio::spawn(read_replies(
                knobs.port,
                knobs.count,
                until,
                Arc::clone(&counters),
            ))
        })
        .collect();
    let mut slow = Vec::new();
    for address in 0..knobs.addresses {
        let source = Ipv4Addr::new(127, 0, 0, 2 + address);
        for _ in 0..knobs.slow_per_address {
            if Instant::now() >= until {
                break;
            }
            if let Some(stream) = open_slow(source, knobs.port, knobs.count).await {
                slow.push(stream);
            }
        }
    }
    let slow_opened = slow.len() as u64;
    tokio::time::sleep_until(until.into()).await;
    for reader in readers {
        let _ = reader.await;
    }
    // Read before the memory is taken, so the high-water mark covers the attack only.
    let cpu_after = knobs.pid.and_then(cpu_seconds);
    let hwm = knobs
        .pid
        .and_then(|pid| memory_kib(pid, "VmHWM"))
        .unwrap_or(0);
    if let Some(sampler) = sampler {
        sampler.abort();
    }
    let ends = futures_util::future::join_all(
        slow.into_iter()
            .map(|stream| settle(stream, Duration::from_secs(5))),
    )
    .await;
    let count = |end: SlowEnd| ends.iter().filter(|e| **e == end).count() as u64;
    Outcome {
        replies_ok: counters.ok.load(Ordering::Relaxed),
        replies_busy: counters.busy.load(Ordering::Relaxed),
        failures: counters.failures.load(Ordering::Relaxed),
        bytes_read: counters.bytes.load(Ordering::Relaxed),
        slow_opened,
        slow_cut: count(SlowEnd::Cut),
        slow_alive: count(SlowEnd::Alive),
        slow_refused: count(SlowEnd::Refused),
        peak_rss_kib: peak.load(Ordering::Relaxed),
        hwm_kib: hwm,
        cpu_seconds: match (cpu_before, cpu_after) {
            (Some(before), Some(after)) => after - before,
            _ => 0.0,
        },
    }
}
