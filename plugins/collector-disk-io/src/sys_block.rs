//! Which devices of /proc/diskstats are whole, real block devices: the default listing.
//!
//! `/proc/diskstats` lists partitions and virtual devices next to disks. The kernel
//! tells them apart in sysfs: `/sys/block/<name>` exists only for whole devices (a
//! partition lives under its disk), and `/sys/block/<name>/device` only for those
//! backed by hardware (or a hypervisor's virtual disk, such as virtio's `vda`); loop,
//! ram, zram, dm-… and md… devices have none. The root is a parameter, so tests use a
//! recorded tree instead of this machine's /sys.

use std::path::PathBuf;

/// A `/sys/block` folder.
#[derive(Debug, Clone)]
pub struct SysBlock {
    root: PathBuf,
}

impl SysBlock {
    /// The machine's own `/sys/block`.
    pub fn system() -> Self {
        Self::at("/sys/block")
    }

    /// A `/sys/block` tree at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Whether `name` (as /proc/diskstats spells it) is a whole device backed by a
    /// device: not a partition, not virtual.
    pub fn is_whole_physical(&self, name: &str) -> bool {
        // sysfs spells a `/` in a device name (`cciss/c0d0`) as `!`.
        let folder = self.root.join(name.replace('/', "!"));
        folder.is_dir() && folder.join("device").exists()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A /sys/block like this project's VM's plus a SATA disk and a RAID array:
    /// `vda` and `sda` have `device`, the virtual ones do not, and partitions (`sda1`)
    /// have no folder here at all.
    fn recorded_tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("temp dir");
        for whole in ["vda", "sda", "cciss!c0d0"] {
            fs::create_dir_all(root.path().join(whole).join("device")).expect("device dir");
        }
        for virtual_device in ["loop0", "zram0", "dm-0", "md0", "ram0"] {
            fs::create_dir_all(root.path().join(virtual_device)).expect("virtual dir");
        }
        root
    }

    #[test]
    fn whole_real_devices_are_listed() {
        let tree = recorded_tree();
        let sys = SysBlock::at(tree.path());
        assert!(sys.is_whole_physical("vda"));
        assert!(sys.is_whole_physical("sda"));
        assert!(sys.is_whole_physical("cciss/c0d0"));
    }

    #[test]
    fn partitions_and_virtual_devices_are_not() {
        let tree = recorded_tree();
        let sys = SysBlock::at(tree.path());
        for name in [
            "sda1", "vda1", "loop0", "zram0", "dm-0", "md0", "ram0", "nvme0n1",
        ] {
            assert!(!sys.is_whole_physical(name), "{name}");
        }
    }
}
