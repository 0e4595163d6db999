//! A broadcast message framed once as a WebSocket text frame, for every client.
//!
//! Server-to-client frames are never masked (RFC 6455, section 5.1), so the bytes of a
//! broadcast frame are the same for every client: the bus frames each distinct message
//! once per tick and every session writes those shared bytes to its socket as they are.
//! Per client there is no serialization, no framing and no copy, only the `write()`.
//!
//! The header comes from tungstenite's own [`FrameHeader::format`], the encoder that
//! frames every other message we send, so the two paths cannot disagree on the wire
//! format. The frame and the message's text share one allocation: [`Framed::text`] is
//! a view of the frame's payload, so keeping a frame (the history keeps an hour of
//! them) costs no more than keeping its text did.

use bytes::{Bytes, BytesMut};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The longest header of an unmasked frame: 2 bytes, plus 8 for a 64-bit length.
const MAX_HEADER: usize = 10;

/// One message as a complete, final, unmasked text frame, and its text.
#[derive(Debug, Clone)]
pub struct Framed {
    /// The frame: header, then the payload.
    frame: Bytes,
    /// The payload, a view of the same bytes.
    text: Utf8Bytes,
}

impl Framed {
    /// Frames `json` as one text frame (one copy of the text, once per tick).
    pub fn text(json: &str) -> Self {
        let header = FrameHeader {
            is_final: true,
            opcode: OpCode::Data(Data::Text),
            ..FrameHeader::default()
        };
        let length = json.len() as u64;
        let mut frame = BytesMut::with_capacity(MAX_HEADER + json.len());
        let mut writer = bytes::BufMut::writer(&mut frame);
        // Writing into memory cannot fail; `format` returns a Result only for its
        // `io::Write` bound.
        let _ = header.format(length, &mut writer);
        let header_len = frame.len();
        frame.extend_from_slice(json.as_bytes());
        let frame = frame.freeze();
        // The payload was copied from a `&str`: the check (once per tick) always
        // passes, and the fallback copy is never made.
        let text = Utf8Bytes::try_from(frame.slice(header_len..))
            .unwrap_or_else(|_| Utf8Bytes::from(json));
        Self { frame, text }
    }

    /// The whole frame, to write to a socket as is.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// The message's text (the frame's payload, shared).
    pub fn text_bytes(&self) -> &Utf8Bytes {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use tokio_tungstenite::tungstenite::protocol::{Role, WebSocket};
    use tokio_tungstenite::tungstenite::Message;

    /// What a real client decodes from `bytes`: tungstenite in the client role.
    fn decoded_by_a_client(bytes: &[u8]) -> String {
        let mut client =
            WebSocket::from_raw_socket(Cursor::new(bytes.to_vec()), Role::Client, None);
        match client.read().expect("a client reads the frame") {
            Message::Text(text) => text.as_str().to_owned(),
            other => panic!("expected text, got {other:?}"),
        }
    }

    #[test]
    fn headers_use_the_length_encoding_each_size_needs() {
        // (payload length, the header RFC 6455 section 5.2 asks for)
        let cases: [(usize, &[u8]); 5] = [
            (0, &[0x81, 0]),
            (125, &[0x81, 125]),
            (126, &[0x81, 126, 0x00, 0x7e]),
            (65_535, &[0x81, 126, 0xff, 0xff]),
            (65_536, &[0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ];
        for (length, header) in cases {
            let json = "x".repeat(length);
            let framed = Framed::text(&json);
            let frame = framed.frame();
            assert_eq!(&frame[..header.len()], header, "length {length}");
            assert_eq!(frame.len(), header.len() + length, "length {length}");
            assert_eq!(framed.text_bytes().as_str(), json);
            assert_eq!(decoded_by_a_client(frame), json, "length {length}");
        }
    }

    #[test]
    fn the_text_is_a_view_of_the_frame() {
        let framed = Framed::text(r#"{"type":"monitoring_data"}"#);
        let payload = &framed.frame()[2..];
        assert_eq!(framed.text_bytes().as_str().as_ptr(), payload.as_ptr());
    }
}
