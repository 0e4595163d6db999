//! Discord webhooks (<https://discord.com/developers/docs/resources/webhook#execute-webhook>),
//! Apprise's `discord.py`: `discord://[botname@]webhook_id/webhook_token`,
//! `?avatar_url=`. One JSON POST with an embed coloured by level (red, amber, green).

use serde_json::json;

use super::Request;
use crate::message::{Message, Severity};
use crate::urls::{AppriseUrl, UrlError};

/// Discord's API origin.
pub const ORIGIN: &str = "https://discord.com";

/// An embed's description holds at most this many characters.
const DESCRIPTION_LIMIT: usize = 4000;

/// One webhook.
#[derive(Debug, Clone)]
pub struct Discord {
    id: String,
    token: String,
    username: Option<String>,
    avatar_url: Option<String>,
}

impl Discord {
    /// Parses a `discord://` URL.
    pub fn parse(url: &AppriseUrl) -> Result<Self, UrlError> {
        let id = url.authority.clone();
        let token = url.path.first().cloned().unwrap_or_default();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) || token.is_empty() {
            return Err(url.error(
                "needs `discord://webhook_id/webhook_token` (a numeric id, then the token)",
            ));
        }
        Ok(Self {
            id,
            token,
            username: url.user.clone(),
            avatar_url: url.param("avatar_url").map(str::to_owned),
        })
    }

    /// The webhook request.
    pub fn request(&self, message: &Message<'_>) -> Request {
        let color = match message.severity {
            Severity::Critical => 0xE0_1E_2B,
            Severity::Warning => 0xF2_A9_00,
            Severity::Resolved => 0x2E_B8_86,
        };
        let description: String = message.body.chars().take(DESCRIPTION_LIMIT).collect();
        let mut embed = json!({
            "title": message.title.chars().take(256).collect::<String>(),
            "description": description,
            "color": color,
            "timestamp": message.notification.timestamp,
        });
        if let Some(link) = message.link {
            embed["url"] = json!(link);
        }
        let mut body = json!({"embeds": [embed]});
        if let Some(name) = &self.username {
            body["username"] = json!(name);
        }
        if let Some(avatar) = &self.avatar_url {
            body["avatar_url"] = json!(avatar);
        }
        Request::post_json(
            format!("{ORIGIN}/api/webhooks/{}/{}", self.id, self.token),
            body,
        )
    }

    /// The webhook token.
    pub fn secrets(&self) -> Vec<String> {
        vec![self.token.clone()]
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use crate::testing::*;

    #[test]
    fn an_embed_coloured_by_level() {
        let r = &requests("discord://Bot@1234/tok-en", &firing(AlertLevel::Critical))[0];
        assert_eq!(r.url, "https://discord.com/api/webhooks/1234/tok-en");
        let body = json(r);
        assert_eq!(body["username"], "Bot");
        assert_eq!(body["embeds"][0]["color"], 0xE01E2B);
        assert_eq!(body["embeds"][0]["url"], "https://mon.example/");
        assert_eq!(
            body["embeds"][0]["title"],
            "[CRITICAL] web-1: memory usage 96.2% (threshold 90%)"
        );
        let warning = json(&requests("discord://1/t", &firing(AlertLevel::Warning))[0]);
        assert_eq!(warning["embeds"][0]["color"], 0xF2A900);
        assert_eq!(
            json(&requests("discord://1/t", &resolved())[0])["embeds"][0]["color"],
            0x2EB886
        );
    }

    #[test]
    fn a_missing_token_is_refused() {
        assert!(refusal("discord://1234").contains("webhook_token"));
        assert!(refusal("discord://SECRET/x").starts_with("url #1 (discord://…)"));
    }
}
