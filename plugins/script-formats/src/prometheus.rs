//! The Prometheus text exposition format (version 0.0.4, what node_exporter's textfile
//! collector reads), parsed into a [`PrometheusSection`].
//!
//! Why a parser of our own: the crates that parse this format (`prometheus-parse`,
//! checked for issue 24) skip a line they cannot read without saying so, lose the order
//! of families and give no line numbers; a script's output is hostile input whose
//! every error must name its line. The grammar is small: `# HELP name text`,
//! `# TYPE name kind`, other `#` comments, and `name{label="value",…} value [timestamp]`
//! with `\\`, `\"` and `\n` escapes in label values (and `\\`, `\n` in help).
//!
//! A sample belongs to the family of its name, or for a histogram to its `_bucket`,
//! `_sum` and `_count`, for a summary to its `_sum` and `_count`. Samples that are not
//! finite are dropped (JSON cannot carry them); timestamps are read and reported (the
//! textfile collector refuses files that have them, as node_exporter does).

use std::collections::{BTreeMap, HashMap, HashSet};

use monitoring_plugin_api::sections::scripted::{
    Family, FamilyKind, PrometheusSection, Sample, ScriptFormat,
};

use crate::ParseError;

/// A parsed exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The section.
    pub section: PrometheusSection,
    /// Whether any sample carried a timestamp.
    pub has_timestamps: bool,
}

/// Parses a whole exposition.
pub fn parse(text: &str) -> Result<Parsed, ParseError> {
    let mut builder = Builder::default();
    for (index, line) in text.lines().enumerate() {
        builder
            .line(line)
            .map_err(|message| ParseError::at(index + 1, message))?;
    }
    Ok(builder.finish())
}

#[derive(Default)]
struct Builder {
    families: Vec<Family>,
    /// Family index by name.
    index: HashMap<String, usize>,
    /// Families that already have a `# TYPE` / `# HELP` line.
    typed: Vec<bool>,
    helped: Vec<bool>,
    /// Every (sample name, labels) so far: a repeat is an error, found without a scan
    /// (a 1 MiB output holds ~100 000 samples; scanning for each would be quadratic).
    seen: HashSet<(String, BTreeMap<String, String>)>,
    has_timestamps: bool,
}

