//! node_exporter's names for what the core sections carry, beside their `system_*`
//! series (which the seed's users read and which stay).
//!
//! An operator who replaces node_exporter with this server keeps the dashboards and
//! alerts everybody uses ("Node Exporter Full" and the like) working unchanged:
//! `node_cpu_seconds_total{cpu,mode}`, `node_memory_*_bytes`,
//! `node_filesystem_{size,free,avail}_bytes{device,fstype,mountpoint}`,
//! `node_boot_time_seconds`, `node_time_seconds` and `node_uname_info`, with
//! node_exporter's labels and units. Network, disk I/O, load and hwmon already carry
//! node_exporter's names (`machine.rs`).
//!
//! Each series comes from the kernel counter node_exporter reads (`/proc/stat`,
//! `/proc/meminfo`, `statvfs`), sent by the collectors in optional section fields; a
//! section from a producer that does not send them gives no such series rather than
//! an approximation under a name that promises the real thing. The two exceptions,
//! both exact: `MemTotal`/`MemAvailable` are the `memory` section's own `total` and
//! `available` where `/proc/meminfo` is not sent (they are the same numbers), and
//! the boot time is read back from the section's text where the seconds are not sent.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{labels, Emit, Unit};
use monitoring_plugin_api::sections::{Disk, Memory, Processor, System};

/// `node_cpu_seconds_total{cpu,mode}`, a counter per CPU and mode.
pub(crate) fn cpu(b: &mut dyn Emit, p: &Processor) {
    for each in &p.cpu_seconds {
        let cpu = each.cpu.to_string();
        for (mode, seconds) in each.modes() {
            b.float_counter(
                "node_cpu_seconds",
                "Seconds the CPUs spent in each mode",
                labels(&[("cpu", &cpu), ("mode", mode)]),
                seconds,
            );
        }
    }
}

/// `node_memory_<Field>_bytes` for the `/proc/meminfo` fields the section carries.
pub(crate) fn memory(b: &mut dyn Emit, m: &Memory) {
    let fields = match &m.meminfo {
        Some(info) => vec![
            ("MemTotal", info.MemTotal),
            ("MemFree", info.MemFree),
            ("MemAvailable", info.MemAvailable),
            ("Buffers", info.Buffers),
            ("Cached", info.Cached),
            ("SwapTotal", info.SwapTotal),
            ("SwapFree", info.SwapFree),
        ],
        None => vec![("MemTotal", m.total), ("MemAvailable", m.available)],
    };
    for (field, bytes) in fields {
        b.gauge(
            &format!("node_memory_{field}"),
            &format!("Memory information field {field}_bytes"),
            Some(Unit::Bytes),
            vec![],
            bytes as f64,
        );
    }
}

/// `node_filesystem_{size,free,avail}_bytes{device,fstype,mountpoint}` for the
/// filesystem holding a watched path. Two paths on one filesystem give the same label
/// set and the same values, so the second writes over the first.
pub(crate) fn filesystem(b: &mut dyn Emit, d: &Disk) {
    let Some(fs) = &d.filesystem else {
        return;
    };
    let at = || {
        labels(&[
            ("device", &fs.device),
            ("fstype", &fs.fstype),
            ("mountpoint", &fs.mountpoint),
        ])
    };
    for (name, help, bytes) in [
        ("node_filesystem_size", "Filesystem size", d.total),
        (
            "node_filesystem_free",
            "Filesystem free space, including what only root may use",
            fs.free_bytes,
        ),
        (
            "node_filesystem_avail",
            "Filesystem space available to non-root users",
            d.free,
        ),
    ] {
        b.gauge(name, help, Some(Unit::Bytes), at(), bytes as f64);
    }
}

