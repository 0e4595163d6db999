//! What the tests of several crates share, in one place so copies cannot drift apart:
//!
//! - [`peer`]: the real programs the tests talk to (Prometheus, Chromium, aiosmtpd,
//!   the published client, Autobahn, a C compiler, Python, gzip); a missing one fails
//!   the test, naming it and its install command.
//! - [`permissions`]: mode bits that bind a test even when it runs as root.
//! - [`nvml`]: the fake NVML library (C source and its build) and its canned GPUs.
//! - [`smi`]: the fake `nvidia-smi` and the rows recorded from real GPUs.
//! - [`gpu_section`]: the `gpu` section a client sees for a list of GPUs.
//! - [`sample_alert`] (plugin-api's) and [`critical_alert`]: alerts for the sinks' tests.
//!
//! A dev-dependency only: no plugin library links it.

pub mod nvml;
pub mod peer;
pub mod permissions;
pub mod smi;

pub use peer::{require, skip, Peer};
pub use permissions::obey_permissions;
/// Scratch folders, for crates that need one beside the fakes.
pub use tempfile;

use monitoring_plugin_api::{Alert, AlertLevel};
use serde_json::{json, Value};

/// One sample alert: memory over its warning threshold (plugin-api's own).
pub use monitoring_plugin_api::testing::sample_alert;

/// [`sample_alert`] escalated: memory at 96.2 % over its 90 % critical threshold.
pub fn critical_alert() -> Alert {
    Alert {
        value: 96.2,
        threshold: 90.0,
        level: AlertLevel::Critical,
        message: "Critical memory usage: 96.2% (threshold: 90.0%)".into(),
        ..sample_alert()
    }
}

/// Bytes in a mebibyte, the unit GPU memory is reported in.
pub const MIB: u64 = 1024 * 1024;

/// The `gpu` section for `gpus` from `backend`: the list, and GPU 0's fields again at
/// the top level, as the published seed server sends them.
pub fn gpu_section(backend: &str, gpus: &[Value]) -> Value {
    let mut section = json!({"count": gpus.len(), "backend": backend, "gpus": gpus});
    let flat = section.as_object_mut().expect("an object");
    flat.extend(gpus[0].as_object().expect("an object").clone());
    section
}
