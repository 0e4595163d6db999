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
//! A small key-value table ([`state`]) keeps what else must outlive a restart.

mod codec;
mod events;
mod ingest;
mod paths;
mod query;
mod retention;
mod rollup;
mod schema;
mod state;
mod types;
mod writer;

mod setup;

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use monitoring_plugin_api::{Alert, Sections};

use ingest::Tick;
pub(crate) use types::Fault;
pub use types::{
    Event, EventKind, Limits, OpenError, ProcessesAt, QueryError, SeriesInfo, SeriesPoints,
    Settings, Span, Status, Tier, TierLimit, TierStatus,
};
use writer::{Msg, Shared};

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
    /// The key-value table, written synchronously ([`state`]).
    state: state::StateTable,
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
                readers: query::Readers::new(dir.clone()),
                state: state::StateTable::new(dir),
                _lock: lock,
            }),
        })
    }

    /// Queues without waiting; false when the queue is full or closed.
    fn send(&self, msg: Msg) -> bool {
        let sender = self
            .inner
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sender.as_ref().is_some_and(|s| s.try_send(msg).is_ok())
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

    /// Replaces the value kept under `key` (e.g. the alerts' silences); returns once
    /// it is on disk. Blocks: call it off the runtime.
    pub fn put_state(&self, key: &str, value: &str) -> Result<(), QueryError> {
        self.inner.state.put(key, value)
    }

    /// The value kept under `key`, `None` when nothing was. Blocks.
    pub fn get_state(&self, key: &str) -> Result<Option<String>, QueryError> {
        self.inner.state.get(key)
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
