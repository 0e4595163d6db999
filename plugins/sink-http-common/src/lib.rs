//! What the `webhook` and `slack` sinks share: one HTTP POST of a JSON body per
//! delivery, and the classification of its outcome into the host's error kinds.
//!
//! A library, not a plugin: it has no `cdylib` target and exports no plugin header.
//!
//! | outcome                                   | error                               |
//! |-------------------------------------------|-------------------------------------|
//! | 2xx                                       | none                                |
//! | refused connection, timeout, reset, 5xx, 408 | retryable                        |
//! | 429 (and 503) with `Retry-After`          | retryable, with the delay asked for |
//! | other 4xx, 3xx (redirects not followed)   | fatal                               |
//!
//! Webhook URLs are often secrets (Slack's are the credential), so error messages
//! name only the host and port, never the path or the headers.

mod classify;
#[cfg(feature = "test-server")]
pub mod test_server;

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, SystemTime};

use monitoring_plugin_api::PluginError;
use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Url;

pub use classify::{classify_status, parse_retry_after};

/// How much of an error response's body goes into the error message.
const BODY_SNIPPET: u64 = 256;

/// Posts JSON bodies to one URL.
#[derive(Debug)]
pub struct JsonPoster {
    client: Client,
    url: Url,
    headers: HeaderMap,
    /// `host:port`, for messages (the full URL may be a secret).
    target: String,
}

impl JsonPoster {
    /// Validates the settings shared by the HTTP sinks; errors name the offending key
    /// (`url`, `headers.<name>`, `timeout_secs`).
    pub fn new(
        url: &str,
        headers: &BTreeMap<String, String>,
        timeout_secs: f64,
    ) -> Result<Self, PluginError> {
        let url = parse_url(url)?;
        let timeout = timeout(timeout_secs)?;
        let mut header_map = HeaderMap::new();
        for (name, value) in headers {
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                PluginError::config(format_args!(
                    "`headers`: {name:?} is not a valid header name"
                ))
            })?;
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                PluginError::config(format_args!("`headers.{name}` is not a valid header value"))
            })?;
            // Keeps tokens out of any debug output of the request.
            value.set_sensitive(true);
            header_map.insert(header, value);
        }
        // reqwest is built without a default crypto provider so that ring, not aws-lc,
        // is linked. Each plugin library has its own copy of rustls, so installing the
        // process default here touches no one else; `Err` means it is already set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirected POST turns into a GET; better to say the URL is wrong.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "monitoring-server-sink/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| {
                PluginError::unavailable(format_args!(
                    "cannot build the HTTP client: {}",
                    chain(&e)
                ))
            })?;
        let target = format!(
            "{}:{}",
            url.host_str().unwrap_or("?"),
            url.port_or_known_default().unwrap_or(0)
        );
        Ok(Self {
            client,
            url,
            headers: header_map,
            target,
        })
    }

    /// `host:port` of the URL.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// One POST of `body` as `application/json`; no retry.
    pub fn post(&self, body: Vec<u8>) -> Result<(), PluginError> {
        let response = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut snippet = String::new();
        // The body only adds detail (Slack says `invalid_payload`); a failure to read it
        // changes nothing about the classification.
        let _ = response.take(BODY_SNIPPET).read_to_string(&mut snippet);
        let what = format!("POST to {} answered {status}", self.target);
        let what = match snippet.trim() {
            "" => what,
            body => format!("{what}: {body}"),
        };
        Err(classify_status(status.as_u16(), retry_after, &what))
    }

    fn transport_error(&self, error: reqwest::Error) -> PluginError {
        let error = error.without_url();
        let kind = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "cannot connect"
        } else if error.is_builder() {
            return PluginError::fatal(format_args!("cannot build the request: {}", chain(&error)));
        } else {
            "failed"
        };
        PluginError::retryable(format_args!(
            "POST to {} {kind}: {}",
            self.target,
            chain(&error)
        ))
    }
}

fn parse_url(url: &str) -> Result<Url, PluginError> {
    if url.is_empty() {
        return Err(PluginError::config("`url` is required"));
    }
    let parsed = Url::parse(url)
        .map_err(|e| PluginError::config(format_args!("`url` is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(PluginError::config(
            "`url` must be an http:// or https:// URL with a host",
        ));
    }
    Ok(parsed)
}

fn timeout(secs: f64) -> Result<Duration, PluginError> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            PluginError::config(format_args!(
                "`timeout_secs` must be a positive number, got {secs}"
            ))
        })
}

/// An error and its causes, `: `-separated (reqwest's own message is terse).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use monitoring_plugin_api::ErrorKind;

    fn config_error(url: &str, headers: &[(&str, &str)], timeout: f64) -> String {
        let headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let err = JsonPoster::new(url, &headers, timeout).unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Config), "{err}");
        err.message().to_owned()
    }

    #[test]
    fn bad_settings_name_their_key() {
        assert!(config_error("", &[], 10.0).contains("`url`"));
        assert!(config_error("not a url", &[], 10.0).contains("`url`"));
        assert!(config_error("ftp://example.com/x", &[], 10.0).contains("`url`"));
        assert!(config_error("http://h/x", &[("bad name", "v")], 10.0).contains("`headers`"));
        assert!(
            config_error("http://h/x", &[("X-Token", "a\nb")], 10.0).contains("`headers.X-Token`")
        );
        assert!(config_error("http://h/x", &[], 0.0).contains("`timeout_secs`"));
        assert!(config_error("http://h/x", &[], -1.0).contains("`timeout_secs`"));
    }

    #[test]
    fn target_hides_the_path() {
        let poster = JsonPoster::new(
            "https://hooks.example.com/services/T0/B0/secret",
            &BTreeMap::new(),
            1.0,
        )
        .unwrap();
        assert_eq!(poster.target(), "hooks.example.com:443");
    }
}
