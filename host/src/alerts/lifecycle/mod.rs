//! An alert's life after the engine: Alertmanager's notification pipeline, built in.
//!
//! The engine says which alerts fire on each host now ([`Lifecycle::sync`]); the fleet
//! says which hosts are down ([`Lifecycle::host_state`]). From that the lifecycle keeps
//! every alert's state (firing, resolved), and on each [`Lifecycle::flush`] decides
//! which notifications are due for which receiver (sink):
//!
//! - **routes** (`routes.rs`): `[[alerts.routes]]` pick the receivers, first match wins
//!   unless `continue`; without routes every receiver gets everything, with routes an
//!   alert no route matches goes to nobody (a last route without matchers is the
//!   catch-all); a receiver only gets what its own filters (level, components, hours)
//!   accept;
//! - **inhibition** (`inhibit.rs`): a host that is down suppresses its own metric
//!   alerts; a CRITICAL suppresses the WARNING of the same alert by being the same
//!   alert (one fingerprint per rule, host and instance, whatever its level);
//! - **silences** and **acknowledgements** ([`super::silences`]): a silenced alert is
//!   not notified, an acknowledged one is not repeated;
//! - **grouping** (`groups.rs`): per receiver and route, alerts with the same `group_by`
//!   labels form a group; a new group waits `group_wait`, a changed one
//!   `group_interval`, an unchanged firing one `repeat_interval`, then goes out as one
//!   [`Notification`];
//! - a resolve is never lost or suppressed once its firing was sent to that receiver.
//!
//! Pure: time comes in as arguments, nothing is read from clocks, so every rule above
//! is a unit test that moves an `Instant` forward.
//!
//! Cheap when nothing happens: a flush forms every group from the book (alerts times
//! receivers), which on a 2,000-host gateway is the loop's biggest cost. So a flush
//! with nothing new (no alert started, changed or resolved, no silence or
//! acknowledgement, the same receivers) before the next timer of any group, the next
//! silence boundary and [`REFRESH`] returns at once. The view is rebuilt by each full
//! flush (a tick with changes, or every [`REFRESH`]), so its values are at most that
//! old.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use monitoring_plugin_api::{Alert, Notification};

use super::silences::Silences;

mod book;
mod groups;
mod identity;
mod inhibit;
mod members;
mod policy;
mod quieting;
mod routes;
mod view;

#[cfg(test)]
mod tests;

pub use book::{MAX_ALERTS, RESOLVED_KEPT};
pub use groups::MAX_GROUPS;
pub use identity::{derived_fingerprint, fingerprint, HOST_DOWN};
pub use members::Receiver;
pub use policy::{Policy, PolicyError, Route, MAX_ROUTES, MAX_SECONDS};
pub use view::{AlertView, AlertsView, Board};

use quieting::Quieting;

/// Longest a flush may skip forming the groups: bounds how late a time-dependent
/// input (a sink's active hours) is seen and how old the view's values are.
pub const REFRESH: Duration = Duration::from_secs(5);

/// The alerts' states and the groups' timers.
pub struct Lifecycle {
    policy: Policy,
    quiet: Box<dyn Quieting>,
    board: Board,
    book: book::Book,
    groups: groups::Groups,
    /// Something changed since the last full flush (an alert, a host, the policy).
    dirty: bool,
    /// What the last full flush saw, and until when it holds if nothing changes.
    settled: Option<Settled>,
}

/// The inputs of the last full flush that time alone does not change.
struct Settled {
    /// The silences' version.
    quiet: u64,
    /// The receivers' names.
    receivers: Vec<String>,
    /// The next group timer, the next silence boundary, or [`REFRESH`]: the first.
    until: Instant,
    /// The next silence boundary, in wall time.
    boundary: Option<DateTime<Utc>>,
}

impl Lifecycle {
    /// An empty lifecycle with this policy, reading `silences`, publishing to `board`.
    pub fn new(policy: Policy, silences: Silences, board: Board) -> Self {
        Self::with_quieting(policy, Box::new(silences), board)
    }

    fn with_quieting(policy: Policy, quiet: Box<dyn Quieting>, board: Board) -> Self {
        Self {
            policy,
            quiet,
            board,
            book: book::Book::default(),
            groups: groups::Groups::default(),
            dirty: true,
            settled: None,
        }
    }

