//! Microsoft Teams through Power Automate workflows, Apprise's `workflows.py`:
//! `workflows://host[:port]/workflow_id/signature`, `?api-version=`. One POST of an
//! Adaptive Card to `https://host/workflows/<id>/triggers/manual/paths/invoke` (always
//! https, as Apprise does); the title's colour says the level (`attention`, `warning`,
//! `good`). The retired Office 365 connector format is not supported.

use serde_json::json;

use super::{encode, Request};
use crate::message::{Message, Severity};
use crate::urls::{AppriseUrl, UrlError};

/// One workflow trigger.
#[derive(Debug, Clone)]
pub struct Workflows {
    origin: String,
    workflow: String,
    signature: String,
    api_version: String,
}

impl Workflows {
    /// Parses a `workflows://` URL.
    pub fn parse(url: &AppriseUrl) -> Result<Self, UrlError> {
        let origin = url.origin(true)?;
        let mut path = url.path.iter();
        let workflow = url
            .param("workflow")
            .or(url.param("id"))
            .map(str::to_owned)
            .or_else(|| path.next().cloned());
        let signature = url
            .param("signature")
            .or(url.param("sig"))
            .map(str::to_owned)
            .or_else(|| path.next().cloned());
        let (Some(workflow), Some(signature)) = (workflow, signature) else {
            return Err(url.error("needs `workflows://host/workflow_id/signature`"));
        };
        if !workflow
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(url.error("the workflow id may hold only letters, digits, `-` and `_`"));
        }
        let api_version = url
            .param("api-version")
            .or(url.param("ver"))
            .unwrap_or("2016-06-01")
            .to_owned();
        Ok(Self {
            origin,
            workflow,
            signature,
            api_version,
        })
    }

    /// The card request.
    pub fn request(&self, message: &Message<'_>) -> Request {
        let color = match message.severity {
            Severity::Critical => "attention",
            Severity::Warning => "warning",
            Severity::Resolved => "good",
        };
        let mut body = vec![
            json!({"type": "TextBlock", "text": message.title, "style": "heading", "weight": "Bolder",
                   "size": "Large", "color": color, "wrap": true, "id": "title"}),
            json!({"type": "TextBlock", "text": message.body.replace('\n', "\n\n"), "style": "default",
                   "wrap": true, "id": "body"}),
        ];
        if let Some(link) = message.link {
            body.push(json!({"type": "ActionSet", "actions": [
                {"type": "Action.OpenUrl", "title": "Open the dashboard", "url": link}]}));
        }
        let card = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                    "msteams": {"width": "full"},
                },
            }],
        });
        let url = format!(
            "{}/workflows/{}/triggers/manual/paths/invoke?api-version={}&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={}",
            self.origin,
            self.workflow,
            encode(&self.api_version),
            encode(&self.signature)
        );
        Request::post_json(url, card)
    }

    /// The signature.
    pub fn secrets(&self) -> Vec<String> {
        vec![self.signature.clone()]
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use crate::testing::*;

    #[test]
    fn an_adaptive_card_coloured_by_level() {
        let r = &requests(
            "workflows://prod.westus.logic.azure.com:443/wf1/SIG",
            &firing(AlertLevel::Critical),
        )[0];
        assert_eq!(
            r.url,
            "https://prod.westus.logic.azure.com:443/workflows/wf1/triggers/manual/paths/invoke\
             ?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SIG"
        );
        let card = &json(r)["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let title = &card["content"]["body"][0];
        assert_eq!(title["color"], "attention");
        assert_eq!(
            title["text"],
            "[CRITICAL] web-1: memory usage 96.2% (threshold 90%)"
        );
        let warning = json(&requests("workflows://h/w/s", &firing(AlertLevel::Warning))[0]);
        assert_eq!(
            warning["attachments"][0]["content"]["body"][0]["color"],
            "warning"
        );
        assert!(refusal("workflows://h/onlyone").contains("workflow_id/signature"));
    }
}
