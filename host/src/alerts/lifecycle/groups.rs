//! Groups: per receiver, route and grouping labels, the timers and what was last sent,
//! which decide when a group's notification is due.
//!
//! - A new group's first notification goes out `group_wait` after it formed, so
//!   alerts that fire together go out as one.
//! - Afterwards at most once per `group_interval`, and only if the group changed since
//!   the last send (an alert added or its level changed, or a sent alert resolved);
//!   an unchanged group still firing is sent again after `repeat_interval`, without
//!   its acknowledged alerts.
//! - Each group remembers which alerts it sent as firing; when one resolves, its
//!   resolve is owed to that group and goes out with the next due notification, even
//!   if the alert is silenced or inhibited now or no longer routed there. An alert
//!   that resolves before it was sent owes nothing.
//! - A new episode of an alert that is listed firing in the same notification folds
//!   its previous episode's owed resolve into it, as Alertmanager does (one alert per
//!   fingerprint): the receiver's last word on it is "firing", which is true.
//!
//! Bounded: at most [`MAX_GROUPS`] groups; the alerts of a group beyond that are not
//! notified, counted, and a throttled warning says so.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use monitoring_plugin_api::{Alert, AlertLevel, AlertState, Notification};

use super::identity::seed;
use super::members::{Forming, Member};
use super::routes::Timing;
use crate::throttle::Throttle;

/// Most groups kept: a 2,000-host fleet grouped by host, with 20 sinks.
pub const MAX_GROUPS: usize = 40_000;

/// At most one "too many groups" warning this often; the rest are counted.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(60);

/// One group's memory.
struct Group {
    receiver: String,
    labels: BTreeMap<String, String>,
    timing: Timing,
    /// When its first alert arrived: its first notification is due `wait` after.
    formed: Instant,
    last_sent: Option<Instant>,
    /// Sent as firing (and not resolved since), with the level as sent.
    sent_firing: HashMap<String, AlertLevel>,
    /// Resolves of alerts sent firing here, not sent yet; one per fingerprint.
    owed: BTreeMap<String, Alert>,
}

/// Every group, and which groups each alert was sent to.
pub(super) struct Groups {
    groups: HashMap<String, Group>,
    /// Fingerprint → the groups whose `sent_firing` holds it, so a resolve finds them.
    sent_to: HashMap<String, HashSet<String>>,
    dropped: u64,
    full_warning: Throttle,
    /// The earliest instant a group's decision changes without new input, as of the
    /// last flush: until then a flush with nothing new has nothing to do.
    next_due: Option<Instant>,
}

impl Default for Groups {
    fn default() -> Self {
        Self {
            groups: HashMap::new(),
            sent_to: HashMap::new(),
            dropped: 0,
            full_warning: Throttle::new(FULL_WARNING_EVERY),
            next_due: None,
        }
    }
}

impl Groups {
    /// The earliest instant a group's decision can change by time alone (a wait or
    /// interval ending, a repeat), as of the last flush.
    pub fn next_due(&self) -> Option<Instant> {
        self.next_due
    }

    /// Alerts not notified because [`MAX_GROUPS`] was reached (counted per flush).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// `alert` resolved: every group that sent it firing owes its resolve.
    pub fn resolved(&mut self, alert: &Alert) {
        for key in self.sent_to.remove(&alert.fingerprint).unwrap_or_default() {
            if let Some(group) = self.groups.get_mut(&key) {
                group.sent_firing.remove(&alert.fingerprint);
                group.owed.insert(alert.fingerprint.clone(), alert.clone());
            }
        }
    }

    /// The notifications due now, given this flush's groups (`forming`, by group key)
    /// and the receivers that exist (`live`); groups of a receiver that is gone are
    /// dropped, with what they owed, since nobody is left to tell.
    pub fn flush(
        &mut self,
        forming: HashMap<String, Forming<'_>>,
        live: &HashSet<&str>,
        now: Instant,
        wall: DateTime<Utc>,
        public_url: Option<&str>,
    ) -> Vec<Notification> {
        for (key, form) in &forming {
            if let Some(group) = self.groups.get_mut(key) {
                group.timing = form.timing;
            } else if self.groups.len() < MAX_GROUPS {
                self.groups.insert(key.clone(), Group::new(form));
            } else {
                self.dropped += form.alerts.len() as u64;
                if let Some(suppressed) = self.full_warning.allow(now) {
                    tracing::warn!(
                        receiver = %form.receiver,
                        max = MAX_GROUPS,
                        dropped_total = self.dropped,
                        suppressed,
                        "Too many alert groups; a new group's alerts are not notified."
                    );
                }
            }
        }
        let mut out = Vec::new();
        let mut gone = Vec::new();
        let mut next_due: Option<Instant> = None;
        for (key, group) in &mut self.groups {
            if !live.contains(group.receiver.as_str()) {
                gone.push(key.clone());
                continue;
            }
            let members = forming.get(key).map_or(&[][..], |f| f.alerts.as_slice());
            match group.decide(members, now) {
                Decision::Wait => {}
                Decision::Forget => gone.push(key.clone()),
                Decision::Send { firing } => {
                    for fp in &firing {
                        self.sent_to
                            .entry(fp.clone())
                            .or_default()
                            .insert(key.clone());
                    }
                    out.push(group.notification(key, members, &firing, now, wall, public_url));
                }
            }
            if let Some(at) = group.next_check(now) {
                next_due = Some(next_due.map_or(at, |due| due.min(at)));
            }
        }
        self.next_due = next_due;
        for key in gone {
            if let Some(group) = self.groups.remove(&key) {
                for fp in group.sent_firing.keys() {
                    if let Some(keys) = self.sent_to.get_mut(fp) {
                        keys.remove(&key);
                        if keys.is_empty() {
                            self.sent_to.remove(fp);
                        }
                    }
                }
            }
        }
        out.sort_by(|a, b| a.group_key.cmp(&b.group_key));
        out
    }
}

