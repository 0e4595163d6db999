//! JSON bodies for the answers hyper gives on its own to requests it cannot parse.
//!
//! A request line or header hyper cannot parse never reaches the routes: hyper itself
//! answers `400 Bad Request`, `414 URI Too Long` (a target over 65,534 bytes) or
//! `431 Request Header Fields Too Large` (more than 100 header fields, or a head past
//! its ~400 KiB buffer), with an empty body, then closes; it offers no hook to change
//! that answer. Every other error of this server is `{"error": "…"}` (see
//! [`crate::surfaces::reply::error`]), so clients parse one shape. [`ParseErrorBodies`]
//! wraps the connection's stream below hyper and, on the write side, recognises that
//! automatic answer (a status line of 400, 414 or 431 followed by hyper's own
//! `connection: close` and `content-length: 0`, which no route's reply has) and writes
//! it with a JSON body instead. Replies of the routes pass through untouched; after a
//! `101 Switching Protocols` the wrapper stops looking altogether.
//!
//! The check is a comparison of the first bytes of each write, and a plain TCP
//! WebSocket session unwraps its socket ([`crate::surfaces::ws::socket`]), so the
//! fan-out's writes never pass through here.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use warp::http::StatusCode;

/// What hyper's automatic answer carries after its status line.
const HYPER_HEAD: &[u8] = b"connection: close\r\ncontent-length: 0\r\n";

/// The longest head hyper writes for its automatic answer: status line, the two
/// headers above and a `date`.
const MAX_HEAD: usize = 256;

/// A connection's stream whose unparseable-request answers get JSON bodies.
pub struct ParseErrorBodies<S> {
    inner: S,
    /// A rewritten answer not yet wholly written, and how many of hyper's bytes it
    /// stands for (reported to hyper once it is out).
    pending: Option<(Vec<u8>, usize)>,
    /// Past a `101`: the connection speaks WebSocket now, nothing to look for.
    upgraded: bool,
}

impl<S> ParseErrorBodies<S> {
    /// Wraps a newly accepted connection's stream.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            pending: None,
            upgraded: false,
        }
    }

    /// The stream, for a session that takes the socket over after an upgrade.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// The message of hyper's automatic answer with `status`.
fn message(status: StatusCode) -> Option<&'static str> {
    match status {
        StatusCode::BAD_REQUEST => {
            Some("malformed request: the request line or a header cannot be parsed as HTTP/1.1")
        }
        StatusCode::URI_TOO_LONG => {
            Some("request target too long: at most 65534 bytes (path and query)")
        }
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            Some("request header too large: at most 100 header fields and about 400 KiB in all")
        }
        _ => None,
    }
}

