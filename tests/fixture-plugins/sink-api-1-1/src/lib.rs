//! A sink as plugin-api 1.1 built it: its events are decoded with 1.1's `Alert` and
//! `SinkEvent`, frozen below, which know nothing of the alert identity (`host`,
//! `fingerprint`, `labels`, `starts_at`, `state`, `ends_at`) nor of the `notification`
//! event that 1.2 added; its metadata says `api_version` 1.1.0. Today's host must send
//! it one `alert`/`resolved` event per alert, in a form 1.1's types read. It appends
//! `<event> <level> <message>` per event to the file its settings name, for
//! tests/abi_evolution.rs to read.
//!
//! The root module and the sink trait object are unchanged since 1.1 (1.2 added JSON
//! only), so they come from today's plugin-api; the decoding is what is frozen.

// abi_stable's derives emit impls inside consts, which this lint flags.
#![allow(non_local_definitions)]

use std::io::Write;
use std::path::PathBuf;

use abi_stable::{
    export_root_module,
    prefix_type::PrefixTypeTrait,
    sabi_trait::TD_Opaque,
    std_types::{RResult, RStr},
};
use monitoring_plugin_api::{
    FullPluginMod, PluginError, PluginKind, PluginKind_NE, PluginMetadata, PluginModRef, SinkAbi,
    SinkAbi_TO, SinkBox,
};
use serde::Deserialize;

/// plugin-api 1.1's `AlertLevel`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AlertLevel {
    /// The warning threshold was crossed.
    Warning,
    /// The critical threshold was crossed.
    Critical,
}

/// plugin-api 1.1's `Alert`: the seed's fields and nothing more.
#[derive(Debug, Deserialize)]
pub struct Alert {
    /// When it was raised.
    pub timestamp: String,
    /// Affected component.
    pub component: String,
    /// Metric that crossed the threshold.
    pub metric: String,
    /// The value seen.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// `WARNING` or `CRITICAL`.
    pub level: AlertLevel,
    /// Human-readable text.
    pub message: String,
}

/// plugin-api 1.1's `SinkEvent`.
#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SinkEvent {
    /// An alert fired.
    Alert {
        /// The alert.
        alert: Alert,
    },
    /// A firing alert cleared.
    Resolved {
        /// The alert as it last fired.
        alert: Alert,
        /// When it cleared.
        resolved_at: String,
    },
    /// A full snapshot.
    Snapshot {
        /// The snapshot's timestamp.
        timestamp: String,
    },
    /// An event 1.1 does not know.
    #[serde(other)]
    Unknown,
}

/// Records every event it decodes; an event it cannot decode is a fatal error.
pub struct Recorder {
    path: PathBuf,
}

/// Settings of `[plugins.sink-api-1-1]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The file each event is appended to (required).
    path: PathBuf,
}

impl SinkAbi for Recorder {
    fn deliver(&mut self, event: RStr<'_>) -> RResult<(), PluginError> {
        let line = match serde_json::from_str::<SinkEvent>(event.as_str()) {
            Ok(SinkEvent::Alert { alert }) => format!("alert {:?} {}", alert.level, alert.message),
            Ok(SinkEvent::Resolved { alert, .. }) => {
                format!("resolved {:?} {}", alert.level, alert.message)
            }
            Ok(SinkEvent::Snapshot { .. }) => "snapshot".to_owned(),
            Ok(SinkEvent::Unknown) => "unknown".to_owned(),
            Err(e) => return RResult::RErr(PluginError::fatal(format_args!("undecodable: {e}"))),
        };
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut file| writeln!(file, "{line}"))
            .map_err(|e| PluginError::retryable(format_args!("cannot write: {e}")))
            .into()
    }

    fn flush(&mut self) -> RResult<(), PluginError> {
        RResult::ROk(())
    }
}

extern "C" fn new_sink(config: RStr<'_>) -> RResult<SinkBox, PluginError> {
    match serde_json::from_str::<Config>(config.as_str()) {
        Ok(config) => RResult::ROk(SinkAbi_TO::from_value(
            Recorder { path: config.path },
            TD_Opaque,
        )),
        Err(e) => RResult::RErr(PluginError::config(format_args!("{e}"))),
    }
}

extern "C" fn metadata() -> PluginMetadata {
    PluginMetadata {
        name: RStr::from_str("sink-api-1-1"),
        kind: PluginKind_NE::new(PluginKind::Sink),
        version: RStr::from_str(env!("CARGO_PKG_VERSION")),
        api_version: RStr::from_str("1.1.0"),
        description: RStr::from_str("Decodes events with plugin-api 1.1's types."),
    }
}

/// The 1.1 root module: today's layout, which 1.2 did not change.
#[export_root_module]
pub fn get_library() -> PluginModRef {
    FullPluginMod {
        metadata,
        new_collector: None,
        new_sink: Some(new_sink),
        wants_snapshots: false,
    }
    .leak_into_prefix()
    .prefix()
}
