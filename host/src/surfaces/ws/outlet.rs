//! One client's end of the broadcast: what it asked for, and the frames on their way
//! to it.
//!
//! Every tick the fan-out ([`super::fanout`]) offers the tick's frame to each client's
//! outlet. For a plain TCP client the fan-out writes the frame's shared bytes straight
//! into the socket with one non-blocking `write()`, the whole cost of a delivery, as
//! in the raw-write floor the benchmark compares against: no task wakes up, nothing
//! is framed, copied or scheduled per client. Only when that cannot finish now (the
//! socket's buffer is full, tungstenite is in the middle of a frame of its own, or the
//! stream is TLS, which the fan-out cannot write to) is the frame queued here and the
//! session's task woken to finish it ([`Outlet::poll_drain`]) under the send deadline.
//! A client that cannot keep up holds at most two frames, the one being written and
//! the newest; anything between is skipped, never queued.
//!
//! The keepalive rides on the same pass: a client whose ping is due gets the two bytes
//! of an empty ping frame right behind its tick, and one silent past the ping timeout
//! is handed to its session to be closed. So pings cost no timer, no wake-up and no
//! task poll per client, only a second small `write()`; and since clients are pinged
//! on ticks, their pongs come back together and are read in a few wake-ups per tick
//! rather than one per client. (Each client's first ping is still spread over an
//! interval, so only a share of the clients is pinged on any one tick.)
//!
//! Two writers share one socket, so frames must never interleave: the fan-out writes
//! only while no frame of tungstenite's is unfinished, and the session's stream
//! ([`super::socket::DirectSocket`]) finishes any queued broadcast before it lets
//! tungstenite write. Both decide under the outlet's lock, and each write is one
//! non-blocking `write()`, so the lock is held for a system call at most. Once a close
//! frame has started, or the session has let go, nothing more is broadcast.

use std::io::{self, Cursor};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
// The tokio clock, so the session tests run on a paused one.
use tokio::time::Instant;

use crate::pipeline::bus::Frame;

/// What a client asked to be sent.
#[derive(Debug, Clone)]
pub struct Wants {
    /// Whether it is subscribed at all.
    pub subscribed: bool,
    /// Every `every`-th tick.
    pub every: u64,
    /// Only these sections (sorted, deduplicated); `None` means all.
    pub sections: Option<Vec<String>>,
    /// It watches fleet hosts instead of this server's own data.
    pub fleet: bool,
}

impl Wants {
    /// Everything, every tick: what a client gets until it subscribes to less.
    pub fn everything() -> Self {
        Self {
            subscribed: true,
            every: 1,
            sections: None,
            fleet: false,
        }
    }

    fn takes(&self, seq: u64) -> bool {
        self.subscribed && !self.fleet && seq % self.every.max(1) == 0
    }
}

/// The keepalive settings and the time of a pass.
#[derive(Debug, Clone, Copy)]
pub struct Keepalive {
    /// The pass's time.
    pub now: Instant,
    /// Between two pings of a client.
    pub interval: Duration,
    /// How long past a ping's interval a client may stay silent.
    pub timeout: Duration,
}

/// An empty, final ping frame (RFC 6455, section 5.5.2), unmasked as a server sends it.
const PING: [u8; 2] = [0x89, 0x00];

/// What the session is asked to do.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The client stayed silent past the ping timeout: close it.
    pub silent: bool,
    /// A ping could not be written by the fan-out: send one.
    pub ping: bool,
}

/// What one pass over a client came to, for the fan-out's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Offered {
    /// Frames written whole to the socket (by this offer, or since the last one by the
    /// session finishing queued frames).
    pub sent: u64,
    /// Ticks this client was due and will never get.
    pub skipped: u64,
    /// Its ping is due.
    pub ping_due: bool,
}

/// What the session has to do for its queued frames.
#[derive(Debug)]
pub enum Drain {
    /// Nothing is queued (any more).
    Empty,
    /// tungstenite is in the middle of a frame: flush it, then drain again.
    FinishReply,
    /// No direct socket (TLS, an in-memory pipe): write these bytes through the stream
    /// (and count them sent).
    Write(Bytes),
}

/// One client's share of the broadcast; see the module doc.
#[derive(Debug)]
pub struct Outlet {
    /// The client's socket when the connection is plain TCP; `None` when the fan-out
    /// cannot write to it (TLS, tests' pipes).
    socket: Option<TcpStream>,
    /// The client negotiated `permessage-deflate`: it gets the compressed frames.
    deflate: bool,
    inner: Mutex<Inner>,
}

