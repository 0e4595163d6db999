//! Which connections and clients the server takes, and on what terms: the bounded
//! cost per client.
//!
//! Every count is held by an RAII guard: a [`Connection`] for each open TCP socket
//! (taken by the accept loop, and again by a WebSocket session for as long as it holds
//! its upgraded socket, refusal included), a [`ClientSlot`] for each WebSocket client
//! served. A guard is released exactly when its holder ends, a panic included, so the
//! counts never exceed what is really open and refusals happen only at the real
//! limits. Per-address limits count an IPv4 address, or the /64 of an IPv6 one (a
//! single host usually has a whole /64 to pick from).
//!
//! Each accepted socket also gets bounded kernel buffers and a deadline for data the
//! peer does not take (see [`Admission::admit`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpStream;

use crate::config::ConnectionLimits;

/// The kernel send buffer of every accepted socket (`SO_SNDBUF`; Linux doubles it for
/// its bookkeeping). Without it Linux grows the buffer up to 4 MiB per socket for a
/// client that reads nothing; with it a write blocks once ~128 KiB wait, so the
/// session's send deadline applies. Enough for a tick of any size and for HTTP
/// answers at ~1 MB/s over a 100 ms round trip.
pub const SEND_BUFFER: usize = 64 * 1024;

/// What `TCP_USER_TIMEOUT` adds to `server.send_timeout`: a live peer on a lossy link
/// may need a few retransmissions before it acknowledges.
pub const UNACKED_GRACE: Duration = Duration::from_secs(4);

/// Why a connection or client was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server-wide limit is reached.
    Full,
    /// The peer's address holds its share already.
    AddressFull,
}

impl Refusal {
    /// The close reason a refused WebSocket client reads.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Full => "Server at capacity",
            Refusal::AddressFull => "Too many clients from this address",
        }
    }
}

/// Where a connection comes from, for the per-address limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

impl Source {
    /// The source of `ip`: itself for IPv4 (also when mapped into IPv6), its /64 for IPv6.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Source(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source(IpAddr::V4(v4)),
                None => Source(IpAddr::V6(Ipv6Addr::from_bits(
                    v6.to_bits() & !((1u128 << 64) - 1),
                ))),
            },
        }
    }
}

/// The admission policy and counts, shared by the accept loop and the sessions.
#[derive(Debug, Clone)]
pub struct Admission(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    limits: ConnectionLimits,
    /// `TCP_USER_TIMEOUT` of every accepted socket.
    unacked_timeout: Duration,
    /// A std `Mutex`: held for a few integer updates, never across an `.await`.
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    connections: usize,
    clients: usize,
    /// Only sources with something open: the map never outgrows the connections.
    by_source: HashMap<Source, PerSource>,
}

#[derive(Debug, Default, Clone, Copy)]
struct PerSource {
    connections: usize,
    clients: usize,
}

