//! Which groups the firing alerts form at one flush: each alert, through the routes it
//! takes and the receivers that accept it, lands in one group per (receiver, route,
//! grouping labels), marked notifiable or not (silenced, inhibited) and acknowledged
//! or not.

use std::collections::{BTreeMap, HashMap};

use std::time::Instant;

use chrono::{DateTime, Utc};
use monitoring_plugin_api::{Alert, AlertLevel};

use super::book::Book;
use super::inhibit::inhibited_by;
use super::policy::Policy;
use super::quieting::Quieting;
use super::routes::{routes_of, Timing};

/// A receiver as the flush sees it: its name and its own filter (the sink's `level`,
/// `components` and active hours).
pub struct Receiver<'a> {
    /// The sink's name.
    pub name: &'a str,
    /// Whether the sink's own filters let this alert through now.
    pub accepts: &'a dyn Fn(&Alert) -> bool,
}

/// One firing alert in one group at this flush.
pub(super) struct Member<'a> {
    /// The alert.
    pub alert: &'a Alert,
    /// Neither silenced nor inhibited.
    pub notifiable: bool,
    /// Its current episode is acknowledged: listed when the group changed, not
    /// repeated.
    pub acked: bool,
}

/// One group as this flush forms it.
pub(super) struct Forming<'a> {
    /// The receiver.
    pub receiver: &'a str,
    /// The grouping labels.
    pub labels: BTreeMap<String, String>,
    /// The timings of the route that formed it.
    pub timing: Timing,
    /// When its first alert arrived.
    pub arrived: Instant,
    /// Its firing alerts.
    pub alerts: Vec<Member<'a>>,
}

/// The groups the firing alerts of `book` form now, by group key.
pub(super) fn form<'a>(
    book: &'a Book,
    policy: &Policy,
    quiet: &dyn Quieting,
    receivers: &'a [Receiver<'a>],
    wall: DateTime<Utc>,
) -> HashMap<String, Forming<'a>> {
    let mut forming: HashMap<String, Forming<'a>> = HashMap::new();
    for entry in book.firing() {
        let alert = &entry.alert;
        let tags = book.tags(&alert.host);
        let notifiable =
            inhibited_by(book, entry).is_none() && quiet.silencing(alert, tags, wall).is_empty();
        let acked = quiet.acked(alert).is_some();
        for taken in routes_of(policy, alert, tags) {
            let chosen = receivers.iter().filter(|receiver| {
                taken
                    .sinks
                    .is_none_or(|sinks| sinks.iter().any(|sink| sink == receiver.name))
                    && (receiver.accepts)(alert)
            });
            // Labels and the key's tail once per route; per receiver only its name.
            let labels = group_labels(taken.group_by, alert, tags);
            let tail = key_tail(taken.route, &labels);
            for receiver in chosen {
                let key = format!("{}/{tail}", receiver.name);
                let group = forming.entry(key).or_insert_with(|| Forming {
                    receiver: receiver.name,
                    labels: labels.clone(),
                    timing: taken.timing,
                    arrived: entry.arrived,
                    alerts: Vec::new(),
                });
                group.arrived = group.arrived.min(entry.arrived);
                group.alerts.push(Member {
                    alert,
                    notifiable,
                    acked,
                });
            }
        }
    }
    forming
}

/// The values of the `group_by` names on `alert` (whose host has `tags`): `host`,
/// `component`, `metric`, `level`, `tags` (comma-joined) or any label; a name the
/// alert lacks is left out, as Alertmanager does.
pub(super) fn group_labels(
    group_by: &[String],
    alert: &Alert,
    tags: &[String],
) -> BTreeMap<String, String> {
    group_by
        .iter()
        .filter_map(|name| {
            let value = match name.as_str() {
                "host" => alert.host.clone(),
                "component" => alert.component.clone(),
                "metric" => alert.metric.clone(),
                "level" => match alert.level {
                    AlertLevel::Warning => "WARNING".to_owned(),
                    AlertLevel::Critical => "CRITICAL".to_owned(),
                },
                "tags" => tags.join(","),
                label => alert.labels.get(label).cloned().unwrap_or_default(),
            };
            (!value.is_empty()).then(|| (name.clone(), value))
        })
        .collect()
}

/// A group's identity without its receiver (the same for every receiver of a route):
/// the route (`*` without routes) and the grouping labels; the key is
/// `<receiver>/<tail>`, e.g. `chat/0/{host="web-1"}`.
fn key_tail(route: Option<usize>, labels: &BTreeMap<String, String>) -> String {
    let route = route.map_or_else(|| "*".to_owned(), |index| index.to_string());
    let labels: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}={value:?}"))
        .collect();
    format!("{route}/{{{}}}", labels.join(","))
}
