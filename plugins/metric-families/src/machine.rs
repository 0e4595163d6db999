//! The series of issue 14's sections: `network`, `disk_io`, `load`, `sensors` and
//! `processes`.
//!
//! Where node_exporter has the metric, the series carries node_exporter's name and
//! labels (`node_network_receive_bytes_total{device}`, `node_disk_io_time_seconds_total`,
//! `node_load1`, `node_hwmon_temp_celsius{chip,sensor}`, …): those are the names every
//! Prometheus user's dashboards and alerts already query, and a machine watched by us
//! instead of node_exporter keeps them working. What node_exporter does not have (top
//! processes, uptime) follows this server's own `system_*` naming.
//!
//! Only the cumulative counters are exported, as `_total` counters; the collectors' own
//! per-second rates are left out because `rate()` over the counters gives the same over
//! any window the user picks, and survives a missed scrape.

use std::collections::{BTreeMap, HashMap};

use crate::{labels, Emit, Labels, Unit};
use monitoring_plugin_api::sections::{
    DiskIo, Load, Network, ProcessInfo, Processes, Sensors, Temperature,
};

/// `node_network_*_total{device}` for every listed interface.
pub(crate) fn network(b: &mut dyn Emit, n: &Network) {
    for each in &n.interfaces {
        let at = || labels(&[("device", &each.name)]);
        for (name, help, value) in [
            (
                "node_network_receive_bytes",
                "Bytes received by the interface",
                each.rx_bytes,
            ),
            (
                "node_network_transmit_bytes",
                "Bytes sent by the interface",
                each.tx_bytes,
            ),
            (
                "node_network_receive_packets",
                "Packets received by the interface",
                each.rx_packets,
            ),
            (
                "node_network_transmit_packets",
                "Packets sent by the interface",
                each.tx_packets,
            ),
            (
                "node_network_receive_errs",
                "Receive errors of the interface",
                each.rx_errors,
            ),
            (
                "node_network_transmit_errs",
                "Transmit errors of the interface",
                each.tx_errors,
            ),
            (
                "node_network_receive_drop",
                "Received packets the interface dropped",
                each.rx_drops,
            ),
            (
                "node_network_transmit_drop",
                "Outgoing packets the interface dropped",
                each.tx_drops,
            ),
        ] {
            b.counter(name, help, at(), value);
        }
    }
}

/// `node_disk_*_total{device}` for every listed block device.
pub(crate) fn disk_io(b: &mut dyn Emit, d: &DiskIo) {
    for each in &d.devices {
        let at = || labels(&[("device", &each.name)]);
        for (name, help, value) in [
            (
                "node_disk_read_bytes",
                "Bytes read from the device",
                each.read_bytes,
            ),
            (
                "node_disk_written_bytes",
                "Bytes written to the device",
                each.write_bytes,
            ),
            (
                "node_disk_reads_completed",
                "Read operations the device completed",
                each.reads,
            ),
            (
                "node_disk_writes_completed",
                "Write operations the device completed",
                each.writes,
            ),
        ] {
            b.counter(name, help, at(), value);
        }
        // Kept in seconds, as node_exporter does: rate() of it is the busy fraction.
        b.float_counter(
            "node_disk_io_time_seconds",
            "Seconds the device had I/O in flight",
            at(),
            each.io_time_ms as f64 / 1000.0,
        );
    }
}

/// `node_load1/5/15`, runnable and existing tasks, uptime.
pub(crate) fn load(b: &mut dyn Emit, l: &Load) {
    for (name, help, value) in [
        ("node_load1", "1-minute load average", l.load1),
        ("node_load5", "5-minute load average", l.load5),
        ("node_load15", "15-minute load average", l.load15),
    ] {
        b.gauge(name, help, None, vec![], value);
    }
    // Both counts are 0 where the OS does not tell (everywhere but Linux): no series
    // then, rather than a zero that reads as an idle machine.
    if l.total_tasks > 0 {
        b.gauge(
            "node_procs_running",
            "Tasks runnable now (running or waiting for a CPU)",
            None,
            vec![],
            l.runnable_tasks as f64,
        );
        b.gauge(
            "node_processes_threads",
            "Tasks (processes and threads) that exist",
            None,
            vec![],
            l.total_tasks as f64,
        );
    }
    b.gauge(
        "system_uptime",
        "Time since the machine booted",
        Some(Unit::Seconds),
        vec![],
        l.uptime_seconds as f64,
    );
}

