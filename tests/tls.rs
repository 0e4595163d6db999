//! TLS on the server's port, against the real binary: `wss://` for the Python
//! `websockets` client, `https://` + `wss://` for the dashboard in Chromium, a clear
//! refusal for plain HTTP, the handshake deadline, and certificates swapped on disk
//! served after SIGHUP while connected clients keep streaming.
//!
//! The CA and the certificates are made at test time (rcgen) in a scratch folder.

#[path = "tls/browser.rs"]
mod browser;
#[path = "tls/pki.rs"]
mod pki;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use monitoring_test_support::{Peer, Server, Setup, CORE_COLLECTORS};
use pki::{presented, tls_connect, Leaf, TestCa};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECOND: Duration = Duration::from_secs(1);

/// A server with TLS from a test CA, and where its files are.
struct TlsServer {
    server: Server,
    ca: TestCa,
    first: Leaf,
    cert: PathBuf,
    key: PathBuf,
    _pki: tempfile::TempDir,
}

fn start_tls_server() -> TlsServer {
    let pki = tempfile::tempdir().expect("scratch folder for certificates");
    let ca = TestCa::new(pki.path());
    let first = ca.leaf(1);
    let (cert, key) = (pki.path().join("server.crt"), pki.path().join("server.key"));
    first.write(&cert, &key);
    let config = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\nhandshake_timeout = 1.0\n",
        cert.display(),
        key.display()
    );
    let server = Server::start(Setup {
        plugins: &CORE_COLLECTORS,
        config: &config,
        extra_files: &[],
    });
    TlsServer {
        server,
        ca,
        first,
        cert,
        key,
        _pki: pki,
    }
}

/// Whether a `monitoring_data` message arrives on `ws` within 5 s.
async fn next_data<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + 5 * SECOND;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => {
                if text.as_str().contains("\"type\":\"monitoring_data\"") {
                    return true;
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => return false,
        }
    }
}

/// Sends SIGHUP to the server.
fn hang_up(server: &Server) {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

const PYTHON_CLIENT: &str = r#"
import asyncio, json, ssl, sys, websockets
async def main():
    context = ssl.create_default_context(cafile=sys.argv[2] if len(sys.argv) > 2 else None)
    async with websockets.connect(sys.argv[1], ssl=context) as ws:
        kinds = []
        while "monitoring_data" not in kinds:
            kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["type"])
        print(" ".join(kinds))
asyncio.run(main())
"#;

#[test]
fn the_python_websockets_client_streams_over_wss_with_the_ca() {
    // The published client's package brings `websockets`; require it by that name.
    let Some(_) = monitoring_test_support::require(Peer::PublishedClient) else {
        return;
    };
    let Some(python) = monitoring_test_support::require(Peer::Python3) else {
        return;
    };
    let tls = start_tls_server();
    let url = format!("wss://127.0.0.1:{}/", tls.server.port);
    let ca = tls.ca.pem_file.display().to_string();
    let trusted = Command::new(&python)
        .args(["-c", PYTHON_CLIENT, &url, &ca])
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&trusted.stdout);
    assert!(
        trusted.status.success(),
        "{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&trusted.stderr),
        tls.server.log_text()
    );
    assert!(
        stdout.starts_with("connection") && stdout.trim_end().ends_with("monitoring_data"),
        "{stdout}"
    );

    // Without the test CA the same client refuses the server: the check is real.
    let untrusted = Command::new(&python)
        .args(["-c", PYTHON_CLIENT, &url])
        .output()
        .expect("run python3");
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(!untrusted.status.success(), "connected without the CA");
    assert!(stderr.contains("CERTIFICATE_VERIFY_FAILED"), "{stderr}");
}

