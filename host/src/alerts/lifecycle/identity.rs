//! An alert's identity and the lifecycle's way of writing a time: the fingerprint the
//! engine and the fleet both stamp, and RFC 3339 for what the lifecycle dates.

use chrono::{DateTime, Utc};
use monitoring_plugin_api::Alert;
use sha2::{Digest, Sha256};

/// The component, metric and `alertname` of the alert a gateway fires for a host that
/// stopped publishing.
pub const HOST_DOWN: &str = "host_down";

/// The stable identity of an alert: the first 16 hex digits of the SHA-256 of
/// `rule\0host\0instance` (`instance` empty for a rule on one value). The same alert
/// across ticks, levels and restarts, so acknowledgements and silences can name it.
pub fn fingerprint(rule: &str, host: &str, instance: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule.as_bytes());
    hasher.update([0]);
    hasher.update(host.as_bytes());
    hasher.update([0]);
    hasher.update(instance.as_bytes());
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The fingerprint of an alert on `host` that came without a usable one (from a host
/// older than fingerprints, or naming another host): its rule named as the engine
/// names it (`<component>_<metric>`, as `Rule::alertname`), and its `instance` label.
pub fn derived_fingerprint(alert: &Alert, host: &str) -> String {
    let rule = format!("{}_{}", alert.component, alert.metric);
    let instance = alert.labels.get("instance").map_or("", String::as_str);
    fingerprint(&rule, host, instance)
}

/// A wall-clock time in the lifecycle's own fields (`ends_at`, `host_down`'s
/// `starts_at`): RFC 3339 in UTC, as Alertmanager does.
pub(super) fn iso(wall: DateTime<Utc>) -> String {
    crate::timestamp::rfc3339(&wall)
}

/// A wall-clock time in the seed's `timestamp` fields (a notification's, an alert's):
/// local time in the seed's format, as every other `timestamp` the sinks see.
pub(super) fn seed(wall: DateTime<Utc>) -> String {
    crate::timestamp::iso(&wall.with_timezone(&chrono::Local))
}
