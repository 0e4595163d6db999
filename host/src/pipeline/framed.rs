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
//!
//! For clients that negotiated `permessage-deflate` the same message is also compressed
//! once ([`Framed::deflated`]): raw deflate of the whole payload with no context taken
//! over from earlier messages (the server answers every offer with
//! `server_no_context_takeover`), so the compressed frame too is the same bytes for
//! every such client. It is made the first time a client needs it, never for a tick
//! that only plain clients receive.

use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use flate2::{Compress, Compression, FlushCompress};
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
    /// The `permessage-deflate` frame, made once on first use and shared by clones.
    deflated: Arc<OnceLock<Bytes>>,
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
        Self {
            frame,
            text,
            deflated: Arc::default(),
        }
    }

    /// The whole frame, to write to a socket as is.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// The same message as a compressed `permessage-deflate` frame (RSV1 set),
    /// compressed by the first caller and shared by every later one.
    pub fn deflated(&self) -> &Bytes {
        self.deflated
            .get_or_init(|| deflate_frame(self.text.as_bytes()))
    }

    /// The message's text (the frame's payload, shared).
    pub fn text_bytes(&self) -> &Utf8Bytes {
        &self.text
    }
}

/// The four bytes a sync flush ends with, left off the wire (RFC 7692, section 7.2.1).
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// `payload` compressed alone (raw deflate, a sync flush, its tail removed) in a
/// final text frame with RSV1 set.
fn deflate_frame(payload: &[u8]) -> Bytes {
    let mut compress = Compress::new(Compression::default(), false);
    // Deflate grows incompressible input by a few bytes per 16 KiB block at most.
    let mut compressed = Vec::with_capacity(payload.len() + payload.len() / 64 + 64);
    loop {
        let consumed = compress.total_in() as usize;
        // Compressing into a Vec cannot fail: the only error is a buffer without room,
        // which the loop grows.
        let _ = compress.compress_vec(&payload[consumed..], &mut compressed, FlushCompress::Sync);
        let done = compress.total_in() as usize == payload.len();
        if done && compressed.len() < compressed.capacity() {
            break;
        }
        compressed.reserve(compressed.capacity().max(64));
    }
    if compressed.ends_with(&SYNC_TAIL) {
        compressed.truncate(compressed.len() - SYNC_TAIL.len());
    }
    let header = FrameHeader {
        is_final: true,
        rsv1: true,
        opcode: OpCode::Data(Data::Text),
        ..FrameHeader::default()
    };
    let mut frame = BytesMut::with_capacity(MAX_HEADER + compressed.len());
    let mut writer = bytes::BufMut::writer(&mut frame);
    let _ = header.format(compressed.len() as u64, &mut writer);
    frame.extend_from_slice(&compressed);
    frame.freeze()
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

    #[test]
    fn the_deflated_frame_inflates_to_the_message_and_is_shared() {
        let json = format!(
            r#"{{"type":"monitoring_data","data":"{}"}}"#,
            "abc".repeat(300)
        );
        let framed = Framed::text(&json);
        let deflated = framed.deflated().clone();
        assert_eq!(deflated[0], 0xc1, "FIN, RSV1, text");
        let (header, length) = FrameHeader::parse(&mut Cursor::new(&deflated[..]))
            .expect("a header")
            .expect("whole");
        assert!(header.rsv1 && header.mask.is_none());
        let payload = &deflated[deflated.len() - length as usize..];
        assert!(payload.len() < json.len() / 4, "{} bytes", payload.len());
        // What a receiver does (RFC 7692 section 7.2.2): append the tail, inflate.
        let mut input = payload.to_vec();
        input.extend_from_slice(&SYNC_TAIL);
        let mut inflated = Vec::with_capacity(json.len() + 64);
        flate2::Decompress::new(false)
            .decompress_vec(&input, &mut inflated, flate2::FlushDecompress::Sync)
            .expect("inflates");
        assert_eq!(inflated, json.as_bytes());
        let clone = framed.clone();
        assert_eq!(
            clone.deflated().as_ptr(),
            deflated.as_ptr(),
            "compressed once"
        );
    }
}
