//! From two readings of every listed device's counters to the `disk_io` section:
//! per-second rates and busy percent over the time between them, plus totals.
//!
//! A device that is in the current reading but not the previous one (just plugged in)
//! is listed with its counters and rates of 0; its real rates start with its second
//! reading. One gone from the current reading is no longer listed. A counter that went
//! backwards is handled by [`collector_rates::delta`] (32-bit wrap, as `io_ticks` does
//! on older kernels, or reset), so no rate is ever negative.

use std::collections::BTreeMap;
use std::time::Duration;

use collector_rates::{delta, per_second, round1};
use monitoring_plugin_api::sections::{DiskIo, DiskIoDevice};

use crate::diskstats::{Counters, SECTOR_BYTES};

/// Every listed device's counters at one moment, by name.
pub type Reading = BTreeMap<String, Counters>;

/// The section for `current`, with rates over the `elapsed` time since `previous`.
pub fn section(previous: &Reading, current: &Reading, elapsed: Duration) -> DiskIo {
    let devices: Vec<DiskIoDevice> = current
        .iter()
        .map(|(name, now)| {
            let went_by = previous.get(name).map(|before| went_by(before, now));
            device(name, now, went_by.as_ref(), elapsed)
        })
        .collect();
    let sum_rate = |rate: fn(&DiskIoDevice) -> f64| round1(devices.iter().map(rate).sum());
    DiskIo {
        read_bytes_per_sec: sum_rate(|d| d.read_bytes_per_sec),
        write_bytes_per_sec: sum_rate(|d| d.write_bytes_per_sec),
        devices,
    }
}

/// What each counter counted between two readings.
fn went_by(before: &Counters, now: &Counters) -> Counters {
    Counters {
        reads: delta(before.reads, now.reads),
        sectors_read: delta(before.sectors_read, now.sectors_read),
        writes: delta(before.writes, now.writes),
        sectors_written: delta(before.sectors_written, now.sectors_written),
        io_time_ms: delta(before.io_time_ms, now.io_time_ms),
    }
}

/// One device's entry; `went_by` is `None` on its first reading (rates 0).
fn device(
    name: &str,
    now: &Counters,
    went_by: Option<&Counters>,
    elapsed: Duration,
) -> DiskIoDevice {
    let rate = |count: u64| per_second(count, elapsed);
    let (read_bytes_per_sec, write_bytes_per_sec, reads_per_sec, writes_per_sec, busy_percent) =
        went_by.map_or((0.0, 0.0, 0.0, 0.0, 0.0), |d| {
            (
                rate(bytes(d.sectors_read)),
                rate(bytes(d.sectors_written)),
                rate(d.reads),
                rate(d.writes),
                busy_percent(d.io_time_ms, elapsed),
            )
        });
    DiskIoDevice {
        name: name.to_owned(),
        read_bytes_per_sec,
        write_bytes_per_sec,
        reads_per_sec,
        writes_per_sec,
        busy_percent,
        read_bytes: bytes(now.sectors_read),
        write_bytes: bytes(now.sectors_written),
        reads: now.reads,
        writes: now.writes,
        io_time_ms: now.io_time_ms,
    }
}

/// Sectors of /proc/diskstats in bytes.
fn bytes(sectors: u64) -> u64 {
    sectors.saturating_mul(SECTOR_BYTES)
}

