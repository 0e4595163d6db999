//! `permessage-deflate` (RFC 7692) against real peers: the Python `websockets` client,
//! which offers it by default, and a raw socket that reads the compressed frames
//! itself and sends a deflate bomb.

use std::process::Command;
use std::time::Duration;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use monitoring_test_support::{Peer, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What this server answers to the offers clients make.
const ANSWER: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
/// The bytes a sync flush ends with, which the wire leaves off (RFC 7692 section 7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Connects with `websockets`' defaults (deflate offered), reads a tick, subscribes
/// (a compressed message the server must inflate) and reads a filtered tick.
const PYTHON_CLIENT: &str = r#"
import asyncio, json, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1]) as ws:
        print("extension:", ws.response.headers.get("Sec-WebSocket-Extensions"))
        kinds = []
        while "monitoring_data" not in kinds:
            kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["type"])
        print("kinds:", " ".join(kinds))
        await ws.send(json.dumps({"type": "subscribe", "sections": ["memory"]}))
        subscribed = False
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] == "subscribed":
                subscribed = True
                print("subscribed:", ",".join(message["sections"]))
            elif subscribed and message["type"] == "monitoring_data":
                print("data:", ",".join(sorted(message["data"])))
                return
asyncio.run(main())
"#;

#[test]
fn python_websockets_negotiates_deflate_and_streams_both_ways() {
    // The published client's package brings `websockets`; require it by that name.
    let Some(_) = monitoring_test_support::require(Peer::PublishedClient) else {
        return;
    };
    let Some(python) = monitoring_test_support::require(Peer::Python3) else {
        return;
    };
    let server = Server::start_default();
    let output = Command::new(&python)
        .args(["-c", PYTHON_CLIENT, &server.url("/")])
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.log_text()
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            &*format!("extension: {ANSWER}"),
            "kinds: connection monitoring_data",
            "subscribed: memory",
            "data: memory",
        ],
        "{stdout}"
    );
}

/// The frames of `bytes` as (first header byte, payload); server frames are unmasked.
fn frames(mut bytes: &[u8]) -> (Vec<(u8, Vec<u8>)>, &[u8]) {
    let mut frames = Vec::new();
    loop {
        if bytes.len() < 2 {
            return (frames, bytes);
        }
        let (length, header) = match bytes[1] & 0x7f {
            126 if bytes.len() >= 4 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 if bytes.len() >= 10 => (
                usize::try_from(u64::from_be_bytes(
                    bytes[2..10].try_into().expect("8 bytes"),
                ))
                .expect("fits"),
                10,
            ),
            126 | 127 => return (frames, bytes),
            short => (usize::from(short), 2),
        };
        if bytes.len() < header + length {
            return (frames, bytes);
        }
        frames.push((bytes[0], bytes[header..header + length].to_vec()));
        bytes = &bytes[header + length..];
    }
}

/// A masked client text frame, compressed (RSV1) or not.
fn client_frame(payload: &[u8], compressed: bool) -> Vec<u8> {
    let key = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![if compressed { 0xc1 } else { 0x81 }];
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n @ 126..=65_535 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    frame
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut compress = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() / 100 + 1024);
    while (compress.total_in() as usize) < data.len() || out.len() == out.capacity() {
        out.reserve(out.capacity().max(1024));
        let done = compress.total_in() as usize;
        compress
            .compress_vec(&data[done..], &mut out, FlushCompress::Sync)
            .expect("compresses");
    }
    out.truncate(out.len() - TAIL.len());
    out
}

