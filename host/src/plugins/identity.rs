//! What a plugin is, in the host's own types: its identity as a library declares it
//! ([`Metadata`]) and its kind ([`Kind`]). Both cross the probe's pipe as JSON and
//! reach clients in plugin records, so their words are defined here, once.

use monitoring_plugin_api::PluginKind;
use serde::{Deserialize, Serialize};

/// A plugin's kind as the host names it in records and in the probe's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Collects a section of every snapshot.
    Collector,
    /// Receives alerts (and snapshots, if it asks).
    Sink,
    /// A refused file that never said what it is.
    Unknown,
}

impl Kind {
    /// Whether a plugin of this kind runs under its table's `enabled`: collectors
    /// unless `enabled = false`, sinks only with `enabled = true` (a sink sends
    /// alerts somewhere, which the config must ask for).
    pub fn runs(self, enabled: Option<bool>) -> bool {
        enabled.unwrap_or(self == Kind::Collector)
    }
}

impl From<PluginKind> for Kind {
    /// The ABI's kind is non-exhaustive: one this host does not know is `Unknown`.
    fn from(kind: PluginKind) -> Self {
        match kind {
            PluginKind::Collector => Kind::Collector,
            PluginKind::Sink => Kind::Sink,
            _ => Kind::Unknown,
        }
    }
}

/// A plugin's identity as plain Rust strings; also the probe child's reply for a file
/// that loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Unique name.
    pub name: String,
    /// Collector or sink.
    pub kind: Kind,
    /// The plugin's version.
    pub version: String,
    /// The plugin-api version it was built against.
    pub api_version: String,
    /// One line for humans.
    #[serde(default)]
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_wire_words_and_their_defaults() {
        let words = [Kind::Collector, Kind::Sink, Kind::Unknown].map(|k| json(&k));
        assert_eq!(words, ["\"collector\"", "\"sink\"", "\"unknown\""]);
        assert!(Kind::Collector.runs(None) && !Kind::Collector.runs(Some(false)));
        assert!(!Kind::Sink.runs(None) && Kind::Sink.runs(Some(true)));
    }

    fn json(value: &impl Serialize) -> String {
        serde_json::to_string(value).unwrap_or_default()
    }
}
