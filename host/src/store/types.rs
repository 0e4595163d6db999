//! The store's public types (what the rest of the server is written against) and
//! its internal failure, shared by every file of the store.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::codec;

/// A failure inside the store (database or chunk), turned into the public errors.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Fault {
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Codec(#[from] codec::CodecError),
}

/// The three tiers, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Every sample as collected (0.5 s by default).
    Tick,
    /// One min/avg/max/count per minute.
    Minute,
    /// One min/avg/max/count per hour.
    Hour,
}

impl Tier {
    /// Its name, as `/health` and the config say it.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Tick => "tick",
            Tier::Minute => "minute",
            Tier::Hour => "hour",
        }
    }
}

/// How long and how much one tier keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TierLimit {
    /// Data older than this goes.
    pub keep: Duration,
    /// The tier's own size cap in bytes, `None` for only the total cap.
    pub max_bytes: Option<u64>,
}

/// Every limit of the store, applied live by [`Store::set_limits`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Tick, minute, hour.
    pub tiers: [TierLimit; 3],
    /// All tiers together (default 1 GiB); the oldest data goes first.
    pub max_bytes: u64,
}

/// Where and how the store keeps its data.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The folder, created when missing.
    pub dir: PathBuf,
    /// Retention and caps.
    pub limits: Limits,
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The folder cannot be created or written.
    #[error("history folder {path}: {reason}")]
    Folder { path: PathBuf, reason: String },
    /// Another running server holds the folder.
    #[error("history folder {path} is in use by another running server (pid {pid})")]
    Locked { path: PathBuf, pid: String },
    /// Anything else the database said.
    #[error("history store {path}: {reason}")]
    Database { path: PathBuf, reason: String },
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The caller asked for something that cannot be answered (the text says why).
    #[error("{0}")]
    Bad(String),
    /// The store failed.
    #[error("history store: {0}")]
    Store(String),
}

/// A time span, in milliseconds since the Unix epoch, `from <= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from_ms: i64,
    pub to_ms: i64,
}

/// One series as `GET /api/series` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesInfo {
    /// Its path, e.g. `network.interfaces[eth0].rx_bytes_per_sec`.
    pub name: String,
    /// Unit where known (`percent`, `bytes`, `bytes/s`, `celsius`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// First and last sample, Unix seconds.
    pub first: f64,
    pub last: f64,
}

/// One series over a span, as `/api/query` answers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoints {
    pub series: String,
    /// Seconds each point covers.
    pub step_seconds: f64,
    /// `[t, min, avg, max]`, `t` the start of the point's step in Unix seconds, oldest first.
    pub points: Vec<[f64; 4]>,
}

/// What happened on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// An alert: fired at `time`, resolved at `end` (`None` while active).
    Alert {
        component: String,
        metric: String,
        level: String,
        value: f64,
        threshold: f64,
        message: String,
    },
    /// A `plugin_event` as clients got it.
    Plugin { detail: serde_json::Value },
    /// `plugins.toml` reloaded (`ok` false when it was refused).
    Reload { ok: bool, message: String },
    /// The server started.
    Start,
    /// The server stopped.
    Stop,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The host it happened on (empty for this server).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Unix seconds.
    pub time: f64,
    /// Unix seconds; `None` while an alert is active or for a moment.
    pub end: Option<f64>,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// A moment of this server's timeline: `kind`, now.
    pub fn now(kind: EventKind) -> Self {
        Self {
            host: String::new(),
            time: chrono::Utc::now().timestamp_millis() as f64 / 1000.0,
            end: None,
            kind,
        }
    }
}

/// One minute's top processes as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessesAt {
    /// When they were taken, Unix seconds.
    pub time: f64,
    /// Top 10 by CPU and by memory, as the `processes` section gave them.
    pub top_cpu: Vec<serde_json::Value>,
    pub top_memory: Vec<serde_json::Value>,
}

/// How the store is doing, for `/health` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Status {
    /// Bytes on disk (the database and its journal).
    pub bytes: u64,
    /// Samples written since start.
    pub samples_written: u64,
    /// Ticks dropped because the writer could not keep up or the disk stayed full.
    pub ticks_dropped: u64,
    /// The last write error (disk full, …), `None` once writes succeed again.
    pub write_error: Option<String>,
    /// Per tier: the oldest sample kept (Unix seconds) and whether a size cap cut it
    /// shorter than its `keep`.
    pub tiers: Vec<TierStatus>,
}

/// One tier in [`Status`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierStatus {
    pub tier: Tier,
    pub bytes: u64,
    pub oldest: Option<f64>,
    /// Set when a size cap removed data younger than the tier's `keep`: the tier
    /// covers less time than configured.
    pub cut_short: bool,
}

impl Default for Limits {
    /// Ticks for 14 days, minutes for 90, hours for 2 years, 1 GiB in all.
    fn default() -> Self {
        let days = |n: u64| TierLimit {
            keep: Duration::from_secs(n * 86_400),
            max_bytes: None,
        };
        Limits {
            tiers: [days(14), days(90), days(730)],
            max_bytes: 1 << 30,
        }
    }
}
