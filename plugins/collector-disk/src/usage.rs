//! One path's usage, from `statvfs` on Unix and from sysinfo's disk list elsewhere.

use std::io;
use std::path::Path;

use monitoring_plugin_api::sections::{percent_of, Disk};

/// Builds a `disk` entry from block counts as `statvfs` reports them.
pub fn from_blocks(
    path: &Path,
    block_size: u64,
    blocks: u64,
    blocks_free: u64,
    blocks_available: u64,
) -> Disk {
    let total = blocks.saturating_mul(block_size);
    let used = blocks
        .saturating_sub(blocks_free)
        .saturating_mul(block_size);
    let free = blocks_available.saturating_mul(block_size);
    let visible = used.saturating_add(free);
    Disk {
        total,
        used,
        free,
        percentage: percent_of(used, visible).unwrap_or(0.0),
        path: path.display().to_string(),
        filesystem: None,
    }
}

/// Reads the filesystem holding `path`.
#[cfg(unix)]
pub fn read(path: &Path) -> io::Result<Disk> {
    let stat = rustix::fs::statvfs(path)?;
    let mut disk = from_blocks(
        path,
        stat.f_frsize,
        stat.f_blocks,
        stat.f_bfree,
        stat.f_bavail,
    );
    #[cfg(target_os = "linux")]
    {
        let free = stat.f_bfree.saturating_mul(stat.f_frsize);
        disk.filesystem = crate::mounts::holding(path, free);
    }
    Ok(disk)
}

/// Reads the filesystem holding `path`: the disk with the longest matching mount point.
#[cfg(not(unix))]
pub fn read(path: &Path) -> io::Result<Disk> {
    let disks = sysinfo::Disks::new_with_refreshed_list();
    let disk = disks
        .list()
        .iter()
        .filter(|d| path.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no mounted disk holds this path")
        })?;
    let total = disk.total_space();
    let free = disk.available_space();
    Ok(from_blocks(path, 1, total, free, free))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentage_ignores_root_reserved_blocks_like_psutil() {
        // 100 blocks, 10 free of which 5 reserved for root: 90 used, 5 available.
        let usage = from_blocks(Path::new("/"), 4096, 100, 10, 5);
        assert_eq!(usage.total, 409_600);
        assert_eq!(usage.used, 368_640);
        assert_eq!(usage.free, 20_480);
        assert_eq!(usage.percentage, 94.7);
        assert_eq!(usage.path, "/");
    }

    #[test]
    fn empty_filesystem_is_zero_percent() {
        assert_eq!(from_blocks(Path::new("/x"), 4096, 0, 0, 0).percentage, 0.0);
    }
}