/// The JSON answer standing in for hyper's automatic one at the start of `bytes`, and
/// the length of hyper's head; `None` for anything else.
fn rewrite(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let status = bytes.strip_prefix(b"HTTP/1.1 ")?;
    let code = std::str::from_utf8(status.get(..3)?).ok()?;
    let status = StatusCode::from_bytes(code.as_bytes()).ok()?;
    let message = message(status)?;
    let window = &bytes[..bytes.len().min(MAX_HEAD)];
    let head_len = find(window, b"\r\n\r\n")? + 4;
    let head = &window[..head_len];
    let at = find(head, HYPER_HEAD)?;
    let body = serde_json::json!({ "error": message }).to_string();
    let mut answer = Vec::with_capacity(head_len + body.len() + 64);
    answer.extend_from_slice(&head[..at]);
    answer.extend_from_slice(b"connection: close\r\ncontent-type: application/json\r\n");
    answer.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    answer.extend_from_slice(&head[at + HYPER_HEAD.len()..]);
    answer.extend_from_slice(body.as_bytes());
    Some((answer, head_len))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

impl<S: AsyncWrite + Unpin> ParseErrorBodies<S> {
    /// Writes the rewritten answer; ready with the count of hyper's bytes it replaced.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((answer, replaced)) = self.pending.as_mut() {
            if answer.is_empty() {
                let replaced = *replaced;
                self.pending = None;
                return Poll::Ready(Ok(replaced));
            }
            match Pin::new(&mut self.inner).poll_write(cx, answer) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    answer.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(0))
    }

    /// Looks at the start of a write: arms the rewrite or notes an upgrade.
    fn inspect(&mut self, first: &[u8]) -> bool {
        if self.upgraded || !first.starts_with(b"HTTP/1.1 ") {
            return false;
        }
        if first.starts_with(b"HTTP/1.1 101 ") {
            self.upgraded = true;
            return false;
        }
        match rewrite(first) {
            Some(pending) => {
                self.pending = Some(pending);
                true
            }
            None => false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ParseErrorBodies<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ParseErrorBodies<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending.is_some() || this.inspect(buf) {
            return this.poll_pending(cx);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
        if this.pending.is_some() || this.inspect(first) {
            return this.poll_pending(cx);
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pending.is_some() {
            std::task::ready!(this.poll_pending(cx))?;
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pending.is_some() {
            std::task::ready!(this.poll_pending(cx))?;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "date: Sun, 06 Dec 2026 23:31:24 GMT\r\n\r\n";

    fn hyper_answer(status: &str) -> Vec<u8> {
        format!("HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}")
            .into_bytes()
    }

    fn split(answer: &[u8]) -> (String, serde_json::Value) {
        let text = String::from_utf8(answer.to_vec()).expect("text");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.parse().ok())
            .expect("a content-length");
        assert_eq!(length, body.len(), "{text}");
        (head.to_owned(), serde_json::from_str(body).expect("JSON"))
    }

    #[test]
    fn each_automatic_answer_gets_a_json_body() {
        for status in [
            "400 Bad Request",
            "414 URI Too Long",
            "431 Request Header Fields Too Large",
        ] {
            let original = hyper_answer(status);
            let (answer, replaced) = rewrite(&original).expect("rewritten");
            assert_eq!(replaced, original.len());
            let (head, body) = split(&answer);
            assert!(
                head.starts_with(&format!("HTTP/1.1 {status}\r\n")),
                "{head}"
            );
            assert!(head.contains("content-type: application/json"), "{head}");
            assert!(head.contains("connection: close"), "{head}");
            assert!(head.contains("date: "), "{head}");
            assert!(
                body["error"].as_str().is_some_and(|m| !m.is_empty()),
                "{body}"
            );
        }
    }

    #[test]
    fn route_replies_pass_untouched() {
        let routed = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
                       content-length: 13\r\n\r\n{\"error\":\"x\"}";
        assert!(rewrite(routed).is_none());
        assert!(rewrite(&hyper_answer("404 Not Found")).is_none());
        assert!(rewrite(b"\x81\x05hello").is_none());
        // hyper's head followed by more bytes: only the head is replaced.
        let mut two = hyper_answer("400 Bad Request");
        let head = two.len();
        two.extend_from_slice(b"trailing");
        assert_eq!(rewrite(&two).map(|(_, n)| n), Some(head));
    }

    #[tokio::test]
    async fn a_write_reports_hyper_its_own_length_and_sends_the_json_answer() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, mut server) = tokio::io::duplex(4096);
        let mut wrapped = ParseErrorBodies::new(client);
        let original = hyper_answer("431 Request Header Fields Too Large");
        let n = wrapped.write(&original).await.expect("write");
        assert_eq!(n, original.len());
        wrapped
            .write_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
            .await
            .expect("101");
        // After the upgrade nothing is looked at, whatever it looks like.
        wrapped
            .write_all(&hyper_answer("400 Bad Request"))
            .await
            .expect("raw");
        drop(wrapped);
        let mut all = Vec::new();
        server.read_to_end(&mut all).await.expect("read");
        let text = String::from_utf8(all).expect("text");
        let (first, rest) = text.split_once("HTTP/1.1 101").expect("the 101");
        let (_, body) = split(first.as_bytes());
        assert!(body["error"].as_str().is_some(), "{body}");
        assert!(
            rest.ends_with(&String::from_utf8(hyper_answer("400 Bad Request")).unwrap_or_default())
        );
    }
}