impl Admission {
    /// Admission under `limits`; a peer that leaves data unacknowledged (or its window
    /// closed) for `send_timeout` + [`UNACKED_GRACE`] loses its connection.
    pub fn new(limits: ConnectionLimits, send_timeout: Duration) -> Self {
        Self(Arc::new(Inner {
            limits,
            unacked_timeout: send_timeout + UNACKED_GRACE,
            counts: Mutex::default(),
        }))
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.0.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes an accepted socket under `max_connections` and its per-address share,
    /// and sets its terms: a [`SEND_BUFFER`], and `TCP_USER_TIMEOUT` so that the
    /// kernel closes it when our data waits unacknowledged, or behind a closed
    /// window, past the deadline. The kernel keeps that clock however often the peer
    /// talks to us (pongs included; Linux ≥ 5.11 for closed windows), which no
    /// application-level check of the write buffer could promise: between two sends
    /// tungstenite's buffer is empty, and the bytes that wait are in the kernel.
    pub fn admit(&self, stream: &TcpStream, peer: SocketAddr) -> Result<Connection, Refusal> {
        let connection = self.open(Some(peer), Self::within_connection_limits)?;
        let socket = socket2::SockRef::from(stream);
        if let Err(e) = socket.set_send_buffer_size(SEND_BUFFER) {
            tracing::debug!(error = %e, "Cannot bound the socket's send buffer.");
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Err(e) = socket.set_tcp_user_timeout(Some(self.0.unacked_timeout)) {
            tracing::debug!(error = %e, "Cannot set TCP_USER_TIMEOUT.");
        }
        Ok(connection)
    }

    /// Counts a socket that is already being served (a WebSocket session's upgraded
    /// one), whatever the limits.
    pub fn hold(&self, peer: Option<SocketAddr>) -> Connection {
        let source = peer.map(|peer| Source::of(peer.ip()));
        let mut counts = self.counts();
        self.count_connection(&mut counts, source)
    }

    fn within_connection_limits(
        limits: &ConnectionLimits,
        counts: &Counts,
        source: Option<Source>,
    ) -> Result<(), Refusal> {
        if counts.connections >= limits.connections {
            return Err(Refusal::Full);
        }
        let mine = source.and_then(|s| counts.by_source.get(&s).copied());
        if limits.connections_per_ip > 0
            && mine.is_some_and(|m| m.connections >= limits.connections_per_ip)
        {
            return Err(Refusal::AddressFull);
        }
        Ok(())
    }

    fn open(
        &self,
        peer: Option<SocketAddr>,
        check: fn(&ConnectionLimits, &Counts, Option<Source>) -> Result<(), Refusal>,
    ) -> Result<Connection, Refusal> {
        let source = peer.map(|peer| Source::of(peer.ip()));
        let mut counts = self.counts();
        check(&self.0.limits, &counts, source)?;
        Ok(self.count_connection(&mut counts, source))
    }

    fn count_connection(&self, counts: &mut Counts, source: Option<Source>) -> Connection {
        counts.connections += 1;
        if let Some(source) = source {
            counts.by_source.entry(source).or_default().connections += 1;
        }
        Connection {
            admission: self.clone(),
            source,
        }
    }

    /// A WebSocket client slot under `max_clients` and `max_clients_per_ip`;
    /// `connected` (the status counter) counts the slots held, changed under the same
    /// lock so it never shows more clients than are served.
    pub fn join<'a>(
        &'a self,
        peer: Option<SocketAddr>,
        connected: &'a AtomicUsize,
    ) -> Result<ClientSlot<'a>, Refusal> {
        let limits = self.0.limits;
        let source = peer.map(|peer| Source::of(peer.ip()));
        let mut counts = self.counts();
        if counts.clients >= limits.clients {
            return Err(Refusal::Full);
        }
        let mine = source.and_then(|s| counts.by_source.get(&s).copied());
        if limits.clients_per_ip > 0 && mine.is_some_and(|m| m.clients >= limits.clients_per_ip) {
            return Err(Refusal::AddressFull);
        }
        counts.clients += 1;
        if let Some(source) = source {
            counts.by_source.entry(source).or_default().clients += 1;
        }
        connected.fetch_add(1, Ordering::AcqRel);
        Ok(ClientSlot {
            admission: self,
            connected,
            source,
        })
    }

    /// Open sockets and WebSocket clients now.
    pub fn counts_now(&self) -> (usize, usize) {
        let counts = self.counts();
        (counts.connections, counts.clients)
    }

    fn release(counts: &mut Counts, source: Option<Source>, connection: bool) {
        let total = if connection {
            &mut counts.connections
        } else {
            &mut counts.clients
        };
        *total = total.saturating_sub(1);
        let Some(source) = source else {
            return;
        };
        if let Some(mine) = counts.by_source.get_mut(&source) {
            let count = if connection {
                &mut mine.connections
            } else {
                &mut mine.clients
            };
            *count = count.saturating_sub(1);
            if mine.connections == 0 && mine.clients == 0 {
                counts.by_source.remove(&source);
            }
        }
    }
}

