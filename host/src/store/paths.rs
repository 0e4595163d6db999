//! A snapshot's sections as numbered samples, each named by its path in the alert
//! rules' syntax (`network.interfaces[eth0].rx_bytes_per_sec`), so a series and the
//! rule that watches it read the same.

use std::collections::HashMap;

use monitoring_plugin_api::Sections;
use serde_json::Value;

/// The processes kept per list once a minute.
pub const TOP_PROCESSES: usize = 10;

/// Most samples one snapshot gives (a busy machine has a few hundred): a section of
/// thousands of numbers, or a hostile fleet host's frame, costs at most this much.
pub const MAX_SAMPLES_PER_TICK: usize = 4_096;

/// Longest series name kept.
pub const MAX_PATH_BYTES: usize = 256;

/// One snapshot, flattened.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Flat {
    /// Every number, by path, in the snapshot's order.
    pub samples: Vec<(String, f64)>,
    /// The first [`TOP_PROCESSES`] of `processes.top_cpu` / `top_memory`.
    pub top_cpu: Vec<Value>,
    pub top_memory: Vec<Value>,
}

/// Flattens every section: numbers become samples, booleans and strings are skipped,
/// the `processes` section's lists of processes are set aside (they are not series).
pub fn flatten(sections: &Sections) -> Flat {
    let mut flat = Flat::default();
    for (name, value) in sections {
        if flat.samples.len() >= MAX_SAMPLES_PER_TICK {
            break;
        }
        if name == "processes" {
            flatten_processes(value, &mut flat);
        } else {
            walk(value, name.clone(), &mut flat.samples);
        }
    }
    flat
}

fn flatten_processes(section: &Value, flat: &mut Flat) {
    let Some(fields) = section.as_object() else {
        walk(section, "processes".to_owned(), &mut flat.samples);
        return;
    };
    for (key, value) in fields {
        if is_process_list(value) {
            let top = |list: &Value| {
                list.as_array()
                    .map(|a| a.iter().take(TOP_PROCESSES).cloned().collect())
                    .unwrap_or_default()
            };
            match key.as_str() {
                "top_cpu" => flat.top_cpu = top(value),
                "top_memory" => flat.top_memory = top(value),
                _ => {}
            }
        } else {
            walk(value, format!("processes.{key}"), &mut flat.samples);
        }
    }
}

/// An array of objects with a `pid`: a process list, kept as processes, not series.
fn is_process_list(value: &Value) -> bool {
    value.as_array().is_some_and(|list| {
        list.iter()
            .any(|element| element.get("pid").is_some_and(Value::is_number))
    })
}

