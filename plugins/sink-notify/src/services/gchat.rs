//! Google Chat incoming webhooks (<https://developers.google.com/workspace/chat/quickstart/webhooks>),
//! Apprise's `google_chat.py`: `gchat://workspace/key/token[/thread_key]`. One JSON
//! POST of `{"text": …}` to `https://chat.googleapis.com/v1/spaces/<workspace>/messages`.

use serde_json::json;

use super::{encode, Request};
use crate::message::Message;
use crate::urls::{AppriseUrl, UrlError};

/// Google Chat's API origin.
pub const ORIGIN: &str = "https://chat.googleapis.com";

/// One space's webhook.
#[derive(Debug, Clone)]
pub struct GoogleChat {
    workspace: String,
    key: String,
    token: String,
    thread: Option<String>,
}

impl GoogleChat {
    /// Parses a `gchat://` URL.
    pub fn parse(url: &AppriseUrl) -> Result<Self, UrlError> {
        match (url.authority.as_str(), url.path.as_slice()) {
            (workspace, [key, token, rest @ ..]) if !workspace.is_empty() && rest.len() <= 1 => {
                Ok(Self {
                    workspace: workspace.to_owned(),
                    key: key.clone(),
                    token: token.clone(),
                    thread: rest
                        .first()
                        .cloned()
                        .or_else(|| url.param("thread").map(str::to_owned)),
                })
            }
            _ => Err(url.error("needs `gchat://workspace/webhook_key/webhook_token[/thread_key]`")),
        }
    }

    /// The message request.
    pub fn request(&self, message: &Message<'_>) -> Request {
        let mut url = format!(
            "{ORIGIN}/v1/spaces/{}/messages?key={}&token={}",
            encode(&self.workspace),
            encode(&self.key),
            encode(&self.token)
        );
        if let Some(thread) = &self.thread {
            url.push_str(&format!(
                "&threadKey={}&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
                encode(thread)
            ));
        }
        Request::post_json(
            url,
            json!({"text": format!("*{}*\n{}", message.title, message.body)}),
        )
    }

    /// The key and token.
    pub fn secrets(&self) -> Vec<String> {
        vec![self.key.clone(), self.token.clone()]
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use crate::testing::*;

    #[test]
    fn text_to_the_space() {
        let r = &requests("gchat://AAAA/KEY/TOK/thr", &firing(AlertLevel::Critical))[0];
        assert_eq!(
            r.url,
            "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=KEY&token=TOK\
             &threadKey=thr&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
        );
        assert!(json(r)["text"]
            .as_str()
            .unwrap()
            .starts_with("*[CRITICAL] web-1"));
        assert!(refusal("gchat://AAAA/SECRET").starts_with("url #1 (gchat://…): needs"));
    }
}
