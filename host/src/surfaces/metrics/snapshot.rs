//! The snapshot's series: `system_*` from the core sections, flattened third-party
//! sections.

use prometheus_client::registry::Unit;
use serde_json::Value;

use super::{labels, Builder};
use crate::pipeline::bus::Frame;

fn num(value: &Value, key: &str) -> Option<f64> {
    value.get(key).and_then(Value::as_f64)
}

/// Every numeric reading of the snapshot.
pub(super) fn snapshot_metrics(b: &mut Builder, frame: &Frame) {
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
pub(super) fn sanitize(text: &str) -> String {
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
pub(super) fn generic(
    b: &mut Builder,
    name: &str,
    value: &Value,
    at: &[(String, String)],
    depth: usize,
) {
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
