//! A real WebSocket client of the server under test: connecting (with or without a
//! token), reading JSON messages by type, sending text, and the status record of one
//! plugin.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::server::Server;

/// A connected WebSocket client.
pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;
/// A plain WebSocket upgrade request for `/` on `port`, for raw clients that must
/// control every byte they read and write (the RFC 6455 sample key).
pub fn raw_upgrade_request(port: u16) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}
/// Connects to `url`.
pub async fn connect(url: &str) -> Client {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    ws
}

/// The next text message as JSON, or `None` on timeout or close.
pub async fn next_json(ws: &mut Client, timeout: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let message = tokio::time::timeout_at(deadline, ws.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Text(text) => {
                return Some(serde_json::from_str(text.as_str()).expect("server sends JSON"))
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// Reads until a close frame; its code, or `None` if the stream ended without one.
pub async fn close_code(ws: &mut Client, timeout: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// The next message of the given `type`, skipping others, with its receipt time.
pub async fn next_of_type(
    ws: &mut Client,
    kind: &str,
    timeout: Duration,
) -> Option<(Value, Instant)> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = next_json(ws, left).await?;
        if message["type"] == kind {
            return Some((message, Instant::now()));
        }
    }
}

/// Sends a text frame.
pub async fn send_text(ws: &mut Client, text: &str) {
    ws.send(Message::text(text.to_owned())).await.expect("send");
}

/// Parses the seed's timestamp format.
pub fn parse_timestamp(value: &Value) -> chrono::NaiveDateTime {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is a string: {value}"));
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.6f")
        .unwrap_or_else(|e| panic!("timestamp {text} is not ISO 8601 with microseconds: {e}"))
}

/// Connects to `url` presenting `Authorization: Bearer <token>`.
pub async fn connect_with_token(url: &str, token: &str) -> Client {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().expect("a WebSocket URL");
    let value = format!("Bearer {token}").parse().expect("a header value");
    request.headers_mut().insert("authorization", value);
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("connect {url} with a token: {e}"));
    ws
}

/// The `get_status` record of the plugin named `name`, asked on a new connection; with
/// `state`, the record in that state (a name refused as a duplicate has a second one).
pub async fn plugin_record(server: &Server, name: &str, state: Option<&str>) -> Value {
    let mut ws = connect(&server.url("/")).await;
    send_text(&mut ws, r#"{"type":"get_status"}"#).await;
    let (status, _) = next_of_type(&mut ws, "status", Duration::from_secs(3))
        .await
        .expect("status");
    status["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["name"] == name && state.is_none_or(|state| p["state"] == state))
        .cloned()
        .unwrap_or_else(|| panic!("no record of {name} in state {state:?}: {status}"))
}
