//! Inflates a client's compressed messages before tungstenite reads them.
//!
//! tungstenite 0.30 has no extension support: it fails any frame with a reserved bit
//! set. [`Inflating`] sits between the socket and tungstenite and, once the extension is
//! negotiated, rewrites each frame of a compressed message (RSV1 on its first frame)
//! into a frame of the inflated bytes with RSV1 clear, masked with a zero key (a valid
//! mask that changes nothing, RFC 6455 section 5.3), so tungstenite goes on doing all
//! the rest: fragments, control frames, UTF-8, size limits, the close handshake.
//! Frames of uncompressed messages and control frames pass through untouched.
//!
//! Input is hostile: a message is inflated at most to the session's message limit. A
//! message that would inflate past it is replaced by a frame header announcing one byte
//! more than the limit, which tungstenite refuses before reading a payload, so the
//! client is closed with 1009 and the server never holds more than the limit. A frame
//! that does not inflate (corrupt data, a window it did not agree to) is passed on as
//! it came, RSV1 set, and tungstenite closes with 1002. After either, everything passes
//! through unread: tungstenite has ended the connection.
//!
//! A frame is handed on only once it is complete, so at most one frame (itself bounded
//! by the limit, plus deflate's few bytes of growth) is buffered; with the extension off, reads go straight to the socket.

use std::io::Cursor;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BytesMut};
use flate2::{Decompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

/// The four bytes RFC 7692 (section 7.2.2) has the receiver append to a message.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4096;
/// Bytes inflated at a time.
const INFLATE_CHUNK: usize = 8192;

/// A socket whose compressed WebSocket messages are inflated on the way in.
pub struct Inflating<S> {
    inner: S,
    /// `None` when the extension was not negotiated: a plain pass-through.
    state: Option<Box<State>>,
}

impl<S> Inflating<S> {
    /// Wraps `inner`; with `limit` (the largest message accepted, inflated), the
    /// extension is on.
    pub fn new(inner: S, limit: Option<usize>) -> Self {
        let state = limit.map(|limit| {
            Box::new(State {
                raw: BytesMut::new(),
                out: BytesMut::new(),
                limit,
                message: Message::None,
                passing: false,
                eof: false,
            })
        });
        Self { inner, state }
    }
}

/// What the current data message is.
enum Message {
    /// Between messages.
    None,
    /// An uncompressed message whose continuations pass through.
    Plain,
    /// A compressed one, with its decompressor and how much it inflated to so far.
    Compressed(Box<Decompress>, usize),
}

struct State {
    /// Bytes read from the socket, not yet a whole frame.
    raw: BytesMut,
    /// Bytes ready for tungstenite.
    out: BytesMut,
    /// The largest message, inflated.
    limit: usize,
    message: Message,
    /// Set once tungstenite is bound to fail the connection: pass everything on.
    passing: bool,
    /// The socket has ended.
    eof: bool,
}

/// What became of the frame at the front of `raw`.
enum Step {
    /// Not a whole frame yet.
    NeedMore,
    /// The frame was moved to `out`.
    Done,
}

impl State {
    /// Moves the first whole frame of `raw` to `out`, inflated if it must be.
    fn step(&mut self) -> Step {
        if self.passing {
            if self.raw.is_empty() {
                return Step::NeedMore;
            }
            let raw = self.raw.split();
            self.out.extend_from_slice(&raw);
            return Step::Done;
        }
        let mut cursor = Cursor::new(&self.raw[..]);
        let (header, length) = match FrameHeader::parse(&mut cursor) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Step::NeedMore,
            Err(_) => return self.pass_the_rest(), // tungstenite fails on it too.
        };
        let header_len = cursor.position() as usize;
        let bound = compressed_bound(self.limit);
        let Some(length) = usize::try_from(length).ok().filter(|l| *l <= bound) else {
            return self.pass_the_rest(); // tungstenite refuses the header (1009).
        };
        if self.raw.len() < header_len + length {
            return Step::NeedMore;
        }
        let frame = self.raw.split_to(header_len + length);
        if self.raw.is_empty() {
            self.raw = BytesMut::new(); // An idle client holds no buffer.
        }
        match self.rewrite(&header, &frame[header_len..]) {
            Some(rewritten) => self.out.extend_from_slice(&rewritten),
            None => {
                self.out.extend_from_slice(&frame);
                self.passing = true;
            }
        }
        Step::Done
    }

    /// Gives up rewriting: the rest goes to tungstenite as it came.
    fn pass_the_rest(&mut self) -> Step {
        self.passing = true;
        self.step()
    }

    /// The frame to hand on for one whole frame of `payload` (still masked); `None`
    /// passes the frame on as it came.
    fn rewrite(&mut self, header: &FrameHeader, payload: &[u8]) -> Option<Vec<u8>> {
        let compressed = match header.opcode {
            OpCode::Data(Data::Text | Data::Binary) => {
                self.message = if header.rsv1 {
                    Message::Compressed(Box::new(Decompress::new(false)), 0)
                } else {
                    Message::Plain
                };
                header.rsv1
            }
            OpCode::Data(Data::Continue) => {
                !header.rsv1 && matches!(self.message, Message::Compressed(..))
            }
            _ => false, // Control frames; RSV1 on one is tungstenite's to refuse.
        };
        if !compressed {
            if header.is_final && matches!(header.opcode, OpCode::Data(_)) {
                self.message = Message::None;
            }
            return Some(frame_bytes(header, payload));
        }
        let mask = header.mask?; // Unmasked client frames: tungstenite refuses them.
        let mut input: Vec<u8> = payload.to_vec();
        for (i, byte) in input.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
        if header.is_final {
            input.extend_from_slice(&TAIL);
        }
        let Message::Compressed(decompress, produced) = &mut self.message else {
            return None;
        };
        let inflated = match inflate(decompress, &input, self.limit - *produced) {
            Ok(inflated) => inflated,
            Err(Inflate::TooBig) => {
                self.passing = true;
                return Some(too_big_header(self.limit));
            }
            Err(Inflate::Corrupt) => return None,
        };
        *produced += inflated.len();
        if header.is_final {
            self.message = Message::None;
        }
        let plain = FrameHeader {
            is_final: header.is_final,
            rsv1: false,
            rsv2: header.rsv2,
            rsv3: header.rsv3,
            opcode: header.opcode,
            mask: Some([0; 4]),
        };
        Some(frame_bytes(&plain, &inflated))
    }
}

