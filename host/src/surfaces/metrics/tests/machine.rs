//! The machine sections' series in the exposition: node_exporter's names.

use serde_json::{json, Value};

use metric_families::snapshot_series;
use monitoring_plugin_api::Sections;

use super::super::builder::Builder;

/// The Prometheus text of a snapshot holding `data`.
fn exposition(data: Value) -> String {
    let data: Sections = data.as_object().cloned().expect("an object");
    let mut b = Builder::default();
    snapshot_series(&mut b, &data);
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, b.registry()).expect("encodes");
    text
}

fn interface(name: &str, rx_bytes: u64, rx_errors: u64) -> Value {
    json!({"name": name,
        "rx_bytes_per_sec": 1024.0, "tx_bytes_per_sec": 2.5, "rx_packets_per_sec": 3.0,
        "tx_packets_per_sec": 4.0, "rx_errors_per_sec": 0.0, "tx_errors_per_sec": 0.0,
        "rx_drops_per_sec": 0.0, "tx_drops_per_sec": 0.0,
        "rx_bytes": rx_bytes, "tx_bytes": 2000, "rx_packets": 30, "tx_packets": 40,
        "rx_errors": rx_errors, "tx_errors": 6, "rx_drops": 7, "tx_drops": 8})
}

/// One tick of a two-socket machine, as the five collectors send it.
pub(super) fn recorded() -> Value {
    json!({
        "network": {"interfaces": [interface("eth0", 987_654_321, 5), interface("wlan0", 10, 0)],
            "rx_bytes_per_sec": 2048.0, "tx_bytes_per_sec": 5.0,
            "rx_bytes": 987_654_331_u64, "tx_bytes": 4000},
        "disk_io": {"devices": [{"name": "nvme0n1",
            "read_bytes_per_sec": 0.0, "write_bytes_per_sec": 67_108_864.0,
            "reads_per_sec": 0.0, "writes_per_sec": 512.0, "busy_percent": 87.5,
            "read_bytes": 1_000_000, "write_bytes": 68_000_000, "reads": 100,
            "writes": 520, "io_time_ms": 12_345}],
            "read_bytes_per_sec": 0.0, "write_bytes_per_sec": 67_108_864.0},
        "load": {"load1": 0.21, "load5": 0.37, "load15": 0.39, "runnable_tasks": 2,
            "total_tasks": 719, "uptime_seconds": 5922, "cpu_count": 2},
        "sensors": {"temperatures": [
            {"chip": "coretemp", "label": "Core 0", "celsius": 45.0, "high": 80.0, "critical": 100.0},
            {"chip": "coretemp", "label": "Core 0", "celsius": 47.0, "high": 80.0, "critical": 100.0},
            {"chip": "nvme", "label": "Composite", "celsius": 38.9, "high": null, "critical": null}],
            "fans": [{"chip": "nct6775", "label": "fan1", "rpm": 1200.0}]},
        "processes": {"total": 512,
            "top_cpu": [
                {"pid": 4242, "name": "cargo", "user": "dev", "cpu_percent": 180.5,
                 "memory_rss": 1_048_576, "memory_percent": 0.1, "command": "cargo build"},
                {"pid": 1, "name": "systemd", "user": "root", "cpu_percent": 0.0,
                 "memory_rss": 4096, "memory_percent": 0.0, "command": "/sbin/init"}],
            "top_memory": [
                {"pid": 777, "name": "postgres", "user": null, "cpu_percent": 1.5,
                 "memory_rss": 2_147_483_648_u64, "memory_percent": 25.0, "command": "postgres -D /data"},
                {"pid": 4242, "name": "cargo", "user": "dev", "cpu_percent": 180.5,
                 "memory_rss": 1_048_576, "memory_percent": 0.1, "command": "cargo build"}]}
    })
}