/// What a group does at this flush.
enum Decision {
    /// Not due, or due with nothing to say.
    Wait,
    /// Due, empty and owing nothing: it can go.
    Forget,
    /// Send a notification listing these firing fingerprints (and what is owed).
    Send { firing: HashSet<String> },
}

impl Group {
    fn new(form: &Forming<'_>) -> Self {
        Self {
            receiver: form.receiver.to_owned(),
            labels: form.labels.clone(),
            timing: form.timing,
            formed: form.arrived,
            last_sent: None,
            sent_firing: HashMap::new(),
            owed: BTreeMap::new(),
        }
    }

    /// The next instant this group's decision can change by time alone, without new
    /// input (an alert added, changed or resolved, a silence, an acknowledgement): its
    /// wait or interval ending, else its repeat; `None` when only new input can.
    fn next_check(&self, now: Instant) -> Option<Instant> {
        let due_at = match self.last_sent {
            None => self.formed + self.timing.wait,
            Some(sent) => sent + self.timing.interval,
        };
        if now < due_at {
            return Some(due_at);
        }
        self.last_sent
            .map(|sent| sent + self.timing.repeat)
            .filter(|repeat| *repeat > now)
    }

    fn decide(&self, members: &[Member<'_>], now: Instant) -> Decision {
        let due_at = match self.last_sent {
            None => self.formed + self.timing.wait,
            Some(sent) => sent + self.timing.interval,
        };
        if now < due_at {
            return Decision::Wait;
        }
        let notifiable = || members.iter().filter(|m| m.notifiable);
        let changed = !self.owed.is_empty()
            || notifiable()
                .any(|m| self.sent_firing.get(&m.alert.fingerprint) != Some(&m.alert.level));
        let repeat = self
            .last_sent
            .is_some_and(|sent| now >= sent + self.timing.repeat)
            && notifiable().any(|m| !m.acked);
        if changed || repeat {
            let firing = notifiable()
                .filter(|m| changed || !m.acked)
                .map(|m| m.alert.fingerprint.clone())
                .collect();
            Decision::Send { firing }
        } else if members.is_empty() && self.sent_firing.is_empty() {
            Decision::Forget
        } else {
            Decision::Wait
        }
    }

    /// The notification listing `firing` (most severe, then oldest, first) and the
    /// owed resolves; records it as sent.
    fn notification(
        &mut self,
        key: &str,
        members: &[Member<'_>],
        firing: &HashSet<String>,
        now: Instant,
        wall: DateTime<Utc>,
        public_url: Option<&str>,
    ) -> Notification {
        let mut alerts: Vec<Alert> = members
            .iter()
            .filter(|m| firing.contains(&m.alert.fingerprint))
            .map(|m| m.alert.clone())
            .collect();
        alerts.sort_by(|a, b| {
            b.level
                .cmp(&a.level)
                .then_with(|| a.starts_at.cmp(&b.starts_at))
                .then_with(|| a.fingerprint.cmp(&b.fingerprint))
        });
        for alert in &alerts {
            self.sent_firing
                .insert(alert.fingerprint.clone(), alert.level);
        }
        let status = if alerts.is_empty() {
            AlertState::Resolved
        } else {
            AlertState::Firing
        };
        let owed = std::mem::take(&mut self.owed);
        alerts.extend(
            owed.into_values()
                .filter(|a| !firing.contains(&a.fingerprint)),
        );
        self.last_sent = Some(now);
        Notification {
            status,
            receiver: self.receiver.clone(),
            group_key: key.to_owned(),
            group_labels: self.labels.clone(),
            alerts,
            public_url: public_url.map(str::to_owned),
            timestamp: seed(wall),
        }
    }
}
