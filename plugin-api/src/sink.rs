//! The sink interface: where alerts (and, for exporters, snapshots) leave the server.
//! Same shape as the collector side: an ABI trait, a plain-Rust trait, an adapter.

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    sabi_trait,
    sabi_trait::TD_Opaque,
    std_types::{RBox, RResult, RStr},
};
use serde::de::DeserializeOwned;

use crate::error::{guard, parse_config};
use crate::{
    FullPluginMod, Notification, PluginError, PluginKind, PluginKind_NE, PluginMetadata,
    PluginModRef, SinkEvent, API_VERSION,
};

/// What the host sees of a sink. Called from one thread at a time.
#[sabi_trait]
pub trait SinkAbi: Send {
    /// Delivers one [`SinkEvent`], encoded as JSON.
    fn deliver(&mut self, event: RStr<'_>) -> RResult<(), PluginError>;

    /// Writes out anything buffered; called before shutdown.
    #[sabi(last_prefix_field)]
    fn flush(&mut self) -> RResult<(), PluginError>;
}

/// An owned sink behind the ABI.
pub type SinkBox = SinkAbi_TO<'static, RBox<()>>;

/// Implement this for a sink plugin, then `declare_sink!(YourType);`.
///
/// Report failures as [`PluginError::retryable`] or [`PluginError::fatal`]; the host
/// queues, retries with back-off and counts. Never sleep or retry inside `deliver`.
pub trait Sink: Send + Sized + 'static {
    /// Unique plugin name, also its `[plugins.<name>]` table in plugins.toml.
    const NAME: &'static str;
    /// One line for humans.
    const DESCRIPTION: &'static str;
    /// Settings from the plugin's table (`#[serde(default, deny_unknown_fields)]`).
    type Config: DeserializeOwned;
    /// Whether this sink wants a [`SinkEvent::Snapshot`] every tick. Only exporters do;
    /// for the others the host skips encoding and delivering a snapshot per tick.
    const WANTS_SNAPSHOTS: bool = false;

    /// Builds the sink from its settings.
    fn new(config: Self::Config) -> Result<Self, PluginError>;

    /// Handles one event. Events this sink does not care about return `Ok(())`.
    fn deliver(&mut self, event: &SinkEvent) -> Result<(), PluginError>;

    /// Handles one grouped [`Notification`] (since 1.2). By default each of its alerts
    /// goes to [`Sink::deliver`] as an `Alert` or `Resolved` event, as a 1.1 sink gets
    /// them; sinks that can say several alerts in one message (`notify`) override it.
    fn notify(&mut self, notification: &Notification) -> Result<(), PluginError> {
        for event in notification.events() {
            self.deliver(&event)?;
        }
        Ok(())
    }

    /// Writes out anything buffered.
    fn flush(&mut self) -> Result<(), PluginError> {
        Ok(())
    }
}

struct SinkAdapter<S>(S);

impl<S: Sink> SinkAbi for SinkAdapter<S> {
    fn deliver(&mut self, event: RStr<'_>) -> RResult<(), PluginError> {
        guard(|| {
            let event: SinkEvent = serde_json::from_str(event.as_str())
                .map_err(|e| PluginError::fatal(format_args!("cannot decode event: {e}")))?;
            match event {
                SinkEvent::Unknown => Ok(()),
                SinkEvent::Notification { notification } => self.0.notify(&notification),
                known => self.0.deliver(&known),
            }
        })
        .into()
    }

    fn flush(&mut self) -> RResult<(), PluginError> {
        guard(|| self.0.flush()).into()
    }
}

extern "C" fn new_sink<S: Sink>(config: RStr<'_>) -> RResult<SinkBox, PluginError> {
    guard(|| {
        let config = parse_config::<S::Config>(config.as_str())?;
        let sink = S::new(config)?;
        Ok(SinkAbi_TO::from_value(SinkAdapter(sink), TD_Opaque))
    })
    .into()
}

/// The identity of a sink plugin; used by `declare_sink!`, which supplies the
/// plugin crate's version.
pub fn sink_metadata<S: Sink>(version: &'static str) -> PluginMetadata {
    PluginMetadata {
        name: RStr::from_str(S::NAME),
        kind: PluginKind_NE::new(PluginKind::Sink),
        version: RStr::from_str(version),
        api_version: RStr::from_str(API_VERSION),
        description: RStr::from_str(S::DESCRIPTION),
    }
}

/// The root module of a sink plugin; used by `declare_sink!`.
pub fn sink_module<S: Sink>(metadata: extern "C" fn() -> PluginMetadata) -> PluginModRef {
    FullPluginMod {
        metadata,
        new_collector: None,
        new_sink: Some(new_sink::<S>),
        wants_snapshots: S::WANTS_SNAPSHOTS,
    }
    .leak_into_prefix()
    .prefix()
}
