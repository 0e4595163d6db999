//! Which mounted filesystem holds a path, from Linux's `/proc/self/mounts`: the device,
//! type and mount point node_exporter labels `node_filesystem_*` with.

use std::io::Read;
use std::path::{Path, PathBuf};

use monitoring_plugin_api::sections::Filesystem;

/// The most of `/proc/self/mounts` read: ~100 bytes a mount, so tens of thousands of
/// mounts (a busy container host) fit; past it the list is cut, not the server.
const MAX_BYTES: u64 = 4 << 20;

/// One line of the mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mounted device or source (`/dev/sda1`, `overlay`).
    pub device: String,
    /// Where it is mounted.
    pub mountpoint: PathBuf,
    /// The filesystem type.
    pub fstype: String,
}

/// The filesystem holding `path` (after symlinks), with `free_bytes` filled in by the
/// caller; `None` when the mount table cannot be read.
pub fn holding(path: &Path, free_bytes: u64) -> Option<Filesystem> {
    let mut text = String::new();
    std::fs::File::open("/proc/self/mounts")
        .ok()?
        .take(MAX_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    let real = std::fs::canonicalize(path).ok()?;
    let mounts = parse(&text);
    let mount = longest_holding(&mounts, &real)?;
    Some(Filesystem {
        device: mount.device.clone(),
        fstype: mount.fstype.clone(),
        mountpoint: mount.mountpoint.display().to_string(),
        free_bytes,
    })
}

/// The mount table's lines; fields are space-separated with spaces, tabs, newlines and
/// backslashes written as octal escapes (`\040`).
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            Some(Mount {
                device: unescape(fields.next()?),
                mountpoint: PathBuf::from(unescape(fields.next()?)),
                fstype: unescape(fields.next()?),
            })
        })
        .collect()
}

/// The mount whose point is the longest prefix of `path`; of two at the same point,
/// the later one (it is mounted over the earlier and is what the path reaches).
pub fn longest_holding<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| path.starts_with(&m.mountpoint))
        .max_by_key(|(i, m)| (m.mountpoint.components().count(), *i))
        .map(|(_, m)| m)
}

/// `\040` → space, and so on for any three-digit octal escape.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match escape {
            Some(digits) => {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "overlay / overlay rw,relatime 0 0\n\
        proc /proc proc rw 0 0\n\
        /dev/sda1 /srv ext4 rw 0 0\n\
        /dev/sdb1 /srv/My\\040Data xfs rw 0 0\n\
        tmpfs /srv tmpfs rw 0 0\n";

    #[test]
    fn the_longest_mount_point_holds_the_path() {
        let mounts = parse(TABLE);
        let at = |p: &str| longest_holding(&mounts, Path::new(p)).map(|m| m.device.clone());
        assert_eq!(at("/"), Some("overlay".into()));
        assert_eq!(
            at("/srv/My Data/x"),
            Some("/dev/sdb1".into()),
            "octal escapes"
        );
        assert_eq!(
            at("/srv/other"),
            Some("tmpfs".into()),
            "the later mount covers"
        );
        assert_eq!(at("/srvx"), Some("overlay".into()), "whole components only");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_machines_root_is_found() {
        let found = holding(Path::new("/"), 1).unwrap_or_default();
        assert_eq!(found.mountpoint, "/");
        assert!(!found.fstype.is_empty());
    }
}