/// The largest frame taken in: a message of `limit` bytes that does not compress
/// comes out of deflate a few bytes larger (5 per stored block, plus the flush
/// markers), and must still be accepted; the bound allows 5 bytes per 4 KiB.
fn compressed_bound(limit: usize) -> usize {
    limit.saturating_add(limit / 4096 * 5 + 64)
}

/// Why a payload did not inflate.
enum Inflate {
    TooBig,
    Corrupt,
}

/// Inflates `input` whole, to at most `room` bytes, a chunk at a time so a bomb is
/// stopped at `room` plus one chunk.
fn inflate(decompress: &mut Decompress, input: &[u8], room: usize) -> Result<Vec<u8>, Inflate> {
    let mut output = Vec::new();
    let mut chunk = [0u8; INFLATE_CHUNK];
    let mut offset = 0;
    loop {
        let (in_before, out_before) = (decompress.total_in(), decompress.total_out());
        let status = decompress
            .decompress(&input[offset..], &mut chunk, FlushDecompress::Sync)
            .map_err(|_| Inflate::Corrupt)?;
        let used = (decompress.total_in() - in_before) as usize;
        let made = (decompress.total_out() - out_before) as usize;
        offset += used;
        if output.len() + made > room {
            return Err(Inflate::TooBig);
        }
        output.extend_from_slice(&chunk[..made]);
        let drained = offset == input.len() && made < chunk.len();
        if matches!(status, Status::StreamEnd) || drained {
            return Ok(output);
        }
        if used == 0 && made == 0 {
            return Err(Inflate::Corrupt); // No progress: the data cannot go on.
        }
    }
}

