//! Sink plugin `webhook`: each alert and resolution POSTed as one JSON object, the
//! seed's `WebhookAlertHandler`.
//!
//! The body is the alert's seed fields plus `event` (`"alert"` or `"resolved"`) and, for
//! resolutions, `resolved_at`. Posting and the classification of failures (retryable,
//! with `Retry-After`, or fatal) live in `sink-http-common`, shared with `slack`.
//!
//! The URL and header values may be secrets, so they can stay out of plugins.toml:
//! `url_env` and `headers_env` name environment variables read once at start. No error
//! or log quotes them, nor more than a short redacted prefix of the server's reply.

use std::collections::BTreeMap;

use monitoring_plugin_api::prelude::*;
use sink_http_common::{Endpoint, JsonPoster};

/// Settings of `[plugins.webhook]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where to POST, `http://` or `https://` (this or `url_env` is required).
    pub url: String,
    /// The NAME of the environment variable holding the URL, instead of `url`.
    pub url_env: Option<String>,
    /// Extra request headers, e.g. `{ Authorization = "Bearer …" }`.
    pub headers: BTreeMap<String, String>,
    /// Extra request headers whose values are in environment variables: header name →
    /// variable NAME, e.g. `{ Authorization = "MONITORING_WEBHOOK_AUTH" }`.
    pub headers_env: BTreeMap<String, String>,
    /// Time allowed for connecting and for the whole request, seconds (10).
    pub timeout_secs: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            url: String::new(),
            url_env: None,
            headers: BTreeMap::new(),
            headers_env: BTreeMap::new(),
            timeout_secs: 10.0,
        }
    }
}

/// POSTs alerts to one URL.
pub struct WebhookSink {
    poster: JsonPoster,
}

impl WebhookSink {
    /// Builds the sink, reading the variables `url_env` and `headers_env` name with
    /// `env` (the process environment in [`Sink::new`]; tests pass their own, so no
    /// test mutates the environment).
    pub fn with_env(
        config: Config,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, PluginError> {
        let endpoint = Endpoint {
            url: &config.url,
            url_env: config.url_env.as_deref(),
            headers: &config.headers,
            headers_env: &config.headers_env,
        };
        let poster = JsonPoster::new(endpoint, config.timeout_secs, env)?;
        Ok(Self { poster })
    }
}

impl Sink for WebhookSink {
    const NAME: &'static str = "webhook";
    const DESCRIPTION: &'static str = "POSTs alerts as JSON to an HTTP(S) webhook.";
    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        Self::with_env(config, |name| std::env::var(name).ok())
    }

    fn deliver(&mut self, event: &SinkEvent) -> Result<(), PluginError> {
        let Some(payload) = AlertRecord::from_event(event) else {
            return Ok(());
        };
        let body = serde_json::to_vec(&payload)
            .map_err(|e| PluginError::fatal(format_args!("cannot encode alert: {e}")))?;
        self.poster.post(body)
    }
}

declare_sink!(WebhookSink);

#[cfg(test)]
mod tests {
    use super::*;
    use monitoring_plugin_api::ErrorKind;

    #[test]
    fn wants_no_snapshots() {
        use monitoring_plugin_api::Exported;
        assert!(!WebhookSink::root_module().wants_snapshots());
    }

    #[test]
    fn defaults_and_required_url() {
        let config: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(config.timeout_secs, 10.0);
        assert!(config.headers.is_empty());
        let err = WebhookSink::new(config).err().unwrap();
        assert_eq!(err.kind(), Some(ErrorKind::Config));
        assert!(err.message().contains("`url`"), "{err}");
        assert!(serde_json::from_str::<Config>(r#"{"webhook_url": "http://x"}"#).is_err());
    }
}