/// One open socket, counted until dropped.
#[derive(Debug)]
pub struct Connection {
    admission: Admission,
    source: Option<Source>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        Admission::release(&mut self.admission.counts(), self.source, true);
    }
}

/// One WebSocket client served, counted until dropped.
#[derive(Debug)]
pub struct ClientSlot<'a> {
    admission: &'a Admission,
    connected: &'a AtomicUsize,
    source: Option<Source>,
}

impl Drop for ClientSlot<'_> {
    fn drop(&mut self) {
        // Under the lock, as in `join`, so `connected` and the slots agree.
        let mut counts = self.admission.counts();
        self.connected.fetch_sub(1, Ordering::AcqRel);
        Admission::release(&mut counts, self.source, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(clients: usize, clients_per_ip: usize) -> ConnectionLimits {
        ConnectionLimits {
            connections: clients * 2,
            connections_per_ip: clients_per_ip * 2,
            clients,
            clients_per_ip,
        }
    }

    fn at(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().expect("an address"), 40000))
    }

    #[test]
    fn one_address_gets_its_share_and_others_the_rest() {
        let admission = Admission::new(limits(5, 2), Duration::from_secs(1));
        let connected = AtomicUsize::new(0);
        let a1 = admission.join(at("10.0.0.1"), &connected).expect("first");
        let _a2 = admission.join(at("10.0.0.1"), &connected).expect("second");
        assert_eq!(
            admission.join(at("10.0.0.1"), &connected).err(),
            Some(Refusal::AddressFull)
        );
        let others: Vec<_> = ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
            .iter()
            .map(|ip| admission.join(at(ip), &connected).expect("another address"))
            .collect();
        assert_eq!(
            admission.join(at("10.0.0.5"), &connected).err(),
            Some(Refusal::Full)
        );
        assert_eq!(connected.load(Ordering::Acquire), 5);
        drop(a1);
        assert_eq!(connected.load(Ordering::Acquire), 4);
        admission
            .join(at("10.0.0.1"), &connected)
            .expect("a freed slot is free at once");
        drop(others);
    }

    #[test]
    fn a_panicking_session_gives_its_slot_back() {
        let admission = Admission::new(limits(1, 1), Duration::from_secs(1));
        let connected = AtomicUsize::new(0);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _held = admission.hold(at("10.0.0.1"));
            let _slot = admission.join(at("10.0.0.1"), &connected).expect("free");
            panic!("a bug in a session");
        }));
        assert!(result.is_err());
        assert_eq!(connected.load(Ordering::Acquire), 0);
        assert_eq!(admission.counts_now(), (0, 0));
        assert!(
            admission.counts().by_source.is_empty(),
            "nothing kept per address"
        );
    }

    #[test]
    fn an_ipv6_host_counts_as_its_64() {
        let admission = Admission::new(limits(10, 1), Duration::from_secs(1));
        let connected = AtomicUsize::new(0);
        let _one = admission
            .join(at("2001:db8:1:2::1"), &connected)
            .expect("first");
        assert_eq!(
            admission.join(at("2001:db8:1:2:ffff::9"), &connected).err(),
            Some(Refusal::AddressFull),
            "the same /64"
        );
        admission
            .join(at("2001:db8:1:3::1"), &connected)
            .expect("another /64");
        assert_eq!(
            Source::of("::ffff:10.0.0.1".parse().expect("mapped")),
            Source::of("10.0.0.1".parse().expect("v4"))
        );
    }

    #[test]
    fn zero_per_address_means_unlimited() {
        let admission = Admission::new(limits(3, 0), Duration::from_secs(1));
        let connected = AtomicUsize::new(0);
        let slots: Vec<_> = (0..3)
            .map(|_| admission.join(at("127.0.0.1"), &connected).expect("free"))
            .collect();
        assert_eq!(
            admission.join(at("127.0.0.1"), &connected).err(),
            Some(Refusal::Full)
        );
        drop(slots);
    }
}
