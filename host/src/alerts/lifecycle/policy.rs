//! `[alerts]`'s notification keys checked and compiled: grouping, timing and routes.
//!
//! Everything a file can get wrong is refused here, once, at start or reload, naming
//! the route and key, so the lifecycle itself never meets a bad duration or regex.

use std::time::Duration;

use super::super::matchers::Matchers;
use crate::config::alerts::{AlertsConfig, RouteConfig};

/// Longest duration `[alerts]` takes, seconds (a year): longer is a typo, and
/// `Duration::from_secs_f64` must never see a value it cannot hold.
pub const MAX_SECONDS: f64 = 365.0 * 86_400.0;

/// Most `[[alerts.routes]]` entries: each alert is matched against every one of them.
pub const MAX_ROUTES: usize = 256;

/// Most names in one `group_by`, and most sinks in one route.
pub const MAX_NAMES: usize = 32;

/// Longest label name in `group_by` or sink name in `sinks`, bytes.
pub const MAX_NAME_BYTES: usize = 128;

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

impl PolicyError {
    fn new(route: Option<usize>, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            route,
            key: key.into(),
            message: message.into(),
        }
    }
}

impl Policy {
    /// Checks and compiles `[alerts]`'s grouping, timing and routes. `repeat_interval`
    /// defaults to `cooldown`, its alias.
    pub fn from_config(config: &AlertsConfig) -> Result<Self, PolicyError> {
        let top = |key: &str, value: f64, positive: bool| {
            seconds(value, positive).map_err(|message| PolicyError::new(None, key, message))
        };
        let repeat_interval = match config.repeat_interval {
            Some(value) => top("repeat_interval", value, false)?,
            None => top("cooldown", config.cooldown, false)?,
        };
        let policy = Self {
            group_wait: top("group_wait", config.group_wait, false)?,
            group_interval: top("group_interval", config.group_interval, true)?,
            repeat_interval,
            group_by: names(&config.group_by)
                .map_err(|message| PolicyError::new(None, "group_by", message))?,
            routes: Vec::new(),
        };
        if config.routes.len() > MAX_ROUTES {
            let message = format!("at most {MAX_ROUTES} routes, got {}", config.routes.len());
            return Err(PolicyError::new(None, "routes", message));
        }
        let routes = config
            .routes
            .iter()
            .enumerate()
            .map(|(index, route)| {
                Route::compile(route.get_ref())
                    .map_err(|(key, message)| PolicyError::new(Some(index), key, message))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { routes, ..policy })
    }

    /// What an operator should hear about these routes, given the sinks that are
    /// configured: a route naming a sink that is not one, and routes without a last
    /// catch-all (an alert that no route matches reaches no sink, as in Alertmanager).
    pub fn warnings(&self, sinks: &[String]) -> Vec<String> {
        let mut warnings = Vec::new();
        for (index, route) in self.routes.iter().enumerate() {
            for name in route.sinks.iter().filter(|name| !sinks.contains(name)) {
                warnings.push(format!(
                    "`alerts.routes[{index}].sinks` names `{name}`, which is no enabled sink \
                     (enabled: {}); that route's alerts reach nobody there",
                    sinks.join(", ")
                ));
            }
        }
        if self
            .routes
            .last()
            .is_some_and(|last| !last.matchers.is_empty())
        {
            warnings.push(
                "every `[[alerts.routes]]` has matchers: an alert that no route matches reaches \
                 no sink; end with a route without matchers to catch the rest"
                    .to_owned(),
            );
        }
        warnings
    }
}

impl AlertsConfig {
    /// [`Policy::from_config`] as a method, so `config` checks a file's policy at
    /// start without naming this module, which lies downstream of it (as
    /// `AlertsConfig::compile` does for the rules).
    pub fn policy(&self) -> Result<Policy, PolicyError> {
        Policy::from_config(self)
    }
}

impl Route {
    /// One route, or the key that is wrong and why.
    fn compile(config: &RouteConfig) -> Result<Self, (String, String)> {
        if config.sinks.is_empty() {
            return Err(("sinks".into(), "name at least one sink".into()));
        }
        let sinks = names(&config.sinks).map_err(|message| ("sinks".to_owned(), message))?;
        let matchers = Matchers::new(config.matchers.clone(), config.matchers_regex.clone())
            .map_err(|(name, message)| {
                let key = if name.is_empty() {
                    "matchers".to_owned()
                } else if config.matchers_regex.contains_key(&name) {
                    format!("matchers_regex.{name}")
                } else {
                    format!("matchers.{name}")
                };
                (key, message)
            })?;
        let group_by = config
            .group_by
            .as_deref()
            .map(names)
            .transpose()
            .map_err(|message| ("group_by".to_owned(), message))?;
        let optional = |key: &str, value: Option<f64>, positive: bool| {
            value
                .map(|value| seconds(value, positive))
                .transpose()
                .map_err(|message| (key.to_owned(), message))
        };
        Ok(Self {
            matchers,
            sinks,
            continue_matching: config.continue_matching,
            group_by,
            group_wait: optional("group_wait", config.group_wait, false)?,
            group_interval: optional("group_interval", config.group_interval, true)?,
            repeat_interval: optional("repeat_interval", config.repeat_interval, false)?,
        })
    }
}

/// A number of seconds as a `Duration`: finite, at least 0 (above 0 if `positive`),
/// at most [`MAX_SECONDS`].
fn seconds(value: f64, positive: bool) -> Result<Duration, String> {
    let low_ok = if positive { value > 0.0 } else { value >= 0.0 };
    if value.is_finite() && low_ok && value <= MAX_SECONDS {
        Ok(Duration::from_secs_f64(value))
    } else {
        let least = if positive { "above 0" } else { "at least 0" };
        Err(format!(
            "must be a number of seconds, {least} and at most {MAX_SECONDS}, got {value}"
        ))
    }
}

/// A list of label or sink names: each 1 to [`MAX_NAME_BYTES`] bytes, at most
/// [`MAX_NAMES`] of them.
fn names(list: &[String]) -> Result<Vec<String>, String> {
    if list.len() > MAX_NAMES {
        return Err(format!("at most {MAX_NAMES} names, got {}", list.len()));
    }
    match list
        .iter()
        .position(|name| name.trim().is_empty() || name.len() > MAX_NAME_BYTES)
    {
        Some(index) => Err(format!(
            "name {index} must be 1 to {MAX_NAME_BYTES} bytes and not blank"
        )),
        None => Ok(list.to_vec()),
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
