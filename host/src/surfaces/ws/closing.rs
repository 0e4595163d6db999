//! How a connection ends, shared by every WebSocket route: the close code for each kind
//! of failure, and close frames sent with a bounded wait so a dead peer cannot hold a
//! task.
//!
//! A client closed for what it sent (a protocol error, a flood) usually has more bytes
//! on the way. Dropping a socket with unread bytes makes the kernel answer with a
//! reset, and a reset makes the client's kernel throw away what it had not read yet,
//! the close frame included: the client would never learn why. So after such a close
//! the server half-closes its side and reads and discards what still comes, up to
//! [`LINGER_BYTES`]; a client that sends more than that is a flooder, and is left
//! unread (its writes stall on a full window, at no cost to the server) until
//! [`LINGER_TIME`] has passed, time enough to read the close frame before the reset
//! ([`close_and_linger`]).

use std::time::Duration;

use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::WebSocketStream;

use super::frame_gate;

/// Longest wait for a close frame to go out.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// Longest a closed offender's socket is held after its close frame.
pub const LINGER_TIME: Duration = Duration::from_millis(500);
/// Most bytes read and discarded from a closed offender: enough for the rest of any
/// honest client's last message and its close frame, microseconds of reading.
pub const LINGER_BYTES: usize = 64 * 1024;
/// Bytes read at a time while lingering (allocated only then: a buffer inside the
/// future would be carried by every session for its whole life).
const LINGER_CHUNK: usize = 16 * 1024;

/// The close code and reason owed to a peer whose input caused `error`, if any.
pub fn code_for(error: &WsError) -> Option<(CloseCode, &'static str)> {
    match error {
        WsError::Capacity(_) => Some((CloseCode::Size, "Message too big")),
        WsError::Utf8(_) => Some((CloseCode::Invalid, "Invalid UTF-8 in a text message")),
        WsError::Protocol(_) => Some((CloseCode::Protocol, "Protocol error")),
        WsError::Io(e) if frame_gate::is_too_many_fragments(e) => {
            Some((CloseCode::Policy, "Too many fragments in one message"))
        }
        _ => None,
    }
}

/// Sends a close frame (best effort, bounded).
pub async fn close<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &'static str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, ws.close(Some(frame))).await;
}

/// Sends a close frame to a client closed for what it sent, then half-closes and
/// discards its further bytes for a bounded while (see the module doc), so the close
/// frame reaches it rather than being wiped out by a reset.
pub async fn close_and_linger<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &'static str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    close(ws, code, reason).await;
    let stream = ws.get_mut();
    let lingering = async {
        let _ = stream.shutdown().await;
        let mut discard = vec![0u8; LINGER_CHUNK];
        let mut total = 0;
        while total < LINGER_BYTES {
            match stream.read(&mut discard).await {
                Ok(0) | Err(_) => return, // The client is gone: nothing to protect.
                Ok(n) => total += n,
            }
        }
        drop(discard);
        // Still sending: stop reading, and give it the time to read its close frame.
        std::future::pending::<()>().await;
    };
    let _ = tokio::time::timeout(LINGER_TIME, lingering).await;
}

/// Ends a connection after a read error: the matching close frame if one is owed.
pub async fn fail<S>(ws: &mut WebSocketStream<S>, error: &WsError)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match code_for(error) {
        Some((code, reason)) => close_and_linger(ws, code, reason).await,
        None => tracing::debug!(error = %error, "Client connection failed."),
    }
}

/// Completes a close the peer started: tungstenite has queued the reply, flushing
/// sends it, so the peer sees a clean close handshake.
pub async fn acknowledge<S>(ws: &mut WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(CLOSE_WAIT, ws.flush()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};

    #[test]
    fn each_input_failure_has_its_close_code() {
        let too_big = WsError::Capacity(CapacityError::MessageTooLong {
            size: 2,
            max_size: 1,
        });
        assert_eq!(code_for(&too_big).map(|(c, _)| u16::from(c)), Some(1009));
        assert_eq!(
            code_for(&WsError::Utf8("bad".into())).map(|(c, _)| u16::from(c)),
            Some(1007)
        );
        let protocol = WsError::Protocol(ProtocolError::NonZeroReservedBits);
        assert_eq!(code_for(&protocol).map(|(c, _)| u16::from(c)), Some(1002));
        assert_eq!(code_for(&WsError::ConnectionClosed), None);
        let flood = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            frame_gate::TooManyFragments { max: 1 },
        );
        assert_eq!(
            code_for(&WsError::Io(flood)).map(|(c, _)| u16::from(c)),
            Some(1008)
        );
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(code_for(&WsError::Io(reset)), None);
    }
}
