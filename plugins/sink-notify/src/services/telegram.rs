//! Telegram (<https://core.telegram.org/bots/api#sendmessage>), Apprise's
//! `telegram.py`: `tgram://bottoken/chat_id[/chat_id2]`, `?silent=yes`. One JSON POST
//! to `https://api.telegram.org/bot<token>/sendMessage` per chat. Apprise's detection
//! of the chat from the bot's updates (no chat id) is not supported.

use serde_json::json;

use super::{titled_text, Request};
use crate::message::{Message, Severity};
use crate::urls::{AppriseUrl, UrlError};

/// The Bot API's origin.
pub const ORIGIN: &str = "https://api.telegram.org";

/// One bot and its chats.
#[derive(Debug, Clone)]
pub struct Telegram {
    token: String,
    chats: Vec<String>,
    silent: bool,
}

impl Telegram {
    /// Parses a `tgram://` URL.
    pub fn parse(url: &AppriseUrl) -> Result<Self, UrlError> {
        let token = url.authority.strip_prefix("bot").unwrap_or(&url.authority);
        let valid = token.split_once(':').is_some_and(|(id, key)| {
            !id.is_empty()
                && id.chars().all(|c| c.is_ascii_digit())
                && !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        if !valid {
            return Err(url.error(
                "the bot token must look like `123456789:AAH…` (digits, a colon, letters)",
            ));
        }
        let mut chats = url.path.clone();
        if let Some(to) = url.param("to") {
            chats.extend(
                to.split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
        }
        if chats.is_empty() {
            return Err(url.error(
                "needs at least one chat id after the bot token (detecting it is not supported)",
            ));
        }
        Ok(Self {
            token: token.to_owned(),
            chats,
            silent: url.flag("silent", false),
        })
    }

    /// One request per chat.
    pub fn requests(&self, message: &Message<'_>) -> Vec<Request> {
        let icon = match message.severity {
            Severity::Critical => "🚨 ",
            Severity::Warning => "⚠️ ",
            Severity::Resolved => "✅ ",
        };
        let text = format!("{icon}{}", titled_text(message));
        self.chats
            .iter()
            .map(|chat| {
                Request::post_json(
                    format!("{ORIGIN}/bot{}/sendMessage", self.token),
                    json!({
                        "chat_id": chat,
                        "text": text,
                        "disable_web_page_preview": true,
                        "disable_notification": self.silent,
                    }),
                )
            })
            .collect()
    }

    /// The bot token.
    pub fn secrets(&self) -> Vec<String> {
        vec![self.token.clone()]
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use crate::testing::*;

    #[test]
    fn one_send_message_per_chat() {
        let sent = requests(
            "tgram://123456:AAH-x_y/42/-100200?silent=yes",
            &firing(AlertLevel::Critical),
        );
        assert_eq!(sent.len(), 2);
        assert_eq!(
            sent[0].url,
            "https://api.telegram.org/bot123456:AAH-x_y/sendMessage"
        );
        let body = json(&sent[1]);
        assert_eq!(body["chat_id"], "-100200");
        assert_eq!(body["disable_notification"], true);
        assert!(body["text"]
            .as_str()
            .unwrap()
            .starts_with("🚨 [CRITICAL] web-1: memory usage 96.2%"));
    }

    #[test]
    fn bad_tokens_and_missing_chats_are_refused_without_the_token() {
        let err = refusal("tgram://SECRETTOKEN/42");
        assert!(
            err.starts_with("url #1 (tgram://…): the bot token"),
            "{err}"
        );
        assert!(!err.contains("SECRET"));
        let err = refusal("tgram://123:SECRET");
        assert!(err.contains("chat id") && !err.contains("SECRET"), "{err}");
    }
}
