//! The writer thread: the only connection that writes. It takes ticks and events from
//! a bounded channel, commits them about once a second (so `kill -9` loses at most the
//! last second), seals and rolls up as windows end, applies retention, and keeps a
//! failed batch in memory to retry while the disk is full.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::events;
use super::ingest::{self, HostState, Tick};
use super::retention::{self, TIERS};
use super::schema::DB_FILE;
use super::types::{Event, Fault, Limits, Status, TierStatus};

/// Messages queued between `record` and the writer: at 500 hosts × 2 Hz this is about
/// four seconds; beyond it `record` drops the tick (counted) rather than wait.
pub const CHANNEL_BOUND: usize = 4096;
/// Messages kept in memory while writes fail (disk full); the oldest go beyond it.
const MAX_BACKLOG: usize = 10_000;
/// Commit at least this often: the durability promise.
const COMMIT_EVERY: Duration = Duration::from_secs(1);
/// Commit early when this many messages wait (a busy gateway).
const MAX_BATCH: usize = 2_000;
/// After a failed write, try again this much later.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// A host silent this long gets its pending ticks sealed.
const IDLE_SEAL_AFTER: Duration = Duration::from_secs(600);

pub enum Msg {
    Tick(Tick),
    Event(Event),
    /// Commit what is queued, then answer.
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// What the writer and the handles share.
#[derive(Default)]
pub struct Shared {
    /// Refreshed by the writer after each commit; `Store::status` only copies it.
    pub status: Mutex<Status>,
    pub ticks_dropped: AtomicU64,
    pub samples_written: AtomicU64,
    /// Read by the writer at each commit, so new limits apply at the next write.
    pub limits: Mutex<Option<Limits>>,
}

impl Shared {
    pub fn status_mut(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub struct Writer {
    conn: Connection,
    dir: PathBuf,
    shared: Arc<Shared>,
    hosts: HashMap<String, HostState>,
    backlog: VecDeque<Msg>,
    /// The newest tick time seen: "now" for retention (replayed data has its own clock).
    now_ms: Option<i64>,
    failing: bool,
    last_attempt: Instant,
    last_sweep: Instant,
    started: Instant,
    /// Hosts with pending ticks left by the last run, sealed if they stay silent.
    orphans: Vec<String>,
}

impl Writer {
    pub fn new(conn: Connection, dir: PathBuf, shared: Arc<Shared>) -> Result<Self, Fault> {
        let orphans = ingest::pending_hosts(&conn)?;
        let now_ms = orphans.iter().map(|(_, at)| *at).max();
        let mut writer = Writer {
            conn,
            dir,
            shared,
            hosts: HashMap::new(),
            backlog: VecDeque::new(),
            now_ms,
            failing: false,
            last_attempt: Instant::now(),
            last_sweep: Instant::now(),
            started: Instant::now(),
            orphans: orphans.into_iter().map(|(host, _)| host).collect(),
        };
        writer.refresh_status()?;
        Ok(writer)
    }

    /// Runs until every handle is gone, then writes what is queued (one attempt).
    pub fn run(mut self, rx: Receiver<Msg>) {
        // On a gateway sharing one core with 2,000 hosts' frames, commits at the
        // tick's priority delayed it (BENCHMARKS.md).
        crate::priority::lower(crate::priority::HISTORY_WRITER, "history-writer");
        let mut last_flush = Instant::now();
        loop {
            let wait = COMMIT_EVERY.saturating_sub(last_flush.elapsed());
            match rx.recv_timeout(wait) {
                Ok(Msg::Flush(done)) => {
                    self.flush(true);
                    last_flush = Instant::now();
                    // The asker may have given up waiting; nothing to do then.
                    let _ = done.send(());
                }
                Ok(msg) => {
                    self.push(msg);
                    if self.backlog.len() >= MAX_BATCH || last_flush.elapsed() >= COMMIT_EVERY {
                        self.flush(false);
                        last_flush = Instant::now();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.flush(false);
                    last_flush = Instant::now();
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush(true);
                    // Fold the journal back so a closed store is one file of its size.
                    if let Err(error) = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
                        tracing::warn!(%error, "history store: final checkpoint failed");
                    }
                    // Sizes only; a failure here changes nothing on disk.
                    let _ = self.refresh_status();
                    return;
                }
            }
        }
    }

    fn push(&mut self, msg: Msg) {
        if self.backlog.len() >= MAX_BACKLOG {
            if let Some(Msg::Tick(_)) = self.backlog.pop_front() {
                self.shared.ticks_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.backlog.push_back(msg);
    }

    fn flush(&mut self, last: bool) {
        if self.failing && !last && self.last_attempt.elapsed() < RETRY_EVERY {
            return;
        }
        self.last_attempt = Instant::now();
        match self.write() {
            Ok((samples, removed)) => {
                self.backlog.clear();
                self.shared
                    .samples_written
                    .fetch_add(samples, Ordering::Relaxed);
                if removed {
                    // Give freed pages back so the file follows the data.
                    if let Err(error) = self.conn.execute_batch("PRAGMA incremental_vacuum") {
                        tracing::warn!(%error, "history store: incremental vacuum failed");
                    }
                }
                if self.failing {
                    tracing::info!("history store: writes succeed again");
                }
                self.failing = false;
                self.shared.status_mut().write_error = None;
                if let Err(error) = self.refresh_status() {
                    tracing::warn!(%error, "history store: reading its sizes failed");
                }
            }
            Err(error) if !is_transient(&error) => {
                // Not the disk: retrying the same batch would fail forever and
                // wedge the store, so it goes (counted) and writing goes on.
                let dropped = self
                    .backlog
                    .iter()
                    .filter(|m| matches!(m, Msg::Tick(_)))
                    .count();
                tracing::error!(%error, dropped, "history store: a batch could not be written and was dropped");
                self.backlog.clear();
                self.hosts.clear();
                self.shared
                    .ticks_dropped
                    .fetch_add(dropped as u64, Ordering::Relaxed);
                self.shared.status_mut().write_error = Some(error.to_string());
            }
            Err(error) => {
                if !self.failing {
                    tracing::warn!(%error, queued = self.backlog.len(), "history store: write failed; keeping the batch and retrying");
                }
                self.failing = true;
                // The failed transaction rolled back: forget what it interned.
                self.hosts.clear();
                self.shared.status_mut().write_error = Some(error.to_string());
            }
        }
    }

    /// One transaction: the backlog, idle hosts sealed, retention. Returns the samples
    /// written and whether retention removed anything.
    fn write(&mut self) -> Result<(u64, bool), Fault> {
        let limits = *self
            .shared
            .limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let tx = self.conn.transaction()?;
        let mut samples = 0;
        let mut now_ms = self.now_ms;
        for msg in &self.backlog {
            match msg {
                Msg::Tick(tick) => {
                    let state = match self.hosts.entry(tick.host.clone()) {
                        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(HostState::load(&tx, &tick.host)?)
                        }
                    };
                    samples += ingest::write_tick(&tx, state, tick)?;
                    now_ms = now_ms.max(Some(tick.at_ms));
                }
                Msg::Event(event) => {
                    events::insert(&tx, event)?;
                }
                Msg::Flush(_) => {}
            }
        }
        if self.last_sweep.elapsed() >= Duration::from_secs(30) {
            for (host, state) in &mut self.hosts {
                if state.has_pending() && state.last_seen.elapsed() >= IDLE_SEAL_AFTER {
                    ingest::seal_idle(&tx, host, state)?;
                }
            }
            if self.started.elapsed() >= IDLE_SEAL_AFTER {
                for host in std::mem::take(&mut self.orphans) {
                    if !self.hosts.contains_key(&host) {
                        let mut state = HostState::load(&tx, &host)?;
                        ingest::seal_idle(&tx, &host, &mut state)?;
                    }
                }
            }
        }
        let removed = match (now_ms, limits) {
            (Some(now), Some(limits)) => retention::apply(&tx, &limits, now)?,
            _ => false,
        };
        tx.commit()?;
        if self.last_sweep.elapsed() >= Duration::from_secs(30) {
            self.last_sweep = Instant::now();
        }
        self.now_ms = now_ms;
        Ok((samples, removed))
    }

    /// Copies sizes and ages into the shared status (three indexed lookups, no scan).
    fn refresh_status(&mut self) -> Result<(), Fault> {
        let bytes = retention::tier_bytes(&self.conn)?;
        let cut = retention::cut_short(&self.conn)?;
        let mut tiers = Vec::with_capacity(3);
        for (index, tier) in TIERS.into_iter().enumerate() {
            let oldest = retention::oldest_ms(&self.conn, index)?;
            tiers.push(TierStatus {
                tier,
                bytes: bytes[index],
                oldest: oldest.map(|ms| ms as f64 / 1000.0),
                cut_short: cut[index],
            });
        }
        let file = |suffix: &str| {
            std::fs::metadata(self.dir.join(format!("{DB_FILE}{suffix}"))).map_or(0, |m| m.len())
        };
        let on_disk = file("") + file("-wal");
        let mut status = self.shared.status_mut();
        status.bytes = on_disk;
        status.tiers = tiers;
        Ok(())
    }
}

/// Failures that pass when the disk has room again or a lock is released: the
/// batch is kept and retried.
fn is_transient(error: &Fault) -> bool {
    use rusqlite::ErrorCode::{
        CannotOpen, DatabaseBusy, DatabaseLocked, DiskFull, OutOfMemory, ReadOnly, SystemIoFailure,
    };
    match error {
        Fault::Sql(rusqlite::Error::SqliteFailure(failure, _)) => matches!(
            failure.code,
            DiskFull
                | SystemIoFailure
                | DatabaseBusy
                | DatabaseLocked
                | ReadOnly
                | CannotOpen
                | OutOfMemory
        ),
        Fault::Sql(_) | Fault::Codec(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::paths::Flat;
    use crate::store::schema;

    fn tick(n: i64) -> Msg {
        let samples = (0..200)
            .map(|s| (format!("test.value[{s}]"), (n * s) as f64))
            .collect();
        Msg::Tick(Tick {
            host: String::new(),
            at_ms: 1_796_428_800_000 + n * 500,
            flat: Flat {
                samples,
                ..Flat::default()
            },
            alerts: Vec::new(),
        })
    }

    /// A full disk (SQLite's page limit standing in for it) fails the write without
    /// losing the batch; the next write after space returns stores all of it.
    #[test]
    fn a_full_disk_keeps_the_batch_and_recovers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = schema::open_writer(dir.path()).expect("opens");
        let pages: i64 = conn
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .expect("pages");
        conn.pragma_update(None, "max_page_count", pages)
            .expect("limit set");
        let shared = Arc::new(Shared::default());
        let mut writer =
            Writer::new(conn, dir.path().to_owned(), Arc::clone(&shared)).expect("a writer");
        for n in 0..50 {
            writer.push(tick(n));
        }
        writer.flush(true);
        let error = shared.status_mut().write_error.clone();
        assert!(
            error.as_deref().is_some_and(|e| e.contains("full")),
            "{error:?}"
        );
        assert_eq!(writer.backlog.len(), 50);
        assert_eq!(shared.samples_written.load(Ordering::Relaxed), 0);

        writer
            .conn
            .pragma_update(None, "max_page_count", 1_000_000)
            .expect("limit lifted");
        writer.flush(true);
        assert_eq!(shared.status_mut().write_error, None);
        assert!(writer.backlog.is_empty());
        assert_eq!(shared.samples_written.load(Ordering::Relaxed), 50 * 200);
        let stored: i64 = writer
            .conn
            .query_row("SELECT count(*) FROM pending", [], |r| r.get(0))
            .expect("counted");
        assert_eq!(stored, 50);

        // A tick of the next window with other series seals the first window and
        // keeps only the layout still in use.
        writer.push(Msg::Tick(Tick {
            host: String::new(),
            at_ms: 1_796_428_800_000 + 300_000,
            flat: Flat {
                samples: vec![("other".into(), 1.0)],
                ..Flat::default()
            },
            alerts: Vec::new(),
        }));
        writer.flush(true);
        let count = |table: &str| -> i64 {
            writer
                .conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .expect("counted")
        };
        assert_eq!(
            (
                count("pending"),
                count("layouts"),
                count("groups"),
                count("chunks")
            ),
            (1, 1, 1, 200)
        );
    }

    #[test]
    fn a_backlog_beyond_its_bound_drops_the_oldest_ticks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = schema::open_writer(dir.path()).expect("opens");
        let shared = Arc::new(Shared::default());
        let mut writer =
            Writer::new(conn, dir.path().to_owned(), Arc::clone(&shared)).expect("a writer");
        for n in 0..(MAX_BACKLOG as i64 + 3) {
            writer.push(Msg::Tick(Tick {
                host: String::new(),
                at_ms: n,
                flat: Flat::default(),
                alerts: Vec::new(),
            }));
        }
        assert_eq!(writer.backlog.len(), MAX_BACKLOG);
        assert_eq!(shared.ticks_dropped.load(Ordering::Relaxed), 3);
        assert!(matches!(writer.backlog.front(), Some(Msg::Tick(t)) if t.at_ms == 3));
    }
}
