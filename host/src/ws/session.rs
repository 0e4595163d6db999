//! One client connection: greets, streams frames while subscribed, answers commands.
//!
//! A session owns its socket and reads the newest frame from the bus when it changes,
//! so a slow client only ever skips frames; a send that takes longer than the send
//! timeout drops that client alone.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::protocol::{parse_command, Command, ErrorCode, ServerMessage, Status};
use super::{ServerState, SERVER_VERSION};
use crate::snapshot::now_iso;

/// Why a session ended early.
enum End {
    Closed,
    Failed,
}

/// Runs a session to its end.
pub async fn run<S>(mut ws: WebSocketStream<S>, state: Arc<ServerState>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let admitted = state.clients.fetch_add(1, Ordering::AcqRel) < state.max_clients;
    if admitted {
        let _ = serve(&mut ws, &state).await;
    } else {
        tracing::info!(
            max_clients = state.max_clients,
            "Client refused: server at capacity."
        );
        let _ = close(&mut ws, CloseCode::Policy, "Server at capacity").await;
    }
    state.clients.fetch_sub(1, Ordering::AcqRel);
}

async fn serve<S>(ws: &mut WebSocketStream<S>, state: &ServerState) -> Result<(), End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let greeting = ServerMessage::Connection {
        status: "connected",
        timestamp: now_iso(),
        server_version: SERVER_VERSION,
        message: "Connected to monitoring server",
    };
    send(ws, state, Message::text(greeting.to_json())).await?;
    let mut frames = state.frames.clone();
    frames.mark_unchanged();
    let mut shutdown = state.shutdown.clone();
    let mut subscribed = true;
    loop {
        tokio::select! {
            changed = frames.changed() => {
                if changed.is_err() {
                    return close(ws, CloseCode::Away, "Server shutting down").await;
                }
                let frame = frames.borrow_and_update().clone();
                if let (true, Some(frame)) = (subscribed, frame) {
                    send(ws, state, Message::Text(frame.text.clone())).await?;
                }
            }
            incoming = ws.next() => {
                let Some(message) = incoming else { return Err(End::Closed) };
                match message {
                    Ok(Message::Text(text)) => {
                        let reply = match parse_command(text.as_str()) {
                            Ok(command) => answer(command, state, &mut subscribed),
                            Err(error) => error.to_json(),
                        };
                        send(ws, state, Message::text(reply)).await?;
                    }
                    Ok(Message::Binary(_)) => {
                        let reply = ServerMessage::error(ErrorCode::UnsupportedData, "Binary frames are not supported; send JSON text");
                        send(ws, state, Message::text(reply.to_json())).await?;
                    }
                    Ok(Message::Close(_)) => return Err(End::Closed),
                    Ok(_) => {}
                    Err(WsError::Capacity(_)) => {
                        return close(ws, CloseCode::Size, "Message too big").await;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "Client connection failed.");
                        return Err(End::Failed);
                    }
                }
            }
            _ = shutdown.wait() => {
                return close(ws, CloseCode::Away, "Server shutting down").await;
            }
        }
    }
}

fn answer(command: Command, state: &ServerState, subscribed: &mut bool) -> String {
    match command {
        Command::Ping => ServerMessage::Pong {
            timestamp: now_iso(),
        }
        .to_json(),
        Command::GetStatus => ServerMessage::Status(Box::new(Status {
            connected_clients: state.connected_clients().min(state.max_clients),
            server_start_time: &state.start_time,
            server_version: SERVER_VERSION,
            uptime_seconds: state.started.elapsed().as_secs_f64(),
            monitor_interval: state.monitor_interval,
            max_clients: state.max_clients,
            plugins: &state.plugins,
            message: "Server is running",
        }))
        .to_json(),
        Command::Subscribe => {
            *subscribed = true;
            ServerMessage::Subscribed {
                timestamp: now_iso(),
                message: "Subscribed to monitoring updates",
            }
            .to_json()
        }
        Command::Unsubscribe => {
            *subscribed = false;
            ServerMessage::Unsubscribed {
                timestamp: now_iso(),
                message: "Unsubscribed from monitoring updates",
            }
            .to_json()
        }
    }
}

async fn send<S>(
    ws: &mut WebSocketStream<S>,
    state: &ServerState,
    message: Message,
) -> Result<(), End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(state.send_timeout, ws.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Failed),
        Err(_) => {
            tracing::info!(
                timeout_ms = state.send_timeout.as_millis() as u64,
                "Client too slow; disconnecting it."
            );
            Err(End::Failed)
        }
    }
}

async fn close<S>(
    ws: &mut WebSocketStream<S>,
    code: CloseCode,
    reason: &'static str,
) -> Result<(), End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(Some(frame))).await;
    Err(End::Closed)
}
