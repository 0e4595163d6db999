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
//! also refuses a plugin whose minor version is older than the host's, which is why this
//! crate started at 1.0.0).
//!
//! abi_stable's layout check lets the *library* be newer than the *loader*, never older:
//! a prefix type (root module or `#[sabi_trait]` vtable) may have more fields in the
//! library than in the loader's type, not fewer. Here the loader is the host, and a
//! newer host must keep loading older plugins, so everything the host's loader type
//! reaches is frozen for major version 1.
//! - **Minor change** (bump the minor version): append a field to [`FullPluginMod`]
//!   (never to [`PluginMod`]) with `#[sabi(missing_field(with = …))]` naming what an
//!   older plugin means, and add an accessor for it on [`PluginModRef`]. Likewise add a
//!   variant to a non-exhaustive enum ([`ErrorKind`], [`PluginKind`]), add a field to a
//!   JSON payload. Old plugins keep loading: the host sees the new field as absent.
//!   `tests/fixture-plugins/old-minor-*` are plugins built against the 1.0 layout, and
//!   `tests/abi_evolution.rs` proves today's host still runs them.
//! - **Not a minor change here**, though abi_stable's own docs call it one: appending a
//!   method to [`CollectorAbi`] or [`SinkAbi`], even after `#[sabi(last_prefix_field)]`
//!   and with a default. Their vtables are reached from [`PluginMod`] (the return types
//!   of `new_collector`/`new_sink`), so the host's vtable would have a method more than
//!   every older plugin's, and abi_stable refuses each of them ("too many fields"; the
//!   test `a_method_appended_to_a_sabi_trait_refuses_plugins_built_without_it` below
//!   proves it with abi_stable's own checker). Within 1.x a new method needs a new trait
//!   whose constructor is a field appended to [`FullPluginMod`], with the host falling
//!   back on the old trait where it is absent: the mechanism `wants_snapshots` uses, not
//!   yet exercised for a trait object, so prove it with an `old-minor-*` fixture first.
//! - **Major change** (bump the major version): anything else, such as changing or
//!   reordering an existing field or method, a method signature, or a plain
//!   `#[repr(C)]` struct ([`PluginMetadata`], [`PluginError`] are frozen). Plugins built
//!   against the old major version are then refused at load with a clear reason.
//!
//! History: 1.0 had `metadata`, `new_collector`, `new_sink`; 1.1 appended
//! `wants_snapshots`; 1.2 added JSON only: `Alert`'s `host`, `labels`, `starts_at`,
//! `fingerprint`, `state` and `ends_at`, and the `notification` event, which the host
//! sends only to plugins whose `api_version` is 1.2 or later (older ones get its alerts
//! one by one, as before), with [`Sink::notify`] to receive it.
//!
//! That is why the host loads through [`PluginMod`], the 1.0 layout, frozen; plugins
//! export a [`FullPluginMod`], and the host reads the appended fields with accessors
//! on [`PluginModRef`] that fall back to a stated default for older plugins.

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
    Alert, AlertLevel, AlertRecord, AlertState, Notification, PluginKind, PluginKind_NE,
    PluginMetadata, Sections, SinkEvent,
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

/// The root module as the host loads it: plugin-api 1.0's layout, frozen for the life
/// of major version 1.
///
/// abi_stable checks a library's root module against the loader's type and refuses a
/// library whose module has *fewer* fields than that type (the loader's interface must
/// be a prefix of the library's). So the host loads every plugin through this 1.0
/// prefix, which every 1.x plugin has, and reads fields appended since through
/// accessors on this type (e.g. [`PluginModRef::wants_snapshots`]), which look at the
/// library's own record of its fields. Plugins export a [`FullPluginMod`].
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
}

/// The full root module, kept in its own module so that its layout carries the same
/// type name as [`PluginMod`] and abi_stable's checker can prove that one is a prefix of
/// the other (see the test below).
mod full {
    use abi_stable::{
        std_types::{RResult, RStr},
        StableAbi,
    };

