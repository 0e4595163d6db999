//! The collector interface: the ABI trait the host calls, the plain-Rust trait plugin
//! authors implement, and the adapter between them that contains panics.

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    sabi_trait,
    sabi_trait::TD_Opaque,
    std_types::{RBox, RResult, RStr, RString},
};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{guard, parse_config};
use crate::{
    FullPluginMod, PluginError, PluginKind, PluginKind_NE, PluginMetadata, PluginModRef,
    API_VERSION,
};

/// What the host sees of a collector. Called from one thread at a time, never
/// concurrently with itself.
#[sabi_trait]
pub trait CollectorAbi: Send {
    /// One collection: the plugin's sections as a JSON object.
    #[sabi(last_prefix_field)]
    fn collect(&mut self) -> RResult<RString, PluginError>;
}

/// An owned collector behind the ABI.
pub type CollectorBox = CollectorAbi_TO<'static, RBox<()>>;

/// Implement this for a collector plugin, then `declare_collector!(YourType);`.
///
/// `collect` is called once per tick from a thread of the host's, never twice at once.
/// It must not sleep to pace itself (keep state between calls instead) nor retry: the
/// host applies deadlines and back-off.
pub trait Collector: Send + Sized + 'static {
    /// Unique plugin name, also its `[plugins.<name>]` table in plugins.toml.
    const NAME: &'static str;
    /// One line for humans.
    const DESCRIPTION: &'static str;
    /// Settings from the plugin's table; `{}` when the table is absent, so use
    /// `#[serde(default, deny_unknown_fields)]`.
    type Config: DeserializeOwned;
    /// The sections produced each tick; must serialize to a JSON object whose keys are
    /// section names (e.g. a struct with one `processor` field).
    type Output: Serialize;

    /// Builds the collector. Return [`PluginError::unavailable`] when the machine lacks
    /// what it needs: the host then leaves it out without complaint.
    fn new(config: Self::Config) -> Result<Self, PluginError>;

    /// Takes one reading.
    fn collect(&mut self) -> Result<Self::Output, PluginError>;
}

struct CollectorAdapter<C>(C);

impl<C: Collector> CollectorAbi for CollectorAdapter<C> {
    fn collect(&mut self) -> RResult<RString, PluginError> {
        guard(|| {
            let output = self.0.collect()?;
            serde_json::to_string(&output)
                .map(RString::from)
                .map_err(|e| PluginError::fatal(format_args!("cannot encode sections: {e}")))
        })
        .into()
    }
}

extern "C" fn new_collector<C: Collector>(config: RStr<'_>) -> RResult<CollectorBox, PluginError> {
    guard(|| {
        let config = parse_config::<C::Config>(config.as_str())?;
        let collector = C::new(config)?;
        Ok(CollectorAbi_TO::from_value(
            CollectorAdapter(collector),
            TD_Opaque,
        ))
    })
    .into()
}

/// The identity of a collector plugin; used by `declare_collector!`, which supplies the
/// plugin crate's version.
pub fn collector_metadata<C: Collector>(version: &'static str) -> PluginMetadata {
    PluginMetadata {
        name: RStr::from_str(C::NAME),
        kind: PluginKind_NE::new(PluginKind::Collector),
        version: RStr::from_str(version),
        api_version: RStr::from_str(API_VERSION),
        description: RStr::from_str(C::DESCRIPTION),
    }
}

/// The root module of a collector plugin; used by `declare_collector!`.
pub fn collector_module<C: Collector>(metadata: extern "C" fn() -> PluginMetadata) -> PluginModRef {
    FullPluginMod {
        metadata,
        new_collector: Some(new_collector::<C>),
        new_sink: None,
        wants_snapshots: false,
    }
    .leak_into_prefix()
    .prefix()
}
