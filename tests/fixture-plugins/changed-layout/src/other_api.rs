// The root module of "another plugin-api": the same module name as the host's, another
// layout. Included by both the changed-layout and the old-major fixtures, whose only
// difference is the version in their Cargo.toml.

use abi_stable::{
    declare_root_module_statics, export_root_module,
    library::RootModule,
    package_version_strings,
    prefix_type::PrefixTypeTrait,
    sabi_types::VersionStrings,
    std_types::{RStr, RString},
    StableAbi,
};

/// The other API's root module.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
pub struct PluginMod {
    /// A different shape from the host's `metadata`.
    #[sabi(last_prefix_field)]
    pub describe: extern "C" fn(verbose: u32, name: RStr<'_>) -> RString,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "monitoring_plugin";
    const NAME: &'static str = "monitoring_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

extern "C" fn describe(_verbose: u32, name: RStr<'_>) -> RString {
    RString::from(name.as_str())
}

/// The export the host's loader finds.
#[export_root_module]
pub fn get_library() -> PluginModRef {
    PluginMod { describe }.leak_into_prefix()
}
