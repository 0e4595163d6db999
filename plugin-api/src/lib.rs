//! The contract between the monitoring server (the host) and its plugins.
//!
//! Everything that crosses the dynamic-library boundary is defined here and nowhere
//! else, on top of [`abi_stable`], so that a plugin compiled separately from the host
//! is either loaded safely or refused with a reason, never misread.
//!
//! A plugin is one `cdylib` crate holding a config struct, its logic, and one line:
//!
//! ```
//! use monitoring_plugin_api::prelude::*;
//!
//! /// Settings of `[plugins.hello]`.
//! #[derive(Default, Deserialize)]
//! #[serde(default, deny_unknown_fields)]
//! pub struct Config {
//!     /// Text to report.
//!     greeting: String,
//! }
//!
//! /// The sections this plugin adds to every snapshot.
//! #[derive(Serialize)]
//! pub struct Output {
//!     hello: String,
//! }
//!
//! pub struct Hello(Config);
//!
//! impl Collector for Hello {
//!     const NAME: &'static str = "hello";
//!     const DESCRIPTION: &'static str = "Says hello every tick.";
//!     type Config = Config;
//!     type Output = Output;
//!
//!     fn new(config: Config) -> Result<Self, PluginError> {
//!         Ok(Hello(config))
//!     }
//!
//!     fn collect(&mut self) -> Result<Output, PluginError> {
//!         Ok(Output { hello: self.0.greeting.clone() })
//!     }
//! }
//!
//! declare_collector!(Hello);
//! # let sections = monitoring_plugin_api::testing::check_collector::<Hello>();
//! # assert_eq!(sections["hello"], "");
//! ```
//!
//! # The built-in sections
//! [`sections`] holds the schema of every built-in section (`processor`, `memory`,
//! `disk`/`disks`, `system`, `gpu`) as types: collectors build them, the host reads them
//! with [`Section::from_sections`](sections::Section::from_sections) and names their
//! fields in rules with [`field_path!`]. Other plugins' sections stay free-form JSON.
//!
//! # What crosses the boundary
//! - [`PluginModRef`], the one root module every plugin exports: its [`PluginMetadata`]
//!   and a constructor for a collector or a sink.
//! - Collectors return their snapshot sections as a JSON object (`{"processor": {…}}`);
//!   sinks receive [`SinkEvent`]s as JSON. JSON keeps the binary interface tiny while
//!   the data model grows: a new field in a section needs no ABI change at all.
//! - Errors are a [`PluginError`] with a classified [`ErrorKind`]; the host owns the
//!   policy (back-off, retries, disabling), plugins never sleep or retry themselves.
//! - The declaration macros wrap every call into plugin code in `catch_unwind`, so a
//!   panicking plugin comes back to the host as [`ErrorKind::Panicked`].
//!
//! # Evolving the ABI
//! The layout of every boundary type is checked by `abi_stable` when the host loads a
//! plugin, and the crate version below is checked against the plugin's. abi_stable
//! accepts a plugin whose version has the host's major version (for `0.x` versions it
//! demands the same minor too, which is why this crate started at 1.0.0).
//! - **Minor change** (bump the minor version): append a field to [`PluginMod`] after
//!   the `#[sabi(last_prefix_field)]` one, which never moves; its accessor on
//!   [`PluginModRef`] then returns an `Option`, or a stated default through
//!   `#[sabi(missing_field(value = …))]`, because a plugin built against an older minor
//!   version does not have it. Likewise append a method at the end of a `#[sabi_trait]`,
//!   add a variant to a non-exhaustive enum ([`ErrorKind`], [`PluginKind`]), add a field
//!   to a JSON payload. Old plugins keep loading: the host sees the new field as absent.
//!   `tests/fixture-plugins/old-minor-*` are plugins built against the 1.0 layout, and
//!   `tests/abi_evolution.rs` proves today's host still runs them.
//! - **Major change** (bump the major version): anything else, such as changing or
//!   reordering an existing field, a method signature, or a plain `#[repr(C)]` struct
//!   ([`PluginMetadata`], [`PluginError`] are frozen). Plugins built against the old
//!   major version are then refused at load with a clear reason.
//!
//! History: 1.0 had `metadata`, `new_collector`, `new_sink`; 1.1 appended
//! `wants_snapshots`.

// abi_stable's derives emit impls inside consts, which this lint flags; they are sound.
#![allow(non_local_definitions)]

mod collector;
mod error;
mod macros;
pub mod prelude;
pub mod sections;
mod sink;
pub mod testing;
mod types;

pub use abi_stable;
pub use serde_json;

pub use collector::{
    collector_metadata, collector_module, Collector, CollectorAbi, CollectorAbi_TO, CollectorBox,
};
pub use error::{ErrorKind, ErrorKind_NE, PluginError};
pub use sink::{sink_metadata, sink_module, Sink, SinkAbi, SinkAbi_TO, SinkBox};
pub use types::{
    Alert, AlertLevel, AlertRecord, PluginKind, PluginKind_NE, PluginMetadata, Sections, SinkEvent,
};

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RResult, RStr},
    StableAbi,
};

/// The version of this interface crate a plugin was compiled against.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The root module every plugin library exports, through `declare_collector!` or
/// `declare_sink!`.
///
/// A prefix type: fields may only be appended after the last one, so hosts and plugins
/// of different minor versions still understand each other.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
pub struct PluginMod {
    /// Who the plugin is: name, kind, versions.
    pub metadata: extern "C" fn() -> PluginMetadata,
    /// Builds a collector from its settings (a JSON object, `{}` when there are none).
    /// Present for collector plugins.
    pub new_collector: Option<extern "C" fn(RStr<'_>) -> RResult<CollectorBox, PluginError>>,
    /// Builds a sink from its settings. Present for sink plugins.
    #[sabi(last_prefix_field)]
    pub new_sink: Option<extern "C" fn(RStr<'_>) -> RResult<SinkBox, PluginError>>,
    /// Since 1.1. Whether a sink wants a [`SinkEvent::Snapshot`] every tick
    /// ([`Sink::WANTS_SNAPSHOTS`]); `false` for collectors.
    ///
    /// The host reads it with `module.wants_snapshots()`, which returns `true` for a
    /// plugin built against 1.0, where the field is absent: 1.0 hosts gave every sink
    /// every snapshot, and an old exporter must keep receiving them.
    #[sabi(missing_field(with = snapshots_for_older_plugins))]
    pub wants_snapshots: bool,
}

/// What [`PluginModRef::wants_snapshots`] says of a plugin built before 1.1: yes, as
/// every sink got every snapshot then.
fn snapshots_for_older_plugins() -> bool {
    true
}

/// Implemented by `declare_collector!`/`declare_sink!` for the type they declare: the
/// root module the library exports, so that [`testing`] drives a plugin through the
/// same `extern "C"` constructor and JSON the host uses.
pub trait Exported {
    /// The root module the library header hands to the host's loader.
    fn root_module() -> PluginModRef;
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "monitoring_plugin";
    const NAME: &'static str = "monitoring_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
