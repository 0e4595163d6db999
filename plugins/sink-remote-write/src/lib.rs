//! Sink plugin `remote-write`: every snapshot's series sent to a Prometheus remote
//! write 1.0 receiver — Prometheus with `--web.enable-remote-write-receiver`,
//! VictoriaMetrics, Mimir, Thanos Receive, Cortex, Grafana Cloud — so that a machine's
//! history can outgrow its own disk.
//!
//! The series are exactly those of the server's `GET /metrics` (the same
//! `metric-families` mapping builds both), plus `job` (default `monitoring`) and
//! `instance` (default: this machine's host name), the two labels a scrape would
//! have added, and any extra `labels` configured. Samples carry the snapshot's own
//! time.
//!
//! `deliver` only converts and queues; a thread of the plugin's own batches, POSTs and
//! retries (see `sender.rs` for why the host's delivery policy does not fit here).
//! Secrets (basic-auth password, bearer token, header values) come from environment
//! variables or files, never from plugins.toml, and are never logged.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use monitoring_plugin_api::prelude::*;
use sink_http_common::{Endpoint, JsonPoster};

mod auth;
mod backoff;
pub mod proto;
mod queue;
mod sender;
mod series;

use auth::Auth;
use sender::{Sender, Settings};
use series::{Interner, Target};

/// How long `flush` (at shutdown) waits for the queue to be sent.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

/// The headers remote write 1.0 requires.
const HEADERS: [(&str, &str); 3] = [
    ("content-type", "application/x-protobuf"),
    ("content-encoding", "snappy"),
    ("x-prometheus-remote-write-version", "0.1.0"),
];

/// Settings of `[plugins.remote-write]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The receiver's write endpoint, e.g. `http://prometheus:9090/api/v1/write`
    /// (this or `url_env` is required).
    pub url: String,
    /// The NAME of the environment variable holding the URL, instead of `url`.
    pub url_env: Option<String>,
    /// Basic auth user; its password from `password_env` or `password_file`.
    pub username: Option<String>,
    /// The NAME of the environment variable holding the basic-auth password.
    pub password_env: Option<String>,
    /// A file holding the basic-auth password (a trailing newline is ignored).
    pub password_file: Option<PathBuf>,
    /// The NAME of the environment variable holding a bearer token.
    pub bearer_token_env: Option<String>,
    /// A file holding a bearer token.
    pub bearer_token_file: Option<PathBuf>,
    /// Extra request headers, e.g. `{ "X-Scope-OrgID" = "team-a" }` for Mimir.
    pub headers: BTreeMap<String, String>,
    /// Extra request headers whose values are in environment variables: header name →
    /// variable NAME.
    pub headers_env: BTreeMap<String, String>,
    /// The `job` label of every series ("monitoring").
    pub job: String,
    /// The `instance` label of every series (default: this machine's host name).
    pub instance: Option<String>,
    /// Extra labels for every series, e.g. `{ datacenter = "fra1" }`; a series' own
    /// label of the same name wins.
    pub labels: BTreeMap<String, String>,
    /// Most samples in one request (2000, as Prometheus' own sender).
    pub batch_max_samples: usize,
    /// Longest a sample waits before its batch is sent, seconds (5).
    pub flush_interval_secs: f64,
    /// Most samples queued while the receiver is slow or down (200000: about 5 minutes
    /// of 600 series at 2 Hz, some 10 MB); beyond it the oldest are dropped and counted.
    pub queue_max_samples: usize,
    /// First retry delay, seconds (0.5); doubled per failure.
    pub min_backoff_secs: f64,
    /// Longest retry delay, seconds (30).
    pub max_backoff_secs: f64,
    /// Time allowed for connecting and for the whole request, seconds (10).
    pub timeout_secs: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            url: String::new(),
            url_env: None,
            username: None,
            password_env: None,
            password_file: None,
            bearer_token_env: None,
            bearer_token_file: None,
            headers: BTreeMap::new(),
            headers_env: BTreeMap::new(),
            job: "monitoring".into(),
            instance: None,
            labels: BTreeMap::new(),
            batch_max_samples: 2000,
            flush_interval_secs: 5.0,
            queue_max_samples: 200_000,
            min_backoff_secs: 0.5,
            max_backoff_secs: 30.0,
            timeout_secs: 10.0,
        }
    }
}

/// Sends snapshots' series to one receiver.
pub struct RemoteWriteSink {
    sender: Sender,
    target: Target,
    interner: Interner,
}

