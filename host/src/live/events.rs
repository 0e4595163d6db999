//! `plugin_event`: what clients are told when a plugin is loaded, replaced, removed or
//! refused while the server runs, and the channel that carries it to every session.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

/// How many events a session may fall behind before it misses some (it then only
/// misses events; `get_status` still has the current state).
const BACKLOG: usize = 64;

/// What happened to a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginChange {
    /// A new plugin is running.
    Loaded,
    /// A running plugin was replaced by a new version or new settings.
    Replaced,
    /// A plugin stopped: its file was removed, or it was disabled.
    Removed,
    /// A file was not loaded (or a new version not started), with the reason.
    Refused,
}

/// The `plugin_event` message.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename = "plugin_event")]
pub struct PluginEvent {
    /// `loaded`, `replaced`, `removed` or `refused`.
    pub event: PluginChange,
    /// The plugin's name (the file name for a file that never told its name).
    pub name: String,
    /// The plugin's version, when known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// The file in the plugins folder.
    pub path: PathBuf,
    /// Why, for `removed` and `refused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When, ISO 8601 local time as every message.
    pub timestamp: String,
}

impl PluginEvent {
    /// An event of `event` happening now.
    pub fn new(
        event: PluginChange,
        name: String,
        version: String,
        path: PathBuf,
        reason: Option<String>,
    ) -> Self {
        Self {
            event,
            name,
            version,
            path,
            reason,
            timestamp: crate::timestamp::now_iso(),
        }
    }
}

/// The sending side: one JSON text per event, shared by every session.
#[derive(Debug, Clone)]
pub struct PluginEvents(broadcast::Sender<Arc<str>>);

impl Default for PluginEvents {
    fn default() -> Self {
        Self(broadcast::channel(BACKLOG).0)
    }
}

impl PluginEvents {
    /// Sends `event` to every session listening now.
    pub fn publish(&self, event: &PluginEvent) {
        match serde_json::to_string(event) {
            Ok(text) => {
                let _ = self.0.send(Arc::from(text));
            }
            Err(e) => tracing::error!(error = %e, "Cannot encode a plugin event."),
        }
    }

    /// A receiver for one session.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.0.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_a_typed_plugin_event_message() {
        let event = PluginEvent::new(
            PluginChange::Refused,
            "cpu".to_owned(),
            String::new(),
            PathBuf::from("/plugins/libcpu.so"),
            Some("not a plugin".to_owned()),
        );
        let value = serde_json::to_value(&event).expect("encodes");
        assert_eq!(value["type"], "plugin_event");
        assert_eq!(value["event"], "refused");
        assert_eq!(value["reason"], "not a plugin");
        assert!(value.get("version").is_none(), "{value}");
    }
}