    use crate::{CollectorBox, PluginError, PluginMetadata, SinkBox};

    /// The root module plugins of this version export: [`crate::PluginMod`]'s fields, then every
    /// field appended since 1.0, in order. Fields are only ever appended, after 1.0's
    /// `last_prefix_field`, so a module from any 1.x plugin is read correctly through it.
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = FullPluginModRef)))]
    pub struct PluginMod {
        /// As [`crate::PluginMod::metadata`].
        pub metadata: extern "C" fn() -> PluginMetadata,
        /// As [`crate::PluginMod::new_collector`].
        pub new_collector: Option<extern "C" fn(RStr<'_>) -> RResult<CollectorBox, PluginError>>,
        /// As [`crate::PluginMod::new_sink`].
        #[sabi(last_prefix_field)]
        pub new_sink: Option<extern "C" fn(RStr<'_>) -> RResult<SinkBox, PluginError>>,
        /// Since 1.1. Whether a sink wants a [`crate::SinkEvent::Snapshot`] every tick
        /// ([`crate::Sink::WANTS_SNAPSHOTS`]); `false` for collectors. Absent from 1.0 plugins,
        /// and then read as `true`: 1.0 hosts gave every sink every snapshot.
        #[sabi(missing_field(with = snapshots_for_older_plugins))]
        pub wants_snapshots: bool,
    }

    /// What a 1.0 plugin, which cannot say, is taken to want: snapshots, as every sink
    /// got every snapshot then.
    fn snapshots_for_older_plugins() -> bool {
        true
    }
}

pub use full::{FullPluginModRef, PluginMod as FullPluginMod};

impl FullPluginModRef {
    /// The 1.0 prefix, as the host's loader sees it.
    pub fn prefix(self) -> PluginModRef {
        // SAFETY: `FullPluginMod` begins with `PluginMod`'s fields, same names, types and
        // order (pinned by a test against abi_stable's own layout checker).
        PluginModRef(unsafe { self.0.cast() })
    }
}

impl PluginModRef {
    /// Whether this plugin wants a [`SinkEvent::Snapshot`] every tick: its
    /// [`Sink::WANTS_SNAPSHOTS`], `false` for collectors, and `true` for plugins built
    /// against plugin-api 1.0, which predate the question.
    pub fn wants_snapshots(self) -> bool {
        self.full().wants_snapshots()
    }

    /// The module with the fields appended since 1.0, each readable only where the
    /// library has it.
    fn full(self) -> FullPluginModRef {
        // SAFETY: every 1.x module starts with `PluginMod`'s fields (checked by the loader
        // against this type) and continues with `FullPluginMod`'s appended ones, up to
        // the plugin's own version. The accessors of fields past `last_prefix_field`
        // read one only when the library's own field record (kept with the module by
        // abi_stable) says it exists, and otherwise give its stated default.
        FullPluginModRef(unsafe { self.0.cast() })
    }
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

#[cfg(test)]
mod tests {
    use abi_stable::{abi_stability::abi_checking::check_layout_compatibility, StableAbi};

    use super::*;

    #[test]
    fn the_loading_layout_is_a_prefix_of_the_exported_one() {
        // What the host checks (interface) against what plugins export: abi_stable
        // accepts an implementation with more fields, never with other ones.
        let checked = check_layout_compatibility(
            <PluginModRef as StableAbi>::LAYOUT,
            <FullPluginModRef as StableAbi>::LAYOUT,
        );
        assert!(checked.is_ok(), "{checked:?}");
        // And the reverse is what abi_stable refuses: a 1.0 library in a loader that
        // expected the full module. This is why the host loads through `PluginMod`.
        let reverse = check_layout_compatibility(
            <FullPluginModRef as StableAbi>::LAYOUT,
            <PluginModRef as StableAbi>::LAYOUT,
        );
        assert!(reverse.is_err());
    }

    #[test]
    fn wants_snapshots_reads_the_field_where_the_module_has_it() {
        use abi_stable::prefix_type::PrefixTypeTrait;

        extern "C" fn metadata() -> PluginMetadata {
            unreachable!("not called")
        }
        let new = |wants_snapshots| {
            FullPluginMod {
                metadata,
                new_collector: None,
                new_sink: None,
                wants_snapshots,
            }
            .leak_into_prefix()
            .prefix()
        };
        assert!(!new(false).wants_snapshots());
        assert!(new(true).wants_snapshots());
        let old = PluginMod {
            metadata,
            new_collector: None,
            new_sink: None,
        }
        .leak_into_prefix();
        assert!(
            old.wants_snapshots(),
            "a 1.0 module lacks the field: default true"
        );
    }
    /// Copies of [`SinkAbi`] as it is, and as it would be with a method appended in a
    /// minor version (after `last_prefix_field`, with a default), reached the way the
    /// loader reaches the real one: through the return type of a constructor field.
    /// Same type names as the real ones, so abi_stable's checker compares them.
    mod sink_abi {
        pub mod today {
            use abi_stable::{sabi_trait, std_types::*, StableAbi};

            use crate::PluginError;

            #[sabi_trait]
            pub trait SinkAbi: Send {
                fn deliver(&mut self, event: RStr<'_>) -> RResult<(), PluginError>;
                #[sabi(last_prefix_field)]
                fn flush(&mut self) -> RResult<(), PluginError>;
            }

            #[repr(C)]
            #[derive(StableAbi)]
            pub struct Module {
                pub new_sink: extern "C" fn() -> SinkAbi_TO<'static, RBox<()>>,
            }
        }

        pub mod appended {
            use abi_stable::{sabi_trait, std_types::*, StableAbi};

            use crate::PluginError;

            #[sabi_trait]
            pub trait SinkAbi: Send {
                fn deliver(&mut self, event: RStr<'_>) -> RResult<(), PluginError>;
                #[sabi(last_prefix_field)]
                fn flush(&mut self) -> RResult<(), PluginError>;
                fn pending(&self) -> u32 {
                    0
                }
            }

            #[repr(C)]
            #[derive(StableAbi)]
            pub struct Module {
                pub new_sink: extern "C" fn() -> SinkAbi_TO<'static, RBox<()>>,
            }
        }
    }

    #[test]
    fn a_method_appended_to_a_sabi_trait_refuses_plugins_built_without_it() {
        use abi_stable::abi_stability::abi_checking::{
            check_layout_compatibility_with_globals, CheckingGlobals,
        };
        use sink_abi::{appended, today};

        // Fresh globals: abi_stable merges every prefix type it has checked, and these
        // copies must not meet the other tests' real ones there.
        let check = |interface, implementation| {
            check_layout_compatibility_with_globals(
                interface,
                implementation,
                &CheckingGlobals::new(),
            )
        };

        let real = <SinkBox as StableAbi>::LAYOUT;
        let copy =
            <today::SinkAbi_TO<'static, abi_stable::std_types::RBox<()>> as StableAbi>::LAYOUT;
        let checked = check(real, copy);
        assert!(checked.is_ok(), "the copy is the real SinkAbi: {checked:?}");

        let today = <today::Module as StableAbi>::LAYOUT;
        let appended = <appended::Module as StableAbi>::LAYOUT;
        // A host with the new method refuses a plugin built before it (the vtable, a
        // prefix type, has "too many fields" on the host's side), as with root modules.
        let older_plugin = check(appended, today)
            .map_err(|e| e.to_string())
            .expect_err("a host with the appended method loads a plugin without it");
        assert!(older_plugin.contains("too many fields"), "{older_plugin}");
        // Only the other way round is compatible: a newer plugin in an older host.
        let newer_plugin = check(today, appended);
        assert!(newer_plugin.is_ok(), "{newer_plugin:?}");
    }
}
