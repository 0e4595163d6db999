//! Sink plugin `notify`: grouped alert notifications to the places people read,
//! addressed by Apprise URLs so that a user's existing ones work unchanged: ntfy,
//! Telegram, Discord, Gotify, Pushover, Microsoft Teams (Power Automate workflows),
//! Matrix, Mattermost, Rocket.Chat, Google Chat, PagerDuty, Opsgenie, JSON endpoints.
//!
//! Layout: [`urls`] splits and parses the URL list, [`config`] reads it from
//! `urls_env`/`urls_file`, `services/` turns a [`message::Message`] into each
//! service's requests (pure functions), [`send`] performs them, [`progress`] remembers
//! which URLs a partly failed notification already reached.
//!
//! Policy stays in the host: a notification that failed retryably at some URL returns
//! a retryable error, and the host's retry re-sends only to the URLs that failed; a
//! fatal failure at one URL does not stop the others.

pub mod config;
pub mod list;
pub mod message;
mod progress;
pub mod send;
pub mod services;
#[cfg(test)]
mod testing;
pub mod urls;

use std::collections::BTreeMap;
use std::time::Duration;

use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::ErrorKind;
use sink_http_common::Redactor;

pub use config::{Config, Configured};
use message::Message;
use progress::Progress;
use send::Sender;

/// Sends each notification to every configured URL.
pub struct NotifySink {
    targets: Vec<(Configured, Redactor)>,
    sender: Sender,
    title_prefix: Option<String>,
    host: String,
    progress: Progress,
}

impl NotifySink {
    /// Builds the sink, reading variables with `env` and files with `read` (the
    /// process's in [`Sink::new`]; tests pass their own).
    pub fn with_sources(
        config: Config,
        env: impl Fn(&str) -> Option<String>,
        read: impl Fn(&std::path::Path) -> std::io::Result<String>,
    ) -> Result<Self, PluginError> {
        let timeout = sink_http_common::timeout(config.timeout_secs)?;
        let targets = config::targets(&config, env, read)?
            .into_iter()
            .map(|configured| {
                let redactor = Redactor::new(configured.target.secrets());
                (configured, redactor)
            })
            .collect();
        let host = hostname::get()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown host".to_owned());
        Ok(Self {
            targets,
            sender: Sender::new(timeout)?,
            title_prefix: config.title_prefix,
            host,
            progress: Progress::default(),
        })
    }

    /// Test-only: sends every request to `origin` instead of the service's own host.
    #[doc(hidden)]
    pub fn override_origin_for_tests(&mut self, origin: String) {
        self.sender.override_origin_for_tests(origin);
    }

    /// How many URLs it sends to.
    pub fn target_count(&self) -> usize {
        self.targets.len()
    }
}

impl Sink for NotifySink {
    const NAME: &'static str = "notify";
    const DESCRIPTION: &'static str =
        "Sends grouped alert notifications to Apprise URLs (ntfy, Telegram, Discord, Gotify, Pushover, Teams, Matrix, Mattermost, Rocket.Chat, Google Chat, PagerDuty, Opsgenie, JSON).";
    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        Self::with_sources(
            config,
            |name| std::env::var(name).ok(),
            config::read_bounded,
        )
    }

    fn deliver(&mut self, event: &SinkEvent) -> Result<(), PluginError> {
        let notification = match event {
            SinkEvent::Alert { alert } => one_alert(alert.clone(), &alert.timestamp),
            SinkEvent::Resolved { alert, resolved_at } => {
                let mut alert = alert.clone();
                alert.state = AlertState::Resolved;
                if alert.ends_at.is_empty() {
                    alert.ends_at = resolved_at.clone();
                }
                one_alert(alert, resolved_at)
            }
            _ => return Ok(()),
        };
        self.notify(&notification)
    }

    fn notify(&mut self, notification: &Notification) -> Result<(), PluginError> {
        if notification.alerts.is_empty() {
            return Ok(());
        }
        let message = Message::render(notification, self.title_prefix.as_deref(), &self.host);
        let key = (
            notification.group_key.clone(),
            notification.timestamp.clone(),
        );
        let mut done = self.progress.done(&key);
        let mut retryable: Vec<PluginError> = Vec::new();
        let mut fatal: Vec<PluginError> = Vec::new();
        for (index, (configured, redactor)) in self.targets.iter().enumerate() {
            if done.contains(&index) {
                continue;
            }
            let requests = configured.target.requests(&message);
            match self.sender.send_all(requests, &configured.shown, redactor) {
                Ok(()) => {
                    done.insert(index);
                }
                Err(e) if e.kind() == Some(ErrorKind::Retryable) => retryable.push(e),
                Err(e) => {
                    // A refusal is not retried: a retry would be refused again.
                    done.insert(index);
                    fatal.push(e);
                }
            }
        }
        if retryable.is_empty() {
            self.progress.forget(&key);
        } else {
            self.progress.remember(key, done);
        }
        combine(retryable, fatal)
    }
}

/// A notification of one alert, as an older host's `Alert`/`Resolved` event is
/// wrapped.
fn one_alert(alert: monitoring_plugin_api::Alert, at: &str) -> Notification {
    let mut group_labels = BTreeMap::new();
    if !alert.host.is_empty() {
        group_labels.insert("host".to_owned(), alert.host.clone());
    }
    Notification {
        status: alert.state,
        receiver: NotifySink::NAME.to_owned(),
        group_key: format!("{}/{}/{}", alert.host, alert.component, alert.metric),
        group_labels,
        alerts: vec![alert],
        public_url: None,
        timestamp: at.to_owned(),
    }
}

/// One error for the host: retryable if any URL may yet succeed (with the longest
/// `Retry-After` asked for), else fatal; the message joins every URL's.
fn combine(retryable: Vec<PluginError>, fatal: Vec<PluginError>) -> Result<(), PluginError> {
    let text = |errors: &[PluginError]| {
        errors
            .iter()
            .map(|e| e.message().to_owned())
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !retryable.is_empty() {
        let delay = retryable
            .iter()
            .filter_map(|e| e.retry_after_ms.into_option())
            .max();
        let all: Vec<PluginError> = retryable.into_iter().chain(fatal).collect();
        let error = PluginError::retryable(text(&all));
        return Err(match delay {
            Some(ms) => error.with_retry_after(Duration::from_millis(ms)),
            None => error,
        });
    }
    if !fatal.is_empty() {
        return Err(PluginError::fatal(text(&fatal)));
    }
    Ok(())
}

declare_sink!(NotifySink);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wants_no_snapshots_and_refuses_a_bad_timeout() {
        use monitoring_plugin_api::Exported;
        assert!(!NotifySink::root_module().wants_snapshots());
        let config: Config =
            serde_json::from_str(r#"{"urls_env": "U", "timeout_secs": 0}"#).unwrap();
        let err =
            NotifySink::with_sources(config, |_| Some("ntfy://h/t".into()), |_| Ok(String::new()))
                .err()
                .unwrap();
        assert!(err.message().contains("`timeout_secs`"), "{err}");
    }

    #[test]
    fn retryable_wins_and_carries_the_longest_delay() {
        let slow = PluginError::retryable("a").with_retry_after(Duration::from_secs(7));
        let err = combine(
            vec![PluginError::retryable("b"), slow],
            vec![PluginError::fatal("c")],
        )
        .unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Retryable));
        assert_eq!(err.retry_after_ms.into_option(), Some(7000));
        assert_eq!(err.message(), "b; a; c");
        let err = combine(vec![], vec![PluginError::fatal("c")]).unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Fatal));
        assert!(combine(vec![], vec![]).is_ok());
    }
}
