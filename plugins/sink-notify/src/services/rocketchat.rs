//! Rocket.Chat incoming webhooks (<https://docs.rocket.chat/docs/integrations>),
//! Apprise's `rocketchat.py` in its webhook form: `rocket[s]://tokenA/tokenB@host[:port][/#channel|/@user]`.
//! One JSON POST to `/hooks/<tokenA>/<tokenB>` per target. The user:password login
//! form is not supported (it needs a session per send).

use serde_json::json;

use super::Request;
use crate::message::{Message, Severity};
use crate::urls::{AppriseUrl, UrlError};

/// One webhook.
#[derive(Debug, Clone)]
pub struct RocketChat {
    endpoint: String,
    webhook: String,
    targets: Vec<String>,
}

impl RocketChat {
    /// Parses a `rocket://` or `rockets://` URL.
    pub fn parse(url: &AppriseUrl, secure: bool) -> Result<Self, UrlError> {
        let origin = url.origin(secure)?;
        let webhook = url
            .param("webhook")
            .map(str::to_owned)
            .or_else(|| url.user.clone())
            .unwrap_or_default();
        let valid = webhook.split_once('/').is_some_and(|(a, b)| {
            let token = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric());
            token(a) && token(b)
        });
        if !valid || url.password.is_some() {
            return Err(url.error(
                "needs the webhook form `rocket://tokenA/tokenB@host/#channel` (the user:password login form is not supported)",
            ));
        }
        let mut targets = url.path.clone();
        if let Some(to) = url.param("to") {
            targets.extend(
                to.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(Self {
            endpoint: format!("{origin}/hooks/{webhook}"),
            webhook,
            targets,
        })
    }

    /// One request per target (one to the webhook's own channel without any).
    pub fn requests(&self, message: &Message<'_>) -> Vec<Request> {
        let color = match message.severity {
            Severity::Critical => "#E01E2B",
            Severity::Warning => "#F2A900",
            Severity::Resolved => "#2EB886",
        };
        let body = json!({
            "text": format!("*{}*\n{}", message.title, message.body),
            "attachments": [{"color": color, "title": message.title, "title_link": message.link}],
        });
        if self.targets.is_empty() {
            return vec![Request::post_json(self.endpoint.clone(), body)];
        }
        self.targets
            .iter()
            .map(|target| {
                let channel = match target.chars().next() {
                    Some('#' | '@') => target.clone(),
                    _ => format!("#{target}"),
                };
                let mut body = body.clone();
                body["channel"] = json!(channel);
                Request::post_json(self.endpoint.clone(), body)
            })
            .collect()
    }

    /// The webhook tokens.
    pub fn secrets(&self) -> Vec<String> {
        vec![self.webhook.clone()]
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use crate::testing::*;

    #[test]
    fn one_post_per_target_to_the_hook() {
        let sent = requests(
            "rockets://AbC/dEf@chat.example:3000/%23ops/@bob",
            &firing(AlertLevel::Warning),
        );
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].url, "https://chat.example:3000/hooks/AbC/dEf");
        assert_eq!(json(&sent[0])["channel"], "#ops");
        assert_eq!(json(&sent[1])["channel"], "@bob");
        assert!(json(&sent[0])["text"]
            .as_str()
            .unwrap()
            .starts_with("*[WARNING] web-1"));
        assert_eq!(json(&sent[0])["attachments"][0]["color"], "#F2A900");
        let err = refusal("rocket://user:SECRET@chat.example/%23ops");
        assert!(
            err.contains("not supported") && !err.contains("SECRET"),
            "{err}"
        );
    }
}
