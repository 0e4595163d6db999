//! Opsgenie Alert API (<https://docs.opsgenie.com/docs/alert-api>), Apprise's
//! `opsgenie.py`: `opsgenie://api_key[/targets]`, `?region=eu`, `?priority=`, `?tags=`.
//! A firing alert is created with `alias` = its fingerprint (P1 for CRITICAL, P3 for
//! WARNING unless `priority` says), a resolved one closed by that alias.

use serde_json::json;

use super::pagerduty::dedup_key;
use super::{encode, priority_option, Request};
use crate::message::{alert_title, Message};
use crate::urls::{AppriseUrl, UrlError};
use monitoring_plugin_api::{AlertLevel, AlertState};

/// The US instance's API.
pub const US: &str = "https://api.opsgenie.com";
/// The EU instance's API.
pub const EU: &str = "https://api.eu.opsgenie.com";

/// Apprise's names on P5..P1.
const PRIORITIES: &[(&str, i64)] = &[("l", 5), ("m", 4), ("n", 3), ("h", 2), ("e", 1)];

/// One API integration.
#[derive(Debug, Clone)]
pub struct Opsgenie {
    origin: &'static str,
    api_key: String,
    priority: Option<i64>,
    tags: Vec<String>,
    responders: Vec<serde_json::Value>,
}

impl Opsgenie {
    /// Parses an `opsgenie://` URL.
    pub fn parse(url: &AppriseUrl) -> Result<Self, UrlError> {
        let api_key = url
            .param("apikey")
            .map(str::to_owned)
            .unwrap_or_else(|| url.authority.clone());
        if api_key.is_empty() {
            return Err(url.error("needs `opsgenie://api_key`"));
        }
        let origin = match url.param("region").map(str::to_ascii_lowercase).as_deref() {
            None | Some("us") => US,
            Some("eu") => EU,
            Some(_) => return Err(url.error("`region` must be us or eu")),
        };
        let priority = priority_option(url, PRIORITIES, 1..=5)?;
        let tags = url
            .param("tags")
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        // Apprise's targets: `@user`, `#team`, `*schedule`, `^escalation`.
        let responders = url
            .path
            .iter()
            .map(
                |t| match t.split_at(t.chars().next().map_or(0, char::len_utf8)) {
                    ("#", name) => json!({"type": "team", "name": name}),
                    ("*", name) => json!({"type": "schedule", "name": name}),
                    ("^", name) => json!({"type": "escalation", "name": name}),
                    ("@", name) => json!({"type": "user", "username": name}),
                    _ => json!({"type": "user", "username": t}),
                },
            )
            .collect();
        Ok(Self {
            origin,
            api_key,
            priority,
            tags,
            responders,
        })
    }

    /// Per alert: create (firing) or close by alias (resolved).
    pub fn requests(&self, message: &Message<'_>) -> Vec<Request> {
        let local = message.local_host;
        let auth = format!("GenieKey {}", self.api_key);
        message
            .notification
            .alerts
            .iter()
            .map(|alert| {
                let alias = dedup_key(alert, &message.notification.group_key);
                let request = match alert.state {
                    AlertState::Firing => {
                        let priority = self.priority.unwrap_or(match alert.level {
                            AlertLevel::Critical => 1,
                            AlertLevel::Warning => 3,
                        });
                        let mut body = json!({
                            "message": alert_title(alert, local).chars().take(130).collect::<String>(),
                            "alias": alias,
                            "description": message.body.chars().take(15000).collect::<String>(),
                            "priority": format!("P{priority}"),
                            "source": "monitoring-websocket-server",
                            "entity": crate::message::host_of(alert, local),
                            "details": alert.labels,
                        });
                        if !self.tags.is_empty() {
                            body["tags"] = json!(self.tags);
                        }
                        if !self.responders.is_empty() {
                            body["responders"] = json!(self.responders);
                        }
                        Request::post_json(format!("{}/v2/alerts", self.origin), body)
                    }
                    AlertState::Resolved => Request::post_json(
                        format!("{}/v2/alerts/{}/close?identifierType=alias", self.origin, encode(&alias)),
                        json!({"source": "monitoring-websocket-server", "note": alert_title(alert, local)}),
                    ),
                };
                request.header("Authorization", auth.clone())
            })
            .collect()
    }

    /// The key.
    pub fn secrets(&self) -> Vec<String> {
        vec![self.api_key.clone()]
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use crate::testing::*;

    #[test]
    fn create_by_alias_then_close_by_alias() {
        let sent = requests(
            "opsgenie://KEY/%23ops?region=eu&tags=db",
            &firing(AlertLevel::Critical),
        );
        assert_eq!(sent[0].url, "https://api.eu.opsgenie.com/v2/alerts");
        assert_eq!(header(&sent[0], "Authorization"), Some("GenieKey KEY"));
        let body = json(&sent[0]);
        assert_eq!(body["alias"], "0123456789abcdef");
        assert_eq!(body["priority"], "P1");
        assert_eq!(body["tags"][0], "db");
        assert_eq!(body["responders"][0]["type"], "team");
        assert_eq!(
            json(&requests("opsgenie://K", &firing(AlertLevel::Warning))[0])["priority"],
            "P3"
        );
        assert_eq!(
            json(&requests("opsgenie://K?priority=2", &firing(AlertLevel::Warning))[0])["priority"],
            "P2"
        );
        let close = &requests("opsgenie://KEY", &resolved())[0];
        assert_eq!(
            close.url,
            "https://api.opsgenie.com/v2/alerts/0123456789abcdef/close?identifierType=alias"
        );
        assert!(refusal("opsgenie://K?region=xx").contains("`region`"));
    }
}
