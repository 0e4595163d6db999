//! The one mapping from a snapshot to Prometheus series, shared by the host's
//! `GET /metrics` and the `remote-write` sink so that the two can never disagree on a
//! name, a label or a value.
//!
//! The mapping calls an [`Emit`] for every reading; what the reading becomes is the
//! emitter's business. The host's emitter fills a `prometheus-client` registry (which
//! writes the text exposition); [`Flatten`] turns each call into the series a scrape of
//! that exposition shows (`name` + unit suffix, `_total` for counters, `_info` for
//! infos), which is what the remote-write sink sends.
//!
//! Names: the core sections are `system_*` after the seed's Prometheus example, in base
//! units (bytes, hertz, seconds, celsius, watts) with percentages as `_percent`; per-core
//! series carry `cpu`, disks `path`, GPUs `gpu_id`. Issue 14's machine sections take
//! node_exporter's names (`node_network_receive_bytes_total{device}`, …; `machine.rs`),
//! and the core sections also give node_exporter's CPU, memory, filesystem, boot time
//! and uname series beside their `system_*` ones (`node.rs`).
//! Third-party sections are flattened: `system_<section>_<field>`, array elements
//! labelled `index`. Sections made by scripts (issue 24; `scripted.rs`) keep the names
//! the script chose, checked and claimed first-wins (`raw.rs`), after all our own.

mod flatten;
mod generic;
mod machine;
mod node;
mod raw;
mod scripted;
mod snapshot;

pub use flatten::{Flatten, Series};
pub use generic::sanitize;
pub use raw::{valid_label_name, valid_metric_name, Claims, RawFamily, RawKind};
pub use scripted::{is_scripted, scripted_series};
pub use snapshot::{core_series, snapshot_series};

/// A series' labels, in the order they are exposed.
pub type Labels = Vec<(String, String)>;

/// The unit a gauge is in; its name gets the unit as a suffix (`_bytes`, `_percent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes.
    Bytes,
    /// Seconds (durations and Unix times).
    Seconds,
    /// Degrees Celsius.
    Celsius,
    /// Hertz.
    Hertz,
    /// Watts.
    Watts,
    /// Percent, 0–100 (may pass 100 for a process on several cores).
    Percent,
    /// Revolutions per minute.
    Rpm,
}

impl Unit {
    /// The suffix the exposition appends to the name, without its `_`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bytes => "bytes",
            Self::Seconds => "seconds",
            Self::Celsius => "celsius",
            Self::Hertz => "hertz",
            Self::Watts => "watts",
            Self::Percent => "percent",
            Self::Rpm => "rpm",
        }
    }
}

/// Where the mapping puts each reading. One method per kind of metric the exposition
/// knows; `name` is the family's base name (no unit, `_total` or `_info` suffix).
pub trait Emit {
    /// A gauge `name` (+ `_unit`) for `labels`; non-finite values must be left out.
    fn gauge(&mut self, name: &str, help: &str, unit: Option<Unit>, labels: Labels, value: f64);

    /// A counter `name` (exposed as `name_total`) for `labels`.
    fn counter(&mut self, name: &str, help: &str, labels: Labels, value: u64);

    /// A fractional counter (seconds) `name` (exposed as `name_total`); non-finite or
    /// negative values must be left out.
    fn float_counter(&mut self, name: &str, help: &str, labels: Labels, value: f64);

    /// An info metric (`name_info{…} 1`); one per name.
    fn info(&mut self, name: &str, help: &str, labels: Labels);

    /// A family a script named itself, exposed under its own name, unless one of its
    /// names ([`RawFamily::claims`]) is already exposed: then nothing is emitted and
    /// the answer is `false`. The family's names are valid ([`RawFamily::problem`]).
    fn raw_family(&mut self, family: &RawFamily) -> bool;

    /// A gauge in percent, when known.
    fn percent(&mut self, name: &str, help: &str, labels: Labels, value: Option<f64>) {
        if let Some(value) = value {
            self.gauge(name, help, Some(Unit::Percent), labels, value);
        }
    }

    /// A gauge in bytes, when known.
    fn bytes(&mut self, name: &str, help: &str, labels: Labels, value: Option<f64>) {
        if let Some(value) = value {
            self.gauge(name, help, Some(Unit::Bytes), labels, value);
        }
    }
}

/// Labels from borrowed pairs.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests_scripted;
