//! Plain data shared by host and plugins: plugin identity, snapshot sections, and the
//! alert events sinks receive.

use std::collections::BTreeMap;

use abi_stable::{std_types::RStr, StableAbi};
use serde::{Deserialize, Serialize};

/// What a plugin does. Non-exhaustive across the ABI: a host meeting a kind it does not
/// know refuses that plugin instead of misreading it.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[sabi(kind(WithNonExhaustive(size = [u8; 8], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum PluginKind {
    /// Produces one or more sections of every snapshot.
    Collector,
    /// Receives alerts (and, when it asks for them, snapshots).
    Sink,
}

/// Identity of a plugin, fixed at compile time by the declaration macro.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PluginMetadata {
    /// Unique name; also the `[plugins.<name>]` table in plugins.toml.
    pub name: RStr<'static>,
    /// Collector or sink.
    pub kind: PluginKind_NE,
    /// The plugin crate's own version.
    pub version: RStr<'static>,
    /// The `monitoring-plugin-api` version it was built against.
    pub api_version: RStr<'static>,
    /// One line for humans (`get_status`, logs).
    pub description: RStr<'static>,
}

/// What a collector returns each tick: top-level snapshot sections by name, e.g.
/// `{"processor": {...}}` or `{"disk": {...}, "disks": [...]}`.
pub type Sections = serde_json::Map<String, serde_json::Value>;

/// Severity of an alert, spelled as on the wire (`"WARNING"`, `"CRITICAL"`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum AlertLevel {
    /// The warning threshold was crossed.
    #[default]
    Warning,
    /// The critical threshold was crossed.
    Critical,
}

/// Whether an alert is firing or has cleared (Alertmanager's `status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Its threshold is crossed now.
    #[default]
    Firing,
    /// It has cleared.
    Resolved,
}

/// One alert: the seed's wire fields, then (since 1.2) its identity and life.
///
/// The fields added in 1.2 are optional in JSON (`#[serde(default)]`), so an alert
/// written by an older host still reads, and a sink built against 1.1, whose `Alert`
/// lacks them, reads a 1.2 alert by ignoring them (serde ignores unknown fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// When it was raised, ISO 8601.
    pub timestamp: String,
    /// Affected component, e.g. `memory`, `disk`.
    pub component: String,
    /// Metric that crossed the threshold, e.g. `usage_percent`.
    pub metric: String,
    /// The value seen.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// `WARNING` or `CRITICAL`.
    pub level: AlertLevel,
    /// Human-readable text, e.g. `High memory usage: 85.5% (threshold: 80.0%)`.
    pub message: String,
    /// Since 1.2. The machine it is about: the fleet `host_name`, else the OS's host
    /// name. Empty from older hosts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Since 1.2. What routes and silences match besides the fields above: the rule's
    /// `labels`, `instance` for one element of an array rule (`/data`), `alertname`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Since 1.2. When this episode began firing (ISO 8601), as the engine saw it: a
    /// repeat or an escalation keeps it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub starts_at: String,
    /// Since 1.2. Stable identity of (rule, host, instance), 16 hex digits: the same
    /// alert across ticks, levels and restarts; acknowledgements name it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// Since 1.2. Firing, or resolved in a notification's list of cleared alerts.
    #[serde(default)]
    pub state: AlertState,
    /// Since 1.2. When it cleared (ISO 8601), for a resolved alert.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ends_at: String,
}

/// Since 1.2: one notification for one receiver (a sink), Alertmanager's way: the
/// alerts of one group that fired or cleared together, sent once, then again only when
/// the group changes (after `group_interval`) or is still firing (`repeat_interval`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// `firing` if any alert in it fires, else `resolved`.
    pub status: AlertState,
    /// The sink it is for.
    pub receiver: String,
    /// Identity of the group (route and grouping labels), stable across sends; the
    /// dedup key of services that have one (PagerDuty, Opsgenie).
    pub group_key: String,
    /// The labels the group was formed by, e.g. `{"host": "web-1"}`.
    pub group_labels: BTreeMap<String, String>,
    /// Firing alerts first (most severe first), then the resolved ones, each with its
    /// `state`.
    pub alerts: Vec<Alert>,
    /// Where the dashboard is, from `[server] public_url`, for a link back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// When it was sent, in the seed's format (local time, microseconds), as every
    /// `timestamp` sinks see; `starts_at`/`ends_at` of its alerts are RFC 3339.
    pub timestamp: String,
}

