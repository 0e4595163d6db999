//! One module per service: each parses its Apprise URL form into a target and turns a
//! [`Message`] into the HTTP requests its API documents. Pure functions, so the tests
//! check every request without a network; [`crate::send`] performs them.

mod discord;
mod gchat;
mod gotify;
mod json;
mod matrix;
mod mattermost;
mod ntfy;
mod opsgenie;
mod pagerduty;
mod pushover;
mod rocketchat;
mod telegram;
mod workflows;

use serde_json::Value;

use crate::message::Message;
use crate::urls::{AppriseUrl, UrlError};

pub use matrix::ROOM_ID_PLACEHOLDER;

/// An HTTP method the services use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// POST.
    Post,
    /// PUT (Matrix's idempotent send).
    Put,
}

impl Method {
    /// As on the request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// `application/json`.
    Json(Value),
    /// `application/x-www-form-urlencoded`, pairs in order.
    Form(Vec<(String, String)>),
}

/// What a response must yield for the next request of the same delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// Matrix's join answers `{"room_id": …}`, which replaces
    /// [`ROOM_ID_PLACEHOLDER`] in the next request's URL.
    MatrixRoomId,
}

/// One HTTP request, complete.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The full URL, query included.
    pub url: String,
    /// Headers besides `Content-Type` and `User-Agent`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
    /// What to read from the answer, if anything.
    pub capture: Option<Capture>,
}

impl Request {
    /// A POST of a JSON body.
    pub fn post_json(url: String, body: Value) -> Self {
        Self {
            method: Method::Post,
            url,
            headers: Vec::new(),
            body: Body::Json(body),
            capture: None,
        }
    }

    /// The same with one more header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// One configured target: its service and parsed settings.
#[derive(Debug, Clone)]
pub enum Target {
    /// `ntfy://`, `ntfys://`.
    Ntfy(ntfy::Ntfy),
    /// `tgram://`.
    Telegram(telegram::Telegram),
    /// `discord://`.
    Discord(discord::Discord),
    /// `gotify://`, `gotifys://`.
    Gotify(gotify::Gotify),
    /// `pover://`.
    Pushover(pushover::Pushover),
    /// `workflows://`.
    Workflows(workflows::Workflows),
    /// `matrix://`, `matrixs://`.
    Matrix(matrix::Matrix),
    /// `mmost://`, `mmosts://`.
    Mattermost(mattermost::Mattermost),
    /// `rocket://`, `rockets://`.
    RocketChat(rocketchat::RocketChat),
    /// `gchat://`.
    GoogleChat(gchat::GoogleChat),
    /// `pagerduty://`.
    PagerDuty(pagerduty::PagerDuty),
    /// `opsgenie://`.
    Opsgenie(opsgenie::Opsgenie),
    /// `json://`, `jsons://`.
    Json(json::Json),
}

/// The schemes this sink understands, for the error about any other.
pub const SCHEMES: &str = "ntfy, ntfys, tgram, discord, gotify, gotifys, pover, workflows, \
    matrix, matrixs, mmost, mmosts, rocket, rockets, gchat, pagerduty, opsgenie, json, jsons";

impl Target {
    /// The target `url` names; an unknown scheme or a malformed URL is an error that
    /// names the URL's position and shows no secret.
    pub fn parse(url: &AppriseUrl) -> Result<Self, UrlError> {
        let secure = url.scheme.ends_with('s');
        Ok(match url.scheme.as_str() {
            "ntfy" | "ntfys" => Target::Ntfy(ntfy::Ntfy::parse(url, secure)?),
            "tgram" => Target::Telegram(telegram::Telegram::parse(url)?),
            "discord" => Target::Discord(discord::Discord::parse(url)?),
            "gotify" | "gotifys" => Target::Gotify(gotify::Gotify::parse(url, secure)?),
            "pover" => Target::Pushover(pushover::Pushover::parse(url)?),
            "workflows" | "workflow" => Target::Workflows(workflows::Workflows::parse(url)?),
            "matrix" | "matrixs" => Target::Matrix(matrix::Matrix::parse(url, secure)?),
            "mmost" | "mmosts" => Target::Mattermost(mattermost::Mattermost::parse(url, secure)?),
            "rocket" | "rockets" => Target::RocketChat(rocketchat::RocketChat::parse(url, secure)?),
            "gchat" => Target::GoogleChat(gchat::GoogleChat::parse(url)?),
            "pagerduty" => Target::PagerDuty(pagerduty::PagerDuty::parse(url)?),
            "opsgenie" => Target::Opsgenie(opsgenie::Opsgenie::parse(url)?),
            "json" | "jsons" => Target::Json(json::Json::parse(url, secure)?),
            _ => return Err(url.error(format!("unsupported scheme (supported: {SCHEMES})"))),
        })
    }

