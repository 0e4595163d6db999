//! Which routes an alert takes: the first `[[alerts.routes]]` entry it matches, and
//! the later ones while the matched ones say `continue`; with no routes at all, one
//! catch-all route to every receiver, as before routes existed.
//!
//! When routes exist and none matches, the alert goes nowhere (it still shows on the
//! dashboard): an operator who writes routes says who gets what, and a last route
//! without matchers is the catch-all.

use std::time::Duration;

use monitoring_plugin_api::Alert;

use super::policy::{Policy, Route};

/// The timings a group follows: the route's overrides over the policy's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Timing {
    /// Before a new group's first notification.
    pub wait: Duration,
    /// Between two notifications of a changed group.
    pub interval: Duration,
    /// Before an unchanged firing group is sent again.
    pub repeat: Duration,
}

/// One route an alert takes.
pub(super) struct Taken<'a> {
    /// The route's index, `None` for the catch-all of a policy without routes.
    pub route: Option<usize>,
    /// Its receivers; `None`: every receiver.
    pub sinks: Option<&'a [String]>,
    /// The labels its groups are split by.
    pub group_by: &'a [String],
    /// Its timings.
    pub timing: Timing,
}

/// The routes `alert` (whose host has `tags`) takes under `policy`.
pub(super) fn routes_of<'a>(policy: &'a Policy, alert: &Alert, tags: &[String]) -> Vec<Taken<'a>> {
    if policy.routes.is_empty() {
        return vec![Taken {
            route: None,
            sinks: None,
            group_by: &policy.group_by,
            timing: timing(policy, None),
        }];
    }
    let mut taken = Vec::new();
    for (index, route) in policy.routes.iter().enumerate() {
        if !route.matchers.matches(alert, tags) {
            continue;
        }
        taken.push(Taken {
            route: Some(index),
            sinks: Some(&route.sinks),
            group_by: route.group_by.as_deref().unwrap_or(&policy.group_by),
            timing: timing(policy, Some(route)),
        });
        if !route.continue_matching {
            break;
        }
    }
    taken
}

/// The timings of `route` (or of the policy itself).
pub(super) fn timing(policy: &Policy, route: Option<&Route>) -> Timing {
    Timing {
        wait: route
            .and_then(|r| r.group_wait)
            .unwrap_or(policy.group_wait),
        interval: route
            .and_then(|r| r.group_interval)
            .unwrap_or(policy.group_interval),
        repeat: route
            .and_then(|r| r.repeat_interval)
            .unwrap_or(policy.repeat_interval),
    }
}
