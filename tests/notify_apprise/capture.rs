//! A capture server for the Apprise comparison: records method, path and query,
//! headers and body of every request, over plain HTTP or TLS on the same port (it
//! sniffs the first byte: 0x16 starts a TLS handshake), and answers what each service
//! expects: Matrix's join `{"room_id"}` and send `{"event_id"}`, Gotify's `{"id"}`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// The largest body read.
const MAX_BODY: usize = 1 << 20;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Captured {
    /// `POST`, `PUT`, …
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// Whether it came over TLS.
    pub tls: bool,
}

impl Captured {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {}: body is not JSON ({e}): {}",
                self.method,
                self.path,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The path without its query.
    pub fn path_only(&self) -> &str {
        self.path
            .split_once('?')
            .map_or(self.path.as_str(), |(p, _)| p)
    }

    /// The query's pairs, sorted, values percent-decoded.
    pub fn query(&self) -> Vec<(String, String)> {
        let Some((_, query)) = self.path.split_once('?') else {
            return Vec::new();
        };
        let mut pairs: Vec<(String, String)> = query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (super::decode(k), super::decode(v))
            })
            .collect();
        pairs.sort();
        pairs
    }
}

/// A running capture server (its accept thread ends with the test process).
pub struct Capture {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Captured>>>,
}

impl Capture {
    /// Starts on `127.0.0.1:0`.
    pub fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let tls = Arc::new(tls_config());
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (log, tls) = (Arc::clone(&log), Arc::clone(&tls));
                std::thread::spawn(move || serve(stream, &tls, &log));
            }
        });
        Self { addr, requests }
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The requests so far, clearing the log.
    pub fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

fn tls_config() -> rustls::ServerConfig {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = certified.cert.der().clone();
    let key =
        rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap()
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn serve(stream: TcpStream, tls: &Arc<rustls::ServerConfig>, log: &Mutex<Vec<Captured>>) {
    let mut first = [0u8; 1];
    let is_tls = matches!(stream.peek(&mut first), Ok(1) if first[0] == 0x16);
    let stream: Box<dyn Stream> = if is_tls {
        let Ok(connection) = rustls::ServerConnection::new(Arc::clone(tls)) else {
            return;
        };
        Box::new(rustls::StreamOwned::new(connection, stream))
    } else {
        Box::new(stream)
    };
    let mut reader = BufReader::new(stream);
    // Keep-alive: requests (Apprise's HTTP library) reuses connections.
    while let Some(request) = read_request(&mut reader, is_tls) {
        let body = answer(&request);
        log.lock().unwrap().push(request);
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let stream = reader.get_mut();
        if stream
            .write_all(reply.as_bytes())
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<Box<dyn Stream>>, tls: bool) -> Option<Captured> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok().filter(|n| *n > 0)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Captured {
        method,
        path,
        headers,
        body,
        tls,
    })
}

/// What the service behind `request`'s path answers on success.
fn answer(request: &Captured) -> String {
    let path = request.path_only();
    if path.contains("/_matrix/client/") && path.contains("/join/") {
        r#"{"room_id": "!room:example.org"}"#.to_owned()
    } else if path.contains("/_matrix/client/") {
        r#"{"event_id": "$event"}"#.to_owned()
    } else if path.ends_with("/message") {
        r#"{"id": 1, "appid": 1, "message": "ok"}"#.to_owned()
    } else {
        "{}".to_owned()
    }
}
