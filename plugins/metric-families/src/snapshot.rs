//! The snapshot's series: `system_*` from the core sections, node_exporter's names
//! for issue 14's machine sections (`machine.rs`), flattened third-party sections,
//! and last the sections scripts made (`scripted.rs`).

use crate::generic::{generic, sanitize};
use crate::scripted::{self, is_scripted, scripted_series};
use crate::{labels, machine, node, Emit, Unit};
use monitoring_plugin_api::sections::scripted::Exec;
use monitoring_plugin_api::sections::{
    percentage as gpu_percentage, Disk, DiskIo, Disks, Gpu, GpuInfo, Load, Memory, Network,
    Processes, Processor, Section, Sensors, System,
};
use monitoring_plugin_api::Sections;

/// Every numeric reading of the snapshot. The built-in sections are read through their
/// typed schemas (`monitoring_plugin_api::sections`), so renaming a field there is a
/// compile error here, not a silently missing series; a section that does not match
/// its schema (a third-party collector reusing the name) is exported generically.
/// Script sections come last, so that our names win a clash.
pub fn snapshot_series(b: &mut dyn Emit, data: &Sections) {
    core_series(b, data);
    scripted_series(b, data);
}

/// Every reading of `data` except the script sections' (which [`scripted_series`]
/// exports): for a caller that emits its own series before the scripts' (`/metrics`).
pub fn core_series(b: &mut dyn Emit, data: &Sections) {
    for (section, value) in data {
        if is_scripted(value) {
            continue;
        }
        let exported = match section.as_str() {
            Processor::NAME => typed::<Processor>(data).map(|p| processor(b, &p)),
            Memory::NAME => typed::<Memory>(data).map(|m| memory(b, &m)),
            // `disks` lists every watched path; `disk` repeats the first.
            Disk::NAME if data.contains_key(Disks::NAME) => Some(()),
            Disk::NAME => typed::<Disk>(data).map(|d| disk(b, &d)),
            Disks::NAME => typed::<Disks>(data).map(|d| d.0.iter().for_each(|d| disk(b, d))),
            Gpu::NAME => typed::<Gpu>(data).map(|g| gpu(b, &g)),
            System::NAME => typed::<System>(data).map(|s| system(b, &s)),
            Network::NAME => typed::<Network>(data).map(|n| machine::network(b, &n)),
            DiskIo::NAME => typed::<DiskIo>(data).map(|d| machine::disk_io(b, &d)),
            Load::NAME => typed::<Load>(data).map(|l| machine::load(b, &l)),
            Sensors::NAME => typed::<Sensors>(data).map(|s| machine::sensors(b, &s)),
            Processes::NAME => typed::<Processes>(data).map(|p| machine::processes(b, &p)),
            Exec::NAME => typed::<Exec>(data).map(|e| scripted::exec(b, &e)),
            _ => None,
        };
        if exported.is_none() {
            let name = format!("system_{}", sanitize(section));
            generic(b, &name, value, &[], 0);
        }
    }
}

/// A built-in section in its schema, or `None` when it does not match.
fn typed<S: Section>(data: &Sections) -> Option<S> {
    match S::from_sections(data)? {
        Ok(section) => Some(section),
        Err(error) => {
            tracing::debug!(%error, "Section does not match its schema; exporting it as is.");
            None
        }
    }
}

fn processor(b: &mut dyn Emit, p: &Processor) {
    b.percent(
        "system_cpu_usage",
        "CPU usage over all cores",
        vec![],
        Some(p.usage_percent),
    );
    for (index, usage) in p.per_core_usage.iter().enumerate() {
        b.percent(
            "system_cpu_core_usage",
            "CPU usage of one logical core",
            labels(&[("cpu", &index.to_string())]),
            Some(*usage),
        );
    }
    let cores = [
        (
            p.core_count,
            "system_cpu_physical_cores",
            "Physical CPU cores",
        ),
        (
            p.logical_count,
            "system_cpu_logical_cores",
            "Logical CPU cores",
        ),
    ];
    for (count, name, help) in cores {
        b.gauge(name, help, None, vec![], count as f64);
    }
    let frequencies = [
        (
            Some(p.frequency_current),
            "system_cpu_frequency",
            "Current CPU frequency",
        ),
        (
            p.frequency_max,
            "system_cpu_frequency_max",
            "Maximum CPU frequency",
        ),
    ];
    for (mhz, name, help) in frequencies {
        if let Some(mhz) = mhz {
            let hertz = Some(Unit::Hertz);
            b.gauge(name, help, hertz, vec![], mhz * 1e6);
        }
    }
    node::cpu(b, p);
}

