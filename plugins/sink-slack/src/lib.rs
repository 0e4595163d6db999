//! Sink plugin `slack`: alerts to a Slack incoming webhook, the seed's
//! `SlackAlertHandler`: emoji by level in the text (⚠️ WARNING, 🚨 CRITICAL,
//! ✅ RESOLVED) and an attachment coloured `warning`, `danger` or `good`.
//!
//! Posting and failure classification are `sink-http-common`'s, shared with `webhook`.
//!
//! The webhook URL is the credential, so it can stay out of plugins.toml: `url_env`
//! names the environment variable holding it, read once at start. No error or log
//! quotes it, nor more than a short redacted prefix of Slack's reply.

mod payload;

use std::collections::BTreeMap;

use monitoring_plugin_api::prelude::*;
use sink_http_common::{Endpoint, JsonPoster};

pub use payload::{message, unix_time, Message, Poster};

/// Settings of `[plugins.slack]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The incoming-webhook URL, `https://hooks.slack.com/services/…` (this or
    /// `url_env` is required). It is the credential: prefer `url_env`, or keep
    /// plugins.toml private.
    pub url: String,
    /// The NAME of the environment variable holding the URL, instead of `url`.
    pub url_env: Option<String>,
    /// Posts to this channel instead of the webhook's own, e.g. `#monitoring`.
    pub channel: Option<String>,
    /// Name shown as the poster ("MonitoringBot").
    pub username: String,
    /// Avatar emoji, e.g. `:bar_chart:`; the app's icon when unset.
    pub icon_emoji: Option<String>,
    /// Time allowed for connecting and for the whole request, seconds (10).
    pub timeout_secs: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            url: String::new(),
            url_env: None,
            channel: None,
            username: "MonitoringBot".to_owned(),
            icon_emoji: None,
            timeout_secs: 10.0,
        }
    }
}

/// Posts alerts to one Slack webhook.
pub struct SlackSink {
    poster: JsonPoster,
    config: Config,
    host: String,
}

impl SlackSink {
    /// Builds the sink, reading the variable `url_env` names with `env` (the process
    /// environment in [`Sink::new`]; tests pass their own).
    pub fn with_env(
        config: Config,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, PluginError> {
        let none = BTreeMap::new();
        let endpoint = Endpoint {
            url: &config.url,
            url_env: config.url_env.as_deref(),
            headers: &none,
            headers_env: &none,
        };
        let poster = JsonPoster::new(endpoint, config.timeout_secs, env)?;
        let host = hostname::get()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown host".to_owned());
        Ok(Self {
            poster,
            config,
            host,
        })
    }
}

impl Sink for SlackSink {
    const NAME: &'static str = "slack";
    const DESCRIPTION: &'static str = "Posts alerts to a Slack incoming webhook.";
    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        Self::with_env(config, |name| std::env::var(name).ok())
    }

    fn deliver(&mut self, event: &SinkEvent) -> Result<(), PluginError> {
        let poster = Poster {
            channel: self.config.channel.as_deref(),
            username: &self.config.username,
            icon_emoji: self.config.icon_emoji.as_deref(),
            host: &self.host,
        };
        let Some(message) = message(event, poster) else {
            return Ok(());
        };
        let body = serde_json::to_vec(&message).map_err(|e| {
            PluginError::fatal(format_args!("cannot encode the Slack message: {e}"))
        })?;
        self.poster.post(body)
    }
}

declare_sink!(SlackSink);

#[cfg(test)]
mod tests {
    use super::*;
    use monitoring_plugin_api::ErrorKind;

    #[test]
    fn wants_no_snapshots() {
        use monitoring_plugin_api::Exported;
        assert!(!SlackSink::root_module().wants_snapshots());
    }

    #[test]
    fn defaults_and_required_url() {
        let config: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(config.username, "MonitoringBot");
        assert_eq!(config.timeout_secs, 10.0);
        assert_eq!(config.channel, None);
        let err = SlackSink::new(config).err().unwrap();
        assert_eq!(err.kind(), Some(ErrorKind::Config));
        assert!(err.message().contains("`url`"), "{err}");
        assert!(serde_json::from_str::<Config>(r#"{"webhook_url": "https://x"}"#).is_err());
    }
}
