//! Writes a tick's pre-framed bytes ([`crate::pipeline::framed::Framed`]) to one
//! client, past tungstenite, straight into the stream: the session's way for clients
//! the fan-out cannot write to itself (TLS; see [`super::outlet`]).
//!
//! tungstenite frames every message it is given into its own write buffer: for a
//! broadcast that would be one framing and one copy of the same payload per client and
//! tick. Neither tungstenite nor tokio-tungstenite can take bytes that are already a
//! frame (`Message::Frame` is re-encoded and copied into the buffer as well), and the
//! crates that expose frame-level writes (fastwebsockets, soketto) would replace the
//! whole session, close and conformance handling that tungstenite does well. So the
//! session keeps tungstenite for everything per client (greeting, replies, pings, the
//! automatic pong, the close handshake) and writes only the shared broadcast bytes
//! itself, through [`WebSocketStream::get_mut`].
//!
//! That is safe because a frame must never land inside another: tungstenite's buffer is
//! flushed first (it may hold the rest of an automatic pong the socket did not take at
//! once), and the whole frame is written before the session returns to tungstenite. A
//! session does one thing at a time, so nothing reads or writes through tungstenite
//! while the bytes go out. If the write does not finish within the send deadline the
//! session ends without another byte: the connection is dropped mid-frame, which is
//! what a slow client got before as well.

use bytes::Bytes;
use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::WebSocketStream;

/// Why a write failed: the socket or tungstenite's flush before it.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// tungstenite could not flush what it had queued.
    #[error("flushing queued frames: {0}")]
    Queued(#[from] tokio_tungstenite::tungstenite::Error),
    /// The socket refused the bytes.
    #[error("writing a broadcast frame: {0}")]
    Socket(#[from] std::io::Error),
}

/// Writes `frame` (a complete WebSocket frame) to the client behind `ws`.
pub async fn write_frame<S>(ws: &mut WebSocketStream<S>, frame: &Bytes) -> Result<(), WriteError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ws.flush().await?;
    let socket = ws.get_mut();
    socket.write_all(frame).await?;
    // A no-op on TCP; TLS streams push their records out here.
    socket.flush().await?;
    Ok(())
}
