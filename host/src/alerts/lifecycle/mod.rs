//! An alert's life after the engine: Alertmanager's notification pipeline, built in.
//!
//! The engine says which alerts fire on each host now ([`Lifecycle::sync`]); the fleet
//! says which hosts are down ([`Lifecycle::host_state`]). From that the lifecycle keeps
//! every alert's state (firing, resolved), and on each [`Lifecycle::flush`] decides
//! which notifications are due for which receiver (sink):
//!
//! - **routes**: `[[alerts.routes]]` pick the receivers, first match wins unless
//!   `continue`; without routes every receiver gets everything;
//! - **inhibition**: a host that is down suppresses its own metric alerts; (a CRITICAL
//!   suppresses the WARNING of the same alert by being the same alert, one fingerprint);
//! - **silences** and **acknowledgements** ([`super::silences`]): a silenced alert is
//!   not notified, an acknowledged one is not repeated;
//! - **grouping**: per receiver, alerts with the same `group_by` labels form a group; a
//!   new group waits `group_wait`, a changed one `group_interval`, an unchanged firing
//!   one `repeat_interval`, then goes out as one [`Notification`];
//! - a resolve is never lost or suppressed once its firing was sent to that receiver.
//!
//! Pure: time comes in as arguments, nothing is read from clocks, so every rule above
//! is a unit test that moves an `Instant` forward.
//! SKELETON: the interface is fixed; the bodies are to be written.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use monitoring_plugin_api::{Alert, Notification};
use serde::Serialize;

use super::matchers::Matchers;
use super::silences::{AckView, Silences};
use crate::config::alerts::AlertsConfig;

/// The component, metric and `alertname` of the alert a gateway fires for a host that
/// stopped publishing.
pub const HOST_DOWN: &str = "host_down";

/// What `[alerts]` says about notifying: grouping, repeats and routes.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Wait of a new group before its first notification.
    pub group_wait: Duration,
    /// Wait between two notifications of a group that changed.
    pub group_interval: Duration,
    /// Wait before a still-firing, unchanged, unacknowledged group is sent again.
    pub repeat_interval: Duration,
    /// Labels that split alerts into groups.
    pub group_by: Vec<String>,
    /// The routes, in file order; empty: every receiver gets every alert.
    pub routes: Vec<Route>,
}

/// One compiled `[[alerts.routes]]` entry.
#[derive(Debug, Clone)]
pub struct Route {
    /// What the alert must match.
    pub matchers: Matchers,
    /// The receivers (sink names).
    pub sinks: Vec<String>,
    /// Whether later routes are tried after this one matched.
    pub continue_matching: bool,
    /// Overrides of the policy's grouping and timing for this route.
    pub group_by: Option<Vec<String>>,
    /// Override of `group_wait`.
    pub group_wait: Option<Duration>,
    /// Override of `group_interval`.
    pub group_interval: Option<Duration>,
    /// Override of `repeat_interval`.
    pub repeat_interval: Option<Duration>,
}

/// What is wrong with `[alerts]`'s notification keys: the route's index (`None` for a
/// top-level key), the key, what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyError {
    /// Which `[[alerts.routes]]` entry, `None` for `[alerts]` itself.
    pub route: Option<usize>,
    /// The key, e.g. `group_wait`, `matchers_regex.host`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl Policy {
    /// Checks and compiles `[alerts]`'s grouping, timing and routes.
    pub fn from_config(config: &AlertsConfig) -> Result<Self, PolicyError> {
        let _ = config;
        Ok(Self::default())
    }
}

impl Default for Policy {
    /// Alertmanager's defaults but for `repeat_interval`, which is the seed's cooldown.
    fn default() -> Self {
        Self {
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(300),
            repeat_interval: Duration::from_secs(300),
            group_by: vec!["host".to_owned()],
            routes: Vec::new(),
        }
    }
}

/// A receiver as the flush sees it: its name and its own filter (the sink's `level`,
/// `components` and active hours).
pub struct Receiver<'a> {
    /// The sink's name.
    pub name: &'a str,
    /// Whether the sink's own filters let this alert through now.
    pub accepts: &'a dyn Fn(&Alert) -> bool,
}

