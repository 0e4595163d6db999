//! Label matchers, shared by routes (`[[alerts.routes]]`) and silences: a set of
//! `name = value` pairs that must all hold, exact or as a regex, Alertmanager's way
//! (a regex must match the whole value, so `web-.*` does not match `old-web-1`).
//!
//! The names an alert answers to: `level` (`WARNING`/`CRITICAL`), `component`,
//! `metric`, `host`, `fingerprint`, `state`, `tags` (any one of its host's tags) and
//! every key of its `labels` (`alertname`, `instance`, and the rule's own). A name the
//! alert does not have matches only the empty value, as in Alertmanager.

use std::collections::BTreeMap;

use monitoring_plugin_api::{Alert, AlertLevel, AlertState};
use regex::Regex;
use serde::{Serialize, Serializer};

/// The names that are not labels of the rule but fields of the alert.
pub const FIELD_NAMES: [&str; 7] = [
    "level",
    "component",
    "metric",
    "host",
    "fingerprint",
    "state",
    "tags",
];

/// Longest matcher value, regex or not, in bytes: a pattern is compiled once, but a
/// client must not hand the server a megabyte of one.
pub const MAX_MATCHER_BYTES: usize = 1024;

/// Most matchers in one set.
pub const MAX_MATCHERS: usize = 32;

/// One compiled matcher set.
#[derive(Debug, Clone, Default)]
pub struct Matchers {
    exact: BTreeMap<String, String>,
    regex: BTreeMap<String, Pattern>,
}

/// A regex with the text it was written as, for listing it back.
#[derive(Debug, Clone)]
struct Pattern {
    source: String,
    compiled: Regex,
}

impl Matchers {
    /// Compiles `exact` and `regex` matchers, or says which one is wrong (its name,
    /// then what is wrong).
    pub fn new(
        exact: BTreeMap<String, String>,
        regex: BTreeMap<String, String>,
    ) -> Result<Self, (String, String)> {
        if exact.len() + regex.len() > MAX_MATCHERS {
            return Err((
                String::new(),
                format!(
                    "at most {MAX_MATCHERS} matchers, got {}",
                    exact.len() + regex.len()
                ),
            ));
        }
        for (name, value) in exact.iter().chain(regex.iter()) {
            if name.is_empty() || name.len() > 128 {
                return Err((
                    name.clone(),
                    "a matcher needs a name of 1 to 128 bytes".into(),
                ));
            }
            if value.len() > MAX_MATCHER_BYTES {
                return Err((
                    name.clone(),
                    format!("at most {MAX_MATCHER_BYTES} bytes, got {}", value.len()),
                ));
            }
        }
        let regex = regex
            .into_iter()
            .map(|(name, source)| {
                let compiled = regex::RegexBuilder::new(&format!("^(?:{source})$"))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| (name.clone(), format!("not a valid regex: {e}")))?;
                Ok((name, Pattern { source, compiled }))
            })
            .collect::<Result<_, (String, String)>>()?;
        Ok(Self { exact, regex })
    }

    /// Whether there is no matcher at all (matches everything).
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.regex.is_empty()
    }

    /// Whether every matcher holds for `alert`, whose host has `tags`.
    pub fn matches(&self, alert: &Alert, tags: &[String]) -> bool {
        self.exact
            .iter()
            .all(|(name, want)| any_value(alert, tags, name, |value| value == want))
            && self.regex.iter().all(|(name, pattern)| {
                any_value(alert, tags, name, |value| pattern.compiled.is_match(value))
            })
    }

    /// The exact matchers, as written.
    pub fn exact(&self) -> &BTreeMap<String, String> {
        &self.exact
    }

    /// The regex matchers, as written (without the anchors added to them).
    pub fn regex(&self) -> BTreeMap<String, String> {
        self.regex
            .iter()
            .map(|(name, pattern)| (name.clone(), pattern.source.clone()))
            .collect()
    }
}

/// Whether `test` holds for one of the values `name` has on `alert`: one for a field
/// or label, each tag for `tags`, and the empty string for a name it lacks.
fn any_value(alert: &Alert, tags: &[String], name: &str, test: impl Fn(&str) -> bool) -> bool {
    let level = match alert.level {
        AlertLevel::Warning => "WARNING",
        AlertLevel::Critical => "CRITICAL",
    };
    let state = match alert.state {
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    };
    match name {
        "level" => test(level),
        "component" => test(&alert.component),
        "metric" => test(&alert.metric),
        "host" => test(&alert.host),
        "fingerprint" => test(&alert.fingerprint),
        "state" => test(state),
        "tags" if tags.is_empty() => test(""),
        "tags" => tags.iter().any(|tag| test(tag)),
        label => test(alert.labels.get(label).map_or("", String::as_str)),
    }
}

impl Serialize for Matchers {
    /// As the API takes them: `{"matchers": {…}, "matchers_regex": {…}}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Written<'a> {
            matchers: &'a BTreeMap<String, String>,
            matchers_regex: BTreeMap<String, String>,
        }
        Written {
            matchers: &self.exact,
            matchers_regex: self.regex(),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert {
            component: "disk".into(),
            metric: "usage_percent".into(),
            level: AlertLevel::Critical,
            host: "web-1".into(),
            labels: [("instance".to_owned(), "/data".to_owned())].into(),
            ..Alert::default()
        }
    }

    fn set(exact: &[(&str, &str)], regex: &[(&str, &str)]) -> Result<Matchers, (String, String)> {
        let owned = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        Matchers::new(owned(exact), owned(regex))
    }

    #[test]
    fn exact_and_regex_must_all_hold() {
        let tags = ["db".to_owned(), "eu".to_owned()];
        let yes = |m: Matchers| assert!(m.matches(&alert(), &tags));
        let no = |m: Matchers| assert!(!m.matches(&alert(), &tags));
        yes(set(&[], &[]).unwrap_or_default());
        yes(set(&[("component", "disk"), ("host", "web-1")], &[]).unwrap_or_default());
        yes(set(&[("level", "CRITICAL"), ("instance", "/data")], &[]).unwrap_or_default());
        yes(set(&[("tags", "eu")], &[("host", "web-\\d+")]).unwrap_or_default());
        no(set(&[("component", "memory")], &[]).unwrap_or_default());
        no(set(&[("tags", "us")], &[]).unwrap_or_default());
        no(set(&[], &[("host", "web")]).unwrap_or_default());
        // A label the alert lacks is the empty string.
        yes(set(&[("team", "")], &[]).unwrap_or_default());
        no(set(&[("team", "ops")], &[]).unwrap_or_default());
    }

    #[test]
    fn a_bad_regex_names_its_matcher() {
        let (name, message) = set(&[], &[("host", "web-(")]).err().unwrap_or_default();
        assert_eq!(name, "host");
        assert!(message.contains("regex"), "{message}");
        let long = "x".repeat(MAX_MATCHER_BYTES + 1);
        assert!(set(&[("host", &long)], &[]).is_err());
    }
}
