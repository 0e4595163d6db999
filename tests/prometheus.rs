//! `/metrics` against the real thing: `promtool check metrics` lints our exposition,
//! and a real Prometheus server (its own process, on a free loopback port, with a
//! throwaway TSDB) scrapes the real server every second until its query API returns our
//! series with sane values.
//!
//! Needs Debian's `prometheus` package (`prometheus` and `promtool`); where they are
//! missing, the tests fail and say how to install them (`cargo xtask test` does).

use std::process::Command;
use std::time::{Duration, Instant};

use monitoring_test_support::http::{get, get_with};
use monitoring_test_support::prometheus::{free_port, promtool_check, Prometheus};
use monitoring_test_support::{Peer, Server, Setup, CORE_COLLECTORS};
use serde_json::Value;

/// A sample's value, from Prometheus's `[time, "value"]`.
fn value(sample: &Value) -> f64 {
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no value in {sample}"))
}

#[test]
fn promtool_accepts_our_exposition_in_both_formats() {
    let Some(promtool) = monitoring_test_support::require(Peer::Promtool) else {
        return;
    };
    let server = Server::start_default();
    // Wait for a snapshot so the system_* series are there.
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(server.port, "/api/current").status != 200 {
        assert!(
            Instant::now() < deadline,
            "no snapshot; log:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = get(server.port, "/metrics");
    assert_eq!(text.status, 200);
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for series in [
        "# TYPE system_cpu_usage_percent gauge",
        "system_memory_usage_percent ",
        "system_disk_usage_percent{path=",
        "system_cpu_core_usage_percent{cpu=\"0\"}",
        "# TYPE monitoring_server_broadcasts_total counter",
        "process_resident_memory_bytes ",
    ] {
        assert!(
            text.body.contains(series),
            "`{series}` missing from:\n{}",
            text.body
        );
    }
    promtool_check(&promtool, &text.body);

    let open = get_with(
        server.port,
        "/metrics",
        &[("Accept", "application/openmetrics-text;version=1.0.0")],
    );
    assert_eq!(
        open.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(open.body.ends_with("# EOF\n"), "{}", open.body);
    assert!(open.body.contains("# UNIT system_memory_total_bytes bytes"));
}

#[test]
fn a_real_prometheus_scrapes_our_series() {
    let Some(binary) = monitoring_test_support::require(Peer::Prometheus) else {
        return;
    };
    let server = Server::start_default();
    let prometheus = Prometheus::start(&binary, free_port(), "monitoring", server.port, &[]);
    let timeout = Duration::from_secs(60);

    let up = prometheus.wait_for("up{job=\"monitoring\"} == 1", timeout);
    assert_eq!(value(&up[0]), 1.0);
    for name in [
        "system_memory_usage_percent",
        "system_cpu_usage_percent",
        "system_disk_usage_percent",
    ] {
        let result = prometheus.wait_for(name, timeout);
        for sample in &result {
            let v = value(sample);
            assert!((0.0..=100.0).contains(&v), "{name} = {v}: {sample}");
        }
    }
    let disks = prometheus.wait_for("system_disk_usage_percent", timeout);
    assert!(disks[0]["metric"]["path"].is_string(), "{:?}", disks[0]);
    let cores = prometheus.wait_for("system_cpu_core_usage_percent", timeout);
    assert!(cores.iter().all(|s| s["metric"]["cpu"].is_string()));
    let total = prometheus.wait_for("system_memory_total_bytes", timeout);
    assert!(value(&total[0]) > 1e6, "{:?}", total[0]);
    let broadcasts = prometheus.wait_for("monitoring_server_broadcasts_total", timeout);
    assert!(value(&broadcasts[0]) >= 1.0);
    let errors = prometheus.wait_for("monitoring_server_collector_errors_total", timeout);
    assert_eq!(errors.len(), 4, "one series per collector: {errors:?}");
}

#[test]
fn the_example_scrape_config_is_valid() {
    let Some(promtool) = monitoring_test_support::require(Peer::Promtool) else {
        return;
    };
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/prometheus.yml");
    let out = Command::new(promtool)
        .args(["check", "config"])
        .arg(&config)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The collectors of issue 14.
const MACHINE_COLLECTORS: [&str; 5] = [
    "collector-network",
    "collector-disk-io",
    "collector-load",
    "collector-sensors",
    "collector-processes",
];

/// A server with every collector, its sensors read from `hwmon`.
fn machine_server(hwmon: &std::path::Path) -> Server {
    let plugins: Vec<&str> = CORE_COLLECTORS
        .iter()
        .chain(&MACHINE_COLLECTORS)
        .copied()
        .collect();
    let config = monitoring_test_support::hwmon::sensors_config(hwmon);
    let server = Server::start(Setup {
        plugins: &plugins,
        config: &config,
        extra_files: &[],
    });
    // Until every new section is in a snapshot (processes run every few ticks).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let current = get(server.port, "/api/current");
        let data = (current.status == 200).then(|| current.json()["data"].clone());
        let sections = ["network", "disk_io", "load", "sensors", "processes"];
        if data.is_some_and(|d| sections.iter().all(|s| d.get(*s).is_some())) {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "the new sections never all arrived; log:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn promtool_accepts_the_machine_sections_series() {
    let Some(promtool) = monitoring_test_support::require(Peer::Promtool) else {
        return;
    };
    let hwmon = tempfile::tempdir().expect("hwmon folder");
    monitoring_test_support::hwmon::two_sockets_and_a_fan(hwmon.path());
    let server = machine_server(hwmon.path());
    let data = get(server.port, "/api/current").json()["data"].clone();
    let text = get(server.port, "/metrics").body;
    let interface = data["network"]["interfaces"][0]["name"]
        .as_str()
        .expect("an interface besides lo");
    let device = data["disk_io"]["devices"][0]["name"]
        .as_str()
        .expect("a block device");
    for series in [
        format!("node_network_receive_bytes_total{{device=\"{interface}\"}} "),
        format!("node_network_transmit_drop_total{{device=\"{interface}\"}} "),
        format!("node_disk_written_bytes_total{{device=\"{device}\"}} "),
        format!("node_disk_io_time_seconds_total{{device=\"{device}\"}} "),
        "# TYPE node_network_receive_bytes_total counter".into(),
        "node_load1 ".into(),
        "node_procs_running ".into(),
        "node_processes_pids ".into(),
        "node_hwmon_temp_celsius{chip=\"coretemp\",sensor=\"Core 0\"} 45.0".into(),
        "node_hwmon_temp_celsius{chip=\"coretemp\",sensor=\"Core 0 #2\"} 47.0".into(),
        "node_hwmon_temp_crit_celsius{chip=\"coretemp\",sensor=\"Core 0\"} 100.0".into(),
        "node_hwmon_temp_max_celsius{chip=\"coretemp\",sensor=\"Core 0 #2\"} 80.0".into(),
        "node_hwmon_fan_rpm{chip=\"nct6775\",sensor=\"fan1\"} 1200.0".into(),
        "system_process_cpu_usage_percent{pid=\"".into(),
        "system_process_resident_memory_bytes{pid=\"".into(),
    ] {
        assert!(text.contains(&series), "`{series}` missing from:\n{text}");
    }
    assert!(!text.contains("per_sec"), "rates are PromQL's: {text}");
    // Top N by CPU and by memory (10 each by default): at most 20 processes.
    let processes = text
        .lines()
        .filter(|l| l.starts_with("system_process_cpu_usage_percent{"))
        .count();
    assert!((1..=20).contains(&processes), "{processes} processes");
    promtool_check(&promtool, &text);
}

#[test]
fn a_real_prometheus_scrapes_the_machine_series() {
    let Some(binary) = monitoring_test_support::require(Peer::Prometheus) else {
        return;
    };
    let hwmon = tempfile::tempdir().expect("hwmon folder");
    monitoring_test_support::hwmon::two_sockets_and_a_fan(hwmon.path());
    let server = machine_server(hwmon.path());
    let prometheus = Prometheus::start(&binary, free_port(), "monitoring", server.port, &[]);
    let timeout = Duration::from_secs(60);
    // Rates from two scrapes of the counters, as a Prometheus user computes them.
    let received = prometheus.wait_for("rate(node_network_receive_bytes_total[10s])", timeout);
    assert!(received.iter().all(|s| s["metric"]["device"].is_string()));
    assert!(received.iter().all(|s| value(s) >= 0.0), "{received:?}");
    let busy = prometheus.wait_for("rate(node_disk_io_time_seconds_total[10s])", timeout);
    assert!(
        busy.iter().all(|s| (0.0..=1.0).contains(&value(s))),
        "a busy fraction: {busy:?}"
    );
    let load = prometheus.wait_for("node_load1", timeout);
    assert!(value(&load[0]) >= 0.0);
    let second = prometheus.wait_for("node_hwmon_temp_celsius{sensor=\"Core 0 #2\"}", timeout);
    assert_eq!(value(&second[0]), 47.0, "{second:?}");
    let top = prometheus.wait_for("count(system_process_cpu_usage_percent)", timeout);
    assert!((1.0..=20.0).contains(&value(&top[0])), "{top:?}");
}
