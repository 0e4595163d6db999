//! The registry a scrape fills: families registered on first use, so no family is
//! exposed empty or twice. Every series file of `/metrics` writes through it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;

use metric_families::{Claims, Emit, Labels, RawFamily, RawKind, Unit};
use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{self, Registry};
type FloatGauge = Gauge<f64, AtomicU64>;
type FloatCounter = Counter<f64, AtomicU64>;

/// A registry filled lazily: a family is registered on its first sample, so no family
/// is ever exposed empty or twice.
#[derive(Default)]
pub(super) struct Builder {
    registry: Registry,
    gauges: HashMap<String, Family<Labels, FloatGauge>>,
    counters: HashMap<String, Family<Labels, Counter>>,
    float_counters: HashMap<String, Family<Labels, FloatCounter>>,
    infos: HashSet<String>,
    /// Every name exposed so far, so a script's family can never take one twice.
    claims: Claims,
}

impl Builder {
    /// The registry filled so far, for encoding.
    pub(super) fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// `prometheus-client`'s name for a unit (the same suffix either way).
fn registry_unit(unit: Unit) -> registry::Unit {
    match unit {
        Unit::Bytes => registry::Unit::Bytes,
        Unit::Seconds => registry::Unit::Seconds,
        Unit::Celsius => registry::Unit::Celsius,
        other => registry::Unit::Other(other.as_str().into()),
    }
}

impl Emit for Builder {
    /// Sets gauge `name` (+ `_unit`) for `labels`; non-finite values are left out.
    fn gauge(&mut self, name: &str, help: &str, unit: Option<Unit>, labels: Labels, value: f64) {
        if !value.is_finite() {
            return;
        }
        self.claims.own(name, unit, None);
        let registry = &mut self.registry;
        let family = self.gauges.entry(name.to_owned()).or_insert_with(|| {
            let family = Family::<Labels, FloatGauge>::default();
            match unit {
                Some(unit) => {
                    registry.register_with_unit(name, help, registry_unit(unit), family.clone())
                }
                None => registry.register(name, help, family.clone()),
            }
            family
        });
        family.get_or_create(&labels).set(value);
    }

    /// Sets counter `name` (exposed as `name_total`) for `labels`.
    fn counter(&mut self, name: &str, help: &str, labels: Labels, value: u64) {
        self.claims.own(name, None, Some("total"));
        let registry = &mut self.registry;
        let family = self.counters.entry(name.to_owned()).or_insert_with(|| {
            let family = Family::<Labels, Counter>::default();
            registry.register(name, help, family.clone());
            family
        });
        family.get_or_create(&labels).inc_by(value);
    }

    /// Sets counter `name` (exposed as `name_total`) for `labels` to a fractional
    /// value (seconds); non-finite or negative values are left out.
    fn float_counter(&mut self, name: &str, help: &str, labels: Labels, value: f64) {
        if !(value.is_finite() && value >= 0.0) {
            return;
        }
        self.claims.own(name, None, Some("total"));
        let registry = &mut self.registry;
        let family = self
            .float_counters
            .entry(name.to_owned())
            .or_insert_with(|| {
                let family = Family::<Labels, FloatCounter>::default();
                registry.register(name, help, family.clone());
                family
            });
        family.get_or_create(&labels).inc_by(value);
    }

    /// An info metric (`name_info{…} 1`); one per name.
    fn info(&mut self, name: &str, help: &str, labels: Labels) {
        self.claims.own(name, None, Some("info"));
        if self.infos.insert(name.to_owned()) {
            self.registry.register(name, help, Info::new(labels));
        }
    }

    /// Registers a script's family as it is, unless one of its names is taken.
    fn raw_family(&mut self, family: &RawFamily) -> bool {
        if !self.claims.raw(family) {
            return false;
        }
        let metric = RawMetric {
            kind: family.kind,
            samples: family.samples.clone(),
        };
        self.registry.register(&family.name, &family.help, metric);
        true
    }
}

/// A script's family, written sample by sample: `prometheus-client`'s own metric types
/// only hold values they counted themselves, a script's arrive as numbers.
#[derive(Debug)]
struct RawMetric {
    kind: RawKind,
    samples: Vec<(Labels, f64)>,
}

impl EncodeMetric for RawMetric {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, value) in &self.samples {
            let mut sample = encoder.encode_family(labels)?;
            match self.kind {
                RawKind::Counter => sample.encode_counter(value, None::<&Exemplar<Labels, f64>>)?,
                RawKind::Gauge | RawKind::Untyped => sample.encode_gauge(value)?,
            }
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        match self.kind {
            RawKind::Counter => MetricType::Counter,
            RawKind::Gauge => MetricType::Gauge,
            RawKind::Untyped => MetricType::Unknown,
        }
    }
}
