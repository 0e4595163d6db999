//! Per-CPU time per mode from Linux's `/proc/stat`, for node_exporter's
//! `node_cpu_seconds_total{cpu,mode}`.
//!
//! The file counts in clock ticks (`USER_HZ`, almost always 100 per second); the tick
//! length is asked of the C library (`sysconf(_SC_CLK_TCK)`) rather than assumed.

use std::io::Read;

use monitoring_plugin_api::sections::CpuSeconds;

/// The most of `/proc/stat` read: its `cpuN` lines come first and take ~100 bytes per
/// CPU, so this covers thousands of CPUs.
const MAX_BYTES: u64 = 1 << 20;

/// Reads `/proc/stat`; `None` where it does not exist or cannot be read.
pub fn read() -> Option<Vec<CpuSeconds>> {
    let mut text = String::new();
    std::fs::File::open("/proc/stat")
        .ok()?
        .take(MAX_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    let ticks = ticks_per_second()?;
    Some(parse(&text, ticks))
}

/// `USER_HZ`, from the C library.
fn ticks_per_second() -> Option<f64> {
    // SAFETY: sysconf reads a constant of the C library; no memory is passed.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then_some(ticks as f64)
}

/// The `cpuN` lines of `/proc/stat` (not the `cpu` total), in seconds. A line with
/// fewer fields (kernels before 2.6.11 lack `steal`) reads the missing ones as 0; a
/// line that does not parse is skipped.
pub fn parse(text: &str, ticks_per_second: f64) -> Vec<CpuSeconds> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let cpu = fields.next()?.strip_prefix("cpu")?.parse::<u32>().ok()?;
            let mut value = || -> Option<f64> {
                match fields.next() {
                    Some(field) => field
                        .parse::<u64>()
                        .ok()
                        .map(|t| t as f64 / ticks_per_second),
                    None => Some(0.0),
                }
            };
            Some(CpuSeconds {
                cpu,
                user: value()?,
                nice: value()?,
                system: value()?,
                idle: value()?,
                iowait: value()?,
                irq: value()?,
                softirq: value()?,
                steal: value()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_cpu_line_in_seconds() {
        let text = "cpu  100 2 30 4000 5 6 7 8 0 0\n\
                    cpu0 50 1 15 2000 2 3 4 4 0 0\n\
                    cpu2 50 1 15 2000 3 3 3 4 0 0\n\
                    intr 12345 0\nctxt 999\nbtime 1700000000\n";
        let cpus = parse(text, 100.0);
        assert_eq!(cpus.len(), 2, "the total line is not a CPU");
        assert_eq!(cpus[0].cpu, 0);
        assert_eq!(
            cpus[1].cpu, 2,
            "offline CPUs leave gaps: the number is kept"
        );
        assert_eq!(cpus[0].user, 0.5);
        assert_eq!(cpus[0].idle, 20.0);
        assert_eq!(cpus[0].steal, 0.04);
    }

    #[test]
    fn a_garbled_line_is_skipped_and_a_short_one_reads_zeros() {
        let cpus = parse("cpu0 1 x 3\ncpu1 100 0 0 100\n", 100.0);
        assert_eq!(cpus.len(), 1);
        assert_eq!(cpus[0].cpu, 1);
        assert_eq!(cpus[0].steal, 0.0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_machine_has_counters_for_every_cpu() {
        let cpus = read().unwrap_or_default();
        assert!(!cpus.is_empty());
        assert!(cpus.iter().all(|c| c.idle > 0.0 || c.user > 0.0));
    }
}
