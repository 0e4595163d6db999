//! What the tests of several crates share, in one place so copies cannot drift apart:
//! the black-box harness of `tests/`, the peers and fakes of the plugins' tests, and
//! the peer list xtask installs from. (The plugin contract checks are plugin-api's own
//! `testing` module: they are part of the public API, this crate is not.)
//!
//! Always built, std only:
//!
//! - [`peer`]: the real programs the tests talk to (Prometheus, Chromium, aiosmtpd,
//!   the published client, Autobahn, a C compiler, Python, gzip); a missing one fails
//!   the test, naming it and its install command.
//! - [`permissions`]: mode bits that bind a test even when it runs as root.
//! - [`nvml`]: the fake NVML library (C source and its build) and its canned GPUs.
//! - [`smi`]: the fake `nvidia-smi` and the rows recorded from real GPUs.
//! - [`gpu_section`]: the `gpu` section a client sees for a list of GPUs.
//! - [`sample_alert`] (plugin-api's) and [`critical_alert`]: alerts for the sinks' tests.
//! - [`http_server`]: a scripted HTTP server the webhook and slack sinks post to.
//! - [`http`]: a blocking HTTP GET for the server's and Prometheus's HTTP APIs.
//! - [`hwmon`]: a sysfs hwmon tree for the sensors collector.
//! - [`nats`]: a real `nats-server` for the fleet tests.
//!
//! With the `harness` feature (tokio and a WebSocket client, which the plugins' tests do
//! not need), the black-box harness:
//!
//! - [`server`]: the real binary and plugin libraries, built once and found from the
//!   test executable's path; [`Server`] started on a free port in a scratch folder.
//! - [`client`]: a WebSocket client of it: [`connect`], [`next_of_type`],
//!   [`plugin_record`], ….
//! - [`recorder`]: a client reading in the background and recording every tick;
//!   [`witness`]: one connected before an attack, proving the attack cost it nothing.
//!
//! With `browser` (also a WebDriver client): [`browser`], headless Chromium.
//!
//! The harness's everyday items are re-exported here, so a test reads
//! `use monitoring_test_support::{connect, Server, Setup};`.
//!
//! A dev-dependency only (and xtask's, without features): no plugin library links it.

#[cfg(feature = "browser")]
pub mod browser;
#[cfg(feature = "harness")]
pub mod client;
pub mod http;
pub mod http_server;
pub mod hwmon;
pub mod nats;
pub mod nvml;
pub mod peer;

pub mod permissions;
pub mod prometheus;
#[cfg(feature = "harness")]
pub mod recorder;
#[cfg(feature = "harness")]
pub mod server;
pub mod smi;
#[cfg(feature = "harness")]
pub mod witness;

#[cfg(feature = "harness")]
pub use client::{
    close_code, connect, connect_with_token, next_json, next_of_type, parse_timestamp,
    plugin_record, raw_upgrade_request, send_text, Client,
};
#[cfg(feature = "harness")]
pub use server::{
    admin_env, artifacts, assert_refused_once, first_party_plugins, library, run_to_exit, Server,
    Setup, ADMIN_ACCESS, ADMIN_TOKEN, CORE_COLLECTORS,
};

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
