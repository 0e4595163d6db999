//! The fleet view a gateway keeps: every host heard from, its newest frame, when it
//! was last heard, whether it is `up`, `stale` or `gone`, its active alerts and a
//! short summary ([`Summary`]).
//!
//! Pure bookkeeping on an `Instant` the caller passes in, so the state machine is
//! tested without a bus or a clock. A host is `up` while frames arrive, `stale` when
//! none came for the stale window (a number of the gateway's own intervals), `gone`
//! after the gone window, and forgotten after twice that. The number of hosts is
//! capped: the bus is authenticated, but a misconfigured fleet must not grow a
//! gateway's memory without bound.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use std::hash::{Hash, Hasher};

use monitoring_plugin_api::Alert;
use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::alerts::lifecycle::derived_fingerprint;
use crate::fleet::frame::Published;
pub use crate::fleet::state::HostState;
use crate::fleet::summaries::{HostSummary, Summary};
use crate::pipeline::relay::FleetNews;

/// Most hosts a gateway follows; frames from more are counted and ignored.
pub const MAX_HOSTS: usize = 10_000;

/// One host, as `/api/hosts` and the `hosts` message show it.
#[derive(Debug, Clone, Serialize)]
pub struct HostInfo {
    /// The name it publishes under.
    pub name: String,
    /// `up`, `stale` or `gone`.
    pub state: HostState,
    /// The timestamp of its newest frame (its own clock).
    pub last_seen: String,
    /// Seconds since the gateway received its newest frame.
    pub seconds_since_seen: f64,
    /// Alerts active on it.
    pub alerts: Vec<Alert>,
    /// CPU, memory and worst disk.
    pub summary: Summary,
    /// Its frames refused for being larger than `[fleet] max_frame_bytes`.
    pub frames_oversize: u64,
    /// Its `[fleet] tags`, as its newest frame carried them.
    pub tags: Vec<String>,
    /// Its `[fleet] group`, as its newest frame carried it.
    pub group: Option<String>,
}

/// A change clients are told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The host.
    pub host: String,
    /// `None` when it was just heard from for the first time.
    pub from: Option<HostState>,
    /// Where it is now; `None` when it was forgotten.
    pub to: Option<HostState>,
}

struct Entry {
    state: HostState,
    received: Instant,
    last_seen: String,
    alerts: Vec<Alert>,
    tags: Vec<String>,
    group: Option<String>,
    /// Identity of the alert set (fingerprints, levels) and tags last reported to the
    /// lifecycle; news goes out when the current one differs.
    reported: Option<u64>,
    summary: Summary,
    /// When one of its frames last went into the gateway's history.
    kept: Option<Instant>,
    /// The newest `monitoring_data` message with its `host` field, for a client that
    /// starts watching this host; at most `[fleet] max_frame_bytes` plus the name.
    latest: Utf8Bytes,
    frames_oversize: u64,
}

/// Every host the gateway has heard from.
pub struct Hosts {
    entries: BTreeMap<String, Entry>,
    stale_after: Duration,
    gone_after: Duration,
    /// Frames ignored because [`MAX_HOSTS`] hosts are followed already.
    pub ignored: u64,
}

impl Hosts {
    /// An empty view with the two windows.
    pub fn new(stale_after: Duration, gone_after: Duration) -> Self {
        Self {
            entries: BTreeMap::new(),
            stale_after,
            gone_after: gone_after.max(stale_after),
            ignored: 0,
        }
    }

    /// Whether `host`'s next frame goes into the history: none of its frames did for
    /// `every` (or it is new).
    pub fn history_due(&self, host: &str, now: Instant, every: Duration) -> bool {
        self.entries
            .get(host)
            .and_then(|entry| entry.kept)
            .is_none_or(|kept| now.saturating_duration_since(kept) >= every)
    }