/// A frame on its way to the socket.
#[derive(Debug)]
struct Outgoing {
    bytes: Bytes,
    written: usize,
    tick: bool,
}

impl Outgoing {
    fn tick(bytes: Bytes, written: usize) -> Self {
        Self {
            bytes,
            written,
            tick: true,
        }
    }
}

#[derive(Debug)]
struct Inner {
    wants: Wants,
    /// The last tick this client was given.
    last_sent: Option<u64>,
    /// A frame begun or due, how much of it is written, and whether it is a tick (else
    /// a ping).
    current: Option<Outgoing>,
    /// The newest frame, due after `current`.
    newest: Option<Bytes>,
    /// Bytes still to come of the frame tungstenite is writing (0: between frames).
    reply_left: usize,
    /// When the client is pinged next (`None` until its session starts).
    ping_at: Option<Instant>,
    /// When anything was last heard from the client.
    heard: Instant,
    /// What the session has to do besides writing frames.
    due: Due,
    /// No more broadcasts: a close frame started, the socket failed, or the session
    /// ended.
    closed: bool,
    /// Frames the session finished since the fan-out last counted.
    finished: u64,
    /// The session's task, woken when a frame is queued.
    waker: Option<Waker>,
}

impl Outlet {
    /// An outlet the fan-out writes to directly; with `deflate`, for a client that
    /// negotiated `permessage-deflate`. It wants everything until told otherwise.
    pub fn direct(socket: TcpStream, deflate: bool) -> Self {
        Self::new(Some(socket), deflate)
    }

    /// An outlet whose frames the session writes through its own stream.
    pub fn through_session(deflate: bool) -> Self {
        Self::new(None, deflate)
    }

