//! One HTTP POST of a JSON body per delivery, its outcome classified; what a failure
//! quotes of the reply goes through the endpoint's [`Redactor`].

use std::io::Read;
use std::time::{Duration, SystemTime};

use monitoring_plugin_api::PluginError;
use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Url;

use crate::classify::{classify_status, parse_retry_after};
use crate::endpoint::Endpoint;
use crate::redact::Redactor;

/// How much of an error response's body is read. More than a quote shows, so that the
/// secrets in it are seen whole and hidden before the quote is cut.
const BODY_READ: u64 = 4096;

/// Posts bodies (JSON unless told otherwise) to one URL.
#[derive(Debug)]
pub struct JsonPoster {
    client: Client,
    url: Url,
    headers: HeaderMap,
    /// Hides the header values and URL secrets in anything quoted from a reply.
    redactor: Redactor,
    /// `host:port`, for messages (the full URL may be a secret).
    target: String,
}

impl JsonPoster {
    /// Validates the settings shared by the HTTP sinks, reading the variables they name
    /// with `env`; errors name the offending key (`url`, `url_env`, `headers.<name>`,
    /// `headers_env.<name>`, `timeout_secs`) and variable, never a value.
    pub fn new(
        endpoint: Endpoint<'_>,
        timeout_secs: f64,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, PluginError> {
        let resolved = endpoint.resolve(&env)?;
        let url = resolved.url;
        let timeout = timeout(timeout_secs)?;
        let client = client(
            timeout,
            concat!("monitoring-server-sink/", env!("CARGO_PKG_VERSION")),
        )?;
        let target = format!(
            "{}:{}",
            url.host_str().unwrap_or("?"),
            url.port_or_known_default().unwrap_or(0)
        );
        Ok(Self {
            client,
            url,
            headers: resolved.headers,
            redactor: resolved.redactor,
            target,
        })
    }

    /// `host:port` of the URL.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// One POST of `body` as `application/json`; no retry.
    pub fn post(&self, body: Vec<u8>) -> Result<(), PluginError> {
        self.post_with(body, &[(CONTENT_TYPE.as_str(), "application/json")])
    }

    /// One POST of `body` with `headers` (name, value) besides the configured ones,
    /// e.g. another `Content-Type` (remote write sends snappy-compressed protobuf); no
    /// retry. A header name or value that is not valid is a fatal error.
    pub fn post_with(&self, body: Vec<u8>, headers: &[(&str, &str)]) -> Result<(), PluginError> {
        let mut request = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
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
        let mut body = Vec::new();
        // The body only adds detail (Slack says `invalid_payload`); a failure to read it
        // changes nothing about the classification.
        let _ = response.take(BODY_READ).read_to_end(&mut body);
        let what = format!("POST to {} answered {status}", self.target);
        let what = match self.redactor.quote(&String::from_utf8_lossy(&body)) {
            quoted if quoted.is_empty() => what,
            quoted => format!("{what}: {quoted}"),
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
            return PluginError::fatal(format_args!(
                "cannot build the request: {}",
                self.redactor.quote(&chain(&error))
            ));
        } else {
            "failed"
        };
        PluginError::retryable(format_args!(
            "POST to {} {kind}: {}",
            self.target,
            self.redactor.quote(&chain(&error))
        ))
    }
}

/// `timeout_secs` as a duration: a positive number of seconds, else a config error
/// naming the key. Shared by every HTTP sink.
pub fn timeout(secs: f64) -> Result<Duration, PluginError> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            PluginError::config(format_args!(
                "`timeout_secs` must be a positive number, got {secs}"
            ))
        })
}

/// The blocking client every HTTP sink uses: `timeout` to connect and for the whole
/// request, redirects not followed (a redirected POST turns into a GET; better to say
/// the URL is wrong), `user_agent` as given.
pub fn client(timeout: Duration, user_agent: &str) -> Result<Client, PluginError> {
    // reqwest is built without a default crypto provider so that ring, not aws-lc, is
    // linked. Each plugin library has its own copy of rustls, so installing the process
    // default here touches no one else; `Err` means it is already set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .map_err(|e| {
            PluginError::unavailable(format_args!("cannot build the HTTP client: {}", chain(&e)))
        })
}

/// An error and its causes, `: `-separated (reqwest's own message is terse).
pub fn chain(error: &dyn std::error::Error) -> String {
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
    use std::collections::BTreeMap;

    use super::*;
    use monitoring_plugin_api::ErrorKind;

    fn poster(url: &str, timeout_secs: f64) -> Result<JsonPoster, PluginError> {
        let none = BTreeMap::new();
        let endpoint = Endpoint {
            url,
            url_env: None,
            headers: &none,
            headers_env: &none,
        };
        JsonPoster::new(endpoint, timeout_secs, |_| None)
    }

    #[test]
    fn the_timeout_must_be_positive() {
        for bad in [0.0, -1.0, f64::NAN] {
            let err = poster("http://h/x", bad).unwrap_err();
            assert_eq!(err.kind(), Some(ErrorKind::Config), "{err}");
            assert!(err.message().contains("`timeout_secs`"), "{err}");
        }
    }

    #[test]
    fn target_hides_the_path() {
        let poster = poster("https://hooks.example.com/services/T0/B0/secret", 1.0).unwrap();
        assert_eq!(poster.target(), "hooks.example.com:443");
    }
}
