//! Opening the database: the folder's lock, the connection settings, the schema's
//! migrations, and a corrupt store moved aside for a fresh one.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};

use super::types::OpenError;

/// The database's file name in the store's folder.
pub const DB_FILE: &str = "history.db";
const LOCK_FILE: &str = "history.lock";
/// Below this size `PRAGMA quick_check` runs on open; above it, only the schema is
/// read (a full check of 1 GiB takes seconds, the start-up budget is one).
const QUICK_CHECK_MAX_BYTES: u64 = 64 << 20;

/// Ordered schema steps: the store's `user_version` is how many have run. Never
/// edit a released step; append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: series, pending ticks, sealed chunks, rollup watermarks, tier sizes, events.
    // Chunks are a rowid table, appended in time order (full pages), found through
    // the small (series, tier, start) index; keyed by series they split pages.
    "CREATE TABLE series(id INTEGER PRIMARY KEY, host TEXT NOT NULL, name TEXT NOT NULL,
         unit TEXT, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, UNIQUE(host, name));
     CREATE TABLE layouts(id INTEGER PRIMARY KEY, ids BLOB NOT NULL);
     CREATE TABLE pending(host TEXT NOT NULL, at_ms INTEGER NOT NULL, layout INTEGER NOT NULL,
         vals BLOB NOT NULL, PRIMARY KEY(host, at_ms)) WITHOUT ROWID;
     CREATE TABLE groups(id INTEGER PRIMARY KEY, host TEXT NOT NULL, tier INTEGER NOT NULL,
         start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, times BLOB, bytes INTEGER NOT NULL);
     CREATE INDEX groups_by_age ON groups(tier, start_ms);
     CREATE INDEX groups_by_host ON groups(host, tier, start_ms);
     CREATE TABLE chunks(id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, tier INTEGER NOT NULL,
         start_ms INTEGER NOT NULL, group_id INTEGER NOT NULL, data BLOB NOT NULL);
     CREATE UNIQUE INDEX chunks_by_series ON chunks(series_id, tier, start_ms);
     CREATE INDEX chunks_by_group ON chunks(group_id);
     CREATE TABLE watermarks(host TEXT NOT NULL, tier INTEGER NOT NULL, upto_ms INTEGER NOT NULL,
         PRIMARY KEY(host, tier)) WITHOUT ROWID;
     CREATE TABLE tiers(tier INTEGER PRIMARY KEY, bytes INTEGER NOT NULL, cut_short INTEGER NOT NULL);
     INSERT INTO tiers VALUES (0, 0, 0), (1, 0, 0), (2, 0, 0);
     CREATE TABLE events(id INTEGER PRIMARY KEY, host TEXT NOT NULL, time_ms INTEGER NOT NULL,
         end_ms INTEGER, alert INTEGER NOT NULL, kind TEXT NOT NULL);
     CREATE INDEX events_by_time ON events(time_ms);",
    // 2: each minute's top processes per host.
    "CREATE TABLE processes(host TEXT NOT NULL, at_ms INTEGER NOT NULL, data BLOB NOT NULL,
         PRIMARY KEY(host, at_ms)) WITHOUT ROWID;
     CREATE INDEX processes_by_age ON processes(at_ms);",
    // 3: a small key-value table for what outlives a restart besides the history
    // (the alerts' silences and acknowledgements, one JSON document).
    "CREATE TABLE state(key TEXT PRIMARY KEY, value TEXT NOT NULL,
         updated_ms INTEGER NOT NULL) WITHOUT ROWID;",
];

/// The folder held against a second server: an exclusive `flock` on a file holding
/// our pid, released when this is dropped (or the process dies).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl Lock {
    pub fn take(dir: &Path) -> Result<Self, OpenError> {
        let path = dir.join(LOCK_FILE);
        let folder = |e: std::io::Error| OpenError::Folder {
            path: path.clone(),
            reason: e.to_string(),
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(folder)?;
        if !try_lock(&file) {
            let mut pid = String::new();
            // The holder's pid is best effort: an empty file still names the folder.
            let _ = file.read_to_string(&mut pid);
            return Err(OpenError::Locked {
                path: dir.to_owned(),
                pid: pid.trim().to_owned(),
            });
        }
        file.set_len(0).map_err(folder)?;
        file.rewind().map_err(folder)?;
        write!(file, "{}", std::process::id()).map_err(folder)?;
        Ok(Lock { _file: file })
    }
}

