//! The WebSocket frame floods of issue 20 (item 6), as raw TCP clients that control
//! every byte: a first text fragment then endless empty continuation frames, or
//! endless pings with the pongs drained. Shared by the black-box test
//! (`tests/attack_ws.rs`) and the `attack-ws` benchmark bin (`bench/security.sh`).
//!
//! Each flood is bounded in time by its caller and only ever aimed at a loopback port.

use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

/// Which flood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A text frame with FIN=0, then empty continuation frames (FIN=0) for ever.
    Continuation,
    /// Empty pings for ever, the server's pongs read and thrown away.
    Ping,
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "continuation" => Ok(Mode::Continuation),
            "ping" => Ok(Mode::Ping),
            other => Err(format!("unknown mode {other:?}: continuation or ping")),
        }
    }
}

/// What one flooding connection saw.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Frames written (each a masked, empty frame: 6 bytes).
    pub frames: u64,
    /// The code of the server's close frame, if it sent one.
    pub close_code: Option<u16>,
    /// The close frame's reason.
    pub close_reason: String,
    /// When the server ended the connection (close frame or end of stream), from the
    /// first flood frame.
    pub closed_after: Option<Duration>,
    /// Pongs the server sent.
    pub pongs: u64,
}

/// Frames written per `write_all`: enough to keep the socket full, small enough to
/// notice a close within a fraction of a millisecond.
const BATCH: usize = 1024;
/// The mask every flood frame carries (clients must mask; its value is irrelevant).
const MASK: [u8; 4] = [0x1f, 0x2e, 0x3d, 0x4c];
/// How long to wait for the server's close frame once the flood stopped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// One empty masked frame: `first` is the FIN bit, RSV and opcode byte.
fn empty_frame(first: u8) -> [u8; 6] {
    [first, 0x80, MASK[0], MASK[1], MASK[2], MASK[3]]
}

/// Opens a WebSocket to `/` on `127.0.0.1:port` by hand and returns the socket after
/// the server's 101.
pub async fn open(port: u16) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await?;
        answer.push(byte[0]);
        if answer.len() > 16 * 1024 {
            return Err(std::io::Error::other("no end to the handshake answer"));
        }
    }
    if !answer.starts_with(b"HTTP/1.1 101") {
        return Err(std::io::Error::other(format!(
            "not upgraded: {}",
            String::from_utf8_lossy(&answer)
        )));
    }
    Ok(stream)
}

/// Floods one new connection to `port` with `mode` for at most `duration`, or until
/// the server ends the connection; then waits briefly for its close frame.
pub async fn flood(port: u16, mode: Mode, duration: Duration) -> std::io::Result<Outcome> {
    let stream = open(port).await?;
    let (reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let ended = Arc::new(AtomicBool::new(false));
    let reading = tokio::spawn(read_until_closed(reader, started, Arc::clone(&ended)));
    let (first, batch) = match mode {
        Mode::Continuation => {
            // "x" as a first fragment, masked, then empty continuations.
            let mut first = vec![0x01, 0x81, MASK[0], MASK[1], MASK[2], MASK[3]];
            first.push(b'x' ^ MASK[0]);
            (first, empty_frame(0x00).repeat(BATCH))
        }
        Mode::Ping => (Vec::new(), empty_frame(0x89).repeat(BATCH)),
    };
    let mut frames = 0u64;
    if !first.is_empty() && writer.write_all(&first).await.is_ok() {
        frames += 1;
    }
    let deadline = started + duration;
    while Instant::now() < deadline && !ended.load(Ordering::Relaxed) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, writer.write_all(&batch)).await {
            Ok(Ok(())) => frames += BATCH as u64,
            Ok(Err(_)) | Err(_) => break, // Closed under us, or out of time.
        }
    }
    let seen = match tokio::time::timeout(CLOSE_GRACE, reading).await {
        Ok(Ok(seen)) => seen,
        _ => Seen::default(), // Still open: the server never ended it.
    };
    Ok(Outcome {
        frames,
        close_code: seen.close_code,
        close_reason: seen.close_reason,
        closed_after: seen.closed_after,
        pongs: seen.pongs,
    })
}

/// What the reading half saw.
#[derive(Debug, Default)]
struct Seen {
    close_code: Option<u16>,
    close_reason: String,
    closed_after: Option<Duration>,
    pongs: u64,
}

/// Reads the server's frames (unmasked) until its close frame or the end of the
/// stream, counting pongs; sets `ended` when the connection is over.
async fn read_until_closed(
    mut reader: OwnedReadHalf,
    started: Instant,
    ended: Arc<AtomicBool>,
) -> Seen {
    let mut seen = Seen::default();
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&chunk[..n]);
        loop {
            let mut cursor = Cursor::new(&pending[..]);
            let Ok(Some((header, length))) = FrameHeader::parse(&mut cursor) else {
                break; // Not a whole header yet (or garbage: wait for the end).
            };
            let start = cursor.position() as usize;
            let Some(end) = usize::try_from(length)
                .ok()
                .and_then(|l| l.checked_add(start))
            else {
                break;
            };
            if pending.len() < end {
                break;
            }
            match header.opcode {
                OpCode::Control(Control::Pong) => seen.pongs += 1,
                OpCode::Control(Control::Close) => {
                    let payload = &pending[start..end];
                    if payload.len() >= 2 {
                        seen.close_code = Some(u16::from_be_bytes([payload[0], payload[1]]));
                        seen.close_reason = String::from_utf8_lossy(&payload[2..]).into_owned();
                    }
                    seen.closed_after = Some(started.elapsed());
                    ended.store(true, Ordering::Relaxed);
                    return seen;
                }
                _ => {}
            }
            pending.drain(..end);
        }
    }
    seen.closed_after = Some(started.elapsed());
    ended.store(true, Ordering::Relaxed);
    seen
}

/// `connections` floods of `mode` at once against `port` for `duration`; with
/// `reconnect`, each opens a new connection whenever the server closed the last one,
/// until the time is up (an attacker who does not give up).
pub async fn run(
    port: u16,
    mode: Mode,
    connections: usize,
    duration: Duration,
    reconnect: bool,
) -> Vec<std::io::Result<Outcome>> {
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let outcome = flood(port, mode, left).await;
                    let failed = outcome.is_err();
                    outcomes.push(outcome);
                    if !reconnect || failed || Instant::now() >= deadline {
                        return outcomes;
                    }
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        match task.await {
            Ok(outcomes) => all.extend(outcomes),
            Err(e) => all.push(Err(std::io::Error::other(e))),
        }
    }
    all
}

/// CPU time (user + system) a process has used so far, from `/proc/<pid>/stat`
/// (fields 14 and 15, in clock ticks of 1/100 s: Linux's fixed `USER_HZ`).
pub fn cpu_time(pid: u32) -> std::io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    let after = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| std::io::Error::other("no ')' in /proc/<pid>/stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state): utime is field 14, stime field 15.
    let ticks = |i: usize| -> std::io::Result<u64> {
        fields
            .get(i - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("no field {i} in /proc/<pid>/stat")))
    };
    Ok(Duration::from_millis((ticks(14)? + ticks(15)?) * 10))
}
