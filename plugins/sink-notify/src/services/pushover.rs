//! Pushover (<https://pushover.net/api>), Apprise's `pushover.py`:
//! `pover://user_key@app_token[/device…]`, `?priority=`, `?sound=`. One form POST to
//! `https://api.pushover.net/1/messages.json`; priority 1 for CRITICAL, 0 for WARNING,
//! -1 resolved (emergency, 2, adds Apprise's `retry=900` and `expire=3600`).

use super::{priority_option, Body, Method, Request};
use crate::message::{Message, Severity};
use crate::urls::{AppriseUrl, UrlError};

/// Pushover's API origin.
pub const ORIGIN: &str = "https://api.pushover.net";

/// Apprise's names on Pushover's -2..=2.
const PRIORITIES: &[(&str, i64)] = &[("lo", -2), ("mo", -1), ("n", 0), ("h", 1), ("e", 2)];

/// One user (or group) of one application.
#[derive(Debug, Clone)]
pub struct Pushover {
    user_key: String,
    token: String,
    devices: Vec<String>,
    priority: Option<i64>,
    sound: Option<String>,
}

fn is_key(text: &str) -> bool {
    text.len() == 30 && text.chars().all(|c| c.is_ascii_alphanumeric())
}

impl Pushover {
    /// Parses a `pover://` URL.
    pub fn parse(url: &AppriseUrl) -> Result<Self, UrlError> {
        let user_key = url.user.clone().unwrap_or_default();
        let token = url.authority.clone();
        if !is_key(&user_key) || !is_key(&token) {
            return Err(
                url.error("needs `pover://user_key@app_token` (30 letters and digits each)")
            );
        }
        Ok(Self {
            user_key,
            token,
            devices: url.path.clone(),
            priority: priority_option(url, PRIORITIES, -2..=2)?,
            sound: url.param("sound").map(str::to_owned),
        })
    }

    /// The message request.
    pub fn request(&self, message: &Message<'_>) -> Request {
        let priority = self.priority.unwrap_or(match message.severity {
            Severity::Critical => 1,
            Severity::Warning => 0,
            Severity::Resolved => -1,
        });
        let mut form = vec![
            ("token".to_owned(), self.token.clone()),
            ("user".to_owned(), self.user_key.clone()),
            (
                "title".to_owned(),
                message.title.chars().take(250).collect(),
            ),
            (
                "message".to_owned(),
                message.body.chars().take(1024).collect(),
            ),
            ("priority".to_owned(), priority.to_string()),
        ];
        if priority == 2 {
            form.push(("retry".to_owned(), "900".to_owned()));
            form.push(("expire".to_owned(), "3600".to_owned()));
        }
        if let Some(sound) = &self.sound {
            form.push(("sound".to_owned(), sound.clone()));
        }
        if !self.devices.is_empty() {
            form.push(("device".to_owned(), self.devices.join(",")));
        }
        if let Some(link) = message.link {
            form.push(("url".to_owned(), link.to_owned()));
        }
        Request {
            method: Method::Post,
            url: format!("{ORIGIN}/1/messages.json"),
            headers: Vec::new(),
            body: Body::Form(form),
            capture: None,
        }
    }

    /// The keys.
    pub fn secrets(&self) -> Vec<String> {
        vec![self.user_key.clone(), self.token.clone()]
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use crate::services::Body;
    use crate::testing::*;

    const USER: &str = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG";
    const TOKEN: &str = "azGDORePK8gMaC0QOYAMyEEuzJnyUi";

    fn form(url: &str, n: &monitoring_plugin_api::Notification) -> Vec<(String, String)> {
        match requests(url, n).remove(0).body {
            Body::Form(form) => form,
            other => panic!("{other:?}"),
        }
    }

    fn get<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
        form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_form_with_priority_by_level() {
        let url = format!("pover://{USER}@{TOKEN}/phone?sound=siren");
        let r = &requests(&url, &firing(AlertLevel::Critical))[0];
        assert_eq!(r.url, "https://api.pushover.net/1/messages.json");
        let f = form(&url, &firing(AlertLevel::Critical));
        assert_eq!(get(&f, "token"), Some(TOKEN));
        assert_eq!(get(&f, "user"), Some(USER));
        assert_eq!(get(&f, "priority"), Some("1"));
        assert_eq!(get(&f, "sound"), Some("siren"));
        assert_eq!(get(&f, "device"), Some("phone"));
        assert_eq!(get(&f, "url"), Some("https://mon.example/"));
        assert_eq!(
            get(&form(&url, &firing(AlertLevel::Warning)), "priority"),
            Some("0")
        );
        assert_eq!(get(&form(&url, &resolved()), "priority"), Some("-1"));
        let emergency = form(&format!("{url}&priority=emergency"), &resolved());
        assert_eq!(
            (get(&emergency, "priority"), get(&emergency, "expire")),
            (Some("2"), Some("3600"))
        );
    }

    #[test]
    fn short_keys_are_refused() {
        let err = refusal("pover://SECRET@token");
        assert!(
            err.starts_with("url #1 (pover://…)") && !err.contains("SECRET"),
            "{err}"
        );
    }
}