impl Builder {
    fn line(&mut self, line: &str) -> Result<(), String> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(());
        }
        if let Some(comment) = line.strip_prefix('#') {
            return self.comment(comment.trim_start());
        }
        self.sample(line)
    }

    fn comment(&mut self, comment: &str) -> Result<(), String> {
        let mut words = comment.splitn(3, [' ', '\t']);
        let keyword = words.next().unwrap_or_default();
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        let name = words.next().unwrap_or_default();
        check_metric_name(name)?;
        let rest = words.next().unwrap_or_default().trim();
        let family = self.family(name);
        if keyword == "HELP" {
            if std::mem::replace(&mut self.helped[family], true) {
                return Err(format!("second HELP line for `{name}`"));
            }
            self.families[family].help = unescape_help(rest);
            return Ok(());
        }
        if std::mem::replace(&mut self.typed[family], true) {
            return Err(format!("second TYPE line for `{name}`"));
        }
        if !self.families[family].samples.is_empty() {
            return Err(format!("TYPE line for `{name}` after its samples"));
        }
        self.families[family].kind = match rest {
            "counter" => FamilyKind::Counter,
            "gauge" => FamilyKind::Gauge,
            "histogram" => FamilyKind::Histogram,
            "summary" => FamilyKind::Summary,
            "untyped" => FamilyKind::Untyped,
            other => return Err(format!("unknown metric type `{other}` for `{name}`")),
        };
        Ok(())
    }

    fn sample(&mut self, line: &str) -> Result<(), String> {
        let name_end = line
            .find(|c: char| c == '{' || c.is_ascii_whitespace())
            .ok_or_else(|| format!("`{}` has no value", shorten(line)))?;
        let name = &line[..name_end];
        check_metric_name(name)?;
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(after_brace) = rest.strip_prefix('{') {
            rest = parse_labels(after_brace, &mut labels)?;
        }
        let mut fields = rest.split_ascii_whitespace();
        let value_text = fields
            .next()
            .ok_or_else(|| format!("`{name}` has no value"))?;
        let value = parse_value(value_text)
            .ok_or_else(|| format!("`{value_text}` is not a number (sample `{name}`)"))?;
        if let Some(timestamp) = fields.next() {
            timestamp
                .parse::<i64>()
                .map_err(|_| format!("`{timestamp}` is not a timestamp (sample `{name}`)"))?;
            self.has_timestamps = true;
        }
        if let Some(extra) = fields.next() {
            return Err(format!("unexpected `{}` after the sample", shorten(extra)));
        }
        let family = self.family_of(name);
        if !self.seen.insert((name.to_owned(), labels.clone())) {
            return Err(format!("`{name}` repeated with the same labels"));
        }
        if value.is_finite() {
            self.families[family].samples.push(Sample {
                name: name.to_owned(),
                labels,
                value,
            });
        }
        Ok(())
    }

    /// The family `name` declares, created when new.
    fn family(&mut self, name: &str) -> usize {
        if let Some(&index) = self.index.get(name) {
            return index;
        }
        self.families.push(Family {
            name: name.to_owned(),
            kind: FamilyKind::Untyped,
            help: String::new(),
            samples: Vec::new(),
        });
        self.typed.push(false);
        self.helped.push(false);
        let index = self.families.len() - 1;
        self.index.insert(name.to_owned(), index);
        index
    }

    /// The family a sample of `name` belongs to.
    fn family_of(&mut self, name: &str) -> usize {
        for suffix in ["_bucket", "_sum", "_count"] {
            let Some(base) = name.strip_suffix(suffix) else {
                continue;
            };
            if let Some(&index) = self.index.get(base) {
                let kind = self.families[index].kind;
                let fits = match kind {
                    FamilyKind::Histogram => true,
                    FamilyKind::Summary => suffix != "_bucket",
                    _ => false,
                };
                if fits {
                    return index;
                }
            }
        }
        self.family(name)
    }

    fn finish(self) -> Parsed {
        let families: Vec<Family> = self
            .families
            .into_iter()
            .filter(|family| !family.samples.is_empty())
            .collect();
        let values = families
            .iter()
            .flat_map(|family| &family.samples)
            .filter(|sample| sample.labels.is_empty())
            .map(|sample| (sample.name.clone(), sample.value))
            .collect();
        Parsed {
            section: PrometheusSection {
                format: ScriptFormat::Prometheus,
                families,
                values,
            },
            has_timestamps: self.has_timestamps,
        }
    }
}

/// Reads `name="value",…}` into `labels`; returns what follows the `}`.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut BTreeMap<String, String>,
) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let eq = rest
            .find('=')
            .ok_or_else(|| "a label without `=`".to_owned())?;
        let label = rest[..eq].trim();
        check_label_name(label)?;
        rest = rest[eq + 1..].trim_start();
        let quoted = rest
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of label `{label}` is not quoted"))?;
        let (value, after) = quoted_value(quoted)
            .ok_or_else(|| format!("the value of label `{label}` has no closing quote"))?;
        if labels.insert(label.to_owned(), value).is_some() {
            return Err(format!("label `{label}` given twice"));
        }
        rest = after.trim_start();
        if let Some(after_comma) = rest.strip_prefix(',') {
            rest = after_comma;
        } else if !rest.starts_with('}') {
            return Err(format!("expected `,` or `}}` after label `{label}`"));
        }
    }
}

/// The unescaped value up to the closing quote, and what follows it.
fn quoted_value(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

/// A help text with its `\\` and `\n` escapes undone.
fn unescape_help(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Go's `strconv.ParseFloat` spellings Prometheus accepts, including `NaN`, `+Inf`, `-Inf`.
fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ if text
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') =>
        {
            None
        }
        _ => text.parse().ok(),
    }
}

fn check_metric_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.chars().enumerate().all(|(i, c)| {
            c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
        });
    if valid {
        Ok(())
    } else {
        Err(format!("`{}` is not a valid metric name", shorten(name)))
    }
}

fn check_label_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
    if valid {
        Ok(())
    } else {
        Err(format!("`{}` is not a valid label name", shorten(name)))
    }
}

/// At most 64 characters of a hostile token, for an error message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
#[path = "prometheus_tests.rs"]
mod tests;
