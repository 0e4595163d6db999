//! The node_exporter drop-in, against the real thing: a real Prometheus scrapes
//! Debian's node_exporter and our server on the same machine every second, and the
//! PromQL of the most used Grafana "Node Exporter Full" panels (CPU busy, system load
//! per CPU, RAM used, swap used, root filesystem used, network and disk throughput,
//! uptime) gives the same answer from both jobs, within what two scrapes up to a second
//! apart allow. The table is printed (`--nocapture`) for the release notes.
//!
//! Tolerances, and why: gauges of slow quantities (memory, filesystem) within 2 and 1
//! percentage points (a build writing or allocating in the second between two scrapes);
//! CPU busy within 5 points (30 s rates whose ends are up to 1 s apart: 2/30 of the
//! range at worst); load per CPU within 10 points (the kernel's load1 moves every 5 s);
//! throughput within 25 % + a floor (bursts in the 1 s the windows do not share);
//! uptime within 3 s (scrape offset plus whole-second boot times); exact counts exact.
//!
//! node_exporter runs with its defaults but for `--collector.filesystem.fs-types-exclude`,
//! which by default leaves out `overlay`: in a container (CI) that is the root
//! filesystem, which the "root FS used" panel reads.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use monitoring_test_support::prometheus::{free_port, Prometheus};
use monitoring_test_support::{Peer, Server, Setup};
use serde_json::Value;

/// node_exporter, stopped on drop.
struct NodeExporter(Child);

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How far apart the two answers of a panel may be: `absolute + relative × |larger|`.
#[derive(Clone, Copy)]
struct Tolerance {
    absolute: f64,
    relative: f64,
}

const fn within(absolute: f64, relative: f64) -> Tolerance {
    Tolerance { absolute, relative }
}

/// A panel's PromQL: `$J` is the job's matcher, `$O` the other job's (to compare the
/// devices both see).
const PANELS: [(&str, &str, Tolerance); 12] = [
    (
        "CPU busy (%)",
        r#"100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle",$J}[30s])))"#,
        within(5.0, 0.0),
    ),
    (
        "CPUs",
        r#"count(count(node_cpu_seconds_total{$J}) by (cpu))"#,
        within(0.0, 0.0),
    ),
    (
        "Sys load per CPU (%)",
        r#"scalar(node_load1{$J}) * 100 / count(count(node_cpu_seconds_total{$J}) by (cpu))"#,
        within(10.0, 0.0),
    ),
    (
        "RAM total (bytes)",
        r#"node_memory_MemTotal_bytes{$J}"#,
        within(0.0, 0.0),
    ),
    (
        "RAM used (%)",
        r#"(1 - node_memory_MemAvailable_bytes{$J} / node_memory_MemTotal_bytes{$J}) * 100"#,
        within(2.0, 0.0),
    ),
    (
        "SWAP used (%)",
        r#"(node_memory_SwapTotal_bytes{$J} - node_memory_SwapFree_bytes{$J}) / node_memory_SwapTotal_bytes{$J} * 100"#,
        within(2.0, 0.0),
    ),
    (
        "Root FS used (%)",
        r#"100 - node_filesystem_avail_bytes{$J,mountpoint="/",fstype!="rootfs"} * 100 / node_filesystem_size_bytes{$J,mountpoint="/",fstype!="rootfs"}"#,
        within(1.0, 0.0),
    ),
    (
        "Network received (B/s)",
        r#"sum(rate(node_network_receive_bytes_total{$J}[30s]) and on(device) node_network_receive_bytes_total{$O})"#,
        within(50e3, 0.25),
    ),
    (
        "Network sent (B/s)",
        r#"sum(rate(node_network_transmit_bytes_total{$J}[30s]) and on(device) node_network_transmit_bytes_total{$O})"#,
        within(50e3, 0.25),
    ),
    (
        "Disk read (B/s)",
        r#"sum(rate(node_disk_read_bytes_total{$J}[30s]) and on(device) node_disk_read_bytes_total{$O})"#,
        within(1e6, 0.25),
    ),
    (
        "Disk written (B/s)",
        r#"sum(rate(node_disk_written_bytes_total{$J}[30s]) and on(device) node_disk_written_bytes_total{$O})"#,
        within(1e6, 0.25),
    ),
    (
        "Uptime (s)",
        r#"node_time_seconds{$J} - node_boot_time_seconds{$J}"#,
        within(3.0, 0.0),
    ),
];