    /// The requests that deliver `message`, in order.
    pub fn requests(&self, message: &Message<'_>) -> Vec<Request> {
        match self {
            Target::Ntfy(t) => t.requests(message),
            Target::Telegram(t) => t.requests(message),
            Target::Discord(t) => vec![t.request(message)],
            Target::Gotify(t) => vec![t.request(message)],
            Target::Pushover(t) => vec![t.request(message)],
            Target::Workflows(t) => vec![t.request(message)],
            Target::Matrix(t) => t.requests(message),
            Target::Mattermost(t) => t.requests(message),
            Target::RocketChat(t) => t.requests(message),
            Target::GoogleChat(t) => vec![t.request(message)],
            Target::PagerDuty(t) => t.requests(message),
            Target::Opsgenie(t) => t.requests(message),
            Target::Json(t) => vec![t.request(message)],
        }
    }

    /// The secrets in this target's URL, hidden in anything quoted from a reply.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Target::Ntfy(t) => t.secrets(),
            Target::Telegram(t) => t.secrets(),
            Target::Discord(t) => t.secrets(),
            Target::Gotify(t) => t.secrets(),
            Target::Pushover(t) => t.secrets(),
            Target::Workflows(t) => t.secrets(),
            Target::Matrix(t) => t.secrets(),
            Target::Mattermost(t) => t.secrets(),
            Target::RocketChat(t) => t.secrets(),
            Target::GoogleChat(t) => t.secrets(),
            Target::PagerDuty(t) => t.secrets(),
            Target::Opsgenie(t) => t.secrets(),
            Target::Json(t) => t.secrets(),
        }
    }
}

/// A path segment or query value, percent-encoded.
pub fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2D", "-")
        .replace("%2E", ".")
        .replace("%5F", "_")
        .replace("%7E", "~")
}

/// A named priority from a `?priority=` option: the first entry of `names` whose key
/// the value starts with (Apprise's matching), or a number in `range`.
pub fn priority_option(
    url: &AppriseUrl,
    names: &[(&str, i64)],
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>, UrlError> {
    let Some(value) = url.param("priority") else {
        return Ok(None);
    };
    let lower = value.trim().to_ascii_lowercase();
    if let Ok(number) = lower.parse::<i64>() {
        if range.contains(&number) {
            return Ok(Some(number));
        }
    }
    names
        .iter()
        .find(|(prefix, _)| lower.starts_with(prefix))
        .map(|(_, n)| Some(*n))
        .ok_or_else(|| {
            let known: Vec<&str> = names.iter().map(|(name, _)| *name).collect();
            url.error(format!(
                "`priority` must be {}..={} or one of {}",
                range.start(),
                range.end(),
                known.join(", ")
            ))
        })
}

/// Title and body as one text, for services without a title field.
pub fn titled_text(message: &Message<'_>) -> String {
    format!("{}\n{}", message.title, message.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_schemes_are_refused_by_position() {
        let url = AppriseUrl::parse("slack://T/B/C", 2, vec![]).unwrap();
        let err = Target::parse(&url).unwrap_err().to_string();
        assert!(
            err.starts_with("url #2 (slack://…): unsupported scheme"),
            "{err}"
        );
        assert!(!err.contains("T/B/C"), "{err}");
    }

    #[test]
    fn encoding_keeps_unreserved() {
        assert_eq!(encode("!a:b.c_d-e~f #x"), "%21a%3Ab.c_d-e~f%20%23x");
    }
}
