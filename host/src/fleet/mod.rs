//! The fleet (issue 12): many servers on one NATS bus, one live view of all of them.
//!
//! Every server with `[fleet] nats_url` publishes its frames and alert events
//! ([`publisher`]) on subjects that name it ([`Subjects`]); a server with `gateway =
//! true` also subscribes to the whole fleet ([`gateway`]) and keeps the view
//! ([`hosts`]) that `/api/hosts`, the WebSocket's `hosts` subscriptions and the fleet
//! dashboard read, gathering its changes per tick ([`batch`]) and logging them as
//! rate-limited summaries ([`digest`]); overviews get per-host rows once a second
//! ([`summaries`]), and every fleet message is written once ([`messages`]). [`connect`] owns the one NATS connection and
//! its back-off, [`link`] what the publisher and the gateway share over it, [`status`]
//! what `/health` and `/metrics` say about it.
//!
//! The fleet sits between the pipeline and the surfaces: it reads what the pipeline
//! publishes (through [`crate::pipeline::relay`], never delaying a tick) and the
//! surfaces read it. NATS being down costs a server nothing but its place in the
//! fleet view: its own clients, history and alerts go on as before.

pub mod batch;
pub mod connect;
pub mod digest;
pub mod feed;
pub mod frame;
pub mod gateway;
pub mod hosts;
pub mod link;
pub mod messages;
pub mod publisher;
pub mod runtime;
pub mod state;
pub mod status;
pub mod summaries;

use std::sync::Arc;
use std::time::Duration;

use crate::config::fleet::FleetConfig;
use crate::pipeline::relay::{Inbox, Outbox};
use crate::shutdown::Shutdown;
use crate::store::Store;
use gateway::Gateway;
pub use link::{Link, Subjects};
use status::FleetStatus;

/// Fleet alert events waiting for the gateway's next tick.
const INBOX_CAPACITY: usize = 1024;

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

/// Starts the link `config` describes, on the fleet's own thread ([`runtime`]), for a server ticking
/// every `interval`; `None` without `nats_url`. Returns at once: the connection is
/// made, and remade, in the background.
pub async fn start(
    config: &FleetConfig,
    interval: Duration,
    store: Option<Store>,
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
    let no_thread = |error: String| connect::ConnectError {
        url: status.url.clone(),
        message: format!("cannot run the fleet's thread: {error}"),
    };
    let runtime = runtime::FleetRuntime::spawn().map_err(|e| no_thread(e.to_string()))?;
    // Connected from the fleet's thread, so that the NATS client's task runs there.
    let client = {
        let (config, status) = (config.clone(), Arc::clone(&status));
        runtime
            .run(async move { connect::connect(&config, status).await })
            .await
            .map_err(|e| no_thread(e.to_string()))??
    };
    let link = Link {
        client,
        subjects: Subjects::new(&config.subject_prefix),
        status: Arc::clone(&status),
        publishing: config.publish,
        tags: config.tags.clone(),
        group: config.group.clone(),
        publish_every: config.publish_every(interval),
    };
    tracing::info!(url = %status.url, host = %status.host, auth = status.auth, gateway = config.gateway, publish = config.publish, "Joining the fleet.");
    let outbox = config.publish.then(|| {
        runtime.keep(publisher::run(link.clone(), receiver, shutdown.clone()));
        outbox
    });
    let (gateway, inbox) = if config.gateway {
        let gateway = Arc::new(Gateway::new(
            &status.host,
            config.stale_window(interval),
            config.gone_window(),
            config.max_frame_bytes,
            store.map(|store| gateway::FleetHistory {
                store,
                every: config.history_every(),
            }),
        ));
        let (inbox, sinks) = Inbox::new(INBOX_CAPACITY);
        runtime.keep(gateway::run(
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
