//! The book of alerts: every firing alert by fingerprint, the hosts that are down,
//! each host's tags, and the recently resolved alerts for the view.
//!
//! Bounded: at most [`MAX_ALERTS`] firing alerts; a new one beyond that is counted and
//! dropped with a throttled warning, so a misbehaving fleet cannot grow the server.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use monitoring_plugin_api::{Alert, AlertLevel, AlertState};

use super::identity::{derived_fingerprint, fingerprint, iso, seed, HOST_DOWN};
use crate::throttle::Throttle;

/// Resolved alerts kept for the view.
pub const RESOLVED_KEPT: usize = 100;

/// Most firing alerts kept.
pub const MAX_ALERTS: usize = 50_000;

/// At most one "book full" warning this often; the rest are counted.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(60);

/// Who reported an alert, which says who may resolve it: the engine's alerts resolve
/// when a `sync` no longer lists them, `host_down` only when the fleet says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// The rules engine, through `sync`.
    Engine,
    /// The fleet gateway, through `host_state`.
    Fleet,
}

/// One firing alert.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// As it last fired, `state` firing.
    pub alert: Alert,
    /// Who reported it.
    pub source: Source,
    /// When this episode first reached the lifecycle: a new group's `group_wait`
    /// counts from its first alert's arrival, not from the next flush.
    pub arrived: Instant,
}

/// What a change to the book did.
#[derive(Debug, Default)]
pub(super) struct Changes {
    /// Whether the set of alerts changed (one fired, resolved or changed level), so
    /// the view is published now; a mere new value shows at the next flush.
    pub changed: bool,
    /// The alerts that resolved, `state` resolved and `ends_at` set.
    pub resolved: Vec<Alert>,
}

/// Every alert the lifecycle knows.
pub(super) struct Book {
    firing: HashMap<String, Entry>,
    by_host: HashMap<String, HashSet<String>>,
    down: HashSet<String>,
    tags: HashMap<String, Vec<String>>,
    /// Newest first, at most [`RESOLVED_KEPT`].
    resolved: VecDeque<Alert>,
    dropped: u64,
    full_warning: Throttle,
}

impl Default for Book {
    fn default() -> Self {
        Self {
            firing: HashMap::new(),
            by_host: HashMap::new(),
            down: HashSet::new(),
            tags: HashMap::new(),
            resolved: VecDeque::new(),
            dropped: 0,
            full_warning: Throttle::new(FULL_WARNING_EVERY),
        }
    }
}

impl Book {
    /// The firing alerts, in no order.
    pub fn firing(&self) -> impl Iterator<Item = &Entry> {
        self.firing.values()
    }

    /// The recently resolved alerts, newest first.
    pub fn resolved(&self) -> impl Iterator<Item = &Alert> {
        self.resolved.iter()
    }

    /// The tags of `host`.
    pub fn tags(&self, host: &str) -> &[String] {
        self.tags.get(host).map_or(&[], Vec::as_slice)
    }

    /// Sets the tags of `host`.
    pub fn set_tags(&mut self, host: &str, tags: &[String]) {
        if tags.is_empty() {
            self.tags.remove(host);
        } else {
            self.tags.insert(host.to_owned(), tags.to_vec());
        }
    }

    /// Whether `host` is down.
    pub fn is_down(&self, host: &str) -> bool {
        self.down.contains(host)
    }

