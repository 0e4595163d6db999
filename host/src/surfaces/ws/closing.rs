//! How a connection ends, shared by every WebSocket route: the close code for each kind
//! of failure, and close frames sent with a bounded wait so a dead peer cannot hold a
//! task.

use std::time::Duration;

use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::WebSocketStream;

use super::frame_gate;

/// Longest wait for a close frame to go out.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

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

/// Ends a connection after a read error: the matching close frame if one is owed.
pub async fn fail<S>(ws: &mut WebSocketStream<S>, error: &WsError)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match code_for(error) {
        Some((code, reason)) => close(ws, code, reason).await,
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
