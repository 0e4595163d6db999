//! The registry a scrape fills: families registered on first use, so no family is
//! exposed empty or twice. Every series file of `/metrics` writes through it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;

use metric_families::{Emit, Labels, Unit};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
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
        if self.infos.insert(name.to_owned()) {
            self.registry.register(name, help, Info::new(labels));
        }
    }
}
