//! The fleet (issue 12): many servers on one NATS bus, one live view of all of them.
//!
//! Every server with `[fleet] nats_url` publishes its frames and alert events
//! ([`publisher`]) on subjects that name it ([`Subjects`]); a server with `gateway =
//! true` also subscribes to the whole fleet ([`gateway`]) and keeps the view
//! ([`hosts`]) that `/api/hosts`, the WebSocket's `hosts` subscriptions and the fleet
//! dashboard read, gathering its changes per tick ([`batch`]) and logging them as
//! rate-limited summaries ([`digest`]). [`connect`] owns the one NATS connection and
//! its back-off, [`status`] what `/health` and `/metrics` say about it.
//!
//! The fleet sits between the pipeline and the surfaces: it reads what the pipeline
//! publishes (through [`crate::pipeline::relay`], never delaying a tick) and the
//! surfaces read it. NATS being down costs a server nothing but its place in the
//! fleet view: its own clients, history and alerts go on as before.

pub mod batch;
pub mod connect;
pub mod digest;
pub mod gateway;
pub mod hosts;
pub mod publisher;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use crate::config::fleet::is_subject_token;
use crate::config::fleet::FleetConfig;
use crate::pipeline::relay::{Inbox, Outbox};
use crate::shutdown::Shutdown;
use gateway::Gateway;
use status::FleetStatus;

/// Fleet alert events waiting for the gateway's next tick.
const INBOX_CAPACITY: usize = 1024;

/// The subjects of a fleet, from its prefix.
#[derive(Debug, Clone)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    /// The subjects under `prefix` (checked by the config: dot-separated tokens).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// Where `host` publishes its frames.
    pub fn data(&self, host: &str) -> String {
        format!("{}.{host}.data", self.prefix)
    }

    /// Where `host` publishes its alert events.
    pub fn alert(&self, host: &str) -> String {
        format!("{}.{host}.alert", self.prefix)
    }

    /// Every host's frames.
    pub fn all_data(&self) -> String {
        self.data("*")
    }

    /// Every host's alert events.
    pub fn all_alerts(&self) -> String {
        self.alert("*")
    }

    /// The host a fleet subject names; `None` for anything else.
    pub fn host_of<'a>(&self, subject: &'a str) -> Option<&'a str> {
        let rest = subject.strip_prefix(&self.prefix)?.strip_prefix('.')?;
        let (host, kind) = rest.split_once('.')?;
        (matches!(kind, "data" | "alert") && is_subject_token(host)).then_some(host)
    }
}

/// What the publisher and the gateway share: the client, the subjects, the status.
#[derive(Clone)]
pub struct Link {
    /// The one NATS client (cheap to clone).
    pub client: async_nats::Client,
    /// The fleet's subjects.
    pub subjects: Subjects,
    /// The shared status.
    pub status: Arc<FleetStatus>,
    /// Whether this server publishes its own frames and alerts.
    pub publishing: bool,
}

/// What the surfaces read.
pub struct Fleet {
    /// The link's state and counters.
    pub status: Arc<FleetStatus>,
    /// The fleet view, when this server is a gateway.
    pub gateway: Option<Arc<Gateway>>,
}

/// A started fleet link and the two ends the collection loop takes.
pub struct Started {
    /// For the surfaces.
    pub fleet: Arc<Fleet>,
    /// For the loop: where frames and alerts leave (when publishing).
    pub outbox: Option<Outbox>,
    /// For the loop: where the fleet's alerts come in (gateway).
    pub inbox: Option<Inbox>,
}

/// Starts the link `config` describes, on the current runtime, for a server ticking
/// every `interval`; `None` without `nats_url`. Returns at once: the connection is
/// made, and remade, in the background.
pub async fn start(
    config: &FleetConfig,
    interval: Duration,
    shutdown: Shutdown,
) -> Result<Option<Started>, connect::ConnectError> {
    let Some(url) = config.nats_url.clone() else {
        return Ok(None);
    };
    let (outbox, receiver, counters) = Outbox::new(config.publish_buffer);
    let status = Arc::new(FleetStatus::new(
        config.host(),
        url,
        config.credentials.method(),
        config.gateway,
        counters,
    ));
    let client = connect::connect(config, Arc::clone(&status)).await?;
    let link = Link {
        client,
        subjects: Subjects::new(&config.subject_prefix),
        status: Arc::clone(&status),
        publishing: config.publish,
    };
    tracing::info!(url = %status.url, host = %status.host, auth = status.auth, gateway = config.gateway, publish = config.publish, "Joining the fleet.");
    let outbox = config.publish.then(|| {
        tokio::spawn(publisher::run(link.clone(), receiver, shutdown.clone()));
        outbox
    });
    let (gateway, inbox) = if config.gateway {
        let gateway = Arc::new(Gateway::new(
            config.stale_window(interval),
            config.gone_window(),
            config.max_frame_bytes,
        ));
        let (inbox, sinks) = Inbox::new(INBOX_CAPACITY);
        tokio::spawn(gateway::run(
            link,
            Arc::clone(&gateway),
            interval,
            sinks,
            shutdown,
        ));
        (Some(gateway), Some(inbox))
    } else {
        (None, None)
    };
    Ok(Some(Started {
        fleet: Arc::new(Fleet { status, gateway }),
        outbox,
        inbox,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_the_host() {
        let subjects = Subjects::new("monitoring");
        assert_eq!(subjects.data("web-1"), "monitoring.web-1.data");
        assert_eq!(subjects.all_alerts(), "monitoring.*.alert");
        assert_eq!(subjects.host_of("monitoring.web-1.data"), Some("web-1"));
        assert_eq!(subjects.host_of("monitoring.web-1.alert"), Some("web-1"));
        assert_eq!(subjects.host_of("monitoring.web-1.other"), None);
        assert_eq!(subjects.host_of("monitoringx.web-1.data"), None);
        assert_eq!(subjects.host_of("other.web-1.data"), None);
        let nested = Subjects::new("acme.prod");
        assert_eq!(nested.host_of("acme.prod.db-2.data"), Some("db-2"));
    }
}