/// A whole frame: `header` (its mask included) and `payload` as given.
fn frame_bytes(header: &FrameHeader, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(14 + payload.len());
    // Writing into memory cannot fail.
    let _ = header.format(payload.len() as u64, &mut bytes);
    bytes.extend_from_slice(payload);
    bytes
}

/// A masked text frame header announcing `limit + 1` bytes: refused by tungstenite's
/// size check before any payload is read.
fn too_big_header(limit: usize) -> Vec<u8> {
    let header = FrameHeader {
        is_final: true,
        opcode: OpCode::Data(Data::Text),
        mask: Some([0; 4]),
        ..FrameHeader::default()
    };
    let mut bytes = Vec::with_capacity(14);
    let _ = header.format(limit as u64 + 1, &mut bytes);
    bytes
}

impl<S: AsyncRead + Unpin> AsyncRead for Inflating<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let Some(state) = this.state.as_mut() else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        loop {
            if !state.out.is_empty() {
                let n = state.out.len().min(buf.remaining());
                buf.put_slice(&state.out[..n]);
                state.out.advance(n);
                if state.out.is_empty() {
                    state.out = BytesMut::new();
                }
                return Poll::Ready(Ok(()));
            }
            if let Step::Done = state.step() {
                continue;
            }
            if state.eof {
                // A frame cut short: tungstenite sees the bytes, then the end.
                let raw = state.raw.split();
                if raw.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                state.out.extend_from_slice(&raw);
                continue;
            }
            let mut chunk = [0u8; READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                state.eof = true;
            } else {
                state.raw.extend_from_slice(read.filled());
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Inflating<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::Control;
    use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
    use tokio_tungstenite::tungstenite::{Error as WsError, Message};
    use tokio_tungstenite::WebSocketStream;

    const LIMIT: usize = 64 * 1024;

    /// `data` compressed as a client does it (RFC 7692 section 7.2.1).
    fn compressed(data: &[u8]) -> Vec<u8> {
        let mut compress = Compress::new(Compression::default(), false);
        let mut out = Vec::with_capacity(data.len() + 1024);
        while (compress.total_in() as usize) < data.len() || out.len() == out.capacity() {
            out.reserve(out.capacity().max(1024));
            let done = compress.total_in() as usize;
            compress
                .compress_vec(&data[done..], &mut out, FlushCompress::Sync)
                .expect("compresses");
        }
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - TAIL.len());
        out
    }

    /// A masked client frame.
    fn client_frame(opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let header = FrameHeader {
            is_final: fin,
            rsv1,
            opcode,
            mask: Some(key),
            ..FrameHeader::default()
        };
        let masked: Vec<u8> = payload
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        frame_bytes(&header, &masked)
    }

    /// The first `count` messages (or up to the first error) tungstenite, reading
    /// through [`Inflating`], makes of `bytes`.
    async fn read(bytes: Vec<u8>, count: usize) -> Vec<Result<Message, WsError>> {
        // The client end stays open: tungstenite answers pings through it.
        let (mut client, server) = tokio::io::duplex(1 << 20);
        client.write_all(&bytes).await.expect("write");
        let config = WebSocketConfig::default()
            .max_message_size(Some(LIMIT))
            .max_frame_size(Some(LIMIT));
        let mut ws = WebSocketStream::from_raw_socket(
            Inflating::new(server, Some(LIMIT)),
            Role::Server,
            Some(config),
        )
        .await;
        let mut messages = Vec::new();
        while messages.len() < count {
            let Some(message) = ws.next().await else {
                break;
            };
            let failed = message.is_err();
            messages.push(message);
            if failed {
                break;
            }
        }
        drop(client);
        messages
    }

