//! [`RawFamily`]: a metric family a script named itself (a Prometheus section's
//! families, an Influx measurement's fields, a Nagios check's perfdata), and the
//! checks that keep it from breaking the exposition.
//!
//! Our own series go through [`Emit::gauge`](crate::Emit::gauge) and friends with names
//! we chose; a script's names come from hostile text. So a raw family is checked
//! against the exposition's grammar (metric and label names), its samples are made
//! unique by labels (a repeated series is a scrape error in Prometheus), and every name
//! it would expose is *claimed*: an emitter refuses a family one of whose names is
//! already taken, so the first family of a name wins and the text stays valid.

use std::collections::HashSet;

use crate::{Labels, Unit};

/// How a raw family is typed in the exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawKind {
    /// A counter: the family's name is its base, every sample is `<name>_total`.
    Counter,
    /// A gauge: every sample is `<name>`.
    Gauge,
    /// Untyped (`unknown` in OpenMetrics): every sample is `<name>`.
    Untyped,
}

/// A family exposed under a name its section chose.
#[derive(Debug, Clone)]
pub struct RawFamily {
    /// The family's name as registered (a counter's without `_total`).
    pub name: String,
    /// Its type.
    pub kind: RawKind,
    /// Its help text.
    pub help: String,
    /// Its samples, one per distinct label set.
    pub samples: Vec<(Labels, f64)>,
    /// The label sets in `samples`, so a repeat is found in O(1) (a script may
    /// print tens of thousands of samples).
    seen: HashSet<Labels>,
}

impl PartialEq for RawFamily {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, self.kind, &self.help, &self.samples)
            == (&other.name, other.kind, &other.help, &other.samples)
    }
}

impl RawFamily {
    /// A family with no samples yet; its help made safe by [`safe_help`].
    pub fn new(name: impl Into<String>, kind: RawKind, help: impl AsRef<str>) -> Self {
        Self {
            name: name.into(),
            kind,
            help: safe_help(help.as_ref()),
            samples: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// Adds a sample unless its labels are already there (the first wins), its value
    /// is not finite (JSON and remote write cannot carry it) or it is a negative
    /// counter (which no counter can be).
    pub fn push(&mut self, labels: Labels, value: f64) {
        let counter_ok = self.kind != RawKind::Counter || value >= 0.0;
        if value.is_finite() && counter_ok && !self.seen.contains(&labels) {
            self.seen.insert(labels.clone());
            self.samples.push((labels, value));
        }
    }

    /// The name every sample of the family is exposed under.
    pub fn sample_name(&self) -> String {
        match self.kind {
            RawKind::Counter => format!("{}_total", self.name),
            RawKind::Gauge | RawKind::Untyped => self.name.clone(),
        }
    }

    /// Every name the family occupies in the exposition: its descriptor's and its
    /// samples'.
    pub fn claims(&self) -> Vec<String> {
        let mut names = vec![self.name.clone()];
        if self.kind == RawKind::Counter {
            names.push(self.sample_name());
        }
        names
    }

    /// Why the family cannot be exposed (a name outside the exposition's grammar),
    /// or `None` when it can.
    pub fn problem(&self) -> Option<String> {
        if !valid_metric_name(&self.name) {
            return Some(format!("`{}` is not a valid metric name", self.name));
        }
        self.samples
            .iter()
            .flat_map(|(labels, _)| labels.iter())
            .find(|(name, _)| !valid_label_name(name))
            .map(|(name, _)| format!("`{name}` is not a valid label name"))
    }
}

/// The most characters of a script's help text kept.
pub const MAX_HELP_CHARS: usize = 256;

/// `help` with nothing an encoder could mis-write: `prometheus-client` escapes help in
/// the 0.0.4 text but writes it raw in OpenMetrics, where a newline would start a
/// line of the script's choosing. Control characters become spaces, `\` and `"`
/// (the escapes' own characters) become `/` and `'`, and it is cut to
/// [`MAX_HELP_CHARS`].
pub fn safe_help(help: &str) -> String {
    help.chars()
        .take(MAX_HELP_CHARS)
        .map(|c| match c {
            '\\' => '/',
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the exposition's metric name grammar.
pub fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*` and not reserved (`__…`), the label name grammar.
pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    !name.starts_with("__")
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The names exposed so far, shared by both emitters so they refuse the same families.
#[derive(Debug, Default)]
pub struct Claims(HashSet<String>);

impl Claims {
    /// Records the names one of our own families exposes (`name`, `name_unit`,
    /// `name_total`, `name_info`); ours are never refused.
    pub fn own(&mut self, name: &str, unit: Option<Unit>, suffix: Option<&str>) {
        let base = match unit {
            Some(unit) => format!("{name}_{}", unit.as_str()),
            None => name.to_owned(),
        };
        if let Some(suffix) = suffix {
            self.0.insert(format!("{base}_{suffix}"));
        }
        self.0.insert(base);
    }

    /// Claims every name of `family`, or none when one is taken: `false` then.
    pub fn raw(&mut self, family: &RawFamily) -> bool {
        let names = family.claims();
        if names.iter().any(|name| self.0.contains(name)) {
            return false;
        }
        self.0.extend(names);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels;

    #[test]
    fn names_follow_the_exposition_grammar() {
        assert!(valid_metric_name("node_textfile_scrape_error"));
        assert!(valid_metric_name("job:rate5m"));
        assert!(!valid_metric_name("3d"));
        assert!(!valid_metric_name("a b"));
        assert!(!valid_metric_name(""));
        assert!(valid_label_name("le"));
        assert!(!valid_label_name("__name__"));
        assert!(!valid_label_name("a:b"));
    }

    #[test]
    fn help_cannot_start_a_line() {
        let family = RawFamily::new("x", RawKind::Gauge, "a \"b\"\n# TYPE x counter\\");
        assert_eq!(family.help, "a 'b' # TYPE x counter/");
        assert_eq!(safe_help(&"h".repeat(1000)).len(), MAX_HELP_CHARS);
    }

    #[test]
    fn a_repeated_label_set_keeps_its_first_value() {
        let mut family = RawFamily::new("x", RawKind::Gauge, "");
        family.push(labels(&[("a", "1")]), 1.0);
        family.push(labels(&[("a", "1")]), 2.0);
        family.push(labels(&[("a", "2")]), f64::NAN);
        assert_eq!(family.samples, vec![(labels(&[("a", "1")]), 1.0)]);
    }

    #[test]
    fn the_first_family_of_a_name_wins() {
        let mut claims = Claims::default();
        claims.own("system_memory_usage", Some(Unit::Percent), None);
        claims.own("jobs", None, Some("total"));
        let taken = RawFamily::new("system_memory_usage_percent", RawKind::Gauge, "");
        assert!(!claims.raw(&taken));
        let counter = RawFamily::new("jobs", RawKind::Counter, "");
        assert!(!claims.raw(&counter));
        let fresh = RawFamily::new("backup_age_seconds", RawKind::Gauge, "");
        assert!(claims.raw(&fresh));
        assert!(!claims.raw(&fresh));
    }
}
