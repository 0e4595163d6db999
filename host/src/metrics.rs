//! `GET /metrics`: the latest snapshot and the server's own counters in the Prometheus
//! text format (0.0.4), or OpenMetrics 1.0 when the scraper's `Accept` asks for it.
//!
//! The exposition is written by `prometheus-client` (the official Rust client), never by
//! hand. A fresh registry is built on every scrape from the latest frame and counters:
//! a scrape never triggers a collection, series of a disk or GPU that went away vanish
//! with it instead of going stale, and the collection loop does no metrics work at all.
//! A scrape costs one pass over one snapshot (a few hundred series), which is cheap at
//! any sane scrape interval.
//!
//! Snapshot metrics are named `system_*` after the seed's Prometheus example, in base
//! units (bytes, hertz, seconds, celsius, watts) with percentages as `_percent`; per-core
//! series carry `cpu`, disks `path`, GPUs `gpu_id`. Sections from third-party collectors
//! are flattened: `system_<section>_<field>`, array elements labelled `index`. The
//! server's own numbers are `monitoring_server_*` and the standard `process_*`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use monitoring_plugin_api::AlertLevel;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use serde_json::Value;

use crate::bus::Frame;
use crate::service_memory::read_process;
use crate::ws::{ServerState, SERVER_VERSION};

/// The exposition format a scraper gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when `Accept` names it (Prometheus itself asks for it first),
    /// the classic text format otherwise.
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Self::OpenMetrics,
            _ => Self::Prometheus,
        }
    }

    /// The `Content-Type` of the reply.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