/// Reads frames until one matches `wanted`, within ten seconds.
async fn read_until(
    socket: &mut TcpStream,
    buffer: &mut Vec<u8>,
    wanted: impl Fn(u8, &[u8]) -> bool,
) -> (u8, Vec<u8>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (found, rest) = frames(buffer);
        let rest = rest.to_vec();
        if let Some(frame) = found.into_iter().find(|(first, p)| wanted(*first, p)) {
            *buffer = rest;
            return frame;
        }
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout_at(deadline, socket.read(&mut chunk))
            .await
            .expect("a frame within ten seconds")
            .expect("read");
        assert!(n > 0, "the server closed the socket first");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ticks_arrive_compressed_and_a_deflate_bomb_is_closed_with_1009() {
    let server = Server::start_default();
    let mut socket = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    let request = monitoring_test_support::raw_upgrade_request(server.port).replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
    );
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut buffer = Vec::new();
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut chunk = [0u8; 1024];
        let n = socket.read(&mut chunk).await.expect("read");
        assert!(n > 0, "no upgrade response");
        buffer.extend_from_slice(&chunk[..n]);
    }
    let end = buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end")
        + 4;
    let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains(&format!(
            "sec-websocket-extensions: {}\r\n",
            ANSWER.to_lowercase()
        )),
        "{head}"
    );
    buffer.drain(..end);

    // A tick: FIN + RSV1 + text, and its payload inflates to the message.
    let (first, payload) = read_until(&mut socket, &mut buffer, |first, _| first & 0x40 != 0).await;
    assert_eq!(first, 0xc1, "FIN, RSV1, text");
    let mut input = payload.clone();
    input.extend_from_slice(&TAIL);
    let mut inflated = Vec::with_capacity(64 * 1024);
    Decompress::new(false)
        .decompress_vec(&input, &mut inflated, FlushDecompress::Sync)
        .expect("inflates");
    let message: serde_json::Value = serde_json::from_slice(&inflated).expect("JSON");
    assert_eq!(message["type"], "monitoring_data");
    // JSON of changing numbers: ~720 bytes go out as ~440.
    assert!(
        payload.len() * 4 < inflated.len() * 3,
        "{} → {} bytes",
        inflated.len(),
        payload.len()
    );

    // 16 MiB that compress to ~16 KiB: closed at the 64 KiB message limit.
    let bomb = deflate(&vec![b' '; 16 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
    socket
        .write_all(&client_frame(&bomb, true))
        .await
        .expect("write the bomb");
    let (_, close) = read_until(&mut socket, &mut buffer, |first, _| first & 0x0f == 0x8).await;
    let code = close.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    assert_eq!(code, Some(1009), "a deflate bomb is closed as too big");
}

/// In the dashboard's page: a WebSocket of Chromium's own, which offers deflate, reads
/// a tick, subscribes (a message Chromium compresses) and reads a filtered tick.
const BROWSER_CLIENT: &str = "
    const t = window.__deflate = { kinds: [] };
    const ws = new WebSocket('ws://' + location.host + '/');
    ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        t.kinds.push(message.type);
        if (message.type === 'monitoring_data' && !t.subscribed) {
            t.subscribed = true;
            ws.send(JSON.stringify({ type: 'subscribe', sections: ['memory'] }));
        } else if (message.type === 'monitoring_data' && t.confirmed) {
            t.extensions = ws.extensions;
            t.sections = Object.keys(message.data).join(',');
            t.done = true;
            ws.close();
        } else if (message.type === 'subscribed') {
            t.confirmed = true;
        }
    };
    return true;";

#[tokio::test]
async fn chromium_negotiates_deflate_and_the_dashboard_streams() {
    let Some(browser) = monitoring_test_support::browser::Browser::start(&[]).await else {
        return;
    };
    let server = Server::start_default();
    browser
        .client
        .goto(&format!("http://127.0.0.1:{}/", server.port))
        .await
        .expect("open the dashboard");
    let live = "const s = window.__dashboard && window.__dashboard.state(); \
                return !!s && s.connection === 'live' && s.samples >= 2;";
    assert!(
        browser.wait_for(live, Duration::from_secs(15)).await,
        "the dashboard never went live"
    );
    browser.js(BROWSER_CLIENT).await;
    let done = browser
        .wait_for(
            "return !!(window.__deflate && window.__deflate.done);",
            Duration::from_secs(15),
        )
        .await;
    let seen = browser.js("return window.__deflate;").await;
    browser.close().await;
    assert!(done, "{seen}");
    assert_eq!(seen["extensions"], ANSWER, "{seen}");
    assert_eq!(seen["sections"], "memory", "{seen}");
}