    /// Records a frame of `host` received at `now` (`kept` when it also went into the
    /// history); the change when the host is new or comes back.
    pub fn record(
        &mut self,
        host: &str,
        published: Published<Summary>,
        tagged: Utf8Bytes,
        now: Instant,
        kept: bool,
    ) -> Option<Change> {
        let kept = kept.then_some(now);
        let mut published = published;
        let summary = published.data;
        identify(host, &mut published.alerts);
        published.tags.truncate(crate::config::fleet::MAX_TAGS);
        published.group = published
            .group
            .filter(|group| crate::config::fleet::is_group_name(group));
        if let Some(entry) = self.entries.get_mut(host) {
            let from = entry.state;
            entry.state = HostState::Up;
            entry.received = now;
            entry.last_seen = published.timestamp;
            entry.alerts = published.alerts;
            entry.tags = published.tags;
            entry.group = published.group;
            entry.summary = summary;
            entry.latest = tagged;
            entry.kept = kept.or(entry.kept);
            return (from != HostState::Up).then(|| Change {
                host: host.to_owned(),
                from: Some(from),
                to: Some(HostState::Up),
            });
        }
        if self.entries.len() >= MAX_HOSTS {
            self.ignored += 1;
            return None;
        }
        self.entries.insert(
            host.to_owned(),
            Entry {
                state: HostState::Up,
                received: now,
                last_seen: published.timestamp,
                alerts: published.alerts,
                tags: published.tags,
                group: published.group,
                reported: None,
                summary,
                kept,
                latest: tagged,
                frames_oversize: 0,
            },
        );
        Some(Change {
            host: host.to_owned(),
            from: None,
            to: Some(HostState::Up),
        })
    }

    /// Moves silent hosts to `stale` and `gone` and forgets long-gone ones; what changed.
    pub fn sweep(&mut self, now: Instant) -> Vec<Change> {
        let mut changes = Vec::new();
        let forget_after = self.gone_after * 2;
        self.entries.retain(|host, entry| {
            let silent = now.saturating_duration_since(entry.received);
            let to = if silent >= forget_after {
                None
            } else if silent >= self.gone_after {
                Some(HostState::Gone)
            } else if silent >= self.stale_after {
                Some(HostState::Stale)
            } else {
                Some(HostState::Up)
            };
            if to != Some(entry.state) {
                changes.push(Change {
                    host: host.clone(),
                    from: Some(entry.state),
                    to,
                });
            }
            match to {
                Some(state) => {
                    entry.state = state;
                    true
                }
                None => false,
            }
        });
        changes
    }

    /// The hosts whose alerts or tags changed since they were last reported, as news
    /// for the alert lifecycle; each is counted as reported.
    pub fn news(&mut self) -> Vec<FleetNews> {
        let mut news = Vec::new();
        for (host, entry) in &mut self.entries {
            let key = alert_set_key(&entry.alerts, &entry.tags);
            if entry.reported != Some(key) {
                entry.reported = Some(key);
                news.push(FleetNews::Alerts {
                    host: host.clone(),
                    tags: entry.tags.clone(),
                    active: entry.alerts.clone(),
                });
            }
        }
        news
    }

    /// `host`'s news could not be delivered: report it again on the next sweep.
    pub fn unreport(&mut self, host: &str) {
        if let Some(entry) = self.entries.get_mut(host) {
            entry.reported = None;
        }
    }

    /// Whether the view follows `host` (it may be full, see [`MAX_HOSTS`]).
    pub fn follows(&self, host: &str) -> bool {
        self.entries.contains_key(host)
    }

    /// Counts a refused oversize frame of `host`; whether the host is one the view
    /// follows (a refused frame never adds one).
    pub fn refuse(&mut self, host: &str) -> bool {
        self.entries
            .get_mut(host)
            .map(|entry| entry.frames_oversize += 1)
            .is_some()
    }

    /// Every host, by name.
    pub fn list(&self, now: Instant) -> Vec<HostInfo> {
        self.entries
            .iter()
            .map(|(name, entry)| info(name, entry, now))
            .collect()
    }

    /// One host, when the view follows it.
    pub fn info(&self, host: &str, now: Instant) -> Option<HostInfo> {
        self.entries
            .get_key_value(host)
            .map(|(name, entry)| info(name, entry, now))
    }

    /// The newest tagged message of each host `wanted` accepts.
    pub fn latest(&self, wanted: impl Fn(&str) -> bool) -> Vec<Utf8Bytes> {
        self.entries
            .iter()
            .filter(|(name, _)| wanted(name))
            .map(|(_, entry)| entry.latest.clone())
            .collect()
    }

    /// Every host's compact summary, by name, for overviews.
    pub fn summaries(&self) -> Vec<HostSummary> {
        self.entries
            .iter()
            .map(|(name, entry)| HostSummary {
                name: name.clone(),
                state: entry.state,
                summary: entry.summary.rounded(),
                alerts: entry.alerts.len(),
                level: crate::fleet::summaries::worst_level(&entry.alerts),
                tags: entry.tags.clone(),
                group: entry.group.clone(),
            })
            .collect()
    }