/// One alert as the dashboard and `GET /api/alerts` show it.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    /// The alert, as it last fired (or as it was when it resolved).
    #[serde(flatten)]
    pub alert: Alert,
    /// The ids of the silences that match it now.
    pub silenced_by: Vec<String>,
    /// Its acknowledgement, if this episode has one.
    pub acked: Option<AckView>,
    /// Why it is not notified though firing and not silenced, e.g. `host web-1 is down`.
    pub inhibited_by: Option<String>,
}

/// Every alert the lifecycle knows: firing (silenced, acknowledged or not) and recently
/// resolved.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertsView {
    /// Firing now, most severe first, then oldest first.
    pub firing: Vec<AlertView>,
    /// Resolved lately, newest first (at most [`RESOLVED_KEPT`]).
    pub resolved: Vec<AlertView>,
}

/// Resolved alerts kept for the view.
pub const RESOLVED_KEPT: usize = 100;

/// A cloneable handle on the latest [`AlertsView`], written by the lifecycle after each
/// change and read by the surfaces.
#[derive(Debug, Clone, Default)]
pub struct Board(Arc<Mutex<Arc<AlertsView>>>);

impl Board {
    /// The view as last published.
    pub fn view(&self) -> Arc<AlertsView> {
        Arc::clone(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Publishes a new view.
    pub fn publish(&self, view: AlertsView) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(view);
    }

    /// The firing alert with this fingerprint, if any.
    pub fn firing(&self, fingerprint: &str) -> Option<Alert> {
        self.view()
            .firing
            .iter()
            .find(|view| view.alert.fingerprint == fingerprint)
            .map(|view| view.alert.clone())
    }
}

/// The alerts' states and the groups' timers.
pub struct Lifecycle {
    policy: Policy,
    silences: Silences,
    board: Board,
}

impl Lifecycle {
    /// An empty lifecycle with this policy, reading `silences`, publishing to `board`.
    pub fn new(policy: Policy, silences: Silences, board: Board) -> Self {
        Self {
            policy,
            silences,
            board,
        }
    }

    /// A reloaded `[alerts]`: groups keep their state, new timings apply from now.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The tags of `host` (its `[fleet] tags`), which `tags` matchers see.
    pub fn set_tags(&mut self, host: &str, tags: &[String]) {
        let _ = (host, tags);
    }

    /// The alerts firing on `host` now (an engine's `active` list, each with its
    /// fingerprint and `starts_at`): new ones start firing, changed ones (value, level)
    /// are updated, and the host's alerts that are missing have resolved at `wall`.
    pub fn sync(&mut self, host: &str, active: &[Alert], now: Instant, wall: DateTime<Utc>) {
        let _ = (host, active, now, wall, &self.silences);
    }

    /// A fleet host went stale (`down`) or came back: fires or resolves its
    /// [`HOST_DOWN`] alert. While it is down its other alerts are inhibited.
    pub fn host_state(&mut self, host: &str, down: bool, now: Instant, wall: DateTime<Utc>) {
        let _ = (host, down, now, wall);
    }

    /// A fleet host was forgotten (gone): its alerts, `host_down` included, resolve.
    pub fn forget_host(&mut self, host: &str, now: Instant, wall: DateTime<Utc>) {
        let _ = (host, now, wall);
    }

    /// The notifications due now, one per receiver and group, stamped `wall`, linking to
    /// `public_url`. Publishes the view to the board.
    pub fn flush(
        &mut self,
        now: Instant,
        wall: DateTime<Utc>,
        receivers: &[Receiver<'_>],
        public_url: Option<&str>,
    ) -> Vec<Notification> {
        let _ = (now, wall, receivers, public_url, &self.policy);
        self.board.publish(AlertsView::default());
        Vec::new()
    }
}

/// The stable identity of a rule instance on a host: the first 16 hex digits of
/// SHA-256 over `rule`, `host` and `instance`, each ended by a NUL. Stable across
/// restarts and versions (acknowledgements and silences name it), unlike std's hasher.
pub fn fingerprint(rule: &str, host: &str, instance: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [rule, host, instance] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
