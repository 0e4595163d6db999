//! One client connection: greets, streams frames while subscribed, answers commands,
//! keeps the connection alive with pings.
//!
//! A session has its own task for what it says to this client alone (greeting, replies,
//! pings, close), through tungstenite. The ticks do not go through it: the fan-out
//! ([`super::fanout`]) writes each tick's shared, pre-framed bytes through the
//! client's [`Outlet`], and the session's task is woken only when a frame could not go
//! out at once, to finish it ([`Session::drain`]). A client that cannot keep up only
//! ever skips ticks, and a frame that takes longer than the send timeout drops that
//! client alone; nothing it does can delay the tick or another client.
//!
//! This file is the connection's life: admission, the read loop, the rate limit and
//! the send deadline. What the session answers is in [`super::answers`] and, for the
//! admin's commands, [`super::admin`].

use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
// The tokio clock, so the session tests run on a paused one.
use tokio::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::broadcast::{write_frame, WriteError};
use super::closing;
use super::commands::FleetDetail;
use super::context::SessionContext;
use super::outlet::{Drain, Outlet};
use super::rate_limit::{RateLimiter, Verdict};
use super::stats::Stats;
use crate::fleet::feed::{FeedReceiver, FleetEvent};
use crate::pipeline::wire::{ErrorCode, ServerMessage};
use crate::surfaces::access::Grant;
use crate::surfaces::status::SERVER_VERSION;
use crate::timestamp::now_iso;

/// Refused messages in a row, without the client slowing down, before it is closed.
const MAX_RATE_STRIKES: u32 = 200;

/// Why a session ended; the close frame (if any) has been sent.
pub(super) struct Ended;

/// Runs a session to its end, for the client `grant` describes, whose broadcasts go
/// through `outlet`.
pub async fn run<S>(
    mut ws: WebSocketStream<S>,
    context: Arc<SessionContext>,
    grant: Grant,
    outlet: Arc<Outlet>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // The socket is counted until the session lets go of it, refusal included; the
    // client slot only while it is served. Both are guards: a panic releases them.
    let _socket = context.admission.hold(grant.peer);
    Stats::bump(&context.stats.connections_total);
    match context.admission.join(grant.peer, &context.stats.connected) {
        Ok(_slot) => {
            let _ = Session::new(&context, grant, outlet).serve(&mut ws).await;
        }
        Err(refusal) => {
            Stats::bump(&context.stats.refused_at_capacity);
            tracing::debug!(
                max_clients = context.limits.max_clients,
                ?refusal,
                "Client refused."
            );
            let _ = close(&mut ws, CloseCode::Policy, refusal.reason()).await;
        }
    }
}

/// What one client asked for.
pub(super) struct Session<'a> {
    pub(super) context: &'a SessionContext,
    /// Whether this client receives `monitoring_data`.
    pub(super) subscribed: bool,
    limiter: RateLimiter,
    /// The client's role, peer and origin: whether it may run control commands.
    pub(super) grant: Grant,
    /// Fleet hosts wanted (sorted; `["*"]` for all): then this client gets the
    /// gateway's fleet stream instead of this server's own.
    pub(super) hosts: Option<Vec<String>>,
    /// Whole frames or summary rows of the fleet hosts.
    pub(super) detail: FleetDetail,
    /// The gateway's fleet stream, while `hosts` is set.
    pub(super) fleet: Option<FeedReceiver>,
    /// The `hosts` list and the newest frames are still owed after a subscribe.
    pub(super) greet_fleet: bool,
    /// This client's end of the broadcast: what it wants, frames waiting for it.
    pub(super) outlet: Arc<Outlet>,
}

impl<'a> Session<'a> {
    fn new(context: &'a SessionContext, grant: Grant, outlet: Arc<Outlet>) -> Self {
        let now = Instant::now();
        Self {
            context,
            subscribed: true,
            limiter: RateLimiter::new(
                context.limits.rate_limit,
                context.limits.rate_burst,
                MAX_RATE_STRIKES,
                now,
            ),
            grant,
            hosts: None,
            detail: FleetDetail::Full,
            fleet: None,
            greet_fleet: false,
            outlet,
        }
    }

