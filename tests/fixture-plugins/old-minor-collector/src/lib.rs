//! A collector built against plugin-api 1.0, whose root module ends at `new_sink`.
//! Today's host must load it (same major version, a prefix of today's layout) and
//! put its `old_minor` section in every snapshot; tests/abi_evolution.rs checks it.

// abi_stable's derives emit impls inside consts, which this lint flags.
#![allow(non_local_definitions)]

include!("old_api.rs");

use abi_stable::{export_root_module, prefix_type::PrefixTypeTrait};
use monitoring_plugin_api::prelude::*;

/// Settings of `[plugins.old-minor-collector]`: none.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

/// The one section it reports.
#[derive(Serialize)]
pub struct Output {
    /// `{"answer": 42, "api": "1.0.0"}`.
    old_minor: OldMinor,
}

/// The `old_minor` section.
#[derive(Serialize)]
struct OldMinor {
    answer: u32,
    api: &'static str,
}

/// Reports a fixed section.
pub struct OldMinorCollector;

impl Collector for OldMinorCollector {
    const NAME: &'static str = "old-minor-collector";
    const DESCRIPTION: &'static str = "Built against plugin-api 1.0.";
    type Config = Config;
    type Output = Output;

    fn new(_config: Config) -> Result<Self, PluginError> {
        Ok(Self)
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        Ok(Output {
            old_minor: OldMinor {
                answer: 42,
                api: env!("CARGO_PKG_VERSION"),
            },
        })
    }
}

extern "C" fn metadata() -> PluginMetadata {
    metadata_of(
        OldMinorCollector::NAME,
        PluginKind::Collector,
        OldMinorCollector::DESCRIPTION,
    )
}

/// The export the host's loader finds: the 1.0 layout, with the constructor that the
/// collector adapter (unchanged since 1.0) provides.
#[export_root_module]
pub fn get_library() -> PluginModRef {
    let today = monitoring_plugin_api::collector_module::<OldMinorCollector>(metadata);
    PluginMod {
        metadata,
        new_collector: today.new_collector(),
        new_sink: None,
    }
    .leak_into_prefix()
}
