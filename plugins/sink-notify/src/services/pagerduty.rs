//! PagerDuty Events API v2 (<https://developer.pagerduty.com/docs/events-api-v2/trigger-events/>),
//! Apprise's `pagerduty.py`: `pagerduty://integration_key@api_key[/source[/component]]`,
//! `?region=eu`. One event per alert: `trigger` while it fires, `resolve` once it
//! cleared, both with `dedup_key` = the alert's fingerprint, so a resolve closes the
//! incident its trigger opened.

use serde_json::json;

use super::Request;
use crate::message::{alert_title, host_of, number, Message};
use crate::urls::{AppriseUrl, UrlError};
use monitoring_plugin_api::{AlertLevel, AlertState};

/// The US service region's endpoint.
pub const US: &str = "https://events.pagerduty.com";
/// The EU service region's endpoint.
pub const EU: &str = "https://events.eu.pagerduty.com";

/// One integration.
#[derive(Debug, Clone)]
pub struct PagerDuty {
    origin: &'static str,
    routing_key: String,
    api_key: String,
    source: Option<String>,
    component: Option<String>,
}

impl PagerDuty {
    /// Parses a `pagerduty://` URL.
    pub fn parse(url: &AppriseUrl) -> Result<Self, UrlError> {
        let routing_key = url
            .param("integrationkey")
            .map(str::to_owned)
            .or_else(|| url.user.clone());
        let api_key = url
            .param("apikey")
            .map(str::to_owned)
            .unwrap_or_else(|| url.authority.clone());
        let Some(routing_key) = routing_key.filter(|k| !k.is_empty()) else {
            return Err(url.error("needs `pagerduty://integration_key@api_key`"));
        };
        if api_key.is_empty() {
            return Err(url.error("needs `pagerduty://integration_key@api_key`"));
        }
        let origin = match url.param("region").map(str::to_ascii_lowercase).as_deref() {
            None | Some("us") => US,
            Some("eu") => EU,
            Some(_) => return Err(url.error("`region` must be us or eu")),
        };
        Ok(Self {
            origin,
            routing_key,
            api_key,
            source: url.path.first().cloned(),
            component: url.path.get(1).cloned(),
        })
    }

    /// One event per alert of the notification.
    pub fn requests(&self, message: &Message<'_>) -> Vec<Request> {
        let local = message.local_host;
        message
            .notification
            .alerts
            .iter()
            .map(|alert| {
                let host = host_of(alert, local);
                let action = match alert.state {
                    AlertState::Firing => "trigger",
                    AlertState::Resolved => "resolve",
                };
                let severity = match alert.level {
                    AlertLevel::Critical => "critical",
                    AlertLevel::Warning => "warning",
                };
                let mut event = json!({
                    "routing_key": self.routing_key,
                    "event_action": action,
                    "dedup_key": dedup_key(alert, &message.notification.group_key),
                    "payload": {
                        "summary": alert_title(alert, local).chars().take(1024).collect::<String>(),
                        "severity": severity,
                        "source": self.source.as_deref().unwrap_or(host),
                        "component": self.component.as_deref().unwrap_or(&alert.component),
                        "group": host,
                        "class": alert.metric,
                        "timestamp": if alert.starts_at.is_empty() { &alert.timestamp } else { &alert.starts_at },
                        "custom_details": {
                            "host": host, "metric": format!("{}.{}", alert.component, alert.metric),
                            "value": number(alert.value), "threshold": number(alert.threshold),
                            "since": alert.starts_at, "message": alert.message, "labels": alert.labels,
                        },
                    },
                });
                if let Some(link) = message.link {
                    event["links"] = json!([{"href": link, "text": "Dashboard"}]);
                }
                Request::post_json(format!("{}/v2/enqueue", self.origin), event)
                    .header("Authorization", format!("Token token={}", self.api_key))
            })
            .collect()
    }

    /// The keys.
    pub fn secrets(&self) -> Vec<String> {
        vec![self.routing_key.clone(), self.api_key.clone()]
    }
}

/// The alert's fingerprint; from an older host without one, the group and the metric.
pub fn dedup_key(alert: &monitoring_plugin_api::Alert, group_key: &str) -> String {
    if alert.fingerprint.is_empty() {
        format!(
            "{group_key}/{}/{}/{}",
            alert.host, alert.component, alert.metric
        )
    } else {
        alert.fingerprint.clone()
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::{AlertLevel, AlertState};

    use crate::testing::*;

    #[test]
    fn trigger_then_resolve_with_the_fingerprint() {
        let n = notification(vec![
            alert("web-1", AlertLevel::Critical, AlertState::Firing),
            alert("web-2", AlertLevel::Warning, AlertState::Resolved),
        ]);
        let sent = requests("pagerduty://RKEY@AKEY?region=eu", &n);
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].url, "https://events.eu.pagerduty.com/v2/enqueue");
        assert_eq!(header(&sent[0], "Authorization"), Some("Token token=AKEY"));
        let trigger = json(&sent[0]);
        assert_eq!(trigger["routing_key"], "RKEY");
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["dedup_key"], "0123456789abcdef");
        assert_eq!(trigger["payload"]["severity"], "critical");
        assert_eq!(trigger["payload"]["source"], "web-1");
        assert_eq!(trigger["payload"]["custom_details"]["value"], "96.2");
        let resolve = json(&sent[1]);
        assert_eq!(resolve["event_action"], "resolve");
        assert_eq!(resolve["dedup_key"], "0123456789abcdef");
        assert_eq!(resolve["payload"]["severity"], "warning");
        let us = requests("pagerduty://R@A/mysource", &resolved());
        assert_eq!(us[0].url, "https://events.pagerduty.com/v2/enqueue");
        assert_eq!(json(&us[0])["payload"]["source"], "mysource");
        let older = notification(vec![alert("", AlertLevel::Warning, AlertState::Firing)]);
        let older = json(&requests("pagerduty://R@A", &older)[0]);
        assert_eq!(
            older["payload"]["source"], "local",
            "an older host's alert is this machine's"
        );
        assert!(refusal("pagerduty://SECRET").starts_with("url #1 (pagerduty://…): needs"));
        assert!(refusal("pagerduty://R@A?region=mars").contains("`region`"));
    }
}