    /// A reloaded `[alerts]`: groups keep their state, new timings apply from now.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
        self.dirty = true;
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The tags of `host` (its `[fleet] tags`), which `tags` matchers see.
    pub fn set_tags(&mut self, host: &str, tags: &[String]) {
        self.book.set_tags(host, tags);
        self.dirty = true;
    }

    /// The alerts firing on `host` now (an engine's `active` list, each with its
    /// fingerprint and `starts_at`): new ones start firing, changed ones (value, level)
    /// are updated, and the host's alerts that are missing have resolved at `wall`.
    /// A fingerprint that fires again after resolving starts a new episode.
    pub fn sync(&mut self, host: &str, active: &[Alert], now: Instant, wall: DateTime<Utc>) {
        let changes = self.book.sync(host, active, now, wall);
        self.apply(changes);
    }

    /// A fleet host went stale (`down`) or came back: fires or resolves its
    /// [`HOST_DOWN`] alert. While it is down its other alerts are inhibited.
    pub fn host_state(&mut self, host: &str, down: bool, now: Instant, wall: DateTime<Utc>) {
        let changes = self.book.host_state(host, down, now, wall);
        self.apply(changes);
    }

    /// A fleet host was forgotten (gone): its alerts, `host_down` included, resolve,
    /// and its tags and down state are forgotten. (`now` is not needed: resolving
    /// starts no timer; the owed resolves go out at their groups' next due flush.)
    pub fn forget_host(&mut self, host: &str, now: Instant, wall: DateTime<Utc>) {
        let _ = now;
        let changes = self.book.forget_host(host, wall);
        self.apply(changes);
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
        if self.settled_at(now, wall, receivers) {
            return Vec::new();
        }
        let forming = members::form(
            &self.book,
            &self.policy,
            self.quiet.as_ref(),
            receivers,
            wall,
        );
        let live = receivers.iter().map(|receiver| receiver.name).collect();
        let out = self.groups.flush(forming, &live, now, wall, public_url);
        self.publish(wall);
        let boundary = self.quiet.next_boundary(wall);
        let to_boundary = boundary
            .and_then(|at| (at - wall).to_std().ok())
            .map(|left| now + left);
        let until = [self.groups.next_due(), to_boundary, Some(now + REFRESH)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now);
        self.settled = Some(Settled {
            quiet: self.quiet.version(),
            receivers: receivers.iter().map(|r| r.name.to_owned()).collect(),
            until,
            boundary,
        });
        self.dirty = false;
        out
    }

    /// New alerts that were not notified because a bound was reached: the book's
    /// [`MAX_ALERTS`] (dropped alerts) plus the groups' [`MAX_GROUPS`] (counted once
    /// per flush they were left out of).
    pub fn dropped(&self) -> u64 {
        self.book.dropped() + self.groups.dropped()
    }

    /// Whether the last full flush still holds: nothing changed since and no timer,
    /// silence boundary or refresh is due.
    fn settled_at(&self, now: Instant, wall: DateTime<Utc>, receivers: &[Receiver<'_>]) -> bool {
        let Some(settled) = self.settled.as_ref().filter(|_| !self.dirty) else {
            return false;
        };
        now < settled.until
            && settled.boundary.is_none_or(|at| wall < at)
            && settled.quiet == self.quiet.version()
            && settled.receivers.len() == receivers.len()
            && settled
                .receivers
                .iter()
                .zip(receivers)
                .all(|(seen, now)| seen == now.name)
    }

    /// Hands the resolves to the groups that owe them and to the acknowledgements;
    /// if anything changed, the next flush is a full one, which publishes the view:
    /// once per tick however many hosts changed (a fleet-wide storm must not build
    /// the view once per host).
    fn apply(&mut self, changes: book::Changes) {
        for alert in &changes.resolved {
            self.groups.resolved(alert);
            self.quiet.resolved(&alert.fingerprint);
        }
        if changes.changed || !changes.resolved.is_empty() {
            self.dirty = true;
        }
    }

    fn publish(&self, wall: DateTime<Utc>) {
        self.board
            .publish(view::build(&self.book, self.quiet.as_ref(), wall));
    }
}