const NODE: &str = r#"job="node""#;
const OURS: &str = r#"job="ours""#;

/// The single value of `query`'s answer; NaN (no swap: 0/0) is a value.
fn single(prometheus: &Prometheus, query: &str) -> Result<f64, String> {
    let result = prometheus
        .query(query)
        .ok_or_else(|| format!("Prometheus did not answer `{query}`"))?;
    let [sample] = result.as_slice() else {
        return Err(format!(
            "`{query}` gave {} series: {result:?}",
            result.len()
        ));
    };
    let value: &Value = &sample["value"][1];
    value
        .as_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no value in {sample}"))
}

fn agree(node: f64, ours: f64, tolerance: Tolerance) -> bool {
    if node.is_nan() || ours.is_nan() {
        return node.is_nan() && ours.is_nan();
    }
    let allowed = tolerance.absolute + tolerance.relative * node.abs().max(ours.abs());
    (node - ours).abs() <= allowed
}

#[test]
fn grafana_panels_agree_with_node_exporter() {
    let (Some(prometheus_bin), Some(node_exporter)) = (
        monitoring_test_support::require(Peer::Prometheus),
        monitoring_test_support::require(Peer::NodeExporter),
    ) else {
        return;
    };
    let server = Server::start(Setup {
        plugins: &[
            "collector-cpu",
            "collector-memory",
            "collector-disk",
            "collector-system",
            "collector-load",
            "collector-network",
            "collector-disk-io",
        ],
        config: "[history]\nenabled = false\n",
        extra_files: &[],
    });
    let node_port = free_port();
    let _node = NodeExporter(
        Command::new(node_exporter)
            .arg(format!("--web.listen-address=127.0.0.1:{node_port}"))
            .arg("--collector.filesystem.fs-types-exclude=^(proc|sysfs|devpts|devtmpfs|tmpfs|cgroup2?|mqueue|nsfs)$")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node_exporter"),
    );
    let prometheus = Prometheus::start_jobs(
        &prometheus_bin,
        free_port(),
        &[("node", node_port), ("ours", server.port)],
        &[],
    );
    // Both jobs scraped for longer than the panels' 30 s windows.
    for job in ["node", "ours"] {
        prometheus.wait_for(
            &format!(r#"count_over_time(up{{job="{job}"}}[40s]) >= 33 and up{{job="{job}"}} == 1"#),
            Duration::from_secs(90),
        );
    }

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (panel, query, tolerance) in PANELS {
        let node_query = query.replace("$J", NODE).replace("$O", OURS);
        let ours_query = query.replace("$J", OURS).replace("$O", NODE);
        let (node, ours) = match (
            single(&prometheus, &node_query),
            single(&prometheus, &ours_query),
        ) {
            (Ok(node), Ok(ours)) => (node, ours),
            (node, ours) => {
                failures.push(format!("{panel}: node_exporter {node:?}, ours {ours:?}"));
                continue;
            }
        };
        let ok = agree(node, ours, tolerance);
        let allowed = format!("±{} + {}%", tolerance.absolute, tolerance.relative * 100.0);
        rows.push(format!(
            "| {panel} | {node:.3} | {ours:.3} | {:.3} | {allowed} | {} |",
            ours - node,
            if ok { "ok" } else { "DIFFERENT" }
        ));
        if !ok {
            failures.push(format!(
                "{panel}: node_exporter {node}, ours {ours} ({allowed})"
            ));
        }
    }
    println!("| Panel | node_exporter | ours | ours − node_exporter | tolerance | |");
    println!("|---|---|---|---|---|---|");
    for row in &rows {
        println!("{row}");
    }
    assert!(
        failures.is_empty(),
        "{failures:#?}\nPrometheus log:\n{}",
        prometheus.log()
    );
}