#[tokio::test]
async fn plain_http_is_refused_and_a_silent_connection_dropped_at_the_deadline() {
    let tls = start_tls_server();
    let port = tls.server.port;

    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("send a plain request");
    let mut reply = String::new();
    tokio::time::timeout(5 * SECOND, plain.read_to_string(&mut reply))
        .await
        .expect("answered in time")
        .expect("read the reply");
    assert!(
        reply.starts_with("HTTP/1.1 400 ") && reply.contains("use https:// or wss://"),
        "{reply}"
    );

    // Connected, says nothing: closed once `handshake_timeout` (1 s) has passed.
    let started = Instant::now();
    let mut silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(5 * SECOND, silent.read(&mut buffer))
        .await
        .expect("the server closed the silent connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "closed after {waited:?}"
    );

    // The server still serves TLS clients.
    let stream = tls_connect(&tls.ca, port).await;
    assert_eq!(presented(&stream), tls.first.der);
}

#[tokio::test]
async fn a_certificate_swapped_on_disk_is_served_after_sighup_and_clients_stay() {
    let tls = start_tls_server();
    let port = tls.server.port;
    let url = format!("wss://127.0.0.1:{port}/");

    // A client on the first certificate, streaming.
    let stream = tls_connect(&tls.ca, port).await;
    assert_eq!(presented(&stream), tls.first.der);
    let (mut old_client, _) = tokio_tungstenite::client_async(url.as_str(), stream)
        .await
        .expect("WebSocket over TLS");
    let before = next_data(&mut old_client).await;
    assert!(before, "no data over wss");

    // New files, SIGHUP: new handshakes get the second certificate.
    let second = tls.ca.leaf(2);
    second.write(&tls.cert, &tls.key);
    hang_up(&tls.server);
    let reloaded = tls
        .server
        .wait_for_log(|l| l.contains("TLS certificate reloaded"), 10 * SECOND);
    assert!(
        reloaded.is_some(),
        "no reload; log:\n{}",
        tls.server.log_text()
    );
    let fresh = tls_connect(&tls.ca, port).await;
    assert_eq!(
        presented(&fresh),
        second.der,
        "the new certificate is served"
    );
    drop(fresh);

    // The client that connected before keeps its session and its stream.
    for _ in 0..2 {
        let frame = next_data(&mut old_client).await;
        assert!(frame, "the old client stopped receiving");
    }

    // A broken file on reload: refused with its path, the second certificate stays.
    std::fs::write(
        &tls.cert,
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n",
    )
    .expect("break the certificate");
    hang_up(&tls.server);
    let refused = tls
        .server
        .wait_for_log(|l| l.contains("TLS reload failed"), 10 * SECOND)
        .unwrap_or_else(|| panic!("no refusal; log:\n{}", tls.server.log_text()));
    assert!(
        refused.contains(&tls.cert.display().to_string()) && refused.contains("server.tls_cert"),
        "{refused}"
    );
    let after = tls_connect(&tls.ca, port).await;
    assert_eq!(
        presented(&after),
        second.der,
        "the last good certificate stays"
    );
    let frame = next_data(&mut old_client).await;
    assert!(frame, "the old client stopped receiving");
}

#[tokio::test]
async fn the_dashboard_loads_over_https_and_streams_over_wss_in_chromium() {
    let tls = start_tls_server();
    let Some(browser) = browser::Browser::start(&tls.first.spki_sha256).await else {
        return;
    };
    browser
        .client
        .goto(&format!("https://127.0.0.1:{}/", tls.server.port))
        .await
        .expect("open the dashboard over https");
    let live = browser
        .wait_for(
            "const s = window.__dashboard && window.__dashboard.state(); \
             return location.protocol === 'https:' && !!s && s.connection === 'live' \
               && s.samples >= 2 && document.getElementById('cpu-value').textContent.endsWith('%');",
            20 * SECOND,
        )
        .await;
    let state = browser
        .js(
            "const s = window.__dashboard && window.__dashboard.state(); \
             return { protocol: location.protocol, state: s || null, \
                      cpu: document.getElementById('cpu-value').textContent };",
        )
        .await;
    assert!(
        live,
        "the page never went live over wss: {state}\nlog:\n{}",
        tls.server.log_text()
    );
    assert_eq!(state["state"]["errors"], serde_json::json!([]), "{state}");
    browser.close().await;
}
