//! The `disk` section (the primary path) and `disks` (every path, when several are
//! watched).

use serde::{Deserialize, Serialize};

use super::{check_percent, check_used, Section};

/// A `disk` entry, with the seed's field names; sizes in bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
