//! Sections made from scripts (issue 24) on `/metrics`: a Prometheus section's
//! families under their own names, types, help and labels (as node_exporter's
//! textfile collector re-exposes `*.prom` files); an Influx section's fields as
//! `<measurement>_<field>` with the tags as labels (Telegraf's `prometheus_client`
//! naming); a Nagios check's state and perfdata as `nagios_*`; the `exec` section's
//! per-command status as `monitoring_exec_*{command}`.
//!
//! Script names are hostile: each family goes through [`RawFamily`]'s checks and the
//! emitter's claims, so an invalid name or a name already exposed (ours, or an earlier
//! section's) is refused, logged once per name and counted in
//! `monitoring_scripted_families_refused`, and the exposition stays valid.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use monitoring_plugin_api::sections::scripted::{
    Exec, FamilyKind, InfluxSection, NagiosSection, NagiosState, PrometheusSection, ScriptFormat,
};
use monitoring_plugin_api::Sections;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::generic::sanitize;
use crate::raw::{RawFamily, RawKind};
use crate::{labels, Emit, Labels, Unit};

/// How many refused names are remembered so each is logged once; past it, refusals
/// are still counted but no longer logged (a script inventing names cannot grow it).
const MAX_LOGGED_REFUSALS: usize = 256;

/// A script section in its parsed shape.
enum Scripted {
    Prometheus(PrometheusSection),
    Influx(InfluxSection),
    Nagios(NagiosSection),
}

/// `value` as a parsed script section, when its `format` tag says it is one and it
/// matches that format's schema. A `json` script's object (no tag) and an object that
/// merely has a `format` key are not: they are exported generically.
fn scripted(value: &Value) -> Option<Scripted> {
    fn parse<T: DeserializeOwned>(value: &Value) -> Option<T> {
        T::deserialize(value).ok()
    }
    match ScriptFormat::of(value)? {
        ScriptFormat::Prometheus => parse(value).map(Scripted::Prometheus),
        ScriptFormat::Influx => parse(value).map(Scripted::Influx),
        ScriptFormat::Nagios => parse(value).map(Scripted::Nagios),
        ScriptFormat::Json => None,
    }
}

/// Whether `value` is a parsed script section, which [`scripted_series`] exports
/// (and the generic flattening therefore skips).
pub fn is_scripted(value: &Value) -> bool {
    scripted(value).is_some()
}

/// The series of every script section of `data`. Called after all our own series so
/// that ours win a name clash.
pub fn scripted_series(b: &mut dyn Emit, data: &Sections) {
    let mut nagios = Families::default();
    let mut refused = 0u64;
    let mut any = false;
    for (section, value) in data {
        let families = match scripted(value) {
            Some(Scripted::Prometheus(p)) => prometheus_families(&p),
            Some(Scripted::Influx(i)) => influx_families(section, &i),
            Some(Scripted::Nagios(n)) => {
                // Every check shares the `nagios_*` families: merged, then emitted once.
                any = true;
                for family in nagios_families(section, &n) {
                    nagios.merge(family);
                }
                continue;
            }
            None => continue,
        };
        any = true;
        for family in families {
            refused += u64::from(!expose(b, section, family));
        }
    }
    for family in nagios.all {
        refused += u64::from(!expose(b, "nagios", family));
    }
    if any {
        b.gauge(
            "monitoring_scripted_families_refused",
            "Script families not exposed: an invalid name, or one already exposed",
            None,
            vec![],
            refused as f64,
        );
    }
}

/// Emits `family` unless it is invalid or its name is taken; `false` when refused.
fn expose(b: &mut dyn Emit, section: &str, family: RawFamily) -> bool {
    if family.samples.is_empty() {
        return true;
    }
    let problem = match family.problem() {
        Some(problem) => problem,
        None if b.raw_family(&family) => return true,
        None => "its name is already exposed (the first wins)".to_owned(),
    };
    log_refusal_once(section, &family.name, &problem);
    false
}

fn log_refusal_once(section: &str, family: &str, problem: &str) {
    static LOGGED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let key = format!("{section}\u{0}{family}");
    let Ok(mut logged) = LOGGED.lock() else {
        return;
    };
    let logged = logged.get_or_insert_with(HashSet::new);
    if logged.len() < MAX_LOGGED_REFUSALS && logged.insert(key) {
        tracing::warn!(
            section,
            family,
            problem,
            "Script metric family not exposed on /metrics."
        );
    }
}

/// Families in the order first seen, found by (name, kind) in O(1): a script may
/// print thousands of families.
#[derive(Default)]
struct Families {
    all: Vec<RawFamily>,
    index: HashMap<(String, RawKind), usize>,
}

impl Families {
    /// Adds `family`'s samples to the family of the same name and kind (or appends
    /// it). A name seen with another kind (a script printing one name under two
    /// `# TYPE`s) is appended separately, so the claims refuse it.
    fn merge(&mut self, family: RawFamily) {
        match self.index.get(&(family.name.clone(), family.kind)) {
            Some(&at) => family
                .samples
                .into_iter()
                .for_each(|(labels, value)| self.all[at].push(labels, value)),
            None => {
                self.index
                    .insert((family.name.clone(), family.kind), self.all.len());
                self.all.push(family);
            }
        }
    }
}

