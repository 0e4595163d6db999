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
use super::context::SessionContext;
use super::outlet::{Drain, Outlet, Wants};
use super::rate_limit::{RateLimiter, Verdict};
use super::stats::Stats;
use super::subscription;
use crate::alerts::control::ThresholdChange;
use crate::fleet::gateway::FleetEvent;
use crate::pipeline::wire::{parse_command, Command, ErrorCode, ServerMessage, SubscribeParams};
use crate::surfaces::access::Grant;
use crate::surfaces::status::{Reading, SERVER_VERSION};
use crate::timestamp::now_iso;

/// Refused messages in a row, without the client slowing down, before it is closed.
const MAX_RATE_STRIKES: u32 = 200;

/// Why a session ended; the close frame (if any) has been sent.
struct Ended;

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
struct Session<'a> {
    context: &'a SessionContext,
    subscribed: bool,
    limiter: RateLimiter,
    /// The client's role, peer and origin: whether it may run control commands.
    grant: Grant,
    /// Fleet hosts wanted (sorted; `["*"]` for all): then this client gets the
    /// gateway's fleet stream instead of this server's own.
    hosts: Option<Vec<String>>,
    /// The gateway's fleet stream, while `hosts` is set.
    fleet: Option<broadcast::Receiver<FleetEvent>>,
    /// The `hosts` list and the newest frames are still owed after a subscribe.
    greet_fleet: bool,
    /// This client's end of the broadcast: what it wants, frames waiting for it.
    outlet: Arc<Outlet>,
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
    async fn admit<S>(&mut self, ws: &mut WebSocketStream<S>) -> Result<bool, Ended>
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

    /// Handles a text message (or, with `None`, a binary one) under the rate limit.
    async fn on_message<S>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        text: Option<&str>,
    ) -> Result<(), Ended>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if !self.admit(ws).await? {
            return Ok(());
        }
        let reply = match text {
            Some(text) => match parse_command(text) {
                Ok(Command::Reload) => self.reload().await,
                Ok(command) => self.answer(command),
                Err(error) => error.to_json(),
            },
            None => ServerMessage::error(
                ErrorCode::UnsupportedData,
                "Binary frames are not supported; send JSON text",
            )
            .to_json(),
        };
        self.send(ws, Message::text(reply)).await?;
        if std::mem::take(&mut self.greet_fleet) {
            let gateway = self.context.fleet.as_ref().and_then(|f| f.gateway.clone());
            if let Some(gateway) = gateway {
                for text in gateway.greeting(|name| self.wants_host(name)) {
                    self.send(ws, Message::Text(text)).await?;
                }
            }
        }
        Ok(())
    }

    /// Whether this client asked for `host`'s data.
    fn wants_host(&self, host: &str) -> bool {
        self.hosts.as_deref().is_some_and(|hosts| {
            hosts.first().is_some_and(|first| first == "*")
                || hosts
                    .binary_search_by(|name| name.as_str().cmp(host))
                    .is_ok()
        })
    }

    /// Sends a fleet message this client wants.
    async fn on_fleet_event<S>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        event: Result<FleetEvent, broadcast::error::RecvError>,
    ) -> Result<(), Ended>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        match event {
            Ok(FleetEvent::Data { host, text }) => {
                if self.subscribed && self.wants_host(&host) {
                    self.send(ws, Message::Text(text)).await?;
                    Stats::bump(&self.context.stats.frames_sent);
                }
            }
            Ok(FleetEvent::Hosts(text)) => {
                if self.subscribed {
                    self.send(ws, Message::Text(text)).await?;
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                self.context
                    .stats
                    .frames_skipped
                    .fetch_add(missed, Ordering::Relaxed);
                // `hosts` messages are differences: one may be among the skipped, so
                // the whole table again (at most once per channel's worth of events).
                let gateway = self.context.fleet.as_ref().and_then(|f| f.gateway.clone());
                if let (true, Some(gateway)) = (self.subscribed, gateway) {
                    self.send(ws, Message::Text(gateway.table())).await?;
                }
            }
            Err(broadcast::error::RecvError::Closed) => self.fleet = None,
        }
        Ok(())
    }

    fn answer(&mut self, command: Command) -> String {
        let context = self.context;
        if let Some(name) = command.control_name() {
            if let Err(refusal) = self.admit_control(name) {
                return refusal;
            }
        }
        match command {
            Command::Ping => ServerMessage::Pong {
                timestamp: now_iso(),
            }
            .to_json(),
            Command::GetStatus => {
                let reading = Reading::of(&context.status, std::time::Instant::now());
                ServerMessage::Status(Box::new(reading.into_status())).to_json()
            }
            Command::Subscribe(params) => self.subscribe(params),
            Command::SetThreshold {
                target,
                level,
                value,
            } => {
                let value = value.as_f64().unwrap_or(f64::NAN);
                thresholds_reply(
                    context
                        .alerts
                        .set_threshold(&target, &level, value)
                        .map(|change| vec![change]),
                )
            }
            Command::ConfigureThresholds(thresholds) => {
                thresholds_reply(context.alerts.configure_thresholds(&thresholds))
            }
            Command::Reload => {
                ServerMessage::error(ErrorCode::InvalidParams, "reload is answered apart").to_json()
            }
            Command::Unsubscribe => {
                self.subscribed = false;
                self.outlet.set_wants(Wants {
                    subscribed: false,
                    ..Wants::everything()
                });
                ServerMessage::Unsubscribed {
                    timestamp: now_iso(),
                    message: "Unsubscribed from monitoring updates",
                }
                .to_json()
            }
        }
    }

    /// The admin's `reload`: re-reads `plugins.toml` and answers with a `reload_result`
    /// saying what changed, what waits for a restart, or why the file was refused.
    async fn reload(&mut self) -> String {
        if let Err(refusal) = self.admit_control("reload") {
            return refusal;
        }
        let outcome = match &self.context.live {
            Some(live) => live.reload().await,
            None => None,
        };
        match outcome {
            Some(outcome) => serde_json::json!({
                "type": "reload_result",
                "ok": outcome.ok,
                "error": outcome.error,
                "changed": outcome.changed,
                "needs_restart": outcome.needs_restart,
                "timestamp": now_iso(),
            })
            .to_string(),
            None => ServerMessage::error(ErrorCode::InvalidParams, "The server cannot reload now")
                .to_json(),
        }
    }

    /// A control command runs only for an admin; each one is logged, refused or not.
    fn admit_control(&self, command: &str) -> Result<(), String> {
        let grant = &self.grant;
        let peer = grant
            .peer
            .map_or_else(|| "-".to_owned(), |peer| peer.to_string());
        let origin = grant.origin.as_deref().unwrap_or("-");
        match self.context.access.authorize_admin(grant) {
            Ok(()) => {
                tracing::info!(command, peer = %peer, origin, role = grant.role.name(), "Admin command.");
                Ok(())
            }
            Err(message) => {
                tracing::info!(command, peer = %peer, origin, role = grant.role.name(), "Admin command refused.");
                Err(ServerMessage::error(ErrorCode::Forbidden, message).to_json())
            }
        }
    }

    fn subscribe(&mut self, params: SubscribeParams) -> String {
        // Each subscribe replaces the whole subscription: a bare one means everything,
        // every tick, as in the seed.
        let tick_ms = self.context.tick_ms().max(1);
        let interval_ms = params.interval_ms.unwrap_or(tick_ms);
        if interval_ms % tick_ms != 0 {
            return ServerMessage::error(
                ErrorCode::InvalidParams,
                format!("`interval_ms` must be a multiple of the server's tick, {tick_ms} ms"),
            )
            .to_json();
        }
        if let Some(sections) = &params.sections {
            let known = self
                .context
                .frames
                .borrow()
                .as_ref()
                .map(|frame| Arc::clone(&frame.sections));
            if let Err(message) = subscription::check_sections(sections, known.as_deref()) {
                return ServerMessage::error(ErrorCode::InvalidParams, message).to_json();
            }
        }
        if params.hosts.is_some() {
            let Some(gateway) = self.context.fleet.as_ref().and_then(|f| f.gateway.as_ref()) else {
                return ServerMessage::error(
                    ErrorCode::InvalidParams,
                    "`hosts` needs a fleet gateway; this server is not one ([fleet] gateway = true)",
                )
                .to_json();
            };
            if self.fleet.is_none() {
                self.fleet = Some(gateway.subscribe());
            }
            self.greet_fleet = true;
        } else {
            self.fleet = None;
        }
        self.hosts = params.hosts;
        self.subscribed = true;
        let every = interval_ms / tick_ms;
        let reply = ServerMessage::Subscribed {
            timestamp: now_iso(),
            sections: params.sections.as_deref(),
            hosts: self.hosts.as_deref(),
            interval_ms: every * tick_ms,
            message: "Subscribed to monitoring updates",
        }
        .to_json();
        self.outlet.set_wants(Wants {
            subscribed: true,
            every,
            sections: params.sections,
            fleet: self.hosts.is_some(),
        });
        reply
    }

    async fn send<S>(&self, ws: &mut WebSocketStream<S>, message: Message) -> Result<(), Ended>
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
    fleet: &mut Option<broadcast::Receiver<FleetEvent>>,
) -> Result<FleetEvent, broadcast::error::RecvError> {
    match fleet {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Closes with `code` and ends the session.
async fn close<S>(
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

/// The reply to a threshold change, logged when it took effect.
fn thresholds_reply(result: Result<Vec<ThresholdChange>, String>) -> String {
    match result {
        Ok(changes) => {
            for change in &changes {
                tracing::info!(component = %change.component, metric = %change.metric, level = change.level, value = change.value, "Alert threshold changed by a client.");
            }
            ServerMessage::ThresholdsUpdated {
                timestamp: now_iso(),
                changes,
                message: "Thresholds updated",
            }
            .to_json()
        }
        Err(message) => ServerMessage::error(ErrorCode::InvalidParams, message).to_json(),
    }
}
