// plugin-api 1.0's root module, field for field: `metadata`, `new_collector`,
// `new_sink`, and nothing after the `last_prefix_field`. Included by both old-minor
// fixtures; build.rs gives it plugin-api's crate name, Cargo.toml its 1.0.0 version.
// Every other boundary type (metadata, errors, the collector and sink trait objects)
// is unchanged since 1.0, so they come from today's plugin-api.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RResult, RStr},
    StableAbi,
};
use monitoring_plugin_api::{
    CollectorBox, PluginError, PluginKind, PluginKind_NE, PluginMetadata, SinkBox,
};

/// The root module as plugin-api 1.0 declared it.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
pub struct PluginMod {
    /// Who the plugin is.
    pub metadata: extern "C" fn() -> PluginMetadata,
    /// Builds a collector from its settings.
    pub new_collector: Option<extern "C" fn(RStr<'_>) -> RResult<CollectorBox, PluginError>>,
    /// Builds a sink from its settings.
    #[sabi(last_prefix_field)]
    pub new_sink: Option<extern "C" fn(RStr<'_>) -> RResult<SinkBox, PluginError>>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "monitoring_plugin";
    const NAME: &'static str = "monitoring_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Metadata as a 1.0 plugin reports it.
fn metadata_of(name: &'static str, kind: PluginKind, description: &'static str) -> PluginMetadata {
    PluginMetadata {
        name: RStr::from_str(name),
        kind: PluginKind_NE::new(kind),
        version: RStr::from_str(env!("CARGO_PKG_VERSION")),
        api_version: RStr::from_str(env!("CARGO_PKG_VERSION")),
        description: RStr::from_str(description),
    }
}