#[cfg(unix)]
fn try_lock(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own; no memory is passed.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[cfg(not(unix))]
fn try_lock(file: &File) -> bool {
    file.try_lock().is_ok()
}

/// Opens the writer's connection: migrated, checked, a corrupt file moved aside.
pub fn open_writer(dir: &Path) -> Result<Connection, OpenError> {
    let path = dir.join(DB_FILE);
    match open_checked(&path) {
        Ok(conn) => migrate(conn, &path, MIGRATIONS.len()),
        Err(Damage::Newer(reason)) => Err(OpenError::Database { path, reason }),
        Err(Damage::Corrupt(reason)) => {
            let aside = move_aside(&path)?;
            tracing::warn!(
                store = %path.display(),
                moved_to = %aside.display(),
                %reason,
                "history store unreadable, moved aside; starting a fresh one"
            );
            let conn = open_checked(&path).map_err(|d| OpenError::Database {
                path: path.clone(),
                reason: d.reason(),
            })?;
            migrate(conn, &path, MIGRATIONS.len())
        }
    }
}

/// A read-only connection for queries (WAL lets it read while the writer writes).
pub fn open_reader(dir: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(dir.join(DB_FILE), flags)?;
    conn.pragma_update(None, "cache_size", -16_000)?;
    Ok(conn)
}

enum Damage {
    Corrupt(String),
    Newer(String),
}

impl Damage {
    fn reason(self) -> String {
        match self {
            Damage::Corrupt(r) | Damage::Newer(r) => r,
        }
    }
}

fn open_checked(path: &Path) -> Result<Connection, Damage> {
    let corrupt = |e: rusqlite::Error| Damage::Corrupt(e.to_string());
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let conn = Connection::open(path).map_err(corrupt)?;
    // auto_vacuum only takes effect on a new database (before its first table).
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
        .map_err(corrupt)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(corrupt)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(corrupt)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(corrupt)?;
    if version > MIGRATIONS.len() as i64 {
        return Err(Damage::Newer(format!(
            "written by a newer version (schema {version}, this binary knows up to {}); left untouched",
            MIGRATIONS.len()
        )));
    }
    if size <= QUICK_CHECK_MAX_BYTES {
        let verdict: String = conn
            .pragma_query_value(None, "quick_check", |r| r.get(0))
            .map_err(corrupt)?;
        if verdict != "ok" {
            return Err(Damage::Corrupt(verdict));
        }
    } else {
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(corrupt)?;
    }
    Ok(conn)
}

/// Runs the steps from the store's version up to `target` (tests stop early to
/// build an older store).
pub fn migrate(mut conn: Connection, path: &Path, target: usize) -> Result<Connection, OpenError> {
    let db = |e: rusqlite::Error| OpenError::Database {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let version: usize = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db)?;
    for (step, sql) in MIGRATIONS.iter().enumerate().take(target).skip(version) {
        let tx = conn.transaction().map_err(db)?;
        tx.execute_batch(sql).map_err(db)?;
        tx.pragma_update(None, "user_version", step + 1)
            .map_err(db)?;
        tx.commit().map_err(db)?;
    }
    Ok(conn)
}

/// Renames the database (and its journal files) to `history.db.corrupt-<unix time>`.
fn move_aside(path: &Path) -> Result<PathBuf, OpenError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let aside = PathBuf::from(format!("{}.corrupt-{now}", path.display()));
    std::fs::rename(path, &aside).map_err(|e| OpenError::Folder {
        path: path.to_owned(),
        reason: format!("moving a corrupt store aside: {e}"),
    })?;
    for suffix in ["-wal", "-shm"] {
        let journal = PathBuf::from(format!("{}{suffix}", path.display()));
        if journal.exists() {
            // A stale journal must not be replayed into the fresh file.
            let _ = std::fs::rename(&journal, format!("{}{suffix}", aside.display()));
        }
    }
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let _held = Lock::take(dir.path()).expect("first lock");
        match Lock::take(dir.path()) {
            Err(OpenError::Locked { path, pid }) => {
                assert_eq!(path, dir.path());
                assert_eq!(pid, std::process::id().to_string());
            }
            other => panic!("expected Locked, got {other:?}"),
        }
    }

    #[test]
    fn corrupt_file_is_moved_aside_and_a_fresh_store_starts() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(DB_FILE), vec![0x5a; 8192]).expect("garbage written");
        let conn = open_writer(dir.path()).expect("a fresh store");
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'series'",
                [],
                |r| r.get(0),
            )
            .expect("schema");
        assert_eq!(tables, 1);
        let aside: Vec<String> = std::fs::read_dir(dir.path())
            .expect("listing")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("history.db.corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");
        let kept = std::fs::read(dir.path().join(&aside[0])).expect("the moved file");
        assert_eq!(kept, vec![0x5a; 8192]);
    }

    #[test]
    fn a_newer_store_is_refused_and_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DB_FILE);
        {
            let conn = Connection::open(&path).expect("open");
            conn.pragma_update(None, "user_version", 99)
                .expect("version set");
        }
        match open_writer(dir.path()) {
            Err(OpenError::Database { reason, .. }) => {
                assert!(reason.contains("newer version"), "{reason}")
            }
            other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
        }
        let conn = Connection::open(&path).expect("still there");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, 99);
    }
}