/// A Prometheus section's families under their own names. A counter's `_total`
/// samples stay a counter; a gauge stays a gauge; everything else (untyped, a
/// histogram's `_bucket`/`_sum`/`_count`, a summary's quantiles, a counter sample not
/// ending in `_total`) keeps its sample name and labels, exposed untyped, because
/// `prometheus-client` can only write histograms it observed itself and no summaries.
fn prometheus_families(section: &PrometheusSection) -> Vec<RawFamily> {
    let mut out = Families::default();
    for family in &section.families {
        for sample in &family.samples {
            let (name, kind) = match family.kind {
                FamilyKind::Counter => match sample.name.strip_suffix("_total") {
                    Some(base) => (base, RawKind::Counter),
                    None => (sample.name.as_str(), RawKind::Untyped),
                },
                FamilyKind::Gauge if sample.name == family.name => {
                    (sample.name.as_str(), RawKind::Gauge)
                }
                _ => (sample.name.as_str(), RawKind::Untyped),
            };
            let labels: Labels = sample
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut one = RawFamily::new(name, kind, &family.help);
            one.push(labels, sample.value);
            out.merge(one);
        }
    }
    out.all
}

/// An Influx section's number and boolean fields as `<measurement>_<field>` gauges,
/// tags as labels; string fields have no number and are skipped.
fn influx_families(section: &str, influx: &InfluxSection) -> Vec<RawFamily> {
    let mut out = Families::default();
    for (measurement, points) in &influx.measurements {
        for point in points {
            let tags: Labels = point
                .tags
                .iter()
                .map(|(k, v)| (sanitize(k), v.clone()))
                .collect();
            for (field, value) in &point.fields {
                let number = match value {
                    Value::Number(n) => n.as_f64(),
                    Value::Bool(flag) => Some(f64::from(u8::from(*flag))),
                    _ => None,
                };
                let Some(number) = number else { continue };
                let name = format!("{}_{}", sanitize(measurement), sanitize(field));
                let help = format!("Influx field `{field}` of `{measurement}` ({section})");
                let mut one = RawFamily::new(name, RawKind::Gauge, help);
                one.push(tags.clone(), number);
                out.merge(one);
            }
        }
    }
    out.all
}

/// A Nagios check's state (`nagios_check_state{check}`: 0 OK, 1 WARNING, 2
/// CRITICAL, 3 UNKNOWN) and perfdata (`nagios_perfdata_value{check,label,unit}` and
/// its numeric thresholds and bounds).
fn nagios_families(check: &str, nagios: &NagiosSection) -> Vec<RawFamily> {
    let state = match nagios.state {
        NagiosState::Ok => 0.0,
        NagiosState::Warning => 1.0,
        NagiosState::Critical => 2.0,
        NagiosState::Unknown => 3.0,
    };
    let mut state_family = RawFamily::new(
        "nagios_check_state",
        RawKind::Gauge,
        "A Nagios check's state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
    );
    state_family.push(labels(&[("check", check)]), state);
    let mut out = vec![state_family];
    let parts: [(&str, &str); 5] = [
        ("value", "A Nagios check's perfdata value, in its unit"),
        (
            "warning",
            "A perfdata item's warning threshold, when a plain number",
        ),
        (
            "critical",
            "A perfdata item's critical threshold, when a plain number",
        ),
        ("min", "A perfdata item's minimum"),
        ("max", "A perfdata item's maximum"),
    ];
    for (part, help) in parts {
        let mut family = RawFamily::new(format!("nagios_perfdata_{part}"), RawKind::Gauge, help);
        for (label, item) in &nagios.perfdata {
            let number = match part {
                "value" => Some(item.value),
                "warning" => item.warn.as_deref().and_then(plain_number),
                "critical" => item.crit.as_deref().and_then(plain_number),
                "min" => item.min,
                _ => item.max,
            };
            if let Some(number) = number {
                let at = labels(&[("check", check), ("label", label), ("unit", &item.unit)]);
                family.push(at, number);
            }
        }
        out.push(family);
    }
    out
}

/// A threshold range that is one number (`10`, meaning `0:10`), as that number.
fn plain_number(range: &str) -> Option<f64> {
    range.trim().parse().ok()
}

/// The `exec` section: each command's last run, duration, exit code, runs, failures
/// and restarts, labelled `command`.
pub(crate) fn exec(b: &mut dyn Emit, exec: &Exec) {
    for (command, status) in &exec.commands {
        let at = || labels(&[("command", command)]);
        let last_run = status.last_run.as_deref().and_then(|text| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()?
                .and_local_timezone(chrono::Local)
                .earliest()
        });
        if let Some(at_time) = last_run {
            let seconds = at_time.timestamp_micros() as f64 / 1e6;
            let help = "When the command's last run ended, Unix time";
            let unit = Some(Unit::Seconds);
            b.gauge(
                "monitoring_exec_last_run_timestamp",
                help,
                unit,
                at(),
                seconds,
            );
        }
        let help = "How long the command's last run took";
        let seconds = status.duration_ms / 1e3;
        b.gauge(
            "monitoring_exec_duration",
            help,
            Some(Unit::Seconds),
            at(),
            seconds,
        );
        if let Some(code) = status.exit_code {
            let help = "The command's last exit code";
            b.gauge(
                "monitoring_exec_exit_code",
                help,
                None,
                at(),
                f64::from(code),
            );
        }
        let failing = f64::from(u8::from(status.error.is_some()));
        let help = "Whether the command's last run failed (1) or was good (0)";
        b.gauge("monitoring_exec_failing", help, None, at(), failing);
        for (name, help, value) in [
            (
                "monitoring_exec_runs",
                "Runs (or daemon readings)",
                status.runs,
            ),
            ("monitoring_exec_failures", "Failed runs", status.failures),
            (
                "monitoring_exec_restarts",
                "Daemon restarts",
                status.restarts,
            ),
        ] {
            b.counter(name, help, at(), value);
        }
    }
}
