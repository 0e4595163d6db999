//! Answers to what a client sends: each command parsed ([`super::commands`]) and
//! answered, the subscription it asks for, and the fleet stream of a gateway
//! client. The admin's commands are in [`super::admin`].

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::commands::{parse_command, Command, FleetDetail, SubscribeParams};
use super::outlet::Wants;
use super::session::{Ended, Session};
use super::stats::Stats;
use super::subscription;
use crate::fleet::feed::{FleetEvent, Follow};
use crate::pipeline::wire::{ErrorCode, ServerMessage};
use crate::surfaces::status::Reading;
use crate::timestamp::now_iso;

impl Session<'_> {
    /// Handles a text message (or, with `None`, a binary one) under the rate limit.
    pub(super) async fn on_message<S>(
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
                Ok(command) => self.answer(command).await,
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
            let gateway = self.context.gateway().cloned();
            if let Some(gateway) = gateway {
                let greeting = match self.detail {
                    FleetDetail::Full => gateway.greeting(|name| self.wants_host(name)),
                    FleetDetail::Summary => vec![gateway.table(), gateway.summaries_table()],
                };
                for text in greeting {
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
    pub(super) async fn on_fleet_event<S>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        event: Result<FleetEvent, broadcast::error::RecvError>,
    ) -> Result<(), Ended>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        match event {
            // The feed sends a session only the frames of the hosts it follows.
            Ok(FleetEvent::Data(text)) => {
                if self.subscribed {
                    self.send(ws, Message::Text(text)).await?;
                    Stats::bump(&self.context.stats.frames_sent);
                }
            }
            Ok(FleetEvent::Hosts(text)) => {
                if self.subscribed {
                    self.send(ws, Message::Text(text)).await?;
                }
            }
            Ok(FleetEvent::Summaries(text)) => {
                if self.subscribed && self.detail == FleetDetail::Summary {
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
                let gateway = self.context.gateway().cloned();
                if let (true, Some(gateway)) = (self.subscribed, gateway) {
                    self.send(ws, Message::Text(gateway.table())).await?;
                    if self.detail == FleetDetail::Summary {
                        self.send(ws, Message::Text(gateway.summaries_table()))
                            .await?;
                    }
                }
            }
            Err(broadcast::error::RecvError::Closed) => self.fleet = None,
        }
        Ok(())
    }

    /// The reply to a command; a control command only for an admin.
    pub(super) async fn answer(&mut self, command: Command) -> String {
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
            } => self.set_threshold(&target, level, &value),
            Command::ConfigureThresholds(thresholds) => self.configure_thresholds(&thresholds),
            Command::Reload => self.reload().await,
            Command::Query(query) => self.query(query).await,
            Command::Silence(request) => self.silence(request).await,
            Command::Unsilence(id) => self.unsilence(id).await,
            Command::Ack(params) => self.ack(params).await,
            Command::GetSilences => self.get_silences(),
            Command::GetRules => self.get_rules(),
            Command::GetAlerts => self.get_alerts(),
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
            let Some(gateway) = self.context.gateway() else {
                return ServerMessage::error(
                    ErrorCode::InvalidParams,
                    "`hosts` needs a fleet gateway; this server is not one ([fleet] gateway = true)",
                )
                .to_json();
            };
            let follow = match (params.detail, params.hosts.as_deref()) {
                (FleetDetail::Summary, _) => Follow::Summaries,
                (FleetDetail::Full, Some([all])) if all == "*" => Follow::Everything,
                (FleetDetail::Full, hosts) => Follow::Hosts(hosts.unwrap_or_default()),
            };
            // A new subscription replaces the old one (and its registration).
            self.fleet = Some(gateway.subscribe(follow));
            self.greet_fleet = true;
        } else {
            self.fleet = None;
        }
        self.hosts = params.hosts;
        self.detail = params.detail;
        self.subscribed = true;
        let every = interval_ms / tick_ms;
        let reply = ServerMessage::Subscribed {
            timestamp: now_iso(),
            sections: params.sections.as_deref(),
            hosts: self.hosts.as_deref(),
            detail: self.hosts.is_some().then(|| self.detail.name()),
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
}
