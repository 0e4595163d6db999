//! `plugins.toml`: server settings, the monitor loop, and one table per plugin.
//!
//! Every value has the seed's default, so a missing file or an empty one runs the
//! server as the seed would. Errors name the file, the line and the key: toml's own
//! messages already carry line and key for syntax and unknown-key errors, and plugin
//! tables keep their spans so a plugin's complaint about its settings can be pointed
//! back at the line that caused it.
//!
//! `file.rs` reads the whole file; each section, the error type and the line finding
//! have files of their own. Every child imports its siblings, never this module, which
//! only declares and re-exports them: no circle of imports (see `layout_rule.rs`).

pub mod access;
pub mod alerts;
mod bounds;
pub mod delivery;
mod error;
mod file;
pub mod fleet;
mod fleet_credentials;
mod history;
mod lines;
mod monitor;
mod plugin_table;
pub mod read;
mod server;
pub mod tls;

pub use bounds::{ConnectionLimits, HISTORY_FRAME_BUDGET, HISTORY_TTL, MAX_HISTORY_BYTES};
pub use error::ConfigError;
pub use file::{Config, Overrides};
pub use history::HistoryConfig;
pub use monitor::MonitorConfig;
pub use plugin_table::PluginTable;
pub use server::ServerConfig;