/// `node_hwmon_temp_celsius{chip,sensor}` with its thresholds, `node_hwmon_fan_rpm`.
pub(crate) fn sensors(b: &mut dyn Emit, s: &Sensors) {
    let mut names = SensorNames::default();
    for t in &s.temperatures {
        let at = names.next(&t.chip, &t.label);
        temperature(b, t, at);
    }
    let mut names = SensorNames::default();
    for fan in &s.fans {
        let at = names.next(&fan.chip, &fan.label);
        let rpm = Some(Unit::Rpm);
        b.gauge("node_hwmon_fan", "Fan speed", rpm, at, fan.rpm);
    }
}

fn temperature(b: &mut dyn Emit, t: &Temperature, at: Labels) {
    for (name, help, value) in [
        ("node_hwmon_temp", "Sensor temperature", Some(t.celsius)),
        (
            "node_hwmon_temp_max",
            "The chip's high threshold for the sensor",
            t.high,
        ),
        (
            "node_hwmon_temp_crit",
            "The chip's critical threshold for the sensor",
            t.critical,
        ),
    ] {
        if let Some(celsius) = value {
            b.gauge(name, help, Some(Unit::Celsius), at.clone(), celsius);
        }
    }
}

/// `{chip, sensor}` label sets, unique within one list. The section names a sensor by
/// its driver and label only, and a two-socket machine has two `coretemp` chips that
/// both say `Core 0`: the second is exposed as `Core 0 #2` instead of overwriting the
/// first (the lists are sorted, so the suffix is stable while the hardware is).
#[derive(Default)]
struct SensorNames {
    seen: HashMap<(String, String), usize>,
}

impl SensorNames {
    fn next(&mut self, chip: &str, label: &str) -> Labels {
        let count = self
            .seen
            .entry((chip.to_owned(), label.to_owned()))
            .or_insert(0);
        *count += 1;
        let sensor = match *count {
            1 => label.to_owned(),
            n => format!("{label} #{n}"),
        };
        labels(&[("chip", chip), ("sensor", &sensor)])
    }
}

/// `node_processes_pids`, and the top processes as `system_process_*{pid,name}`.
///
/// A process is exported when it is in `top_cpu` or `top_memory`, so each family has
/// at most twice the collector's `top` setting of series per scrape (20 by default).
/// A pid is a label, so a process that comes and goes leaves a short-lived series in
/// the TSDB: bounded per scrape, not over time, which is why these are top-N only.
pub(crate) fn processes(b: &mut dyn Emit, p: &Processes) {
    b.gauge(
        "node_processes_pids",
        "Processes that exist (threads not counted)",
        None,
        vec![],
        p.total as f64,
    );
    let top: BTreeMap<u32, &ProcessInfo> = p
        .top_cpu
        .iter()
        .chain(&p.top_memory)
        .map(|process| (process.pid, process))
        .collect();
    for process in top.values() {
        let pid = process.pid.to_string();
        let at = || labels(&[("pid", &pid), ("name", &process.name)]);
        b.percent(
            "system_process_cpu_usage",
            "CPU use of a top process, % of one core (may pass 100 on several)",
            at(),
            Some(process.cpu_percent),
        );
        b.bytes(
            "system_process_resident_memory",
            "Resident memory of a top process",
            at(),
            Some(process.memory_rss as f64),
        );
        b.percent(
            "system_process_memory_usage",
            "Resident memory of a top process, % of physical memory",
            at(),
            Some(process.memory_percent),
        );
    }
}