#[test]
fn the_machine_sections_have_node_exporters_series() {
    let text = exposition(recorded());
    for series in [
        "# TYPE node_network_receive_bytes_total counter",
        "node_network_receive_bytes_total{device=\"eth0\"} 987654321",
        "node_network_receive_bytes_total{device=\"wlan0\"} 10",
        "node_network_transmit_bytes_total{device=\"eth0\"} 2000",
        "node_network_receive_packets_total{device=\"eth0\"} 30",
        "node_network_transmit_packets_total{device=\"eth0\"} 40",
        "node_network_receive_errs_total{device=\"eth0\"} 5",
        "node_network_transmit_errs_total{device=\"eth0\"} 6",
        "node_network_receive_drop_total{device=\"eth0\"} 7",
        "node_network_transmit_drop_total{device=\"eth0\"} 8",
        "node_disk_read_bytes_total{device=\"nvme0n1\"} 1000000",
        "node_disk_written_bytes_total{device=\"nvme0n1\"} 68000000",
        "node_disk_reads_completed_total{device=\"nvme0n1\"} 100",
        "node_disk_writes_completed_total{device=\"nvme0n1\"} 520",
        "# TYPE node_disk_io_time_seconds_total counter",
        "node_disk_io_time_seconds_total{device=\"nvme0n1\"} 12.345",
        "node_load1 0.21",
        "node_load5 0.37",
        "node_load15 0.39",
        "node_procs_running 2",
        "node_processes_threads 719",
        "system_uptime_seconds 5922",
        "node_hwmon_temp_celsius{chip=\"coretemp\",sensor=\"Core 0\"} 45.0",
        "node_hwmon_temp_celsius{chip=\"coretemp\",sensor=\"Core 0 #2\"} 47.0",
        "node_hwmon_temp_celsius{chip=\"nvme\",sensor=\"Composite\"} 38.9",
        "node_hwmon_temp_max_celsius{chip=\"coretemp\",sensor=\"Core 0\"} 80.0",
        "node_hwmon_temp_crit_celsius{chip=\"coretemp\",sensor=\"Core 0 #2\"} 100.0",
        "node_hwmon_fan_rpm{chip=\"nct6775\",sensor=\"fan1\"} 1200.0",
        "node_processes_pids 512",
        "system_process_cpu_usage_percent{pid=\"4242\",name=\"cargo\"} 180.5",
        "system_process_resident_memory_bytes{pid=\"777\",name=\"postgres\"} 2147483648",
        "system_process_memory_usage_percent{pid=\"777\",name=\"postgres\"} 25.0",
        "system_process_cpu_usage_percent{pid=\"1\",name=\"systemd\"} 0.0",
    ] {
        assert!(text.contains(series), "missing `{series}`:\n{text}");
    }
    // Rates are PromQL's job; a missing threshold is no series, not a zero.
    for absent in [
        "per_sec",
        "node_hwmon_temp_max_celsius{chip=\"nvme\"",
        "cpu_count",
    ] {
        assert!(!text.contains(absent), "`{absent}` exported:\n{text}");
    }
    // cargo is in both lists: one series per process, not two.
    assert_eq!(
        text.matches("system_process_cpu_usage_percent{").count(),
        3,
        "{text}"
    );
}

#[test]
fn an_absent_section_gives_no_series() {
    let mut data = recorded();
    let object = data.as_object_mut().expect("an object");
    for gone in ["network", "disk_io", "sensors", "processes"] {
        object.remove(gone);
    }
    let text = exposition(data);
    for prefix in [
        "node_network_",
        "node_disk_",
        "node_hwmon_",
        "system_process_",
        "node_processes_pids",
    ] {
        assert!(
            !text.contains(prefix),
            "`{prefix}` without its section:\n{text}"
        );
    }
    assert!(text.contains("node_load1 0.21"), "{text}");
}

#[test]
fn load_counts_the_os_does_not_give_are_left_out() {
    let text = exposition(json!({"load": {"load1": 1.0, "load5": 1.0, "load15": 1.0,
        "runnable_tasks": 0, "total_tasks": 0, "uptime_seconds": 60, "cpu_count": 8}}));
    assert!(!text.contains("node_procs_running"), "{text}");
    assert!(!text.contains("node_processes_threads"), "{text}");
    assert!(text.contains("node_load15 1.0"), "{text}");
}
