//! What the publisher and the gateway share: the connection and the fleet's
//! subjects ([`Link`], [`Subjects`]). In a file of its own so both import it from here,
//! below them, and never the `fleet` module that starts them.

use std::sync::Arc;

use crate::config::fleet::is_subject_token;
use crate::fleet::status::FleetStatus;

/// The subjects of a fleet, from its prefix.
#[derive(Debug, Clone)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    /// The subjects under `prefix` (checked by the config: dot-separated tokens).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// Where `host` publishes its frames.
    pub fn data(&self, host: &str) -> String {
        format!("{}.{host}.data", self.prefix)
    }

    /// Where `host` publishes its alert events.
    pub fn alert(&self, host: &str) -> String {
        format!("{}.{host}.alert", self.prefix)
    }

    /// Every host's frames.
    pub fn all_data(&self) -> String {
        self.data("*")
    }

    /// Every host's alert events.
    pub fn all_alerts(&self) -> String {
        self.alert("*")
    }

    /// The host a fleet subject names; `None` for anything else.
    pub fn host_of<'a>(&self, subject: &'a str) -> Option<&'a str> {
        let rest = subject.strip_prefix(&self.prefix)?.strip_prefix('.')?;
        let (host, kind) = rest.split_once('.')?;
        (matches!(kind, "data" | "alert") && is_subject_token(host)).then_some(host)
    }
}

/// What the publisher and the gateway share: the client, the subjects, the status.
#[derive(Clone)]
pub struct Link {
    /// The one NATS client (cheap to clone).
    pub client: async_nats::Client,
    /// The fleet's subjects.
    pub subjects: Subjects,
    /// The shared status.
    pub status: Arc<FleetStatus>,
    /// Whether this server publishes its own frames and alerts.
    pub publishing: bool,
    /// `[fleet] tags`, spliced into every frame published.
    pub tags: Vec<String>,
    /// `[fleet] group`, spliced into every frame published.
    pub group: Option<String>,
    /// Publish one frame in this many (`[fleet] publish_interval`); 1 publishes all.
    pub publish_every: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_the_host() {
        let subjects = Subjects::new("monitoring");
        assert_eq!(subjects.data("web-1"), "monitoring.web-1.data");
        assert_eq!(subjects.all_alerts(), "monitoring.*.alert");
        assert_eq!(subjects.host_of("monitoring.web-1.data"), Some("web-1"));
        assert_eq!(subjects.host_of("monitoring.web-1.alert"), Some("web-1"));
        assert_eq!(subjects.host_of("monitoring.web-1.other"), None);
        assert_eq!(subjects.host_of("monitoringx.web-1.data"), None);
        assert_eq!(subjects.host_of("other.web-1.data"), None);
        let nested = Subjects::new("acme.prod");
        assert_eq!(nested.host_of("acme.prod.db-2.data"), Some("db-2"));
    }
}
