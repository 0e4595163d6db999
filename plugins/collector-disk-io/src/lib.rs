//! Collector plugin `disk-io`: the snapshot's `disk_io` section, I/O per block device.
//!
//! Rates are computed here from the kernel's cumulative counters in `/proc/diskstats`
//! between this plugin's own calls, over the time a monotonic clock measured between
//! them. `new()` takes a first reading and waits [`PRIMING`] so the first `collect()`
//! already has real rates; no `collect()` ever sleeps. See [`counters`] for devices that
//! appear or disappear and for counters that wrap or reset.
//!
//! By default only whole, real block devices are listed (see [`sys_block`]): no
//! partitions (their I/O is already in their disk's), no loop, ram, zram, dm-… or md…
//! devices (their I/O lands on a real disk too, and would be counted twice in the
//! totals). Linux only: elsewhere `new()` says `unavailable`.

// The parsers and the selection are plain Rust and tested everywhere; only Linux reads.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

mod counters;
mod diskstats;
mod sys_block;

use std::time::{Duration, Instant};

use collector_rates::{Baseline, NameList};
use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::DiskIo;

use counters::Reading;
use sys_block::SysBlock;

/// How long `new()` waits after its first reading, so the first rates cover a real
/// interval (like `cpu`'s priming).
pub const PRIMING: Duration = Duration::from_millis(150);

/// Where the kernel keeps the counters.
const PROC_DISKSTATS: &str = "/proc/diskstats";

/// Settings of `[plugins.disk-io]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Devices to list: exact names or `prefix*`. Empty (the default) lists every whole,
    /// real block device; a non-empty list names the devices instead, and may name
    /// partitions or virtual devices (`dm-*`, `md0`).
    pub include: Vec<String>,
    /// Devices never listed, even when `include` names them: exact names or `prefix*`.
    pub exclude: Vec<String>,
}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `disk_io` section.
    pub disk_io: DiskIo,
}

/// Which devices are listed: those `include` names, or every whole real device when it
/// is empty, less those `exclude` names.
#[derive(Debug, Clone)]
struct Selection {
    include: NameList,
    exclude: NameList,
    sys_block: SysBlock,
}

impl Selection {
    fn new(config: &Config, sys_block: SysBlock) -> Result<Self, PluginError> {
        let list = |setting, entries: &[String]| {
            NameList::parse(setting, entries).map_err(PluginError::config)
        };
        Ok(Self {
            include: list("include", &config.include)?,
            exclude: list("exclude", &config.exclude)?,
            sys_block,
        })
    }

    fn lists(&self, name: &str) -> bool {
        let chosen = if self.include.is_empty() {
            self.sys_block.is_whole_physical(name)
        } else {
            self.include.matches(name)
        };
        chosen && !self.exclude.matches(name)
    }

    /// Keeps only the listed devices of a reading.
    fn keep(&self, mut reading: Reading) -> Reading {
        reading.retain(|name, _| self.lists(name));
        reading
    }
}

/// Keeps the previous reading and its time between calls.
pub struct DiskIoCollector {
    selection: Selection,
    previous: Baseline<Reading>,
}

impl DiskIoCollector {
    /// The listed devices' counters now, with the time they were read.
    fn read(&self) -> Result<(Reading, Instant), PluginError> {
        let text = std::fs::read_to_string(PROC_DISKSTATS).map_err(|e| {
            PluginError::retryable(format_args!("cannot read {PROC_DISKSTATS}: {e}"))
        })?;
        let now = Instant::now();
        let reading = diskstats::parse(&text).map_err(PluginError::retryable)?;
        Ok((self.selection.keep(reading), now))
    }
}

impl Collector for DiskIoCollector {
    const NAME: &'static str = "disk-io";
    const DESCRIPTION: &'static str =
        "Block device I/O: bytes and operations per second, busy percent, and totals.";
    type Config = Config;
    type Output = Output;

    #[cfg(target_os = "linux")]
    fn new(config: Config) -> Result<Self, PluginError> {
        let selection = Selection::new(&config, SysBlock::system())?;
        std::fs::metadata(PROC_DISKSTATS).map_err(|e| {
            PluginError::unavailable(format_args!("cannot read {PROC_DISKSTATS}: {e}"))
        })?;
        let mut collector = Self {
            selection,
            previous: Baseline::new(Reading::new(), Instant::now()),
        };
        let (first, at) = collector.read()?;
        collector.previous = Baseline::new(first, at);
        std::thread::sleep(PRIMING);
        Ok(collector)
    }

