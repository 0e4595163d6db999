//! `fanout-floor`: the floor of WebSocket fan-out on this machine, for
//! `bench/fanout.sh`. It accepts WebSocket upgrades and, every 500 ms, builds one
//! text frame (a `monitoring_data`-shaped message of `SIZE` bytes with the current
//! timestamp, so the load generator can tell broadcasts apart) and hands it to each
//! client with one `write()`. Nothing else: no reads, no pings, no per-client state
//! but the socket. A client whose socket does not take the whole frame at once is
//! dropped. What it costs per delivered message is the kernel's TCP path, the
//! figure any server's fan-out is compared with.
//!
//! ```text
//! fanout-floor PORT [SIZE]
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Longest upgrade request read.
const MAX_REQUEST: usize = 8 * 1024;

type Clients = Arc<Mutex<Vec<TcpStream>>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(18999);
    let size: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(700);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let clients: Clients = Arc::default();
    tokio::spawn(broadcast(Arc::clone(&clients), size));
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(upgrade(stream, Arc::clone(&clients)));
    }
}

/// Answers the upgrade request, then hands the socket to the broadcaster.
async fn upgrade(mut stream: TcpStream, clients: Clients) {
    let mut request = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
        if request.len() > MAX_REQUEST {
            return;
        }
    }
    let text = String::from_utf8_lossy(&request);
    let Some(key) = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim().to_owned())
    }) else {
        return;
    };
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    if stream.write_all(reply.as_bytes()).await.is_ok() {
        let _ = stream.set_nodelay(true);
        if let Ok(mut clients) = clients.lock() {
            clients.push(stream);
        }
    }
}

/// Every 500 ms: one frame, one `write()` per client.
async fn broadcast(clients: Clients, size: usize) {
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    loop {
        ticker.tick().await;
        let frame = frame(&message(size));
        if let Ok(mut clients) = clients.lock() {
            clients.retain(|client| matches!(client.try_write(&frame), Ok(n) if n == frame.len()));
        }
    }
}

/// A `monitoring_data` message padded to `size` bytes.
fn message(size: usize) -> String {
    let stamp = chrono::Local::now()
        .naive_local()
        .format("%Y-%m-%dT%H:%M:%S%.6f");
    let head = format!(r#"{{"type":"monitoring_data","timestamp":"{stamp}","data":{{"padding":""#);
    let tail = r#""},"alerts":[]}"#;
    let padding = size.saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "x".repeat(padding))
}

/// `text` as one final, unmasked text frame (RFC 6455, section 5.2).
fn frame(text: &str) -> Vec<u8> {
    let length = text.len();
    let mut frame = Vec::with_capacity(length + 10);
    frame.push(0x81);
    match length {
        0..=125 => frame.push(length as u8),
        126..=65_535 => {
            frame.push(126);
            frame.extend_from_slice(&(length as u16).to_be_bytes());
        }
        _ => {
            frame.push(127);
            frame.extend_from_slice(&(length as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(text.as_bytes());
    frame
}
