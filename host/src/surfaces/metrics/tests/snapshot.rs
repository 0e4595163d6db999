//! The core sections' series in the exposition.

use monitoring_plugin_api::sections::{Disk, Gpu, GpuInfo, Memory, Processor, Section, System};
use serde_json::{json, Value};

use metric_families::snapshot_series;
use monitoring_plugin_api::Sections;

use super::super::builder::Builder;

fn exposition(data: Sections) -> String {
    let mut b = Builder::default();
    snapshot_series(&mut b, &data);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, b.registry()).expect("encodes");
    text
}

fn section<S: Section>(value: &S) -> (String, Value) {
    let json = serde_json::to_value(value).expect("a section serializes");
    (S::NAME.to_owned(), json)
}

#[test]
fn every_built_in_section_has_its_series() {
    let data: Sections = [
        section(&Processor {
            usage_percent: 25.5,
            per_core_usage: vec![20.0, 31.0],
            core_count: 1,
            logical_count: 2,
            frequency_current: 2400.0,
            frequency_max: None,
            cpu_seconds: Vec::new(),
        }),
        section(&Memory::from_total_available(1000, 250)),
        section(&Disk {
            total: 100,
            used: 40,
            free: 60,
            percentage: 40.0,
            path: "/".into(),
            filesystem: None,
        }),
        section(&Gpu::new(
            "nvml",
            vec![GpuInfo {
                id: 0,
                gpu_usage_percent: Some(65.0),
                temperature: Some(70.0),
                ..GpuInfo::default()
            }],
        )),
        section(&System {
            hostname: "web-1".into(),
            processes: 250,
            ..System::default()
        }),
    ]
    .into_iter()
    .collect();
    let text = exposition(data);
    for series in [
        "system_cpu_usage_percent 25.5",
        "system_cpu_core_usage_percent{cpu=\"1\"} 31.0",
        "system_cpu_frequency_hertz 2400000000.0",
        "system_memory_usage_percent 75.0",
        "system_memory_total_bytes 1000",
        "system_disk_usage_percent{path=\"/\"} 40.0",
        "system_gpus 1",
        "system_gpu_usage_percent{gpu_id=\"0\"} 65.0",
        "system_gpu_temperature_celsius{gpu_id=\"0\"} 70.0",
        "system_processes 250",
        "hostname=\"web-1\"",
    ] {
        assert!(text.contains(series), "missing `{series}`:\n{text}");
    }
    assert!(
        !text.contains("system_cpu_frequency_max"),
        "an unknown maximum is no series:\n{text}"
    );
}

#[test]
fn a_section_off_its_schema_is_exported_as_is() {
    let data: Sections = [("memory".to_owned(), json!({"swap_percent": 12.5}))]
        .into_iter()
        .collect();
    let text = exposition(data);
    assert!(text.contains("system_memory_swap_percent 12.5"), "{text}");
}