    async fn serve<S>(&mut self, ws: &mut WebSocketStream<S>) -> Result<(), Ended>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let greeting = ServerMessage::Connection {
            status: "connected",
            timestamp: now_iso(),
            server_version: SERVER_VERSION,
            message: "Connected to monitoring server",
        };
        self.send(ws, Message::text(greeting.to_json())).await?;
        // Ticks from the next one on; leaving takes the client out before the socket
        // is dropped.
        let joined = self
            .context
            .fanout
            .join(Arc::clone(&self.outlet), self.context.limits.ping_interval);
        let ended = self.serve_joined(ws).await;
        let finished = joined.leave();
        self.context
            .stats
            .frames_sent
            .fetch_add(finished, Ordering::Relaxed);
        ended
    }

    async fn serve_joined<S>(&mut self, ws: &mut WebSocketStream<S>) -> Result<(), Ended>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let outlet = Arc::clone(&self.outlet);
        // The futures of rare events stay armed across the loop's turns: made anew on
        // every wake-up (each pong, each drain), they registered this session in the
        // server-wide waiter lists and took it out again every time.
        let mut plugin_event = pin!(next_plugin_event(self.context.plugin_events.subscribe()));
        let mut shutdown = self.context.shutdown.clone();
        let mut shutdown = pin!(shutdown.wait());
        loop {
            tokio::select! {
                due = std::future::poll_fn(|cx| outlet.poll_due(cx)) => {
                    if due.silent {
                        Stats::bump(&self.context.stats.ping_timeouts);
                        return close(ws, CloseCode::Error, "Ping timeout").await;
                    }
                    Box::pin(self.drain(ws)).await?;
                    if due.ping {
                        self.send(ws, Message::Ping(Default::default())).await?;
                    }
                }
                incoming = ws.next() => {
                    outlet.heard(Instant::now());
                    match incoming {
                        Some(Ok(Message::Text(text))) => Box::pin(self.on_message(ws, Some(text.as_str()))).await?,
                        Some(Ok(Message::Binary(_))) => Box::pin(self.on_message(ws, None)).await?,
                        Some(Ok(Message::Close(_))) => {
                            closing::acknowledge(ws).await;
                            return Err(Ended);
                        }
                        None => return Err(Ended),
                        // Pings (tungstenite has answered them) and pongs cost what a
                        // message costs: a flood of them is closed like one of text.
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                            Box::pin(self.admit(ws)).await?;
                        }
                        Some(Ok(Message::Frame(_))) => {} // Never read, only written.
                        Some(Err(error)) => {
                            closing::fail(ws, &error).await;
                            return Err(Ended);
                        }
                    }
                }
                (text, events) = &mut plugin_event => {
                    plugin_event.set(next_plugin_event(events));
                    self.send(ws, Message::text(text.as_ref())).await?;
                }
                event = next_fleet_event(&mut self.fleet) => Box::pin(self.on_fleet_event(ws, event)).await?,
                () = &mut shutdown => {
                    return close(ws, CloseCode::Away, "Server shutting down").await;
                }
            }
        }
    }

    /// Finishes the frames the fan-out could not write at once, under the same
    /// deadline as [`Self::send`].
    async fn drain<S>(&self, ws: &mut WebSocketStream<S>) -> Result<(), Ended>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let outlet = &self.outlet;
        let draining = async {
            loop {
                match std::future::poll_fn(|cx| outlet.poll_drain(cx)).await? {
                    Drain::Empty => return Ok::<(), WriteError>(()),
                    Drain::FinishReply => ws.flush().await?,
                    Drain::Write(frame) => {
                        write_frame(ws, &frame).await?;
                        Stats::bump(&self.context.stats.frames_sent);
                    }
                }
            }
        };
        let timeout = self.context.limits.send_timeout;
        let drained = tokio::time::timeout(timeout, draining).await;
        self.context
            .stats
            .frames_sent
            .fetch_add(outlet.take_finished(), Ordering::Relaxed);
        match drained {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                tracing::debug!(error = %error, "Client write failed.");
                Err(Ended)
            }
            Err(_) => Err(self.too_slow(timeout)),
        }
    }

    /// Charges one message or control frame to the rate limit: `Ok(true)` to handle
    /// it; `Ok(false)` when it was refused (the client told, at most once a second);
    /// `Err` when the client kept flooding and was closed with 1008.
    pub(super) async fn admit<S>(&mut self, ws: &mut WebSocketStream<S>) -> Result<bool, Ended>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let verdict = self.limiter.check(Instant::now());
        if verdict != Verdict::Allow {
            Stats::bump(&self.context.stats.rate_limited);
        }
        match verdict {
            Verdict::Allow => Ok(true),
            Verdict::Refuse => {
                let reply =
                    ServerMessage::error(ErrorCode::RateLimited, "Too many messages; slow down")
                        .to_json();
                self.send(ws, Message::text(reply)).await?;
                Ok(false)
            }
            Verdict::Drop => Ok(false),
            Verdict::Close => {
                closing::close_and_linger(ws, CloseCode::Policy, "Rate limit exceeded").await;
                Err(Ended)
            }
        }
    }

    pub(super) async fn send<S>(
        &self,
        ws: &mut WebSocketStream<S>,
        message: Message,
    ) -> Result<(), Ended>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let timeout = self.context.limits.send_timeout;
        match tokio::time::timeout(timeout, ws.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Ended),
            Err(_) => Err(self.too_slow(timeout)),
        }
    }

    /// Counts a client dropped for missing the send deadline.
    fn too_slow(&self, timeout: std::time::Duration) -> Ended {
        Stats::bump(&self.context.stats.slow_disconnects);
        tracing::debug!(
            timeout_ms = timeout.as_millis() as u64,
            "Client too slow; disconnecting it."
        );
        Ended
    }
}

/// The next plugin event for a client, and the receiver to wait for the one after.
/// Events are news, not state (`get_status` has the state): one this client fell
/// behind on is skipped; without a sender there are none.
async fn next_plugin_event(
    mut events: broadcast::Receiver<Arc<str>>,
) -> (Arc<str>, broadcast::Receiver<Arc<str>>) {
    loop {
        match events.recv().await {
            Ok(text) => return (text, events),
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// The next fleet message, or never when this client does not watch the fleet.
async fn next_fleet_event(
    fleet: &mut Option<FeedReceiver>,
) -> Result<FleetEvent, broadcast::error::RecvError> {
    match fleet {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Closes with `code` and ends the session.
pub(super) async fn close<S>(
    ws: &mut WebSocketStream<S>,
    code: CloseCode,
    reason: &'static str,
) -> Result<(), Ended>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    closing::close(ws, code, reason).await;
    Err(Ended)
}
