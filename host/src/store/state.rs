//! A tiny key-value table beside the history, for what the server must remember
//! across restarts that is not a series (the alerts' silences and acknowledgements).
//!
//! Written synchronously, unlike ticks: a caller that was told "kept" must find it
//! after a crash. It has its own read-write connection (WAL lets it write between the
//! writer thread's commits; a busy timeout waits out one of them), opened on first use
//! and committed with `synchronous = FULL`, so the answer waits for the disk and never
//! for the tick's queue.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::schema::DB_FILE;
use super::types::QueryError;

/// How long a write waits for the writer thread's transaction to end.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest key.
pub const MAX_KEY_BYTES: usize = 128;

/// Longest value: a record bigger than this is a bug, not something to keep.
pub const MAX_VALUE_BYTES: usize = 64 << 20;

/// The `state` table's connection, opened on first use.
pub struct StateTable {
    dir: PathBuf,
    /// A std `Mutex`: held for one statement, by callers on blocking threads.
    conn: Mutex<Option<Connection>>,
}

impl StateTable {
    pub fn new(dir: PathBuf) -> Self {
        StateTable {
            dir,
            conn: Mutex::new(None),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, QueryError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if conn.is_none() {
            let opened = Connection::open(self.dir.join(DB_FILE))?;
            opened.busy_timeout(BUSY_TIMEOUT)?;
            opened.pragma_update(None, "synchronous", "FULL")?;
            *conn = Some(opened);
        }
        match conn.as_ref() {
            Some(conn) => Ok(f(conn)?),
            None => Err(QueryError::Store("the state connection is not open".into())),
        }
    }

    /// Replaces the value of `key`; returns once it is on disk.
    pub fn put(&self, key: &str, value: &str) -> Result<(), QueryError> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(QueryError::Bad(format!(
                "state `{key}`: {} bytes, at most {MAX_VALUE_BYTES}",
                value.len()
            )));
        }
        let now_ms = chrono::Utc::now().timestamp_millis();
        self.with(|conn| {
            conn.execute(
                "INSERT INTO state(key, value, updated_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value,
                     updated_ms = excluded.updated_ms",
                params![key, value, now_ms],
            )
            .map(|_| ())
        })
    }

    /// The value of `key`, `None` when it was never written.
    pub fn get(&self, key: &str) -> Result<Option<String>, QueryError> {
        check_key(key)?;
        self.with(|conn| {
            conn.query_row("SELECT value FROM state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
        })
    }
}

fn check_key(key: &str) -> Result<(), QueryError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(QueryError::Bad(format!(
            "a state key has 1 to {MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{schema, Limits, Settings, Store};

    fn open(dir: &std::path::Path) -> Store {
        Store::open(Settings {
            dir: dir.to_owned(),
            limits: Limits::default(),
        })
        .expect("the store opens")
    }

    #[test]
    fn a_value_is_kept_across_a_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path());
        assert_eq!(store.get_state("silences").expect("read"), None);
        store.put_state("silences", "{\"a\":1}").expect("written");
        store.put_state("silences", "{\"a\":2}").expect("replaced");
        store.put_state("other", "x").expect("written");
        drop(store);
        let store = open(dir.path());
        assert_eq!(
            store.get_state("silences").expect("read").as_deref(),
            Some("{\"a\":2}")
        );
        assert!(store.put_state("", "x").is_err(), "an empty key");
    }

    #[test]
    fn a_version_2_store_gains_the_state_table_and_keeps_its_data() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(schema::DB_FILE);
        {
            let conn = rusqlite::Connection::open(&path).expect("open");
            let conn = schema::migrate(conn, &path, 2).expect("version 2");
            conn.execute(
                "INSERT INTO processes(host, at_ms, data) VALUES ('', 1000, x'00')",
                [],
            )
            .expect("a row of version 2");
            let tables: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'state'",
                    [],
                    |r| r.get(0),
                )
                .expect("schema");
            assert_eq!(tables, 0, "version 2 has no state table");
        }
        let store = open(dir.path());
        store
            .put_state("k", "v")
            .expect("the new table takes a value");
        assert_eq!(store.get_state("k").expect("read").as_deref(), Some("v"));
        drop(store);
        let conn = rusqlite::Connection::open(&path).expect("open");
        let version: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, schema::MIGRATIONS.len());
        let kept: i64 = conn
            .query_row("SELECT count(*) FROM processes", [], |r| r.get(0))
            .expect("old rows");
        assert_eq!(kept, 1);
    }
}