    fn text(message: &Result<Message, WsError>) -> Option<String> {
        match message {
            Ok(Message::Text(text)) => Some(text.as_str().to_owned()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn compressed_and_plain_messages_both_arrive() {
        let command = r#"{"type":"subscribe","sections":["memory"]}"#;
        let mut bytes = client_frame(
            OpCode::Data(Data::Text),
            true,
            true,
            &compressed(command.as_bytes()),
        );
        bytes.extend(client_frame(
            OpCode::Data(Data::Text),
            true,
            false,
            b"plain",
        ));
        let messages = read(bytes, 2).await;
        let texts: Vec<Option<String>> = messages.iter().map(text).collect();
        assert_eq!(texts, [Some(command.to_owned()), Some("plain".to_owned())]);
    }

    #[tokio::test]
    async fn a_fragmented_compressed_message_with_a_ping_between_fragments() {
        let message = "fragmented ".repeat(100);
        let deflated = compressed(message.as_bytes());
        let (first, second) = deflated.split_at(deflated.len() / 2);
        let mut bytes = client_frame(OpCode::Data(Data::Text), false, true, first);
        bytes.extend(client_frame(
            OpCode::Control(Control::Ping),
            true,
            false,
            b"hi",
        ));
        bytes.extend(client_frame(
            OpCode::Data(Data::Continue),
            true,
            false,
            second,
        ));
        let messages = read(bytes, 2).await;
        assert!(
            matches!(&messages[0], Ok(Message::Ping(p)) if &p[..] == b"hi"),
            "{messages:?}"
        );
        assert_eq!(text(&messages[1]).as_deref(), Some(&*message));
    }

    #[tokio::test]
    async fn a_message_of_the_limit_that_does_not_compress_is_accepted() {
        // Pseudo-random bytes (an LCG): deflate stores them, a little larger.
        let mut seed = 0x2545_f491_u32;
        let message: Vec<u8> = (0..LIMIT)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as u8
            })
            .collect();
        let deflated = compressed(&message);
        assert!(deflated.len() > LIMIT, "{} bytes", deflated.len());
        let frame = client_frame(OpCode::Data(Data::Binary), true, true, &deflated);
        let messages = read(frame, 1).await;
        assert!(
            matches!(&messages[..], [Ok(Message::Binary(b))] if b[..] == message[..]),
            "{:?}",
            messages
                .iter()
                .map(|m| m.as_ref().map(Message::len))
                .collect::<Vec<_>>()
        );
    }

    #[tokio::test]
    async fn a_deflate_bomb_is_refused_at_the_limit() {
        let bomb = compressed(&vec![b'a'; 16 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
        let messages = read(client_frame(OpCode::Data(Data::Text), true, true, &bomb), 1).await;
        assert!(
            matches!(messages.as_slice(), [Err(WsError::Capacity(_))]),
            "{messages:?}"
        );
    }

    #[test]
    fn inflating_stops_at_the_room_given() {
        let mut input = compressed(&vec![b'a'; 16 * 1024 * 1024]);
        input.extend_from_slice(&TAIL);
        let mut decompress = Decompress::new(false);
        assert!(matches!(
            inflate(&mut decompress, &input, LIMIT),
            Err(Inflate::TooBig)
        ));
        let out = decompress.total_out() as usize;
        assert!(out <= LIMIT + INFLATE_CHUNK, "inflated {out} bytes");
    }

    #[tokio::test]
    async fn data_that_does_not_inflate_is_a_protocol_error() {
        let frame = client_frame(
            OpCode::Data(Data::Text),
            true,
            true,
            &[0xff, 0xff, 0xff, 0xff, 0xff],
        );
        let messages = read(frame, 1).await;
        assert!(
            matches!(messages.as_slice(), [Err(WsError::Protocol(_))]),
            "{messages:?}"
        );
    }

    #[tokio::test]
    async fn without_the_extension_rsv1_stays_an_error() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let bytes = client_frame(OpCode::Data(Data::Text), true, true, &compressed(b"x"));
        client.write_all(&bytes).await.expect("write");
        drop(client);
        let mut ws =
            WebSocketStream::from_raw_socket(Inflating::new(server, None), Role::Server, None)
                .await;
        assert!(matches!(ws.next().await, Some(Err(WsError::Protocol(_)))));
    }
}