/// `io_time_ms` over the wall-clock milliseconds, in percent, one decimal, at most 100
/// (the kernel's `io_ticks` and our clock are read at slightly different moments).
fn busy_percent(io_time_ms: u64, elapsed: Duration) -> f64 {
    let wall_ms = elapsed.as_secs_f64() * 1000.0;
    if wall_ms > 0.0 {
        round1((io_time_ms as f64 / wall_ms * 100.0).min(100.0))
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::sections::Section;

    use super::*;
    use crate::diskstats::parse;

    const VM_1: &str = include_str!("../tests/fixtures/vm-2core/diskstats.1");
    const VM_2: &str = include_str!("../tests/fixtures/vm-2core/diskstats.2");

    /// `uptime.2 - uptime.1` = 5923.50 - 5922.07 s: the time between the two readings.
    const VM_ELAPSED: Duration = Duration::from_millis(1_430);

    /// The VM's root disk only, as the default listing gives it there.
    fn vda(text: &str) -> Reading {
        let mut reading = parse(text).expect("a recorded /proc/diskstats parses");
        reading.retain(|name, _| name == "vda");
        reading
    }

    #[test]
    fn the_vm_pair_shows_the_64_mib_write() {
        let disk_io = section(&vda(VM_1), &vda(VM_2), VM_ELAPSED);
        assert_eq!(disk_io.devices.len(), 1);
        let vda = &disk_io.devices[0];
        // Sectors written: 37_014_808 - 36_883_736 = 131_072; × 512 = 67_108_864 bytes,
        // the 64 MiB written between the two readings.
        assert!(vda.write_bytes - 36_883_736 * 512 >= 64 << 20);
        assert_eq!(vda.write_bytes, 37_014_808 * 512);
        // 67_108_864 / 1.43 = 46_929_275.52… bytes/s.
        assert_eq!(vda.write_bytes_per_sec, 46_929_275.5);
        // Sectors read: 17_815_530 - 17_813_922 = 1_608; × 512 = 823_296; / 1.43 =
        // 575_731.47…
        assert_eq!(vda.read_bytes_per_sec, 575_731.5);
        // Reads 471_785 - 471_652 = 133 → 93.0/s; writes 95_764 - 95_636 = 128 → 89.5/s.
        assert_eq!(vda.reads_per_sec, 93.0);
        assert_eq!(vda.writes_per_sec, 89.5);
        // io_ticks 115_888 - 115_716 = 172 ms of 1_430 ms = 12.03 %.
        assert_eq!(vda.busy_percent, 12.0);
        assert_eq!(vda.io_time_ms, 115_888);
        assert_eq!(disk_io.write_bytes_per_sec, 46_929_275.5);
        assert_eq!(disk_io.read_bytes_per_sec, 575_731.5);
        assert_eq!(disk_io.validate(), Ok(()));
    }

    #[test]
    fn busy_time_is_clamped_to_the_interval() {
        // 600 ms of io_ticks read over what our clock measured as 500 ms.
        assert_eq!(busy_percent(600, Duration::from_millis(500)), 100.0);
        assert_eq!(busy_percent(250, Duration::from_millis(500)), 50.0);
        assert_eq!(busy_percent(250, Duration::ZERO), 0.0);
    }

    #[test]
    fn a_wrapped_io_ticks_counter_counts_across_the_wrap() {
        // io_ticks was a 32-bit `unsigned int` on older kernels: 4_294_967_196 (100
        // short of 2^32), then 150 after the wrap = 250 ms busy in 500 ms = 50 %.
        let mut before = vda(VM_1);
        let mut after = vda(VM_1);
        before.get_mut("vda").expect("vda").io_time_ms = 4_294_967_196;
        after.get_mut("vda").expect("vda").io_time_ms = 150;
        let disk_io = section(&before, &after, Duration::from_millis(500));
        assert_eq!(disk_io.devices[0].busy_percent, 50.0);
        // The pair backwards: a wrap would mean nearly 2^32 went by in one interval
        // (more than half the range), so every counter was reset: nothing is counted
        // for this interval, no negative and no giant rate.
        let disk_io = section(&vda(VM_2), &vda(VM_1), VM_ELAPSED);
        let vda = &disk_io.devices[0];
        assert_eq!(vda.write_bytes_per_sec, 0.0);
        assert_eq!((vda.reads_per_sec, vda.busy_percent), (0.0, 0.0));
        assert_eq!(
            vda.write_bytes,
            36_883_736 * 512,
            "the counters are as read"
        );
        assert_eq!(disk_io.validate(), Ok(()));
    }

    #[test]
    fn a_device_that_appears_starts_at_zero_and_one_that_leaves_is_dropped() {
        let all_1 = parse(VM_1).expect("parses");
        let mut before = vda(VM_1);
        before.remove("vda");
        before.insert("sdz".into(), all_1["vda"]);
        let disk_io = section(&before, &vda(VM_2), VM_ELAPSED);
        let names: Vec<&str> = disk_io.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["vda"], "sdz left");
        let vda = &disk_io.devices[0];
        assert_eq!(
            vda.write_bytes_per_sec, 0.0,
            "vda's first reading has no rate"
        );
        assert_eq!(vda.write_bytes, 37_014_808 * 512);
        assert_eq!(disk_io.write_bytes_per_sec, 0.0);
    }
}
