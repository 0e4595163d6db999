//! Performs a target's requests with one blocking client and classifies the outcome
//! into the host's error kinds with `sink-http-common`'s table (5xx, 408, 429 and
//! transport errors retryable, `Retry-After` honoured; other 4xx and redirects fatal).
//! Messages name the URL's position and host, and quote a reply only through the
//! target's [`Redactor`].

use std::io::Read;
use std::time::{Duration, SystemTime};

use monitoring_plugin_api::PluginError;
use reqwest::blocking::Client;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use sink_http_common::{chain, classify_status, parse_retry_after, Redactor};

use crate::services::{Body, Capture, Method, Request, ROOM_ID_PLACEHOLDER};

/// How much of a reply is read: enough for an error's detail or Matrix's room id.
const BODY_READ: u64 = 4096;

/// The HTTP client of one sink.
#[derive(Debug)]
pub struct Sender {
    client: Client,
    /// Test-only: every request goes to this origin instead (services with fixed hosts
    /// are sent to a local server). Not a config key.
    origin_override: Option<String>,
}

impl Sender {
    /// A client whose connect and whole-request timeout is `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, PluginError> {
        let client = sink_http_common::client(
            timeout,
            concat!("monitoring-server-notify/", env!("CARGO_PKG_VERSION")),
        )?;
        Ok(Self {
            client,
            origin_override: None,
        })
    }

    /// Sends every request to `origin` (`http://127.0.0.1:port`) instead of its own:
    /// for tests of services whose host is fixed.
    #[doc(hidden)]
    pub fn override_origin_for_tests(&mut self, origin: String) {
        self.origin_override = Some(origin);
    }

    /// Performs `requests` in order; the first failure stops them. `what` names the
    /// target (`url #2 (gotify://push.example…)`); `redactor` hides its secrets.
    pub fn send_all(
        &self,
        requests: Vec<Request>,
        what: &str,
        redactor: &Redactor,
    ) -> Result<(), PluginError> {
        let mut room_id: Option<String> = None;
        for request in requests {
            let mut url = request.url.clone();
            if let Some(room) = &room_id {
                url = url.replace(ROOM_ID_PLACEHOLDER, &crate::services::encode(room));
            }
            let reply = self.send(&request, &url, what, redactor)?;
            if request.capture == Some(Capture::MatrixRoomId) {
                let id = serde_json::from_slice::<serde_json::Value>(&reply)
                    .ok()
                    .and_then(|v| v.get("room_id")?.as_str().map(str::to_owned))
                    .filter(|id| id.starts_with('!') && id.len() <= 255);
                match id {
                    Some(id) => room_id = Some(id),
                    None => {
                        return Err(PluginError::retryable(format_args!(
                            "{what}: joining the room answered no `room_id`"
                        )))
                    }
                }
            }
        }
        Ok(())
    }

    /// One request; the reply's body (bounded) on success.
    fn send(
        &self,
        request: &Request,
        url: &str,
        what: &str,
        redactor: &Redactor,
    ) -> Result<Vec<u8>, PluginError> {
        let url = match &self.origin_override {
            Some(origin) => rewrite_origin(url, origin),
            None => url.to_owned(),
        };
        let method = match request.method {
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
        };
        let mut builder = self.client.request(method, url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder = match &request.body {
            Body::Json(value) => builder
                .header(CONTENT_TYPE, "application/json")
                .body(value.to_string()),
            Body::Form(pairs) => builder
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form(pairs)),
        };
        let response = builder.send().map_err(|e| {
            let e = e.without_url();
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else if e.is_builder() {
                return PluginError::fatal(format_args!(
                    "{what}: cannot build the request: {}",
                    redactor.quote(&chain(&e))
                ));
            } else {
                "failed"
            };
            PluginError::retryable(format_args!(
                "{what}: {} {kind}: {}",
                request.method.as_str(),
                redactor.quote(&chain(&e))
            ))
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut body = Vec::new();
        // The body only adds detail; failing to read it changes no classification.
        let _ = response.take(BODY_READ).read_to_end(&mut body);
        if status.is_success() {
            return Ok(body);
        }
        let mut message = format!("{what}: {} answered {status}", request.method.as_str());
        let quoted = redactor.quote(&String::from_utf8_lossy(&body));
        if !quoted.is_empty() {
            message.push_str(": ");
            message.push_str(&quoted);
        }
        Err(classify_status(status.as_u16(), retry_after, &message))
    }
}

/// `url` with its `scheme://host[:port]` replaced by `origin`.
fn rewrite_origin(url: &str, origin: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    format!("{origin}{}", &url[path_start..])
}

/// `application/x-www-form-urlencoded`, as browsers and Apprise encode forms.
fn form(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_rewritten_keeping_path_and_query() {
        assert_eq!(
            rewrite_origin(
                "https://api.telegram.org/bot1:A/sendMessage?x=1",
                "http://127.0.0.1:9"
            ),
            "http://127.0.0.1:9/bot1:A/sendMessage?x=1"
        );
        assert_eq!(rewrite_origin("https://h", "http://l"), "http://l");
    }

    #[test]
    fn forms_are_encoded_as_python_urlencode_does() {
        // Spaces as `+`, as Apprise's requests (`urllib.parse.urlencode`) send them.
        let pairs = [("a b".to_owned(), "x&y=ü".to_owned())];
        assert_eq!(form(&pairs), "a+b=x%26y%3D%C3%BC");
    }
}
