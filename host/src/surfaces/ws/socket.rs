//! The stream a monitoring session's tungstenite reads and writes.
//!
//! For a plain TCP client it is [`DirectSocket`]: the TCP socket, shared with the
//! fan-out through the client's [`Outlet`], so that the fan-out can write broadcast
//! frames into it between tungstenite's frames. A TLS connection keeps hyper's upgraded
//! stream, and the session writes the broadcast frames itself.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::either::Either;

use super::outlet::Outlet;
use crate::accept::parse_errors::ParseErrorBodies;

/// A monitoring session's connection: plain TCP ([`DirectSocket`], `Left`), whose
/// broadcasts the fan-out writes, or anything else hyper upgraded (TLS, `Right`),
/// whose broadcasts go through the session.
pub type ClientStream = Either<DirectSocket, TokioIo<Upgraded>>;

/// The stream for an upgraded connection, and the client's outlet: a direct one when
/// the connection is plain TCP; `deflate` as negotiated.
pub fn client_stream(upgraded: Upgraded, deflate: bool) -> (ClientStream, Arc<Outlet>) {
    match upgraded.downcast::<TokioIo<ParseErrorBodies<TcpStream>>>() {
        Ok(parts) => direct(parts.io.into_inner().into_inner(), parts.read_buf, deflate),
        Err(upgraded) => (
            Either::Right(TokioIo::new(upgraded)),
            Arc::new(Outlet::through_session(deflate)),
        ),
    }
}

/// The stream and outlet of a plain TCP connection; `early` is what the client sent
/// behind its handshake that was read already.
pub fn direct(socket: TcpStream, early: Bytes, deflate: bool) -> (ClientStream, Arc<Outlet>) {
    let outlet = Arc::new(Outlet::direct(socket, deflate));
    let socket = DirectSocket {
        outlet: Arc::clone(&outlet),
        early: kept(early),
    };
    (Either::Left(socket), outlet)
}

/// `early` unless it is empty: an empty view of hyper's read buffer would still keep
/// the whole buffer (kilobytes per client) alive for as long as the session lasts.
fn kept(early: Bytes) -> Bytes {
    if early.is_empty() {
        Bytes::new()
    } else {
        early
    }
}

/// A client's TCP socket as tungstenite sees it; see the module doc.
pub struct DirectSocket {
    outlet: Arc<Outlet>,
    /// Bytes the client sent right behind its handshake, read already by hyper.
    early: Bytes,
}

impl DirectSocket {
    fn socket(&self) -> io::Result<&TcpStream> {
        self.outlet
            .socket()
            .ok_or_else(|| io::Error::other("a direct socket's outlet has no socket"))
    }
}

impl AsyncRead for DirectSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.early.is_empty() {
            let n = this.early.len().min(buf.remaining());
            buf.put_slice(&this.early[..n]);
            this.early.advance(n);
            this.early = kept(std::mem::take(&mut this.early));
            return Poll::Ready(Ok(()));
        }
        let socket = this.socket()?;
        loop {
            ready!(socket.poll_read_ready(cx))?;
            match socket.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for DirectSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let socket = this.socket()?;
        this.outlet.poll_write_reply(socket, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(())) // TCP has nothing buffered in user space.
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.outlet.retire();
        let socket = this.socket()?;
        Poll::Ready(socket2::SockRef::from(socket).shutdown(std::net::Shutdown::Write))
    }
}
