//! What an operator runs besides the server itself: `--check-config`, `--print-config`,
//! `--version` with the plugin API version, `--log-format json`, and the readiness
//! notification a `Type=notify` systemd unit waits for (see `packaging/`).
//!
//! It sits above every other room: it reads the configuration and loads the plugin
//! folder the way a start would, then stops instead of serving.

pub mod check;
pub mod logging;
pub mod print;
pub mod readiness;

use std::sync::LazyLock;

/// `--version`: the server's version and the plugin API it loads, since a plugin
/// built against another major API version is refused.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} (plugin API {})",
        env!("CARGO_PKG_VERSION"),
        monitoring_plugin_api::API_VERSION
    )
});