type Labels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// A registry filled lazily: a family is registered on its first sample, so no family
/// is ever exposed empty or twice.
#[derive(Default)]
struct Builder {
    registry: Registry,
    gauges: HashMap<String, Family<Labels, FloatGauge>>,
    counters: HashMap<String, Family<Labels, Counter>>,
    infos: HashSet<String>,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Builder {
    /// Sets gauge `name` (+ `_unit`) for `labels`; non-finite values are left out.
    fn gauge(&mut self, name: &str, help: &str, unit: Option<Unit>, labels: Labels, value: f64) {
        if !value.is_finite() {
            return;
        }
        let registry = &mut self.registry;
        let family = self.gauges.entry(name.to_owned()).or_insert_with(|| {
            let family = Family::<Labels, FloatGauge>::default();
            match unit {
                Some(unit) => registry.register_with_unit(name, help, unit, family.clone()),
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

    /// An info metric (`name_info{…} 1`); one per name.
    fn info(&mut self, name: &str, help: &str, labels: Labels) {
        if self.infos.insert(name.to_owned()) {
            self.registry.register(name, help, Info::new(labels));
        }
    }

    fn percent(&mut self, name: &str, help: &str, labels: Labels, value: Option<f64>) {
        if let Some(value) = value {
            self.gauge(
                name,
                help,
                Some(Unit::Other("percent".into())),
                labels,
                value,
            );
        }
    }

    fn bytes(&mut self, name: &str, help: &str, labels: Labels, value: Option<f64>) {
        if let Some(value) = value {
            self.gauge(name, help, Some(Unit::Bytes), labels, value);
        }
    }
}

/// The exposition of `state`'s latest frame and counters.
pub fn render(state: &ServerState, format: Format) -> Result<String, std::fmt::Error> {
    let mut builder = Builder::default();
    let frame = state.frames.borrow().clone();
    if let Some(frame) = &frame {
        snapshot_metrics(&mut builder, frame);
    }
    server_metrics(&mut builder, state, frame.as_deref());
    let mut text = String::new();
    match format {
        Format::Prometheus => {
            prometheus_client::encoding::prometheus_text::encode(&mut text, &builder.registry)?;
        }
        Format::OpenMetrics => {
            prometheus_client::encoding::text::encode(&mut text, &builder.registry)?;
        }
    }
    Ok(text)
}

fn num(value: &Value, key: &str) -> Option<f64> {
    value.get(key).and_then(Value::as_f64)
}

/// Every numeric reading of the snapshot.
fn snapshot_metrics(b: &mut Builder, frame: &Frame) {
    for (section, value) in &frame.snapshot.data {
        match section.as_str() {
            "processor" => processor(b, value),
            "memory" => memory(b, value),
            "disk" if !frame.snapshot.data.contains_key("disks") => disk(b, value),
            "disks" => {
                for each in value.as_array().into_iter().flatten() {
                    disk(b, each);
                }
            }
            "disk" => {}
            "gpu" => gpu(b, value),
            "system" => system(b, value),
            other => generic(b, &format!("system_{}", sanitize(other)), value, &[], 0),
        }
    }
}

fn processor(b: &mut Builder, p: &Value) {
    b.percent(
        "system_cpu_usage",
        "CPU usage over all cores",
        vec![],
        num(p, "usage_percent"),
    );
    for (index, usage) in p
        .get("per_core_usage")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        b.percent(
            "system_cpu_core_usage",
            "CPU usage of one logical core",
            labels(&[("cpu", &index.to_string())]),
            usage.as_f64(),
        );
    }
    for (key, name, help) in [
        (
            "core_count",
            "system_cpu_physical_cores",
            "Physical CPU cores",
        ),
        (
            "logical_count",
            "system_cpu_logical_cores",
            "Logical CPU cores",
        ),
    ] {
        if let Some(value) = num(p, key) {
            b.gauge(name, help, None, vec![], value);
        }
    }
    for (key, name, help) in [
        (
            "frequency_current",
            "system_cpu_frequency",
            "Current CPU frequency",
        ),
        (
            "frequency_max",
            "system_cpu_frequency_max",
            "Maximum CPU frequency",
        ),
    ] {
        if let Some(mhz) = num(p, key) {
            let hertz = Some(Unit::Other("hertz".into()));
            b.gauge(name, help, hertz, vec![], mhz * 1e6);
        }
    }
}

fn memory(b: &mut Builder, m: &Value) {
    b.percent(
        "system_memory_usage",
        "Memory in use",
        vec![],
        num(m, "percentage"),
    );
    for (key, help) in [
        ("total", "Total physical memory"),
        ("available", "Memory available to new processes"),
        ("used", "Memory in use"),
    ] {
        b.bytes(&format!("system_memory_{key}"), help, vec![], num(m, key));
    }
}

fn disk(b: &mut Builder, d: &Value) {
    let path = d.get("path").and_then(Value::as_str).unwrap_or("");
    let at = || labels(&[("path", path)]);
    b.percent(
        "system_disk_usage",
        "Disk space in use on the filesystem holding path",
        at(),
        num(d, "percentage"),
    );
    for (key, help) in [
        ("total", "Size of the filesystem holding path"),
        ("used", "Space used on the filesystem holding path"),
        ("free", "Space an unprivileged user may still write"),
    ] {
        b.bytes(&format!("system_disk_{key}"), help, at(), num(d, key));
    }
}

fn gpu(b: &mut Builder, g: &Value) {
    let gpus = g.get("gpus").and_then(Value::as_array);
    if let Some(count) = num(g, "count") {
        b.gauge("system_gpus", "GPUs seen", None, vec![], count);
    }
    for each in gpus.into_iter().flatten() {
        let id = match each.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => continue,
        };
        let at = || labels(&[("gpu_id", &id)]);
        let text = |key: &str| {
            each.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let mut info = at();
        for key in ["name", "uuid", "driver_version"] {
            info.push((key.to_owned(), text(key)));
        }
        b.gauge(
            "system_gpu_identity",
            "GPU name, UUID and driver; always 1",
            None,
            info,
            1.0,
        );
        b.percent(
            "system_gpu_usage",
            "GPU utilization",
            at(),
            num(each, "gpu_usage_percent"),
        );
        let memory_percent = num(each, "memory_percentage").or_else(|| {
            let (used, total) = (num(each, "memory_used")?, num(each, "memory_total")?);
            (total > 0.0).then(|| used * 100.0 / total)
        });
        b.percent(
            "system_gpu_memory_usage",
            "GPU memory in use",
            at(),
            memory_percent,
        );
        for (key, help) in [
            ("total", "GPU framebuffer memory"),
            ("used", "GPU memory allocated"),
            ("free", "GPU memory unallocated"),
        ] {
            let value = num(each, &format!("memory_{key}"));
            b.bytes(&format!("system_gpu_memory_{key}"), help, at(), value);
        }
        if let Some(celsius) = num(each, "temperature") {
            let help = "GPU core temperature";
            b.gauge(
                "system_gpu_temperature",
                help,
                Some(Unit::Celsius),
                at(),
                celsius,
            );
        }
        for (key, help) in [
            ("power_draw", "GPU power draw"),
            ("power_limit", "GPU power limit"),
        ] {
            if let Some(watts) = num(each, key) {
                let unit = Some(Unit::Other("watts".into()));
                b.gauge(&format!("system_gpu_{key}"), help, unit, at(), watts);
            }
        }
    }
}

fn system(b: &mut Builder, s: &Value) {
    if let Some(processes) = num(s, "processes") {
        b.gauge(
            "system_processes",
            "Running processes",
            None,
            vec![],
            processes,
        );
    }
    let boot = s
        .get("boot_time")
        .and_then(Value::as_str)
        .and_then(|text| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok())
        .and_then(|naive| naive.and_local_timezone(chrono::Local).earliest());
    if let Some(boot) = boot {
        let help = "When the machine booted, Unix time";
        let seconds = boot.timestamp() as f64;
        b.gauge(
            "system_boot_time",
            help,
            Some(Unit::Seconds),
            vec![],
            seconds,
        );
    }
    let text = |key: &str| s.get(key).and_then(Value::as_str).unwrap_or("");
    let identity = [
        "hostname",
        "os_name",
        "os_version",
        "os_release",
        "architecture",
        "platform",
    ]
    .map(|key| (key, text(key)));
    b.info(
        "system",
        "Identity of the monitored machine; always 1",
        labels(&identity),
    );
}

/// A metric-name-safe version of `text`.
fn sanitize(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Numbers anywhere in a third-party section, as untyped-looking gauges.
fn generic(b: &mut Builder, name: &str, value: &Value, at: &[(String, String)], depth: usize) {
    const MAX_DEPTH: usize = 4;
    match value {
        Value::Number(n) => {
            if let Some(value) = n.as_f64() {
                let help = "A reading of a third-party collector";
                b.gauge(name, help, None, at.to_vec(), value);
            }
        }
        Value::Object(map) if depth < MAX_DEPTH => {
            for (key, value) in map {
                generic(
                    b,
                    &format!("{name}_{}", sanitize(key)),
                    value,
                    at,
                    depth + 1,
                );
            }
        }
        // One level of arrays, labelled by position; deeper ones have no good name.
        Value::Array(items) if depth < MAX_DEPTH && !at.iter().any(|(k, _)| k == "index") => {
            for (index, item) in items.iter().enumerate() {
                let mut labels = at.to_vec();
                labels.push(("index".to_owned(), index.to_string()));
                generic(b, name, item, &labels, depth + 1);
            }
        }
        _ => {}
    }
}

/// The server's own counters.
fn server_metrics(b: &mut Builder, state: &ServerState, frame: Option<&Frame>) {
    let stats = state.stats.snapshot();
    b.info(
        "monitoring_server_build",
        "The server's version; always 1",
        labels(&[("version", SERVER_VERSION)]),
    );
    let clients = stats.connected as f64;
    b.gauge(
        "monitoring_server_connected_clients",
        "WebSocket clients connected now",
        None,
        vec![],
        clients,
    );
    let broadcasts = frame.map_or(0, |f| f.seq);
    for (name, help, value) in [
        (
            "monitoring_server_broadcasts",
            "Snapshots published to clients (ticks)",
            broadcasts,
        ),
        (
            "monitoring_server_connections",
            "WebSocket connections accepted",
            stats.connections_total,
        ),
        (
            "monitoring_server_refused_at_capacity",
            "Connections refused because the server was full",
            stats.refused_at_capacity,
        ),
        (
            "monitoring_server_frames_sent",
            "monitoring_data messages sent",
            stats.frames_sent,
        ),
        (
            "monitoring_server_frames_skipped",
            "Ticks clients missed while busy with an older one",
            stats.frames_skipped,
        ),
        (
            "monitoring_server_slow_disconnects",
            "Clients dropped because a send took too long",
            stats.slow_disconnects,
        ),
        (
            "monitoring_server_rate_limited",
            "Control messages refused by the rate limiter",
            stats.rate_limited,
        ),
        (
            "monitoring_server_ping_timeouts",
            "Clients closed for not answering pings",
            stats.ping_timeouts,
        ),
        (
            "monitoring_server_alerts_fired",
            "Alert notifications sent to the sinks",
            state.alert_log.fired_total(),
        ),
    ] {
        b.counter(name, help, vec![], value);
    }
    let active = state.alerts.active_alerts();
    for (level, name) in [
        (AlertLevel::Warning, "WARNING"),
        (AlertLevel::Critical, "CRITICAL"),
    ] {
        let count = active.iter().filter(|a| a.level == level).count();
        b.gauge(
            "monitoring_server_alerts_active",
            "Alerts active in the latest snapshot",
            None,
            labels(&[("level", name)]),
            count as f64,
        );
    }
    if let Some(frame) = frame {
        let taken = chrono::NaiveDateTime::parse_from_str(
            &frame.snapshot.timestamp,
            "%Y-%m-%dT%H:%M:%S%.f",
        )
        .ok()
        .and_then(|naive| naive.and_local_timezone(chrono::Local).earliest());
        if let Some(taken) = taken {
            let seconds = taken.timestamp_micros() as f64 / 1e6;
            let help = "When the latest snapshot was taken, Unix time";
            b.gauge(
                "monitoring_server_last_snapshot_timestamp",
                help,
                Some(Unit::Seconds),
                vec![],
                seconds,
            );
        }
    }
    let now = Instant::now();
    for collector in state.collectors.all() {
        let at = || labels(&[("collector", &collector.name)]);
        b.counter(
            "monitoring_server_collector_errors",
            "Failed collections",
            at(),
            collector.errors_total,
        );
        b.gauge(
            "monitoring_server_collector_consecutive_failures",
            "Failures since the collector's last success",
            None,
            at(),
            f64::from(collector.consecutive_failures),
        );
        if let Some(at_success) = collector.last_success_at {
            let age = now.saturating_duration_since(at_success).as_secs_f64();
            let help = "Time since the collector last succeeded";
            b.gauge(
                "monitoring_server_collector_last_success_age",
                help,
                Some(Unit::Seconds),
                at(),
                age,
            );
        }
        let help = "Whether the collector has not returned for more than a tick past its deadline";
        b.gauge(
            "monitoring_server_collector_hung",
            help,
            None,
            at(),
            f64::from(u8::from(collector.hung)),
        );
    }
    for sink in state.sinks.all() {
        let at = || labels(&[("sink", &sink.name)]);
        for (name, help, value) in [
            (
                "monitoring_server_sink_handled",
                "Alerts and resolutions the sink delivered",
                sink.handled,
            ),
            (
                "monitoring_server_sink_failed",
                "Alerts and resolutions the sink gave up on",
                sink.failed,
            ),
            (
                "monitoring_server_sink_retried",
                "Retries after retryable sink failures",
                sink.retried,
            ),
            (
                "monitoring_server_sink_dropped",
                "Alerts and resolutions dropped from a full queue",
                sink.dropped,
            ),
        ] {
            b.counter(name, help, at(), value);
        }
        let help = "Alerts and resolutions waiting for the sink";
        b.gauge(
            "monitoring_server_sink_queued",
            help,
            None,
            at(),
            sink.queued as f64,
        );
    }
    process_metrics(b, state);
}

/// The standard `process_*` series, as every Prometheus client exports them.
fn process_metrics(b: &mut Builder, state: &ServerState) {
    let process = read_process();
    b.bytes(
        "process_resident_memory",
        "Resident memory size",
        vec![],
        process.rss_bytes.map(|v| v as f64),
    );
    if let Some(fds) = process.open_files {
        b.gauge(
            "process_open_fds",
            "Open file descriptors",
            None,
            vec![],
            fds as f64,
        );
    }
    if let Some(threads) = process.threads {
        b.gauge(
            "process_threads",
            "OS threads",
            None,
            vec![],
            threads as f64,
        );
    }
    let uptime = state.started.elapsed().as_secs_f64();
    let start = chrono::Utc::now().timestamp_micros() as f64 / 1e6 - uptime;
    let help = "When the process started, Unix time";
    b.gauge(
        "process_start_time",
        help,
        Some(Unit::Seconds),
        vec![],
        start,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_format() {
        assert_eq!(Format::from_accept(None), Format::Prometheus);
        assert_eq!(Format::from_accept(Some("text/plain")), Format::Prometheus);
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize("fan-speed.rpm"), "fan_speed_rpm");
        assert_eq!(sanitize("3d"), "_3d");
    }

    #[test]
    fn third_party_sections_are_flattened_with_index_labels() {
        let mut b = Builder::default();
        let value =
            serde_json::json!({"fans": [{"rpm": 1200}, {"rpm": 900}], "ok": true, "temp": 40.5});
        generic(&mut b, "system_sensors", &value, &[], 0);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &b.registry)
            .expect("encodes");
        assert!(
            text.contains("system_sensors_fans_rpm{index=\"1\"} 900"),
            "{text}"
        );
        assert!(text.contains("system_sensors_temp 40.5"), "{text}");
        assert!(!text.contains("_ok"), "{text}");
    }
}
