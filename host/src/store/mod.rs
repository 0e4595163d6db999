//! The history store: every number of every snapshot kept on disk for months, in
//! three tiers (tick resolution, 1-minute and 1-hour min/avg/max/count), with the
//! events of the same timeline and each minute's top processes.
//!
//! One SQLite database (WAL) in the store's folder. `record` flattens a snapshot on
//! the caller's thread and queues it; the writer thread ([`writer`]) commits ticks
//! about once a second as `pending` rows, seals each host's 5-minute window into pco
//! chunks ([`ingest`], [`codec`]), rolls minutes and hours ([`rollup`]) and applies
//! the limits ([`retention`]). Queries read through a pool of read-only connections
//! ([`query`]); alert episodes and other events live on the same timeline ([`events`]).

mod codec;
mod events;
mod ingest;
mod paths;
mod query;
mod retention;
mod rollup;
mod schema;
mod writer;

mod setup;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use monitoring_plugin_api::{Alert, Sections};
use serde::{Deserialize, Serialize};

use writer::{Msg, Shared, Tick};

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

/// The handle every part of the server shares: cheap to clone, never blocks the
/// caller on disk for writes (they are batched on the store's own thread).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// Bounded (see [`writer::CHANNEL_BOUND`]): a full queue drops the tick, counted,
    /// rather than make the tick's path wait. `None` once closed.
    sender: Mutex<Option<SyncSender<Msg>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
    readers: query::Readers,
    /// Dropped last: the folder stays ours until the writer has finished.
    _lock: schema::Lock,
}

impl Inner {
    /// Closes the queue and waits for the writer to write what it holds (one attempt).
    fn stop(&self) {
        drop(
            self.sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            if handle.join().is_err() {
                tracing::error!("history store: the writer thread panicked");
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Store {
    /// Opens (creating, migrating or moving aside a corrupt) store in `settings.dir`,
    /// held against a second server until dropped.
    pub fn open(settings: Settings) -> Result<Self, OpenError> {
        let dir = settings.dir;
        std::fs::create_dir_all(&dir).map_err(|e| OpenError::Folder {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        let lock = schema::Lock::take(&dir)?;
        let db = |e: Fault| OpenError::Database {
            path: dir.join(schema::DB_FILE),
            reason: e.to_string(),
        };
        let conn = schema::open_writer(&dir)?;
        events::close_stale(&conn).map_err(|e| db(e.into()))?;
        let shared = Arc::new(Shared::default());
        *shared.limits.lock().unwrap_or_else(PoisonError::into_inner) = Some(settings.limits);
        let writer = writer::Writer::new(conn, dir.clone(), Arc::clone(&shared)).map_err(db)?;
        let (sender, receiver) = mpsc::sync_channel(writer::CHANNEL_BOUND);
        let handle = std::thread::Builder::new()
            .name("history-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|e| OpenError::Database {
                path: dir.clone(),
                reason: format!("starting the writer: {e}"),
            })?;
        Ok(Store {
            inner: Arc::new(Inner {
                sender: Mutex::new(Some(sender)),
                writer: Mutex::new(Some(handle)),
                shared,
                readers: query::Readers::new(dir),
                _lock: lock,
            }),
        })
    }

    fn send(&self, msg: Msg) -> bool {
        let sender = self
            .inner
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match sender.as_ref().map(|s| s.try_send(msg)) {
            Some(Ok(())) => true,
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => false,
        }
    }

    /// Queues one snapshot of `host` ("" = this server) taken at `at_ms`: every number
    /// becomes a sample of its series, the `processes` lists are kept once a minute,
    /// and the active `alerts` open and close alert events. Never blocks.
    pub fn record(&self, host: &str, at_ms: i64, sections: &Sections, alerts: &[Alert]) {
        let tick = Tick {
            host: host.to_owned(),
            at_ms,
            flat: paths::flatten(sections),
            alerts: alerts.to_vec(),
        };
        if !self.send(Msg::Tick(tick)) {
            self.inner
                .shared
                .ticks_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues one event. Never blocks.
    pub fn record_event(&self, event: Event) {
        if !self.send(Msg::Event(event)) {
            tracing::warn!("history store: queue full, an event was not stored");
        }
    }

    /// Applies new limits from the next write on.
    pub fn set_limits(&self, limits: Limits) {
        *self
            .inner
            .shared
            .limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(limits);
    }

    /// The series of `host` whose name starts with `prefix`.
    pub fn series(&self, host: &str, prefix: &str) -> Result<Vec<SeriesInfo>, QueryError> {
        self.inner
            .readers
            .with(|conn| query::series(conn, host, prefix))
    }

    /// `series` of `host` over `span` in at most `points` points, from the finest
    /// tier that covers the span.
    pub fn query(
        &self,
        host: &str,
        series: &str,
        span: Span,
        points: usize,
    ) -> Result<SeriesPoints, QueryError> {
        self.inner
            .readers
            .with(|conn| query::query(conn, host, series, span, points))
    }

    /// Events over `span`, of `host` or of every host.
    pub fn events(&self, host: Option<&str>, span: Span) -> Result<Vec<Event>, QueryError> {
        self.inner
            .readers
            .with(|conn| Ok(events::read(conn, host, span)?))
    }

    /// The top processes of `host` recorded last at or before `at_ms`.
    pub fn processes(&self, host: &str, at_ms: i64) -> Result<Option<ProcessesAt>, QueryError> {
        self.inner
            .readers
            .with(|conn| query::processes(conn, host, at_ms))
    }

    /// The hosts that have series (a gateway's fleet; "" is this server).
    pub fn hosts(&self) -> Result<Vec<String>, QueryError> {
        self.inner.readers.with(query::hosts)
    }

    /// How the store is doing (cached by the writer; no disk access).
    pub fn status(&self) -> Status {
        let shared = &self.inner.shared;
        let mut status = shared.status_mut().clone();
        status.samples_written = shared.samples_written.load(Ordering::Relaxed);
        status.ticks_dropped = shared.ticks_dropped.load(Ordering::Relaxed);
        status
    }

    /// Waits until everything queued so far is committed (one attempt): for tools
    /// that replay data as fast as the store takes it, and tests. Blocks; not for the
    /// tick's path.
    pub fn flush(&self) {
        let sender = self
            .inner
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (done, wait) = mpsc::sync_channel(1);
        if sender.is_some_and(|s| s.send(Msg::Flush(done)).is_ok()) {
            // An error means the writer is gone: nothing more will be written.
            let _ = wait.recv();
        }
    }

    /// Writes everything queued and stops the writer; called once at shutdown.
    pub fn close(&self) {
        self.inner.stop();
    }
}

#[cfg(test)]
mod tests;
