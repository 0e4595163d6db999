//! Counts a client's frames on the way in, where they are still visible.
//!
//! tungstenite assembles a fragmented message itself and never shows its session an
//! empty continuation frame, so a client could send a first fragment and then empty
//! continuations for ever: each costs the server a frame parse and nothing ever reaches
//! the rate limit or the message size limit. [`FrameGate`] sits between the socket and
//! the rest of the read side and follows the frame headers in the incoming bytes (a
//! small state machine: 2 to 14 header bytes, then a payload it skips without copying
//! or buffering), counting the fragments of the message in progress. Past
//! [`MAX_FRAGMENTS`] the read fails with [`TooManyFragments`], which the session
//! answers with a close 1008 ([`super::closing::code_for`]).
//!
//! Control frames are not counted here: tungstenite hands every ping and pong to the
//! session, which charges them to the client's rate limit like any message.
//! Malformed headers are tungstenite's to refuse (1002); the gate only counts.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most frames one message may arrive in: its first frame and its continuations. No
/// browser or client library we know fragments a message into more than a handful;
/// a message of the default 64 KiB limit in 512 fragments is 128 bytes a fragment.
pub const MAX_FRAGMENTS: u32 = 512;

/// The read error of a client past [`MAX_FRAGMENTS`] in one message.
#[derive(Debug, thiserror::Error)]
#[error("a message arrived in more than {max} fragments")]
pub struct TooManyFragments {
    /// The limit it passed.
    pub max: u32,
}

/// Where the scanner is in the incoming bytes.
#[derive(Debug, Default)]
struct Scan {
    /// The header read so far (at most 14 bytes: 2, an 8-byte length, a 4-byte mask).
    header: [u8; 14],
    /// How many bytes of `header` are filled.
    have: usize,
    /// Payload bytes still to pass before the next header.
    skip: u64,
    /// Frames of the data message in progress; 0 between messages.
    fragments: u32,
    /// The limit was passed and the read failed: later reads (the close's lingering
    /// drain, [`super::closing::close_and_linger`]) pass through uncounted.
    failed: bool,
}

impl Scan {
    /// Follows `bytes`, counting the frames whose headers end in them.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), TooManyFragments> {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.skip -= n as u64;
                bytes = &bytes[n..];
                continue;
            }
            let need = self.header_len();
            let n = (need - self.have).min(bytes.len());
            self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            // The length is known only once the first two bytes are in.
            if self.have == need && self.header_len() == need {
                self.frame()?;
            }
        }
        Ok(())
    }

    /// The length of the header being read, as far as its bytes so far tell.
    fn header_len(&self) -> usize {
        if self.have < 2 {
            return 2;
        }
        let length = match self.header[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
        2 + length + mask
    }

    /// One whole header: counts the frame and sets the payload to skip.
    fn frame(&mut self) -> Result<(), TooManyFragments> {
        let fin = self.header[0] & 0x80 != 0;
        let opcode = self.header[0] & 0x0f;
        self.skip = match self.header[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => {
                let mut length = [0u8; 8];
                length.copy_from_slice(&self.header[2..10]);
                u64::from_be_bytes(length)
            }
            short => u64::from(short),
        };
        self.have = 0;
        match opcode {
            // A continuation: one more fragment of the message in progress.
            0x0 => self.fragments = self.fragments.saturating_add(1),
            // Text or binary: a new message.
            0x1 | 0x2 => self.fragments = 1,
            // Control frames (and reserved opcodes, refused by tungstenite).
            _ => return Ok(()),
        }
        if self.fragments > MAX_FRAGMENTS {
            self.failed = true;
            return Err(TooManyFragments { max: MAX_FRAGMENTS });
        }
        if fin {
            self.fragments = 0;
        }
        Ok(())
    }
}

/// A client's stream whose incoming frames are counted; see the module doc. Writes
/// pass straight through.
pub struct FrameGate<S> {
    inner: S,
    scan: Scan,
}