impl RemoteWriteSink {
    /// Builds the sink, reading the variables the settings name with `env` (the
    /// process environment in [`Sink::new`]; tests pass their own).
    pub fn with_env(
        config: Config,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, PluginError> {
        let settings = settings(&config)?;
        let target = target(&config)?;
        let auth = Auth {
            username: config.username.as_deref(),
            password_env: config.password_env.as_deref(),
            password_file: config.password_file.as_deref(),
            bearer_token_env: config.bearer_token_env.as_deref(),
            bearer_token_file: config.bearer_token_file.as_deref(),
        };
        let mut headers = config.headers.clone();
        if let Some(value) = auth.header(&env)? {
            let configured = headers.keys().chain(config.headers_env.keys());
            if configured
                .into_iter()
                .any(|n| n.eq_ignore_ascii_case("authorization"))
            {
                return Err(PluginError::config(
                    "`headers` has an Authorization header and basic or bearer auth is set; use one",
                ));
            }
            headers.insert("Authorization".into(), value);
        }
        let endpoint = Endpoint {
            url: &config.url,
            url_env: config.url_env.as_deref(),
            headers: &headers,
            headers_env: &config.headers_env,
        };
        let poster = JsonPoster::new(endpoint, config.timeout_secs, env)?;
        let post = Box::new(move |body: Vec<u8>| poster.post_with(body, &HEADERS));
        let sender = Sender::start(settings, post).map_err(|e| {
            PluginError::unavailable(format_args!("cannot start the sending thread: {e}"))
        })?;
        Ok(Self {
            sender,
            target,
            interner: Interner::default(),
        })
    }
}

fn settings(config: &Config) -> Result<Settings, PluginError> {
    let secs = |value: f64, key: &str| {
        Duration::try_from_secs_f64(value)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                PluginError::config(format_args!(
                    "`{key}` must be a positive number, got {value}"
                ))
            })
    };
    if !(1..=100_000).contains(&config.batch_max_samples) {
        return Err(PluginError::config(
            "`batch_max_samples` must be between 1 and 100000",
        ));
    }
    if !(config.batch_max_samples..=10_000_000).contains(&config.queue_max_samples) {
        return Err(PluginError::config(
            "`queue_max_samples` must be at least `batch_max_samples` and at most 10000000",
        ));
    }
    Ok(Settings {
        batch_max_samples: config.batch_max_samples,
        flush_interval: secs(config.flush_interval_secs, "flush_interval_secs")?,
        queue_max_samples: config.queue_max_samples,
        min_backoff: secs(config.min_backoff_secs, "min_backoff_secs")?,
        max_backoff: secs(config.max_backoff_secs, "max_backoff_secs")?,
    })
}

/// `job`, `instance` and the extra labels, checked against Prometheus' label rules.
fn target(config: &Config) -> Result<Target, PluginError> {
    let instance = match &config.instance {
        Some(instance) => instance.clone(),
        None => hostname::get()
            .map_err(|e| {
                PluginError::config(format_args!(
                    "cannot read the host name for `instance` ({e}); set `instance`"
                ))
            })?
            .to_string_lossy()
            .into_owned(),
    };
    let mut labels = vec![
        ("job".to_owned(), config.job.clone()),
        ("instance".to_owned(), instance),
    ];
    for (name, value) in &config.labels {
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with("__");
        if !valid || name == "job" || name == "instance" {
            return Err(PluginError::config(format_args!(
                "`labels`: \"{}\" is not a label name we may set (letters, digits and `_`, not starting with `__`; `job` and `instance` have their own keys)",
                sink_http_common::quote(name)
            )));
        }
        labels.push((name.clone(), value.clone()));
    }
    if labels.iter().any(|(_, value)| value.is_empty()) {
        return Err(PluginError::config(
            "`job`, `instance` and `labels` values must not be empty",
        ));
    }
    Ok(Target { labels })
}

impl Sink for RemoteWriteSink {
    const NAME: &'static str = "remote-write";
    const DESCRIPTION: &'static str =
        "Sends every snapshot's series to a Prometheus remote-write receiver.";
    const WANTS_SNAPSHOTS: bool = true;
    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        Self::with_env(config, |name| std::env::var(name).ok())
    }

    fn deliver(&mut self, event: &SinkEvent) -> Result<(), PluginError> {
        let SinkEvent::Snapshot { timestamp, data } = event else {
            return Ok(());
        };
        let at = series::timestamp_ms(timestamp).ok_or_else(|| {
            PluginError::fatal(format_args!(
                "the snapshot's timestamp \"{}\" is not a time",
                sink_http_common::quote(timestamp)
            ))
        })?;
        self.sender
            .enqueue(series::samples(data, at, &self.target, &mut self.interner));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), PluginError> {
        if self.sender.flush(FLUSH_WAIT) {
            return Ok(());
        }
        let (counts, dropped) = self.sender.counts();
        Err(PluginError::retryable(format_args!(
            "samples still queued after {FLUSH_WAIT:?}; {} sent, {} refused, {dropped} dropped since start",
            counts.sent, counts.rejected
        )))
    }
}

declare_sink!(RemoteWriteSink);

#[cfg(test)]
mod tests;