/// `node_boot_time_seconds`, `node_time_seconds`, `node_uname_info`.
pub(crate) fn system(b: &mut dyn Emit, s: &System, boot_from_text: Option<f64>) {
    let boot = s.boot_time_seconds.map(|t| t as f64).or(boot_from_text);
    if let Some(boot) = boot {
        b.gauge(
            "node_boot_time",
            "Node boot time, in unixtime",
            Some(Unit::Seconds),
            vec![],
            boot,
        );
    }
    // The time of this reading, as node_exporter's is the time of its scrape: with the
    // boot time it gives uptime, and against the scraper's clock the clock's skew.
    if let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) {
        b.gauge(
            "node_time",
            "System time in seconds since epoch (1970)",
            Some(Unit::Seconds),
            vec![],
            now.as_secs_f64(),
        );
    }
    let domainname = s.domainname.as_deref().unwrap_or("(none)");
    b.info(
        "node_uname",
        "Labeled system information as provided by the uname system call",
        labels(&[
            ("sysname", &s.os_name),
            ("release", &s.os_release),
            ("version", &s.os_version),
            ("machine", &s.machine),
            ("nodename", &s.hostname),
            ("domainname", domainname),
        ]),
    );
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::sections::{CpuSeconds, Filesystem, MemInfo};

    use crate::Flatten;

    use super::*;

    /// A series as (exposed name, labels, value).
    type Found = (String, crate::Labels, f64);

    fn series(emit: impl FnOnce(&mut Flatten)) -> Vec<Found> {
        let mut flat = Flatten::default();
        emit(&mut flat);
        flat.into_series()
            .into_iter()
            .map(|s| (s.name, s.labels, s.value))
            .collect()
    }

    #[test]
    fn cpu_seconds_are_counters_per_cpu_and_mode() {
        let processor = Processor {
            usage_percent: 1.0,
            per_core_usage: vec![1.0],
            core_count: 1,
            logical_count: 1,
            frequency_current: 1.0,
            frequency_max: None,
            cpu_seconds: vec![CpuSeconds {
                cpu: 3,
                user: 1.5,
                idle: 20.0,
                ..CpuSeconds::default()
            }],
        };
        let all = series(|b| cpu(b, &processor));
        assert_eq!(all.len(), 8, "eight modes");
        let idle = all
            .iter()
            .find(|(_, l, _)| l.contains(&("mode".into(), "idle".into())));
        assert_eq!(
            idle,
            Some(&(
                "node_cpu_seconds_total".into(),
                labels(&[("cpu", "3"), ("mode", "idle")]),
                20.0
            ))
        );
    }

    #[test]
    fn memory_uses_the_kernels_field_names() {
        let mut memory = Memory::from_total_available(100, 40);
        memory.meminfo = Some(MemInfo {
            MemTotal: 100,
            MemAvailable: 40,
            SwapTotal: 8,
            SwapFree: 6,
            ..MemInfo::default()
        });
        let all = series(|b| self::memory(b, &memory));
        let names: Vec<&str> = all.iter().map(|(n, _, _)| n.as_str()).collect();
        assert!(names.contains(&"node_memory_MemTotal_bytes"), "{names:?}");
        assert!(names.contains(&"node_memory_SwapFree_bytes"), "{names:?}");
        assert_eq!(names.len(), 7);
        memory.meminfo = None;
        let fallback = series(|b| self::memory(b, &memory));
        assert_eq!(fallback.len(), 2, "only what the section knows exactly");
    }

    #[test]
    fn filesystem_series_carry_node_exporters_labels() {
        let disk = Disk {
            total: 1000,
            used: 400,
            free: 550,
            percentage: 42.1,
            path: "/srv/x".into(),
            filesystem: Some(Filesystem {
                device: "/dev/sda1".into(),
                fstype: "ext4".into(),
                mountpoint: "/srv".into(),
                free_bytes: 600,
            }),
        };
        let all = series(|b| filesystem(b, &disk));
        let at = labels(&[
            ("device", "/dev/sda1"),
            ("fstype", "ext4"),
            ("mountpoint", "/srv"),
        ]);
        assert!(all.contains(&("node_filesystem_size_bytes".into(), at.clone(), 1000.0)));
        assert!(all.contains(&("node_filesystem_free_bytes".into(), at.clone(), 600.0)));
        assert!(all.contains(&("node_filesystem_avail_bytes".into(), at, 550.0)));
    }

    #[test]
    fn uname_info_and_times() {
        let s = System {
            os_name: "Linux".into(),
            hostname: "web-1".into(),
            boot_time_seconds: Some(1_700_000_000),
            ..System::default()
        };
        let all = series(|b| system(b, &s, Some(1.0)));
        assert!(all.contains(&("node_boot_time_seconds".into(), vec![], 1_700_000_000.0)));
        assert!(all
            .iter()
            .any(|(n, _, v)| n == "node_time_seconds" && *v > 1_700_000_000.0));
        let uname = all
            .iter()
            .find(|(n, _, _)| n == "node_uname_info")
            .map(|(_, l, _)| l.clone())
            .unwrap_or_default();
        assert!(uname.contains(&("nodename".into(), "web-1".into())));
        assert!(uname.contains(&("domainname".into(), "(none)".into())));
    }
}
