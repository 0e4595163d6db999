//! The one NATS connection of a server: built from `[fleet]`, kept up by the client.
//!
//! async-nats reconnects by itself and re-subscribes after a reconnect; we only set
//! its policy (unlimited attempts, back-off doubling from [`FIRST_RETRY`] up to
//! [`MAX_RETRY`], also for the first connection, so a server starts while NATS is
//! down) and turn its events into [`FleetStatus`] and log lines. A refused
//! credential arrives as an "authorization violation" event; it is logged as an error
//! saying exactly that, once per change, and shown in `/health`.

use std::sync::Arc;
use std::time::Duration;

use async_nats::{ClientError, ConnectOptions, Event, ServerError};

use crate::config::fleet::{Credentials, FleetConfig};
use crate::fleet::status::{Connection, FleetStatus};

/// The first reconnect delay.
pub const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest reconnect delay: a restarted NATS is found again within this.
pub const MAX_RETRY: Duration = Duration::from_secs(2);
/// Messages the client buffers towards the socket before `publish` waits.
const CLIENT_CAPACITY: usize = 512;

/// Why the connection could not be set up at all (a bad URL or seed).
#[derive(Debug, thiserror::Error)]
#[error("[fleet] cannot set up the NATS client for {url}: {message}")]
pub struct ConnectError {
    /// The configured URL.
    pub url: String,
    /// What is wrong.
    pub message: String,
}

/// The delay before reconnect attempt `attempts` (from 1).
pub fn retry_delay(attempts: usize) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16) as u32;
    (FIRST_RETRY * 2u32.saturating_pow(doublings)).min(MAX_RETRY)
}

/// Connects (in the background: this returns at once) and reports through `status`.
pub async fn connect(
    config: &FleetConfig,
    status: Arc<FleetStatus>,
) -> Result<async_nats::Client, ConnectError> {
    let url = config.nats_url.clone().unwrap_or_default();
    let tls = url.split(',').any(|one| one.trim().starts_with("tls://"));
    let options = with_credentials(ConnectOptions::new(), &config.credentials)
        .name(format!("monitoring-websocket-server/{}", status.host))
        .require_tls(tls)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(retry_delay)
        .connection_timeout(Duration::from_secs(5))
        .client_capacity(CLIENT_CAPACITY)
        .event_callback(move |event| {
            let status = Arc::clone(&status);
            async move { on_event(&status, event) }
        });
    options
        .connect(url.as_str())
        .await
        .map_err(|e| ConnectError {
            url,
            message: e.to_string(),
        })
}

fn with_credentials(options: ConnectOptions, credentials: &Credentials) -> ConnectOptions {
    match credentials {
        Credentials::None => options,
        Credentials::Token(token) => options.token(token.expose().to_owned()),
        Credentials::UserPassword { user, password } => {
            options.user_and_password(user.clone(), password.expose().to_owned())
        }
        Credentials::NKey(seed) => options.nkey(seed.expose().to_owned()),
    }
}

/// Whether an error text from the client is NATS refusing our credentials.
fn is_auth_refusal(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.contains("authorization violation")
        || text.contains("authentication")
        || text.contains("failed signing nonce")
}

/// Turns one client event into state and, when something changed, a log line.
fn on_event(status: &FleetStatus, event: Event) {
    let before = status.connection();
    match event {
        Event::Connected => {
            FleetStatus::bump(&status.connects);
            status.set_connection(Connection::Connected);
            tracing::info!(url = %status.url, host = %status.host, "Connected to NATS.");
        }
        Event::Disconnected => {
            FleetStatus::bump(&status.disconnects);
            status.set_connection(Connection::Disconnected);
            tracing::warn!(url = %status.url, host = %status.host, "Lost the NATS connection; reconnecting with back-off. This server keeps serving its own clients.");
        }
        Event::ServerError(ServerError::AuthorizationViolation) => refused(status, before),
        Event::ClientError(ClientError::Other(text)) if is_auth_refusal(&text) => {
            refused(status, before)
        }
        Event::ClientError(error) => {
            let message = format!("cannot reach NATS: {error}");
            if before == Connection::Connected || before == Connection::Connecting {
                tracing::warn!(url = %status.url, error = %error, "Cannot reach NATS; retrying with back-off.");
            }
            if before != Connection::AuthRefused {
                status.set_connection(Connection::Disconnected);
            }
            status.set_error(message);
        }
        Event::ServerError(error) => {
            tracing::warn!(url = %status.url, error = %error, "NATS reported an error.");
            status.set_error(format!("NATS error: {error}"));
        }
        Event::SlowConsumer(sid) => {
            tracing::warn!(
                subscription = sid,
                "NATS dropped messages for a slow subscription of this server."
            );
        }
        Event::LameDuckMode | Event::Draining | Event::Closed => {
            tracing::info!(url = %status.url, event = %event, "NATS connection event.");
        }
    }
}

fn refused(status: &FleetStatus, before: Connection) {
    status.set_connection(Connection::AuthRefused);
    status.set_error(format!(
        "NATS refused this server's credentials (auth: {}): authorization violation",
        status.auth
    ));
    if before != Connection::AuthRefused {
        tracing::error!(url = %status.url, host = %status.host, auth = status.auth, "NATS refused this server's credentials (authorization violation): nothing is published until they are fixed; retrying with back-off.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_up_to_its_cap() {
        assert_eq!(retry_delay(0), FIRST_RETRY);
        assert_eq!(retry_delay(1), FIRST_RETRY);
        assert_eq!(retry_delay(2), FIRST_RETRY * 2);
        assert_eq!(retry_delay(4), FIRST_RETRY * 8);
        assert_eq!(retry_delay(100), MAX_RETRY);
    }

    #[test]
    fn a_refused_credential_is_told_apart_from_an_absent_server() {
        let status = FleetStatus::new(
            "h".into(),
            "nats://x".into(),
            "token",
            false,
            Arc::default(),
        );
        on_event(
            &status,
            Event::ClientError(ClientError::Other("IO error".into())),
        );
        assert_eq!(status.connection(), Connection::Disconnected);
        on_event(
            &status,
            Event::ClientError(ClientError::Other("authorization violation".into())),
        );
        assert_eq!(status.connection(), Connection::AuthRefused);
        let error = status.report().last_error.unwrap_or_default();
        assert!(error.contains("refused"), "{error}");
        on_event(&status, Event::Connected);
        assert_eq!(status.connection(), Connection::Connected);
    }
}
