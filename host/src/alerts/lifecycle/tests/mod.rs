//! The lifecycle's rules as unit tests on injected time: a [`Run`] moves an `Instant`
//! and a wall clock forward together, syncs what the engine would report and flushes
//! to a few receivers. Silences and acknowledgements are stood in for by [`Quiet`]
//! through the lifecycle's `Quieting` seam, so their effects are tested without the
//! silences store.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use monitoring_plugin_api::{Alert, AlertLevel, AlertState, Notification};

use super::*;
use crate::alerts::silences::AckView;

mod grouping;
mod hosts;
mod policy;
mod quieting;
mod routing;

/// Silences and acknowledgements by fingerprint, and the resolves reported.
#[derive(Default)]
struct Quiet {
    silenced: Mutex<HashSet<String>>,
    acked: Mutex<HashSet<String>>,
    resolved: Mutex<Vec<String>>,
}

impl Quieting for Arc<Quiet> {
    fn silencing(&self, alert: &Alert, _tags: &[String], _now: DateTime<Utc>) -> Vec<String> {
        let silenced = self.silenced.lock().expect("lock");
        silenced
            .contains(&alert.fingerprint)
            .then(|| "silence-1".to_owned())
            .into_iter()
            .collect()
    }

    fn acked(&self, alert: &Alert) -> Option<AckView> {
        let acked = self.acked.lock().expect("lock");
        acked.contains(&alert.fingerprint).then(|| AckView {
            fingerprint: alert.fingerprint.clone(),
            starts_at: alert.starts_at.clone(),
            by: "admin".into(),
            comment: "on it".into(),
            at: "now".into(),
        })
    }

    fn resolved(&self, fingerprint: &str) {
        self.resolved
            .lock()
            .expect("lock")
            .push(fingerprint.to_owned());
    }

    fn version(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for set in [&self.silenced, &self.acked] {
            let mut items: Vec<String> = set.lock().expect("lock").iter().cloned().collect();
            items.sort_unstable();
            items.hash(&mut hasher);
        }
        hasher.finish()
    }

    fn next_boundary(&self, _after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        None
    }
}

/// A lifecycle on injected time, with receivers that accept everything but where a
/// test says otherwise.
struct Run {
    lifecycle: Lifecycle,
    quiet: Arc<Quiet>,
    board: Board,
    start: Instant,
    wall: DateTime<Utc>,
    /// Seconds since the start, as of the last call.
    now: u64,
}

impl Run {
    fn new(policy: Policy) -> Self {
        let quiet = Arc::new(Quiet::default());
        let board = Board::default();
        let lifecycle =
            Lifecycle::with_quieting(policy, Box::new(Arc::clone(&quiet)), board.clone());
        Self {
            lifecycle,
            quiet,
            board,
            start: Instant::now(),
            wall: Utc
                .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
                .single()
                .expect("a date"),
            now: 0,
        }
    }

    fn at(&mut self, secs: u64) -> (Instant, DateTime<Utc>) {
        self.now = secs;
        let wall = self.wall + chrono::Duration::seconds(secs as i64);
        (self.start + Duration::from_secs(secs), wall)
    }

    /// The engine reports `active` on `host` at `secs`.
    fn sync(&mut self, secs: u64, host: &str, active: &[Alert]) {
        let (now, wall) = self.at(secs);
        self.lifecycle.sync(host, active, now, wall);
        // The view as a flush would publish it (the loop flushes every tick).
        self.lifecycle.publish(wall);
    }

    /// The fleet says `host` is down (or back) at `secs`.
    fn host_state(&mut self, secs: u64, host: &str, down: bool) {
        let (now, wall) = self.at(secs);
        self.lifecycle.host_state(host, down, now, wall);
        self.lifecycle.publish(wall);
    }

    /// Flushes at `secs` to receivers that accept everything.
    fn flush(&mut self, secs: u64, names: &[&str]) -> Vec<Notification> {
        let all = |_: &Alert| true;
        let receivers: Vec<Receiver<'_>> = names
            .iter()
            .map(|name| Receiver {
                name,
                accepts: &all,
            })
            .collect();
        self.flush_to(secs, &receivers)
    }

    fn flush_to(&mut self, secs: u64, receivers: &[Receiver<'_>]) -> Vec<Notification> {
        let (now, wall) = self.at(secs);
        self.lifecycle
            .flush(now, wall, receivers, Some("https://mon.example"))
    }

    /// Flushes every `step` seconds from `from` to `to` (both included), collecting.
    fn flush_span(&mut self, from: u64, to: u64, step: u64, names: &[&str]) -> Vec<Notification> {
        (from..=to)
            .step_by(step as usize)
            .flat_map(|secs| self.flush(secs, names))
            .collect()
    }
}

/// An engine's alert on `host` for `component`, as the engine would stamp it.
fn alert(host: &str, component: &str, level: AlertLevel, value: f64) -> Alert {
    Alert {
        timestamp: "t".into(),
        component: component.into(),
        metric: "usage_percent".into(),
        value,
        threshold: 80.0,
        level,
        message: format!("High {component} usage: {value}%"),
        host: host.into(),
        labels: [("alertname".to_owned(), format!("{component}_usage"))].into(),
        starts_at: "2026-01-02T03:04:05.000Z".into(),
        fingerprint: fingerprint(&format!("{component}_usage"), host, ""),
        state: AlertState::Firing,
        ends_at: String::new(),
    }
}

/// `(fingerprint, state)` of each alert of a notification, in order.
fn listed(notification: &Notification) -> Vec<(String, AlertState)> {
    notification
        .alerts
        .iter()
        .map(|a| (a.fingerprint.clone(), a.state))
        .collect()
}

/// The fingerprint of `component`'s alert on `host`.
fn fp(host: &str, component: &str) -> String {
    fingerprint(&format!("{component}_usage"), host, "")
}

/// `[("host", host)]` as group labels.
fn host_labels(host: &str) -> BTreeMap<String, String> {
    [("host".to_owned(), host.to_owned())].into()
}

#[test]
fn host_down_fingerprint_is_sha256_of_rule_host_instance() {
    // python3: hashlib.sha256(b'host_down\0web-1\0').hexdigest()[:16]
    assert_eq!(fingerprint(HOST_DOWN, "web-1", ""), "dc367fe589f876ff");
    assert_ne!(fingerprint("a", "b", "c"), fingerprint("a", "bc", ""));
}

#[test]
fn the_lifecycle_can_move_to_the_collection_task() {
    fn is_send<T: Send + 'static>() {}
    is_send::<Lifecycle>();
    is_send::<Board>();
}