    /// New alerts dropped because the book was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The engine's alerts firing on `host` now: see [`super::Lifecycle::sync`].
    pub fn sync(
        &mut self,
        host: &str,
        active: &[Alert],
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Changes {
        let mut changes = Changes::default();
        let mut seen = HashSet::with_capacity(active.len());
        for alert in active {
            let mut alert = alert.clone();
            alert.host = host.to_owned();
            if alert.fingerprint.is_empty() {
                alert.fingerprint = derived_fingerprint(&alert, host);
            }
            if alert.starts_at.is_empty() {
                alert.starts_at = iso(wall);
            }
            seen.insert(alert.fingerprint.clone());
            changes.changed |= self.fire(alert, Source::Engine, now);
        }
        let gone: Vec<String> = self
            .by_host
            .get(host)
            .into_iter()
            .flatten()
            .filter(|fp| !seen.contains(*fp))
            .filter(|fp| self.firing.get(*fp).map(|e| e.source) == Some(Source::Engine))
            .cloned()
            .collect();
        for fp in gone {
            changes.resolved.extend(self.resolve(&fp, wall));
        }
        changes.changed |= !changes.resolved.is_empty();
        changes
    }

    /// Fires or resolves `host`'s [`HOST_DOWN`] alert.
    pub fn host_state(
        &mut self,
        host: &str,
        down: bool,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Changes {
        let fp = fingerprint(HOST_DOWN, host, "");
        let mut changes = Changes::default();
        if down {
            self.down.insert(host.to_owned());
            if !self.firing.contains_key(&fp) {
                changes.changed = self.fire(host_down(host, fp, wall), Source::Fleet, now);
            }
        } else {
            changes.changed = self.down.remove(host);
            changes.resolved.extend(self.resolve(&fp, wall));
        }
        changes.changed |= !changes.resolved.is_empty();
        changes
    }

    /// Resolves every alert of `host` and forgets it.
    pub fn forget_host(&mut self, host: &str, wall: DateTime<Utc>) -> Changes {
        let mut changes = Changes {
            changed: self.down.remove(host) | self.tags.remove(host).is_some(),
            resolved: Vec::new(),
        };
        let all: Vec<String> = self
            .by_host
            .get(host)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for fp in all {
            changes.resolved.extend(self.resolve(&fp, wall));
        }
        changes.changed |= !changes.resolved.is_empty();
        changes
    }

    /// Records a firing alert: new, or an update of a known one (value, level,
    /// message; `starts_at` stays the episode's). Whether it is new or changed level.
    fn fire(&mut self, alert: Alert, source: Source, now: Instant) -> bool {
        if let Some(entry) = self.firing.get_mut(&alert.fingerprint) {
            let starts_at = std::mem::take(&mut entry.alert.starts_at);
            let changed = entry.alert.level != alert.level;
            entry.alert = Alert {
                starts_at,
                state: AlertState::Firing,
                ends_at: String::new(),
                ..alert
            };
            return changed;
        }
        if self.firing.len() >= MAX_ALERTS {
            self.dropped += 1;
            if let Some(suppressed) = self.full_warning.allow(now) {
                tracing::warn!(
                    host = %alert.host,
                    max = MAX_ALERTS,
                    dropped_total = self.dropped,
                    suppressed,
                    "Too many firing alerts; a new one is dropped."
                );
            }
            return false;
        }
        let fp = alert.fingerprint.clone();
        self.by_host
            .entry(alert.host.clone())
            .or_default()
            .insert(fp.clone());
        let alert = Alert {
            state: AlertState::Firing,
            ends_at: String::new(),
            ..alert
        };
        self.firing.insert(
            fp,
            Entry {
                alert,
                source,
                arrived: now,
            },
        );
        true
    }

    /// Resolves the firing alert `fp` at `wall`: the resolved alert, kept for the view.
    fn resolve(&mut self, fp: &str, wall: DateTime<Utc>) -> Option<Alert> {
        let entry = self.firing.remove(fp)?;
        if let Some(set) = self.by_host.get_mut(&entry.alert.host) {
            set.remove(fp);
            if set.is_empty() {
                self.by_host.remove(&entry.alert.host);
            }
        }
        let alert = Alert {
            state: AlertState::Resolved,
            ends_at: iso(wall),
            ..entry.alert
        };
        self.resolved
            .retain(|old| old.fingerprint != alert.fingerprint);
        self.resolved.push_front(alert.clone());
        self.resolved.truncate(RESOLVED_KEPT);
        Some(alert)
    }
}

/// The alert of a host that stopped publishing.
fn host_down(host: &str, fingerprint: String, wall: DateTime<Utc>) -> Alert {
    Alert {
        timestamp: seed(wall),
        component: HOST_DOWN.to_owned(),
        metric: HOST_DOWN.to_owned(),
        value: 0.0,
        threshold: 0.0,
        level: AlertLevel::Critical,
        message: format!("Host {host} stopped publishing"),
        host: host.to_owned(),
        labels: [("alertname".to_owned(), HOST_DOWN.to_owned())].into(),
        starts_at: iso(wall),
        fingerprint,
        state: AlertState::Firing,
        ends_at: String::new(),
    }
}