fn walk(value: &Value, path: String, out: &mut Vec<(String, f64)>) {
    if out.len() >= MAX_SAMPLES_PER_TICK || path.len() > MAX_PATH_BYTES {
        return;
    }
    match value {
        Value::Number(n) => {
            if let Some(number) = n.as_f64().filter(|v| v.is_finite()) {
                out.push((path, number));
            }
        }
        Value::Object(fields) => {
            for (key, value) in fields {
                walk(value, format!("{path}.{key}"), out);
            }
        }
        Value::Array(elements) => {
            let names: Vec<String> = elements
                .iter()
                .enumerate()
                .map(|(index, element)| element_name(element, index))
                .collect();
            let mut uses: HashMap<&str, usize> = HashMap::with_capacity(names.len());
            for name in &names {
                *uses.entry(name.as_str()).or_default() += 1;
            }
            for (index, element) in elements.iter().enumerate() {
                if out.len() >= MAX_SAMPLES_PER_TICK {
                    return;
                }
                // Two elements with one name (two sockets' sensors) stay apart.
                let repeated = uses.get(names[index].as_str()).is_some_and(|n| *n > 1);
                let key = if repeated {
                    format!("{} #{index}", names[index])
                } else {
                    names[index].clone()
                };
                let path = format!("{path}[{key}]");
                match element {
                    // The field that names the element (a numeric GPU `id`) is no series.
                    Value::Object(fields) => fields
                        .iter()
                        .filter(|(field, _)| Some(field.as_str()) != naming_field(element))
                        .for_each(|(field, value)| walk(value, format!("{path}.{field}"), out)),
                    _ => walk(element, path, out),
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// The number field an element is named by, if any (`id`).
fn naming_field(element: &Value) -> Option<&'static str> {
    ["path", "mount_point", "id", "name"]
        .into_iter()
        .find(|name| match element.get(name) {
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Number(_)) => true,
            _ => false,
        })
}

/// An element's natural name: `path`, `mount_point`, `id`, `name`, `chip:label`
/// (both present) or `label`, else its index.
fn element_name(element: &Value, index: usize) -> String {
    let field = |name: &str| match element.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let chip_label = || Some(format!("{}:{}", field("chip")?, field("label")?));
    field("path")
        .or_else(|| field("mount_point"))
        .or_else(|| field("id"))
        .or_else(|| field("name"))
        .or_else(chip_label)
        .or_else(|| field("label"))
        .unwrap_or_else(|| index.to_string())
}

/// The unit a series' name implies, where it is known.
pub fn unit_of(path: &str) -> Option<&'static str> {
    let last = path.rsplit('.').next().unwrap_or(path);
    let field = last.split('[').next().unwrap_or(last);
    let section = path.split(['.', '[']).next().unwrap_or(path);
    let exact: &[(&str, &str)] = &[
        ("percentage", "percent"),
        ("per_core_usage", "percent"),
        ("celsius", "celsius"),
        ("temperature", "celsius"),
        ("memory_rss", "bytes"),
        ("uptime_seconds", "s"),
    ];
    if let Some((_, unit)) = exact.iter().find(|(name, _)| *name == field) {
        return Some(unit);
    }
    let suffixes: &[(&str, &str)] = &[
        ("_percent", "percent"),
        ("_bytes_per_sec", "bytes/s"),
        ("_per_sec", "1/s"),
        ("_bytes", "bytes"),
        ("_ms", "ms"),
        ("_seconds", "s"),
        ("_celsius", "celsius"),
        ("_mhz", "MHz"),
    ];
    if let Some((_, unit)) = suffixes.iter().find(|(suffix, _)| field.ends_with(suffix)) {
        return Some(unit);
    }
    // Sizes are bytes, except in the processes section where `total` is a count.
    let sizes = ["total", "used", "free", "available"];
    (sizes.contains(&field) && section != "processes").then_some("bytes")
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{BufRead, BufReader};

    use super::*;

    /// 30 minutes of this project's build machine at 2 Hz, every shipped collector,
    /// recorded through the WebSocket (process command lines cut to their names).
    pub const RECORDING: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/snapshots-30min.jsonl.gz"
    );

    /// The recorded snapshots (a growing gzip: a cut-off last line ends the read).
    pub fn recorded(limit: usize) -> Vec<Sections> {
        let file = std::fs::File::open(RECORDING).expect("the recorded snapshots");
        let reader = BufReader::new(flate2::read::GzDecoder::new(file));
        let snapshots: Vec<Sections> = reader
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| serde_json::from_str(&line).ok())
            .take(limit)
            .collect();
        assert!(!snapshots.is_empty(), "no snapshot in {RECORDING}");
        snapshots
    }

    #[test]
    fn a_huge_or_hostile_section_costs_a_bounded_flatten() {
        // 200,000 elements of one repeated name: linear, and cut at the cap.
        let elements: Vec<Value> = (0..200_000)
            .map(|_| serde_json::json!({"name": "x", "v": 1.0}))
            .collect();
        let long = "k".repeat(MAX_PATH_BYTES + 1);
        let mut sections = Sections::new();
        sections.insert("flood".into(), serde_json::json!({ "items": elements }));
        let started = std::time::Instant::now();
        let flat = flatten(&sections);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(flat.samples.len(), MAX_SAMPLES_PER_TICK);
        let mut odd = Sections::new();
        odd.insert("odd".into(), serde_json::json!({ long: 1.0, "short": 2.0 }));
        let names: Vec<String> = flatten(&odd).samples.into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["odd.short"]);
    }

    #[test]
    fn real_snapshot_flattens_to_rule_paths() {
        let flat = flatten(&recorded(1)[0]);
        let names: Vec<&str> = flat.samples.iter().map(|(n, _)| n.as_str()).collect();
        for expected in [
            "memory.percentage",
            "processor.per_core_usage[1]",
            "processor.usage_percent",
            "network.interfaces[eth0].rx_bytes_per_sec",
            "disk_io.devices[vda].busy_percent",
            "load.load1",
            "processes.total",
        ] {
            assert!(names.contains(&expected), "{expected} missing in {names:?}");
        }
        assert!(!names.iter().any(|n| n.starts_with("system.hostname")));
        assert!(!names.iter().any(|n| n.contains("top_cpu")));
        assert_eq!(flat.top_cpu.len(), TOP_PROCESSES);
        assert_eq!(flat.top_memory.len(), TOP_PROCESSES);
    }

    #[test]
    fn elements_are_named_naturally() {
        let sections: Sections = serde_json::from_value(serde_json::json!({
            "sensors": {"temperatures": [
                {"chip": "coretemp", "label": "Package id 0", "celsius": 51.0},
                {"label": "edge", "celsius": 40},
            ]},
            "gpu": {"gpus": [{"id": 0, "temperature": 60, "name": "A"}]},
            "disks": [{"path": "/var", "mount_point": "/var", "percentage": 3.5, "ro": true}],
            "custom": {"values": [1, 2.5], "label": "text"},
        }))
        .expect("an object");
        let flat = flatten(&sections);
        let names: Vec<&str> = flat.samples.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "custom.values[0]",
                "custom.values[1]",
                "disks[/var].percentage",
                "gpu.gpus[0].temperature",
                "sensors.temperatures[coretemp:Package id 0].celsius",
                "sensors.temperatures[edge].celsius",
            ]
        );
    }

    #[test]
    fn units_come_from_names() {
        assert_eq!(unit_of("memory.percentage"), Some("percent"));
        assert_eq!(unit_of("processor.per_core_usage[3]"), Some("percent"));
        assert_eq!(
            unit_of("network.interfaces[eth0].rx_bytes_per_sec"),
            Some("bytes/s")
        );
        assert_eq!(unit_of("disk_io.devices[vda].reads_per_sec"), Some("1/s"));
        assert_eq!(unit_of("memory.total"), Some("bytes"));
        assert_eq!(unit_of("processes.total"), None);
        assert_eq!(unit_of("gpu.gpus[0].temperature"), Some("celsius"));
        assert_eq!(unit_of("load.load1"), None);
    }
}