    fn new(socket: Option<TcpStream>, deflate: bool) -> Self {
        Self {
            socket,
            deflate,
            inner: Mutex::new(Inner {
                wants: Wants::everything(),
                last_sent: None,
                current: None,
                newest: None,
                reply_left: 0,
                ping_at: None,
                heard: Instant::now(),
                due: Due::default(),
                closed: false,
                finished: 0,
                waker: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The socket, for the session's stream.
    pub(super) fn socket(&self) -> Option<&TcpStream> {
        self.socket.as_ref()
    }

    /// Starts the keepalive: the first ping at `first`, counting silence from now.
    pub fn start_pings(&self, first: Instant) {
        let mut inner = self.lock();
        inner.ping_at = Some(first);
        inner.heard = Instant::now();
    }

    /// Something came from the client: it is alive.
    pub fn heard(&self, at: Instant) {
        self.lock().heard = at;
    }

    /// Replaces what the client asked for; the next due tick is sent whole.
    pub fn set_wants(&self, wants: Wants) {
        let mut inner = self.lock();
        inner.wants = wants;
        inner.last_sent = None;
    }

    /// No more broadcasts (the session is closing or gone); returns the frames it
    /// finished that the fan-out has not counted yet.
    pub fn retire(&self) -> u64 {
        let mut inner = self.lock();
        inner.stop();
        std::mem::take(&mut inner.finished)
    }

    /// The frames finished by the session since they were last counted.
    pub fn take_finished(&self) -> u64 {
        std::mem::take(&mut self.lock().finished)
    }

    /// The fan-out's pass over this client: the tick's `frame` (if there is one)
    /// written now if it can be, else queued for the session; and whether its ping is
    /// due at `now` (sent by [`Self::keep_alive`] once every client has its tick).
    pub fn offer(&self, frame: Option<&Frame>, now: Instant) -> Offered {
        let mut inner = self.lock();
        let mut offered = Offered {
            sent: std::mem::take(&mut inner.finished),
            ..Offered::default()
        };
        if inner.closed {
            return offered;
        }
        if let Some(frame) = frame {
            self.deliver(&mut inner, frame, &mut offered);
        }
        offered.ping_due = inner.ping_at.is_some_and(|at| at <= now) && !inner.closed;
        offered
    }

    fn deliver(&self, inner: &mut Inner, frame: &Frame, offered: &mut Offered) {
        if !inner.wants.takes(frame.seq) {
            return;
        }
        if let Some(last) = inner.last_sent {
            let every = inner.wants.every.max(1);
            offered.skipped += (frame.seq.saturating_sub(last) / every).saturating_sub(1);
        }
        inner.last_sent = Some(frame.seq);
        // The whole message or its sections; plain or compressed. Borrowed: only a
        // frame that has to wait is kept (a reference count, never a copy).
        let filtered;
        let message = match inner.wants.sections.as_deref() {
            None => &frame.message,
            Some(sections) => {
                filtered = frame.text_for(Some(sections));
                &filtered
            }
        };
        let bytes = match self.deflate {
            true => message.deflated(),
            false => message.frame(),
        };
        if inner.current.is_some() {
            // Still writing an older frame: this one waits, replacing any that waited.
            if inner.newest.replace(bytes.clone()).is_some() {
                offered.skipped += 1;
            }
            return;
        }
        let written = match self.write_now(inner, bytes) {
            Some(n) if n == bytes.len() => {
                offered.sent += 1;
                return;
            }
            Some(n) => n,
            None => 0,
        };
        inner.current = Some(Outgoing::tick(bytes.clone(), written));
        wake(inner);
    }

    /// Pings the client if its ping is due, or hands it to its session to close when
    /// it has been silent past the ping timeout.
    pub fn keep_alive(&self, keepalive: &Keepalive) {
        let mut inner = self.lock();
        let Some(at) = inner.ping_at.filter(|at| *at <= keepalive.now) else {
            return;
        };
        if inner.closed {
            return;
        }
        // The next ping keeps to the client's wave (see `super::fanout`), unless this
        // pass came more than half an interval late.
        let next = at + keepalive.interval;
        inner.ping_at = Some(next.max(keepalive.now + keepalive.interval / 2));
        if keepalive.now.duration_since(inner.heard) > keepalive.interval + keepalive.timeout {
            inner.due.silent = true;
            wake(&mut inner);
            return;
        }
        let inner = &mut *inner;
        if inner.current.is_none() {
            match self.write_now(inner, &PING) {
                Some(2) => return,
                Some(1) => {
                    inner.current = Some(Outgoing {
                        bytes: Bytes::from_static(&PING),
                        written: 1,
                        tick: false,
                    });
                    wake(inner);
                    return;
                }
                _ => {}
            }
        }
        // Through tungstenite, after whatever is queued.
        inner.due.ping = true;
        wake(inner);
    }

    /// Writes `bytes` to the socket at once, when there is a socket and tungstenite is
    /// between frames: how many went out, `None` when none could be written now.
    fn write_now(&self, inner: &mut Inner, bytes: &[u8]) -> Option<usize> {
        let socket = self.socket.as_ref().filter(|_| inner.reply_left == 0)?;
        match socket.try_write(bytes) {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(e) => {
                // The session meets the same error on its next read or write.
                tracing::debug!(error = %e, "Broadcast write failed.");
                inner.stop();
                wake(inner);
                None
            }
        }
    }

    /// Resolves when the session has something to do (see [`Due`]; frames to finish
    /// are found by [`Self::poll_drain`]); remembers its task to wake.
    pub fn poll_due(&self, cx: &mut Context<'_>) -> Poll<Due> {
        let mut inner = self.lock();
        if inner.current.is_some() || inner.due != Due::default() {
            return Poll::Ready(std::mem::take(&mut inner.due));
        }
        match &mut inner.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The session's part: finishes the queued frames on a direct socket, or hands
    /// them over one at a time to be written through the stream.
    pub fn poll_drain(&self, cx: &mut Context<'_>) -> Poll<io::Result<Drain>> {
        let mut inner = self.lock();
        let Some(socket) = &self.socket else {
            let next = inner.current.take().map(|outgoing| outgoing.bytes);
            inner.current = inner.newest.take().map(|bytes| Outgoing::tick(bytes, 0));
            return Poll::Ready(Ok(next.map_or(Drain::Empty, Drain::Write)));
        };
        if inner.reply_left > 0 && inner.current.is_some() {
            return Poll::Ready(Ok(Drain::FinishReply));
        }
        ready!(write_queued(socket, &mut inner, cx))?;
        Poll::Ready(Ok(Drain::Empty))
    }

    /// The session's stream writing tungstenite's `buf`: any queued broadcast goes
    /// first (when tungstenite is between frames), then as much of `buf` as the socket
    /// takes. Only for outlets with a socket.
    pub(super) fn poll_write_reply(
        &self,
        socket: &TcpStream,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut inner = self.lock();
        if inner.reply_left == 0 {
            ready!(write_queued(socket, &mut inner, cx))?;
        }
        loop {
            ready!(socket.poll_write_ready(cx))?;
            match socket.try_write(buf) {
                Ok(n) => {
                    inner.follow_reply(buf, n);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl Inner {
    /// Follows tungstenite's frames through a write of `n` bytes of `buf`: how much of
    /// the frame in progress is left, and whether a close frame has begun.
    ///
    /// `buf` is tungstenite's whole write buffer each time (it always writes what is
    /// left of it from the start), and that buffer holds whole frames only; so after
    /// the `reply_left` bytes that finish the frame in progress, `buf` is a run of
    /// complete frames whose headers can be read.
    fn follow_reply(&mut self, buf: &[u8], n: usize) {
        let mut end = self.reply_left;
        while end < n {
            match frame_at(&buf[end..]) {
                Some((opcode, length)) => {
                    if opcode == CLOSE {
                        self.stop();
                    }
                    end += length;
                }
                None => {
                    // Never the case with tungstenite; if it were, the frames on this
                    // socket could no longer be told apart, so broadcasting stops.
                    tracing::warn!("Cannot follow a session's frames; no more broadcasts to it.");
                    self.stop();
                    end = n;
                }
            }
        }
        self.reply_left = end - n;
    }

    /// No more broadcasts; what was queued is dropped.
    fn stop(&mut self) {
        self.closed = true;
        self.current = None;
        self.newest = None;
    }
}

/// The close frame's opcode (RFC 6455, section 5.5.1).
const CLOSE: u8 = 0x8;

/// The opcode and whole length (header and payload) of the frame at the start of
/// `bytes`, if its header is complete; read by tungstenite's own header parser, the
/// twin of the encoder the broadcast frames are made with (`pipeline::framed`).
fn frame_at(bytes: &[u8]) -> Option<(u8, usize)> {
    let mut cursor = Cursor::new(bytes);
    let (header, payload) = FrameHeader::parse(&mut cursor).ok()??;
    let whole = usize::try_from(cursor.position().checked_add(payload)?).ok()?;
    Some((header.opcode.into(), whole))
}

fn wake(inner: &mut Inner) {
    if let Some(waker) = inner.waker.take() {
        waker.wake();
    }
}

/// Writes the queued frames (the one begun, then the newest) until both are out or the
/// socket is full (then the task in `cx` is woken when it can take more).
fn write_queued(
    socket: &TcpStream,
    inner: &mut Inner,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    while let Some(outgoing) = &mut inner.current {
        match socket.try_write(&outgoing.bytes[outgoing.written..]) {
            Ok(n) => {
                outgoing.written += n;
                if outgoing.written == outgoing.bytes.len() {
                    inner.finished += u64::from(outgoing.tick);
                    inner.current = inner.newest.take().map(|bytes| Outgoing::tick(bytes, 0));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                ready!(socket.poll_write_ready(cx))?;
            }
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
    Poll::Ready(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_headers_give_opcode_and_whole_length() {
        assert_eq!(frame_at(&[0x81, 5, b'h', b'e']), Some((1, 7)));
        assert_eq!(frame_at(&[0x88, 2, 0x03, 0xe8]), Some((8, 4)));
        assert_eq!(frame_at(&[0x81, 126, 0x01, 0x00]), Some((1, 4 + 256)));
        assert_eq!(
            frame_at(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
            Some((2, 10 + 65_536))
        );
        assert_eq!(frame_at(&[0x89, 0x80, 1, 2, 3, 4]), Some((9, 6)), "masked");
        assert_eq!(frame_at(&[0x81]), None);
        assert_eq!(frame_at(&[0x81, 126, 0x01]), None);
    }

    #[test]
    fn a_reply_is_followed_across_short_writes_and_a_close_is_seen() {
        let mut inner = Outlet::through_session(false).lock_owned();
        // A pong (2 + 3 bytes) and a text frame (2 + 4), written 3 bytes at a time.
        let buf = [0x8a, 3, 1, 2, 3, 0x81, 4, b't', b'e', b'x', b't'];
        inner.follow_reply(&buf, 3);
        assert_eq!(inner.reply_left, 2, "the pong's last two bytes");
        inner.follow_reply(&buf[3..], 3);
        assert_eq!(inner.reply_left, 5, "the text frame's last five bytes");
        inner.follow_reply(&buf[6..], 5);
        assert_eq!(inner.reply_left, 0, "between frames");
        assert!(!inner.closed);
        // A close frame's first byte going out ends broadcasting.
        inner.follow_reply(&[0x88, 2, 0x03, 0xe8], 1);
        assert!(inner.closed);
        assert_eq!(inner.reply_left, 3);
    }

    impl Outlet {
        fn lock_owned(self) -> Inner {
            self.inner
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)
        }
    }
}
