//! The `disk` section (the primary path) and `disks` (every path, when several are
//! watched).

use serde::{Deserialize, Serialize};

use super::{check_percent, check_used, Section};

/// A `disk` entry, with the seed's field names; sizes in bytes.
///
/// On the wire it also carries `mount_point`, always equal to `path`: the published
/// seed client's detailed view reads that key (and prints `Mount: N/A` without it).
/// It is derived on serialization instead of stored, so the two can never disagree
/// and no producer can forget it; a 1.0 plugin that sends no `mount_point` still
/// deserializes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "DiskWire", from = "DiskWire")]
pub struct Disk {
    /// Total size of the filesystem.
    pub total: u64,
    /// Bytes in use.
    pub used: u64,
    /// Bytes an unprivileged user can still write.
    pub free: u64,
    /// `used / (used + free)`, %, one decimal.
    pub percentage: f64,
    /// The watched path.
    pub path: String,
    /// The mounted filesystem holding `path`, as node_exporter labels it; absent where
    /// the OS does not tell and from producers older than plugin-api 1.2.
    pub filesystem: Option<Filesystem>,
}

/// The filesystem holding a watched path, for node_exporter's
/// `node_filesystem_{size,free,avail}_bytes{device,fstype,mountpoint}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filesystem {
    /// What is mounted (`/dev/nvme0n1p2`, `overlay`, `tmpfs`).
    pub device: String,
    /// Its type (`ext4`, `xfs`, `overlay`).
    pub fstype: String,
    /// Where it is mounted: the longest mount point that holds `path`.
    pub mountpoint: String,
    /// Free bytes, including those only root may use (`f_bfree`); `Disk::free` is
    /// what an unprivileged user may still write (`f_bavail`).
    pub free_bytes: u64,
}

/// [`Disk`] as the wire carries it: its fields plus `mount_point`.
#[derive(Serialize, Deserialize)]
struct DiskWire {
    total: u64,
    used: u64,
    free: u64,
    percentage: f64,
    path: String,
    /// Always `path` when we send it; whatever a producer sent is not kept, since
    /// `path` is the one the server and its rules read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mount_point: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filesystem: Option<Filesystem>,
}

impl From<Disk> for DiskWire {
    fn from(disk: Disk) -> Self {
        Self {
            mount_point: Some(disk.path.clone()),
            total: disk.total,
            used: disk.used,
            free: disk.free,
            percentage: disk.percentage,
            path: disk.path,
            filesystem: disk.filesystem,
        }
    }
}

impl From<DiskWire> for Disk {
    fn from(wire: DiskWire) -> Self {
        Self {
            total: wire.total,
            used: wire.used,
            free: wire.free,
            percentage: wire.percentage,
            path: wire.path,
            filesystem: wire.filesystem,
        }
    }
}

impl Section for Disk {
    const NAME: &'static str = "disk";

    fn validate(&self) -> Result<(), String> {
        self.validate_at(Self::NAME)
    }
}

impl Disk {
    fn validate_at(&self, path: &str) -> Result<(), String> {
        check_percent(&format!("{path}.percentage"), self.percentage)?;
        check_used(path, self.used, self.total)
    }
}

/// The `disks` section: one [`Disk`] per watched path, the primary one first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Disks(pub Vec<Disk>);

impl Section for Disks {
    const NAME: &'static str = "disks";

    fn validate(&self) -> Result<(), String> {
        self.0
            .iter()
            .enumerate()
            .try_for_each(|(i, disk)| disk.validate_at(&format!("disks[{i}]")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn root() -> Disk {
        Disk {
            total: 100,
            used: 40,
            free: 60,
            percentage: 40.0,
            path: "/srv".into(),
            filesystem: None,
        }
    }

    #[test]
    fn mount_point_is_sent_as_the_path() {
        let value = serde_json::to_value(root()).expect("serializes");
        assert_eq!(value["mount_point"], "/srv", "{value}");
        assert_eq!(value["path"], "/srv", "{value}");
        let value = serde_json::to_value(Disks(vec![root()])).expect("serializes");
        assert_eq!(value[0]["mount_point"], "/srv", "{value}");
    }

    #[test]
    fn a_disk_without_mount_point_still_reads() {
        // What a 1.0 plugin sends.
        let old = json!({"total": 100, "used": 40, "free": 60, "percentage": 40.0, "path": "/srv"});
        let disk: Disk = serde_json::from_value(old).expect("a 1.0 disk deserializes");
        assert_eq!(disk, root());
        let new = serde_json::to_value(root()).expect("serializes");
        let again: Disk = serde_json::from_value(new).expect("round trip");
        assert_eq!(again, root());
    }
}
