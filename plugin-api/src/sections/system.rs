//! The `system` section.

use serde::{Deserialize, Serialize};

use super::Section;

/// The `system` section. Names follow Python's `platform` module as the seed uses it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct System {
    /// `platform.system()`: `Linux`, `Windows`, `Darwin`…
    pub os_name: String,
    /// The kernel's build string (`uname -v`).
    pub os_version: String,
    /// The kernel release (`uname -r`).
    pub os_release: String,
    /// Instruction set, e.g. `x86_64`.
    pub architecture: String,
    /// One line naming the platform, as Python's `platform.platform()`, e.g.
    /// `Linux-6.1.0-18-amd64-x86_64-with-glibc2.36`.
    pub platform: String,
    /// Hardware type (`uname -m`).
    pub machine: String,
    /// Processor model name.
    pub processor: String,
    /// Host name.
    pub hostname: String,
    /// Running processes.
    pub processes: u64,
    /// When the machine booted, ISO 8601 local time.
    pub boot_time: String,
    /// When the machine booted, Unix seconds (`node_boot_time_seconds`); the text
    /// above is local time, which a clock change or DST makes ambiguous. Added in
    /// plugin-api 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_time_seconds: Option<u64>,
    /// The NIS domain name (`uname`'s `domainname`, for `node_uname_info`); `(none)`
    /// on most machines, as node_exporter shows it. Added in plugin-api 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
}

impl Section for System {
    const NAME: &'static str = "system";
}