    #[cfg(not(target_os = "linux"))]
    fn new(_config: Config) -> Result<Self, PluginError> {
        Err(PluginError::unavailable(
            "disk I/O statistics are read from /proc/diskstats, Linux only",
        ))
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        let (current, now) = self.read()?;
        let disk_io = self.previous.advance(current, now, counters::section);
        Ok(Output { disk_io })
    }
}

declare_collector!(DiskIoCollector);

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A /sys/block as on this project's VM: `vda` is a (virtio) disk, the rest virtual.
    fn vm_sys_block() -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(root.path().join("vda/device")).expect("vda");
        for name in ["loop0", "loop7", "zram0"] {
            fs::create_dir_all(root.path().join(name)).expect("virtual device");
        }
        root
    }

    fn selection(include: &[&str], exclude: &[&str], tree: &tempfile::TempDir) -> Selection {
        let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        let config = Config {
            include: owned(include),
            exclude: owned(exclude),
        };
        Selection::new(&config, SysBlock::at(tree.path())).expect("valid lists")
    }

    #[test]
    fn by_default_the_vm_lists_its_disk_only() {
        let tree = vm_sys_block();
        let reading = diskstats::parse(include_str!("../tests/fixtures/vm-2core/diskstats.1"))
            .expect("parses");
        let listed = selection(&[], &[], &tree).keep(reading);
        let names: Vec<&str> = listed.keys().map(String::as_str).collect();
        assert_eq!(names, ["vda"], "no loop or zram device");
    }

    #[test]
    fn include_names_devices_even_virtual_ones_and_exclude_wins() {
        let tree = vm_sys_block();
        let loops = selection(&["loop*"], &["loop7"], &tree);
        assert!(loops.lists("loop0"));
        assert!(!loops.lists("loop7"), "exclude wins over include");
        assert!(!loops.lists("vda"), "a non-empty include names the devices");
        let no_vda = selection(&[], &["vd*"], &tree);
        assert!(!no_vda.lists("vda"));
    }

    #[test]
    fn a_bad_pattern_is_a_config_error_naming_the_setting() {
        let err = DiskIoCollector::new(Config {
            include: Vec::new(),
            exclude: vec!["s*a".into()],
        })
        .err()
        .expect("refused");
        assert_eq!(err.kind(), Some(monitoring_plugin_api::ErrorKind::Config));
        assert!(err.message().contains("`exclude`"), "{err}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn obeys_the_collector_contract() {
        let sections = monitoring_plugin_api::testing::check_collector::<DiskIoCollector>();
        let disk_io = &sections["disk_io"];
        let devices = disk_io["devices"].as_array().expect("devices is an array");
        assert!(!devices.is_empty(), "this machine has a disk: {disk_io}");
        let system = SysBlock::system();
        for device in devices {
            let name = device["name"].as_str().expect("a name");
            assert!(system.is_whole_physical(name), "{name} listed by default");
            assert!(
                device["read_bytes"].as_u64().is_some_and(|b| b > 0),
                "{device}"
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_synced_write_shows_in_the_root_disks_counters_and_rate() {
        use std::io::Write;
        let mut collector = DiskIoCollector::new(Config::default()).expect("builds");
        let before = collector.collect().expect("collects").disk_io;
        // 8 MiB written and synced beside this test's executable, in the target folder:
        // on a disk, unlike a tmpfs /tmp.
        let exe = std::env::current_exe().expect("test executable");
        let target = exe.parent().expect("the executable's folder");
        let dir = tempfile::tempdir_in(target).expect("temp dir");
        let mut file = fs::File::create(dir.path().join("written")).expect("create");
        file.write_all(&vec![1u8; 8 << 20]).expect("write");
        file.sync_all().expect("fsync");
        let after = collector.collect().expect("collects").disk_io;
        let written = |d: &DiskIo| d.devices.iter().map(|d| d.write_bytes).sum::<u64>();
        assert!(
            written(&after) - written(&before) >= 8 << 20,
            "{before:?} → {after:?}"
        );
        assert!(after.write_bytes_per_sec > 0.0, "{after:?}");
    }
}
