//! The data contract in types: the built-in snapshot sections (`processor`, `memory`,
//! `disk`/`disks`, `system`, `gpu`) with exactly the field names and units the wire
//! carries in `monitoring_data.data` (docs/protocol.md).
//!
//! Collectors build these types, the host reads them back with
//! [`Section::from_sections`], and [`field_path!`](crate::field_path) names their fields
//! in alert rules, so a renamed field is a compile error on both sides instead of a
//! silently missing value. Sections of third-party plugins stay free-form JSON in
//! [`Sections`].

mod disk;
mod disk_io;
mod gpu;
mod load;
mod memory;
mod network;
mod processes;
mod processor;
pub mod scripted;
mod sensors;
mod system;

use serde::{de::DeserializeOwned, Serialize};

use crate::Sections;

pub use disk::{Disk, Disks, Filesystem};
pub use disk_io::{DiskIo, DiskIoDevice};
pub use gpu::{percentage, Gpu, GpuInfo};
pub use load::Load;
pub use memory::{MemInfo, Memory};
pub use network::{Network, NetworkInterface};
pub use processes::{ProcessInfo, Processes};
pub use processor::{CpuSeconds, Processor};
pub use sensors::{Fan, Sensors, Temperature};
pub use system::System;

/// A section's value did not match its schema.
#[derive(Debug, thiserror::Error)]
#[error("section `{section}` does not match its schema: {source}")]
pub struct SectionError {
    /// The section's name, e.g. `memory`.
    pub section: &'static str,
    /// What serde found wrong (a missing field, a `null` where a number belongs…).
    #[source]
    pub source: serde_json::Error,
}

/// A built-in snapshot section: its schema and the key it is stored under.
pub trait Section: Serialize + DeserializeOwned {
    /// The key in `monitoring_data.data`, e.g. `"memory"`.
    const NAME: &'static str;

    /// Reads this section out of a snapshot: `None` when no collector produced it,
    /// `Some(Err)` when it is there but does not match the schema.
    fn from_sections(sections: &Sections) -> Option<Result<Self, SectionError>> {
        let value = sections.get(Self::NAME)?;
        Some(Self::deserialize(value).map_err(|source| SectionError {
            section: Self::NAME,
            source,
        }))
    }

    /// Checks the values the schema cannot express (ranges, `used ≤ total`). Returns
    /// the first problem, naming the field by its path.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Names a field of a built-in section the way alert rules do, as a `&'static str`:
/// `field_path!(Memory, percentage)` is `"memory.percentage"`.
///
/// The field is referenced in a closure that is never called, so renaming it is a
/// compile error here instead of a rule that silently never fires:
///
/// ```
/// use monitoring_plugin_api::{field_path, sections::Memory};
/// const MEMORY: &str = field_path!(Memory, percentage);
/// assert_eq!(MEMORY, "memory.percentage");
/// ```
///
/// ```compile_fail
/// use monitoring_plugin_api::{field_path, sections::Memory};
/// let path = field_path!(Memory, percent); // no such field
/// ```
#[macro_export]
macro_rules! field_path {
    ($section:ty, $field:ident) => {{
        // Never called: it only makes the compiler check that the field exists.
        const _: fn(&$section) = |section| {
            let _ = &section.$field;
        };
        const SECTION: &str = <$section as $crate::sections::Section>::NAME;
        const FIELD: &str = ::core::stringify!($field);
        const LEN: usize = SECTION.len() + 1 + FIELD.len();
        const BYTES: [u8; LEN] = $crate::sections::__join_path::<LEN>(SECTION, FIELD);
        const PATH: &str = match ::core::str::from_utf8(&BYTES) {
            Ok(path) => path,
            Err(_) => panic!("section and field names are UTF-8"),
        };
        PATH
    }};
}

/// `section.field` as bytes, at compile time; for [`field_path!`](crate::field_path).
#[doc(hidden)]
pub const fn __join_path<const N: usize>(section: &str, field: &str) -> [u8; N] {
    let mut out = [b'.'; N];
    let (section, field) = (section.as_bytes(), field.as_bytes());
    let mut i = 0;
    while i < section.len() {
        out[i] = section[i];
        i += 1;
    }
    let mut j = 0;
    while j < field.len() {
        out[section.len() + 1 + j] = field[j];
        j += 1;
    }
    out
}

/// Checks that `value` is a percentage: finite and within 0–100.
/// `part / whole` in percent, rounded to one decimal as psutil's `percent` is (the
/// seed's memory and disk percentages); `None` when `whole` is 0. Every section that
/// derives a percentage from two counts uses this one rounding.
pub fn percent_of(part: u64, whole: u64) -> Option<f64> {
    (whole != 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 10.0)
}

pub(crate) fn check_percent(path: &str, value: f64) -> Result<(), String> {
    if (0.0..=100.0).contains(&value) {
        Ok(())
    } else {
        Err(format!("{path} = {value} is not a percentage within 0–100"))
    }
}

/// Checks that `value` is finite (NaN and ±∞ do not survive JSON: they become `null`).
pub(crate) fn check_finite(path: &str, value: f64) -> Result<(), String> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(format!("{path} = {value} is not a finite number"))
    }
}