impl<S> FrameGate<S> {
    /// Counts the frames read from `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            scan: Scan::default(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameGate<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.scan.failed {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        match this.scan.feed(&buf.filled()[before..]) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(flood) => Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, flood))),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameGate<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Whether `error` is the gate's refusal, for the close code it is owed.
pub fn is_too_many_fragments(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<TooManyFragments>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

    /// A masked client frame with `len` payload bytes.
    fn frame(opcode: OpCode, fin: bool, len: usize) -> Vec<u8> {
        let header = FrameHeader {
            is_final: fin,
            opcode,
            mask: Some([1, 2, 3, 4]),
            ..FrameHeader::default()
        };
        let mut bytes = Vec::new();
        let _ = header.format(len as u64, &mut bytes);
        bytes.resize(bytes.len() + len, 0x5a);
        bytes
    }

    const TEXT: OpCode = OpCode::Data(Data::Text);
    const CONTINUE: OpCode = OpCode::Data(Data::Continue);

    #[test]
    fn a_message_in_many_fragments_up_to_the_limit_passes() {
        let mut scan = Scan::default();
        // Lengths of every header form: 7-bit, 16-bit and 64-bit.
        let mut bytes = frame(TEXT, false, 5);
        bytes.extend(frame(CONTINUE, false, 300));
        bytes.extend(frame(CONTINUE, false, 70_000));
        for _ in 3..MAX_FRAGMENTS - 1 {
            bytes.extend(frame(CONTINUE, false, 0));
        }
        bytes.extend(frame(CONTINUE, true, 1));
        // Fed a byte at a time and all at once, the count is the same.
        for chunk in [1, bytes.len()] {
            let mut scan_chunked = Scan::default();
            for piece in bytes.chunks(chunk) {
                scan_chunked.feed(piece).expect("within the limit");
            }
            assert_eq!(scan_chunked.fragments, 0, "the message ended");
            assert_eq!((scan_chunked.have, scan_chunked.skip), (0, 0));
        }
        scan.feed(&bytes).expect("within the limit");
        // A new message starts the count again.
        scan.feed(&frame(TEXT, false, 1)).expect("a new message");
        assert_eq!(scan.fragments, 1);
    }

    #[test]
    fn one_fragment_past_the_limit_fails_and_stays_failed() {
        let mut scan = Scan::default();
        let mut bytes = frame(TEXT, false, 1);
        for _ in 1..MAX_FRAGMENTS {
            bytes.extend(frame(CONTINUE, false, 0));
        }
        scan.feed(&bytes).expect("exactly the limit");
        assert!(scan.feed(&frame(CONTINUE, false, 0)).is_err());
        assert!(scan.failed);
    }

    #[test]
    fn control_frames_inside_a_message_are_not_fragments() {
        let mut scan = Scan::default();
        let mut bytes = frame(TEXT, false, 1);
        for _ in 0..2 * MAX_FRAGMENTS {
            bytes.extend(frame(
                OpCode::Control(
                    tokio_tungstenite::tungstenite::protocol::frame::coding::Control::Ping,
                ),
                true,
                4,
            ));
        }
        bytes.extend(frame(CONTINUE, true, 1));
        scan.feed(&bytes).expect("pings are the rate limit's");
        assert_eq!(scan.fragments, 0);
    }

    #[tokio::test]
    async fn the_gate_fails_the_read_once_with_an_error_the_session_recognises() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut bytes = frame(TEXT, false, 1);
        for _ in 0..MAX_FRAGMENTS {
            bytes.extend(frame(CONTINUE, false, 0));
        }
        client.write_all(&bytes).await.expect("write");
        let mut gate = FrameGate::new(server);
        let mut sink = vec![0u8; 1 << 16];
        let error = loop {
            match gate.read(&mut sink).await {
                Ok(0) => panic!("the flood was not refused"),
                Ok(_) => continue,
                Err(error) => break error,
            }
        };
        assert!(is_too_many_fragments(&error), "{error}");
        // What comes after is only read to be discarded, uncounted.
        client
            .write_all(&frame(CONTINUE, false, 0))
            .await
            .expect("write");
        assert!(gate.read(&mut sink).await.is_ok_and(|n| n > 0));
    }
}