fn memory(b: &mut dyn Emit, m: &Memory) {
    b.percent(
        "system_memory_usage",
        "Memory in use",
        vec![],
        Some(m.percentage),
    );
    for (name, value, help) in [
        ("system_memory_total", m.total, "Total physical memory"),
        (
            "system_memory_available",
            m.available,
            "Memory available to new processes",
        ),
        ("system_memory_used", m.used, "Memory in use"),
    ] {
        b.bytes(name, help, vec![], Some(value as f64));
    }
    node::memory(b, m);
}

fn disk(b: &mut dyn Emit, d: &Disk) {
    let at = || labels(&[("path", &d.path)]);
    b.percent(
        "system_disk_usage",
        "Disk space in use on the filesystem holding path",
        at(),
        Some(d.percentage),
    );
    for (name, value, help) in [
        (
            "system_disk_total",
            d.total,
            "Size of the filesystem holding path",
        ),
        (
            "system_disk_used",
            d.used,
            "Space used on the filesystem holding path",
        ),
        (
            "system_disk_free",
            d.free,
            "Space an unprivileged user may still write",
        ),
    ] {
        b.bytes(name, help, at(), Some(value as f64));
    }
    node::filesystem(b, d);
}

fn gpu(b: &mut dyn Emit, g: &Gpu) {
    b.gauge("system_gpus", "GPUs seen", None, vec![], g.count() as f64);
    for each in &g.gpus {
        gpu_device(b, each);
    }
}

fn gpu_device(b: &mut dyn Emit, each: &GpuInfo) {
    let id = each.id.to_string();
    let at = || labels(&[("gpu_id", &id)]);
    let mut info = at();
    for (key, text) in [
        ("name", &each.name),
        ("uuid", &each.uuid),
        ("driver_version", &each.driver_version),
    ] {
        info.push((key.to_owned(), text.clone().unwrap_or_default()));
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
        each.gpu_usage_percent,
    );
    let memory_percent = each
        .memory_percentage
        .or_else(|| gpu_percentage(each.memory_used, each.memory_total));
    b.percent(
        "system_gpu_memory_usage",
        "GPU memory in use",
        at(),
        memory_percent,
    );
    for (name, value, help) in [
        (
            "system_gpu_memory_total",
            each.memory_total,
            "GPU framebuffer memory",
        ),
        (
            "system_gpu_memory_used",
            each.memory_used,
            "GPU memory allocated",
        ),
        (
            "system_gpu_memory_free",
            each.memory_free,
            "GPU memory unallocated",
        ),
    ] {
        b.bytes(name, help, at(), value.map(|v| v as f64));
    }
    if let Some(celsius) = each.temperature {
        let help = "GPU core temperature";
        b.gauge(
            "system_gpu_temperature",
            help,
            Some(Unit::Celsius),
            at(),
            celsius,
        );
    }
    for (name, watts, help) in [
        ("system_gpu_power_draw", each.power_draw, "GPU power draw"),
        (
            "system_gpu_power_limit",
            each.power_limit,
            "GPU power limit",
        ),
    ] {
        if let Some(watts) = watts {
            let unit = Some(Unit::Watts);
            b.gauge(name, help, unit, at(), watts);
        }
    }
}

fn system(b: &mut dyn Emit, s: &System) {
    b.gauge(
        "system_processes",
        "Running processes",
        None,
        vec![],
        s.processes as f64,
    );
    // The collector's own text (local time, the seed's format): data to read, not a
    // time of ours.
    let boot = chrono::NaiveDateTime::parse_from_str(&s.boot_time, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .and_then(|naive| naive.and_local_timezone(chrono::Local).earliest());
    node::system(b, s, boot.map(|boot| boot.timestamp() as f64));
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
    let identity = [
        ("hostname", s.hostname.as_str()),
        ("os_name", &s.os_name),
        ("os_version", &s.os_version),
        ("os_release", &s.os_release),
        ("architecture", &s.architecture),
        ("platform", &s.platform),
    ];
    b.info(
        "system",
        "Identity of the monitored machine; always 1",
        labels(&identity),
    );
}