/// Checks `used ≤ total`.
pub(crate) fn check_used(path: &str, used: u64, total: u64) -> Result<(), String> {
    if used <= total {
        Ok(())
    } else {
        Err(format!(
            "{path}.used = {used} exceeds {path}.total = {total}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// The sorted keys of a serialized value.
    pub(crate) fn keys(value: &impl Serialize) -> Vec<String> {
        let value = serde_json::to_value(value).unwrap_or_default();
        let mut keys: Vec<String> = value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn field_paths_are_the_rule_paths() {
        assert_eq!(field_path!(Memory, percentage), "memory.percentage");
        assert_eq!(field_path!(Disk, percentage), "disk.percentage");
        assert_eq!(field_path!(Disk, free), "disk.free");
        assert_eq!(
            field_path!(Processor, usage_percent),
            "processor.usage_percent"
        );
        assert_eq!(field_path!(Gpu, gpus), "gpu.gpus");
    }

    #[test]
    fn a_section_is_read_typed_or_reported() {
        let sections = json!({
            "memory": {"total": 10, "available": 6, "used": 4, "percentage": 40.0},
            "processor": {"usage_percent": null}
        });
        let sections = sections.as_object().cloned().unwrap_or_default();
        let memory = Memory::from_sections(&sections);
        assert!(
            matches!(memory, Some(Ok(Memory { used: 4, .. }))),
            "{memory:?}"
        );
        assert!(Disk::from_sections(&sections).is_none());
        let err = Processor::from_sections(&sections)
            .and_then(Result::err)
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("section `processor` does not match its schema: "),
            "{err}"
        );
    }

    #[test]
    fn every_section_keeps_todays_keys() {
        // Pinned from the collectors' own structs before the schema moved here: a key
        // added, renamed or dropped is a change of the wire contract.
        let processor = Processor {
            usage_percent: 1.0,
            per_core_usage: vec![1.0],
            core_count: 1,
            logical_count: 1,
            frequency_current: 1.0,
            frequency_max: None,
            cpu_seconds: Vec::new(),
        };
        assert_eq!(
            keys(&processor),
            [
                "core_count",
                "frequency_current",
                "frequency_max",
                "logical_count",
                "per_core_usage",
                "usage_percent"
            ]
        );
        let memory = Memory::from_total_available(10, 5);
        assert_eq!(keys(&memory), ["available", "percentage", "total", "used"]);
        let disk = Disk {
            total: 1,
            used: 1,
            free: 0,
            percentage: 100.0,
            path: "/".into(),
            filesystem: None,
        };
        // `mount_point` (= `path`) was added for the seed client's detailed view.
        assert_eq!(
            keys(&disk),
            ["free", "mount_point", "path", "percentage", "total", "used"]
        );
        let system = System::default();
        assert_eq!(
            keys(&system),
            [
                "architecture",
                "boot_time",
                "hostname",
                "machine",
                "os_name",
                "os_release",
                "os_version",
                "platform",
                "processes",
                "processor"
            ]
        );
        let value = serde_json::to_value(Disks(vec![disk])).unwrap_or_default();
        assert!(
            matches!(value, Value::Array(ref a) if a.len() == 1),
            "{value}"
        );
    }
}
