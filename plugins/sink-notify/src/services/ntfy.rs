//! ntfy (<https://docs.ntfy.sh/publish/#publish-as-json>), Apprise's `ntfy.py`:
//! `ntfy://topic` (ntfy.sh), `ntfy[s]://[user:pass@|token@]host[:port]/topic[/topic2]`,
//! `?priority=`, `?tags=a,b`, `?token=`, `?click=`. One JSON POST to the server root per
//! topic with the priority in `X-Priority`: 5 for CRITICAL, 4 for WARNING, 3 resolved.

use base64::Engine;
use serde_json::json;

use super::{priority_option, Request};
use crate::message::{Message, Severity};
use crate::urls::{AppriseUrl, UrlError};

/// Apprise's priority names (matched by prefix) on ntfy's 1..=5.
const PRIORITIES: &[(&str, i64)] = &[
    ("mi", 1),
    ("l", 2),
    ("mo", 2),
    ("n", 3),
    ("d", 3),
    ("h", 4),
    ("e", 5),
    ("ma", 5),
    ("u", 5),
];

/// One ntfy server and its topics.
#[derive(Debug, Clone)]
pub struct Ntfy {
    origin: String,
    topics: Vec<String>,
    auth: Option<String>,
    priority: Option<i64>,
    tags: Vec<String>,
    click: Option<String>,
}

impl Ntfy {
    /// Parses an `ntfy://` or `ntfys://` URL.
    pub fn parse(url: &AppriseUrl, secure: bool) -> Result<Self, UrlError> {
        let mut topics = url.path.clone();
        if let Some(to) = url.param("to") {
            topics.extend(
                to.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            );
        }
        let cloud = topics.is_empty() || url.authority.contains("ntfy.sh");
        let origin = if cloud {
            if !url.authority.contains("ntfy.sh") {
                topics.insert(0, url.authority.clone());
            }
            "https://ntfy.sh".to_owned()
        } else {
            url.origin(secure)?
        };
        if topics.is_empty() || topics.iter().any(|t| t.is_empty() || t.len() > 64) {
            return Err(url.error("needs a topic of 1 to 64 characters"));
        }
        let token = url.param("token").map(str::to_owned);
        let auth = match (token, &url.user, &url.password) {
            (Some(token), _, _) => Some(format!("Bearer {token}")),
            (None, Some(user), None) if user.to_ascii_lowercase().starts_with("tk_") => {
                Some(format!("Bearer {user}"))
            }
            (None, Some(user), password) => {
                let pair = format!("{user}:{}", password.as_deref().unwrap_or(""));
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
            (None, None, Some(password)) => Some(format!("Bearer {password}")),
            (None, None, None) => None,
        };
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
        Ok(Self {
            origin,
            topics,
            auth,
            priority: priority_option(url, PRIORITIES, 1..=5)?,
            tags,
            click: url.param("click").map(str::to_owned),
        })
    }

    /// One request per topic.
    pub fn requests(&self, message: &Message<'_>) -> Vec<Request> {
        self.topics
            .iter()
            .map(|topic| self.request(message, topic))
            .collect()
    }

    fn request(&self, message: &Message<'_>, topic: &str) -> Request {
        let priority = self.priority.unwrap_or(match message.severity {
            Severity::Critical => 5,
            Severity::Warning => 4,
            Severity::Resolved => 3,
        });
        let mut request = Request::post_json(
            format!("{}/", self.origin),
            json!({"topic": topic, "title": message.title, "message": message.body}),
        )
        .header("X-Priority", priority.to_string());
        let mut tags = self.tags.clone();
        tags.push(
            match message.severity {
                Severity::Critical => "rotating_light",
                Severity::Warning => "warning",
                Severity::Resolved => "white_check_mark",
            }
            .to_owned(),
        );
        request = request.header("X-Tags", tags.join(","));
        if let Some(click) = self.click.as_deref().or(message.link) {
            request = request.header("X-Click", click);
        }
        if let Some(auth) = &self.auth {
            request = request.header("Authorization", auth.clone());
        }
        request
    }

    /// The credentials.
    pub fn secrets(&self) -> Vec<String> {
        self.auth
            .iter()
            .cloned()
            .chain(self.topics.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use crate::testing::*;

    #[test]
    fn a_private_server_gets_json_with_priority_by_level() {
        let sent = requests(
            "ntfys://tk_abc@ntfy.example:8443/alerts",
            &firing(AlertLevel::Critical),
        );
        assert_eq!(sent.len(), 1);
        let r = &sent[0];
        assert_eq!(r.url, "https://ntfy.example:8443/");
        assert_eq!(json(r)["topic"], "alerts");
        assert_eq!(
            json(r)["title"],
            "[CRITICAL] web-1: memory usage 96.2% (threshold 90%)"
        );
        assert_eq!(header(r, "X-Priority"), Some("5"));
        assert_eq!(header(r, "Authorization"), Some("Bearer tk_abc"));
        assert_eq!(header(r, "X-Click"), Some("https://mon.example/"));
        let warning = requests("ntfy://h/t", &firing(AlertLevel::Warning));
        assert_eq!(header(&warning[0], "X-Priority"), Some("4"));
        assert_eq!(warning[0].url, "http://h/");
        assert_eq!(
            header(&requests("ntfy://h/t", &resolved())[0], "X-Priority"),
            Some("3")
        );
    }

    #[test]
    fn options_and_cloud_form() {
        let sent = requests(
            "ntfy://mytopic?priority=high&tags=srv,db",
            &firing(AlertLevel::Critical),
        );
        assert_eq!(sent[0].url, "https://ntfy.sh/");
        assert_eq!(json(&sent[0])["topic"], "mytopic");
        assert_eq!(header(&sent[0], "X-Priority"), Some("4"));
        assert_eq!(header(&sent[0], "X-Tags"), Some("srv,db,rotating_light"));
        let basic = requests("ntfy://u:p@h/a/b?token=T", &resolved());
        assert_eq!(basic.len(), 2);
        assert_eq!(header(&basic[1], "Authorization"), Some("Bearer T"));
        let basic = requests("ntfy://u:p@h/a", &resolved());
        assert_eq!(header(&basic[0], "Authorization"), Some("Basic dTpw"));
    }

    #[test]
    fn bad_forms_are_refused() {
        let err = refusal("ntfy://h/t?priority=zzz-SECRET");
        assert!(
            err.contains("`priority`") && !err.contains("SECRET"),
            "{err}"
        );
        let err = refusal("ntfys://u:SECRET@h:99999/t");
        assert!(err.contains("port") && !err.contains("SECRET"), "{err}");
    }
}
