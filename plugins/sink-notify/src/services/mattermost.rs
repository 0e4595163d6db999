//! Mattermost incoming webhooks (<https://developers.mattermost.com/integrate/webhooks/incoming/>),
//! Apprise's `mattermost.py`: `mmost[s]://[botname@]host[:port][/path]/token`,
//! `?channel=`/`?to=`. One JSON POST to `<path>/hooks/<token>` per channel, with an
//! attachment coloured by level.

use serde_json::json;

use super::{encode, Request};
use crate::message::{Message, Severity};
use crate::urls::{AppriseUrl, UrlError};

/// One webhook.
#[derive(Debug, Clone)]
pub struct Mattermost {
    endpoint: String,
    token: String,
    username: Option<String>,
    channels: Vec<String>,
}

impl Mattermost {
    /// Parses an `mmost://` or `mmosts://` URL.
    pub fn parse(url: &AppriseUrl, secure: bool) -> Result<Self, UrlError> {
        let origin = url.origin(secure)?;
        let (token, path) = url
            .path
            .split_last()
            .ok_or_else(|| url.error("needs the webhook token as the last path segment"))?;
        let prefix: String = path.iter().map(|s| format!("/{}", encode(s))).collect();
        let mut channels = Vec::new();
        for key in ["to", "channel", "channels"] {
            if let Some(list) = url.param(key) {
                channels.extend(
                    list.split(',')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned),
                );
            }
        }
        Ok(Self {
            endpoint: format!("{origin}{prefix}/hooks/{}", encode(token)),
            token: token.clone(),
            username: url.user.clone(),
            channels,
        })
    }

    /// One request per channel (one to the webhook's own channel without any).
    pub fn requests(&self, message: &Message<'_>) -> Vec<Request> {
        let color = match message.severity {
            Severity::Critical => "#E01E2B",
            Severity::Warning => "#F2A900",
            Severity::Resolved => "#2EB886",
        };
        let mut body = json!({
            "text": format!("#### {}", message.title),
            "username": self.username.as_deref().unwrap_or("Monitoring"),
            "attachments": [{"fallback": message.title, "color": color, "title": message.title,
                             "title_link": message.link, "text": message.body}],
        });
        let channels: Vec<Option<&String>> = if self.channels.is_empty() {
            vec![None]
        } else {
            self.channels.iter().map(Some).collect()
        };
        channels
            .into_iter()
            .map(|channel| {
                if let Some(channel) = channel {
                    body["channel"] = json!(channel);
                }
                Request::post_json(self.endpoint.clone(), body.clone())
            })
            .collect()
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
    fn an_attachment_coloured_by_level_per_channel() {
        let sent = requests(
            "mmosts://bot@chat.example:8065/mm/TOKEN?channel=ops,db",
            &firing(AlertLevel::Critical),
        );
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].url, "https://chat.example:8065/mm/hooks/TOKEN");
        let body = json(&sent[1]);
        assert_eq!(body["channel"], "db");
        assert_eq!(body["username"], "bot");
        assert_eq!(body["attachments"][0]["color"], "#E01E2B");
        assert_eq!(
            body["text"],
            "#### [CRITICAL] web-1: memory usage 96.2% (threshold 90%)"
        );
        let plain = requests("mmost://h/T", &resolved());
        assert_eq!(
            (plain.len(), plain[0].url.as_str()),
            (1, "http://h/hooks/T")
        );
        assert_eq!(json(&plain[0])["attachments"][0]["color"], "#2EB886");
        assert!(refusal("mmost://h").contains("webhook token"));
    }
}
