//! The one NATS connection of a server: built from `[fleet]`, kept up by the client.
//!
//! async-nats reconnects by itself and re-subscribes after a reconnect; we only set
//! its policy (unlimited attempts, back-off doubling from [`FIRST_RETRY`] up to
//! [`MAX_RETRY`], also for the first connection, so a server starts while NATS is
//! down) and turn its events into [`FleetStatus`] and log lines. A refused
//! credential arrives as an "authorization violation" event; it is logged as an error
//! saying exactly that, once per change, and shown in `/health`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_nats::{ClientError, ConnectOptions, Event, ServerError};

use crate::config::fleet::{Credentials, FleetConfig};
use crate::fleet::status::{Connection, FleetStatus};
use crate::throttle::Throttle;

/// The first reconnect delay.
pub const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest reconnect delay: a restarted NATS is found again within this.
pub const MAX_RETRY: Duration = Duration::from_secs(2);
/// Messages the client buffers towards the socket before `publish` waits.
const CLIENT_CAPACITY: usize = 512;
/// Messages the client holds for one subscription before it drops the next ones
/// (counted in `frames_dropped`). async-nats bounds this queue by count only (its
/// default is 65,536), and a message is as large as NATS's `max_payload` allows (1 MiB
/// by default), so this count is what bounds the memory a publisher flooding the
/// fleet with big frames can make a gateway hold while it is behind: 256 MiB at the
/// default, 16 MiB when NATS's `max_payload` matches `[fleet] max_frame_bytes`
/// (docs/fleet.md). The queue absorbs bursts, not a backlog: the client reads the
/// socket in large chunks after any pause of the gateway's thread, and at 64 messages
/// (16 ms of a 2,000-host fleet) a 4,000-host fleet lost a fifth of its frames while
/// the gateway used a third of its core (BENCHMARKS.md). 256 is 32 ms at 4,000 hosts.
pub const SUBSCRIPTION_CAPACITY: usize = 256;
/// How often dropped subscription messages are logged at most.
const DROP_LOG_PERIOD: Duration = Duration::from_secs(60);

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
    let drops = Arc::new(Mutex::new(Throttle::new(DROP_LOG_PERIOD)));
    let options = with_credentials(ConnectOptions::new(), &config.credentials)
        .name(format!("monitoring-websocket-server/{}", status.host))
        .require_tls(tls)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(retry_delay)
        .connection_timeout(Duration::from_secs(5))
        .client_capacity(CLIENT_CAPACITY)
        .subscription_capacity(SUBSCRIPTION_CAPACITY)
        .event_callback(move |event| {
            let status = Arc::clone(&status);
            let drops = Arc::clone(&drops);
            async move {
                match event {
                    Event::SlowConsumer(_) => on_drop(&status, &drops),
                    event => on_event(&status, event),
                }
            }
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
        Event::SlowConsumer(_) => FleetStatus::bump(&status.frames_dropped),
        Event::LameDuckMode | Event::Draining | Event::Closed => {
            tracing::info!(url = %status.url, event = %event, "NATS connection event.");
        }
    }
}

/// Counts a message the client dropped for a subscription that was behind (async-nats
/// reports each one), and says so at most once per [`DROP_LOG_PERIOD`].
fn on_drop(status: &FleetStatus, drops: &Mutex<Throttle>) {
    FleetStatus::bump(&status.frames_dropped);
    let allowed = drops
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .allow(Instant::now());
    if let Some(held_back) = allowed {
        tracing::warn!(
            held_back,
            queue = SUBSCRIPTION_CAPACITY,
            "The gateway fell behind its fleet subscription; NATS messages were dropped (frames_dropped in /health)."
        );
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