impl Notification {
    /// The firing alerts.
    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.alerts
            .iter()
            .filter(|alert| alert.state == AlertState::Firing)
    }

    /// The resolved alerts.
    pub fn resolved(&self) -> impl Iterator<Item = &Alert> {
        self.alerts
            .iter()
            .filter(|alert| alert.state == AlertState::Resolved)
    }

    /// Its alerts as the one-alert events of plugin-api 1.1: `Alert` for each firing
    /// one, `Resolved` for each cleared one, its `resolved_at` the notification's
    /// `timestamp` (the seed's format, which 1.1 sinks expect; the alert's `ends_at`
    /// says when it cleared). What sinks that do not group receive.
    pub fn events(&self) -> impl Iterator<Item = SinkEvent> + '_ {
        self.alerts.iter().map(|alert| match alert.state {
            AlertState::Firing => SinkEvent::Alert {
                alert: alert.clone(),
            },
            AlertState::Resolved => SinkEvent::Resolved {
                alert: alert.clone(),
                resolved_at: self.timestamp.clone(),
            },
        })
    }
}

/// What the host hands a sink. Unknown events (from a newer host) deserialize to
/// [`SinkEvent::Unknown`] and are skipped, so old sinks keep working.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SinkEvent {
    /// An alert fired (or escalated) and is past its cooldown.
    Alert {
        /// The alert.
        alert: Alert,
    },
    /// A firing alert cleared.
    Resolved {
        /// The alert as it last fired.
        alert: Alert,
        /// When it cleared, ISO 8601.
        resolved_at: String,
    },
    /// Since 1.2: a grouped notification. The host sends it only to sinks built
    /// against 1.2 or later; older ones get each of its alerts as an `Alert` or
    /// `Resolved` event instead. [`crate::Sink::notify`] receives it.
    Notification {
        /// The notification.
        notification: Notification,
    },
    /// A full snapshot, for exporters.
    Snapshot {
        /// The snapshot's timestamp, ISO 8601.
        timestamp: String,
        /// The snapshot's sections, as in `monitoring_data.data`.
        data: Sections,
    },
    /// An event this plugin's interface version does not know.
    #[serde(other)]
    Unknown,
}

/// An alert notification as one flat JSON object: the alert's seed fields plus `event`
/// (`"alert"` or `"resolved"`) and, when it cleared, `resolved_at`. The shape sinks
/// write to files and POST to webhooks, so every sink spells it the same way.
#[derive(Debug, Serialize)]
pub struct AlertRecord<'a> {
    /// `"alert"` or `"resolved"`.
    pub event: &'static str,
    /// The alert, with the seed's field names.
    #[serde(flatten)]
    pub alert: &'a Alert,
    /// When it cleared, for `"resolved"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<&'a str>,
}

impl<'a> AlertRecord<'a> {
    /// The record for an alert or resolution, `None` for other events (snapshots).
    pub fn from_event(event: &'a SinkEvent) -> Option<Self> {
        match event {
            SinkEvent::Alert { alert } => Some(Self {
                event: "alert",
                alert,
                resolved_at: None,
            }),
            SinkEvent::Resolved { alert, resolved_at } => Some(Self {
                event: "resolved",
                alert,
                resolved_at: Some(resolved_at),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_records_are_flat_with_the_event() {
        let alert = Alert {
            timestamp: "2025-01-03T10:15:30.123456".into(),
            component: "memory".into(),
            metric: "usage_percent".into(),
            value: 85.5,
            threshold: 80.0,
            level: AlertLevel::Warning,
            message: "High memory usage: 85.5% (threshold: 80.0%)".into(),
            ..Default::default()
        };
        let fired = SinkEvent::Alert {
            alert: alert.clone(),
        };
        let json = serde_json::to_value(AlertRecord::from_event(&fired)).unwrap_or_default();
        assert_eq!(json["event"], "alert");
        assert_eq!(json["level"], "WARNING");
        assert!(json.get("resolved_at").is_none());
        let resolved = SinkEvent::Resolved {
            alert,
            resolved_at: "2025-01-03T10:20:00.000000".into(),
        };
        let json = serde_json::to_value(AlertRecord::from_event(&resolved)).unwrap_or_default();
        assert_eq!(json["event"], "resolved");
        assert_eq!(json["resolved_at"], "2025-01-03T10:20:00.000000");
        let snapshot = SinkEvent::Snapshot {
            timestamp: String::new(),
            data: Sections::new(),
        };
        assert!(AlertRecord::from_event(&snapshot).is_none());
    }

    #[test]
    fn an_event_kind_from_a_newer_host_is_unknown_not_an_error() {
        let newer = r#"{"event": "capacity_forecast", "data": {"memory": {"days": 3}}}"#;
        let event: Result<SinkEvent, _> = serde_json::from_str(newer);
        assert!(matches!(event, Ok(SinkEvent::Unknown)), "{event:?}");
        // A known kind with a broken body stays an error: only the kind is tolerated.
        let broken = r#"{"event": "alert", "alert": {"component": "memory"}}"#;
        assert!(serde_json::from_str::<SinkEvent>(broken).is_err());
    }
}