    /// How many hosts are in each state: (up, stale, gone).
    pub fn counts(&self) -> (usize, usize, usize) {
        self.entries
            .values()
            .fold((0, 0, 0), |(up, stale, gone), entry| match entry.state {
                HostState::Up => (up + 1, stale, gone),
                HostState::Stale => (up, stale + 1, gone),
                HostState::Gone => (up, stale, gone + 1),
            })
    }
}

fn info(name: &str, entry: &Entry, now: Instant) -> HostInfo {
    HostInfo {
        name: name.to_owned(),
        state: entry.state,
        last_seen: entry.last_seen.clone(),
        seconds_since_seen: now.saturating_duration_since(entry.received).as_secs_f64(),
        alerts: entry.alerts.clone(),
        summary: entry.summary,
        frames_oversize: entry.frames_oversize,
        tags: entry.tags.clone(),
        group: entry.group.clone(),
    }
}

/// Makes `alerts` name `host`, whatever the payload said (the subject is what NATS
/// authenticated), and gives a fingerprint to those from hosts older than fingerprints.
fn identify(host: &str, alerts: &mut [Alert]) {
    for alert in alerts {
        if alert.host != host || alert.fingerprint.is_empty() {
            alert.fingerprint = derived_fingerprint(alert, host);
            alert.host = host.to_owned();
        }
    }
}

/// What identifies an alert set for the lifecycle: which alerts fire at which level,
/// and the tags; values move every frame and are not news.
fn alert_set_key(alerts: &[Alert], tags: &[String]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut identities: Vec<(&str, u8)> = alerts
        .iter()
        .map(|alert| (alert.fingerprint.as_str(), alert.level as u8))
        .collect();
    identities.sort_unstable();
    identities.hash(&mut hasher);
    tags.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn published(cpu: f64) -> Published<Summary> {
        serde_json::from_value(json!({
            "type": "monitoring_data",
            "timestamp": "2026-11-29T20:00:00.000000",
            "data": {
                "processor": {"usage_percent": cpu},
                "memory": {"percentage": 40.0},
                "disk": {"percentage": 10.0},
                "disks": [{"percentage": 10.0}, {"percentage": 93.5}]
            },
            "alerts": []
        }))
        .expect("a published frame")
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_host_goes_stale_then_gone_and_comes_back() {
        let start = Instant::now();
        let mut hosts = Hosts::new(3 * SECOND, 10 * SECOND);
        let appeared = hosts.record("web-1", published(1.0), "m".into(), start, false);
        assert_eq!(
            appeared.map(|c| (c.from, c.to)),
            Some((None, Some(HostState::Up)))
        );
        assert!(hosts
            .record("web-1", published(2.0), "m".into(), start + SECOND, false)
            .is_none());
        assert!(hosts.sweep(start + 3 * SECOND).is_empty(), "2 s silent");
        let stale = hosts.sweep(start + 4 * SECOND);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].to, Some(HostState::Stale));
        assert_eq!(hosts.counts(), (0, 1, 0));
        let gone = hosts.sweep(start + 11 * SECOND);
        assert_eq!(gone[0].to, Some(HostState::Gone));
        let back = hosts.record(
            "web-1",
            published(3.0),
            "m".into(),
            start + 12 * SECOND,
            false,
        );
        assert_eq!(
            back.map(|c| (c.from, c.to)),
            Some((Some(HostState::Gone), Some(HostState::Up)))
        );
        let list = hosts.list(start + 12 * SECOND);
        assert_eq!(list[0].summary.cpu_percent, Some(3.0));
        let forgotten = hosts.sweep(start + 40 * SECOND);
        assert_eq!(forgotten[0].to, None);
        assert!(hosts.list(start + 40 * SECOND).is_empty());
    }

    #[test]
    fn the_newest_message_of_the_wanted_hosts() {
        let now = Instant::now();
        let mut hosts = Hosts::new(3 * SECOND, 10 * SECOND);
        hosts.record("a", published(1.0), "a1".into(), now, false);
        hosts.record("b", published(1.0), "b1".into(), now, false);
        hosts.record("a", published(1.0), "a2".into(), now, false);
        let latest: Vec<String> = hosts
            .latest(|name| name == "a")
            .iter()
            .map(|text| text.as_str().to_owned())
            .collect();
        assert_eq!(latest, ["a2"]);
        assert_eq!(hosts.latest(|_| true).len(), 2);
        assert!(hosts.refuse("a") && hosts.refuse("a"));
        assert!(!hosts.refuse("stranger"), "never adds a host");
        assert_eq!(hosts.info("a", now).map(|a| a.frames_oversize), Some(2));
        assert!(hosts.info("stranger", now).is_none());
    }
}
