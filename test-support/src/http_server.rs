//! A scripted HTTP/1.1 server on `127.0.0.1:0` for the HTTP sinks' tests (webhook,
//! slack, remote-write): it records every request and answers each with the same
//! [`Reply`], or with the replies of a script in turn.
//!
//! Plain `std::net`, one thread per connection, so a hanging reply does not hold up
//! the next request. Only what the sinks send is understood: `Content-Length` bodies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status line, extra headers and a body.
    Status {
        /// The status code.
        code: u16,
        /// Extra headers, e.g. `Retry-After`.
        headers: Vec<(String, String)>,
        /// The body.
        body: String,
    },
    /// Answers with this status and, as the body, the request line and headers it got,
    /// as some endpoints do (which puts the sender's bearer token in their answer).
    Echo(u16),
    /// Reads the request and never answers (until the client gives up or 30 s pass).
    Hang,
}

impl Reply {
    /// A bare status.
    pub fn status(code: u16) -> Self {
        Self::Status {
            code,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// A status with one header.
    pub fn with_header(code: u16, name: &str, value: &str) -> Self {
        Self::Status {
            code,
            headers: vec![(name.to_owned(), value.to_owned())],
            body: String::new(),
        }
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// `POST`, …
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Request {
    /// The value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The request line and headers, as an echoing endpoint answers them.
    fn echo(&self) -> String {
        let mut text = format!("{} {} HTTP/1.1\n", self.method, self.path);
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\n"));
        }
        text
    }

    /// The body parsed as JSON.
    ///
    /// # Panics
    /// When it is not JSON; this is a test helper.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// A running server; stops accepting when dropped.
pub struct TestServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    /// Starts a server answering every request with `reply`.
    ///
    /// # Panics
    /// When loopback cannot be bound; this is a test helper.
    pub fn start(reply: Reply) -> Self {
        Self::start_script(vec![reply])
    }

    /// Starts a server answering the first request with `replies[0]`, the second with
    /// `replies[1]`, …, and every later one with the last (e.g. 500, then 204).
    ///
    /// # Panics
    /// When `replies` is empty or loopback cannot be bound; this is a test helper.
    pub fn start_script(replies: Vec<Reply>) -> Self {
        assert!(!replies.is_empty(), "a script of at least one reply");
        let replies = Arc::new(replies);
        let next = Arc::new(AtomicUsize::new(0));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopped) = (Arc::clone(&requests), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let turn = next.fetch_add(1, Ordering::SeqCst).min(replies.len() - 1);
                let reply = replies[turn].clone();
                let (log, stopped) = (Arc::clone(&log), Arc::clone(&stopped));
                std::thread::spawn(move || serve(stream, &reply, &log, &stopped));
            }
        });
        Self {
            addr,
            requests,
            stop,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// A URL on a loopback port nobody listens on: connections are refused.
///
/// # Panics
/// When loopback cannot be bound; this is a test helper.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{addr}/hook")
}

fn serve(stream: TcpStream, reply: &Reply, log: &Mutex<Vec<Request>>, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let echo = match reply {
        Reply::Echo(code) => Some(Reply::Status {
            code: *code,
            headers: Vec::new(),
            body: request.echo(),
        }),
        _ => None,
    };
    if let Ok(mut log) = log.lock() {
        log.push(request);
    }
    match echo.as_ref().unwrap_or(reply) {
        Reply::Status {
            code,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {code} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(body.as_bytes());
        }
        // An echo was turned into its `Status` above.
        Reply::Echo(_) | Reply::Hang => {
            // Holds the connection open until the client gives up and closes it.
            let _ = reader
                .get_ref()
                .set_read_timeout(Some(Duration::from_millis(100)));
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut buf = [0u8; 64];
            while Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}
