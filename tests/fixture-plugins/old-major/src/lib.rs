//! A plugin built against a different plugin-api than the host's: the root module has
//! the same name but another layout (an extra argument to the collector constructor,
//! and a different version number for old-major). The host must refuse it with a
//! one-line reason.

// abi_stable's derives emit impls inside consts, which this lint flags.
#![allow(non_local_definitions)]

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
