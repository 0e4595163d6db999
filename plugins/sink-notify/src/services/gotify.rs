//! Gotify (<https://gotify.net/api-docs#/message/createMessage>), Apprise's
//! `gotify.py`: `gotify[s]://host[:port][/path]/token`, `?priority=`. One JSON POST to
//! `<path>/message` with the app token in `X-Gotify-Key`; priority 8 for CRITICAL, 5
//! for WARNING, 2 resolved.

use serde_json::json;

use super::{priority_option, Request};
use crate::message::{Message, Severity};
use crate::urls::{AppriseUrl, UrlError};

/// Apprise's names on Gotify's 0..=10.
const PRIORITIES: &[(&str, i64)] = &[("l", 0), ("m", 3), ("n", 5), ("h", 8), ("e", 10)];

/// One Gotify application.
#[derive(Debug, Clone)]
pub struct Gotify {
    endpoint: String,
    token: String,
    priority: Option<i64>,
}

impl Gotify {
    /// Parses a `gotify://` or `gotifys://` URL.
    pub fn parse(url: &AppriseUrl, secure: bool) -> Result<Self, UrlError> {
        let origin = url.origin(secure)?;
        let (token, path) = url
            .path
            .split_last()
            .ok_or_else(|| url.error("needs the application token as the last path segment"))?;
        let prefix: String = path
            .iter()
            .map(|s| format!("/{}", super::encode(s)))
            .collect();
        Ok(Self {
            endpoint: format!("{origin}{prefix}/message"),
            token: token.clone(),
            priority: priority_option(url, PRIORITIES, 0..=10)?,
        })
    }

    /// The message request.
    pub fn request(&self, message: &Message<'_>) -> Request {
        let priority = self.priority.unwrap_or(match message.severity {
            Severity::Critical => 8,
            Severity::Warning => 5,
            Severity::Resolved => 2,
        });
        let mut body =
            json!({"priority": priority, "title": message.title, "message": message.body});
        if let Some(link) = message.link {
            body["extras"] = json!({"client::notification": {"click": {"url": link}}});
        }
        Request::post_json(self.endpoint.clone(), body).header("X-Gotify-Key", self.token.clone())
    }

    /// The token.
    pub fn secrets(&self) -> Vec<String> {
        vec![self.token.clone()]
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use crate::testing::*;

    #[test]
    fn messages_carry_priority_by_level_and_the_key() {
        let r = &requests(
            "gotifys://push.example:8443/sub/AbCdEf",
            &firing(AlertLevel::Critical),
        )[0];
        assert_eq!(r.url, "https://push.example:8443/sub/message");
        assert_eq!(header(r, "X-Gotify-Key"), Some("AbCdEf"));
        assert_eq!(json(r)["priority"], 8);
        assert_eq!(
            json(r)["title"],
            "[CRITICAL] web-1: memory usage 96.2% (threshold 90%)"
        );
        assert!(json(r)["message"].as_str().unwrap().contains("Host: web-1"));
        let warning = &requests("gotify://h/T", &firing(AlertLevel::Warning))[0];
        assert_eq!(
            (warning.url.as_str(), json(warning)["priority"].as_i64()),
            ("http://h/message", Some(5))
        );
        assert_eq!(
            json(&requests("gotify://h/T", &resolved())[0])["priority"],
            2
        );
        assert_eq!(
            json(&requests("gotify://h/T?priority=emergency", &resolved())[0])["priority"],
            10
        );
    }

    #[test]
    fn a_missing_token_is_refused() {
        let err = refusal("gotify://push.example");
        assert_eq!(
            err,
            "url #1 (gotify://push.example…): needs the application token as the last path segment"
        );
    }
}
