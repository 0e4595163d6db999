//! A sink built against plugin-api 1.0, whose root module ends at `new_sink` and so
//! says nothing about snapshots. Today's host must load it and, as 1.0 hosts did, send
//! it every event; it appends each event's kind to the file its settings name, for
//! tests/abi_evolution.rs to read.

// abi_stable's derives emit impls inside consts, which this lint flags.
#![allow(non_local_definitions)]

include!("../../old-minor-collector/src/old_api.rs");

use std::io::Write;
use std::path::PathBuf;

use abi_stable::{export_root_module, prefix_type::PrefixTypeTrait};
use monitoring_plugin_api::prelude::*;

/// Settings of `[plugins.old-minor-sink]`.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The file each event's kind is appended to, one per line (required).
    pub path: PathBuf,
}

/// Records the kind of every event it receives.
pub struct OldMinorSink {
    path: PathBuf,
}

impl Sink for OldMinorSink {
    const NAME: &'static str = "old-minor-sink";
    const DESCRIPTION: &'static str = "Built against plugin-api 1.0.";
    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        if config.path.as_os_str().is_empty() {
            return Err(PluginError::config("`path` is required"));
        }
        Ok(Self { path: config.path })
    }

    fn deliver(&mut self, event: &SinkEvent) -> Result<(), PluginError> {
        let kind = match event {
            SinkEvent::Alert { .. } => "alert",
            SinkEvent::Resolved { .. } => "resolved",
            SinkEvent::Snapshot { .. } => "snapshot",
            _ => "other",
        };
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut file| writeln!(file, "{kind}"))
            .map_err(|e| {
                PluginError::retryable(format_args!("cannot write {}: {e}", self.path.display()))
            })
    }
}

extern "C" fn metadata() -> PluginMetadata {
    metadata_of(
        OldMinorSink::NAME,
        PluginKind::Sink,
        OldMinorSink::DESCRIPTION,
    )
}

/// The export the host's loader finds: the 1.0 layout, with the constructor that the
/// sink adapter (unchanged since 1.0) provides.
#[export_root_module]
pub fn get_library() -> PluginModRef {
    let today = monitoring_plugin_api::sink_module::<OldMinorSink>(metadata);
    PluginMod {
        metadata,
        new_collector: None,
        new_sink: today.new_sink(),
    }
    .leak_into_prefix()
}
