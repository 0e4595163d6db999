//! Silences and acknowledgements, Alertmanager's way, kept across restarts.
//!
//! A silence has matchers (exact and regex, [`super::matchers`]), a start and an end,
//! an author and a comment; while active, the alerts it matches are not notified (they
//! still show, marked silenced). An acknowledgement names one firing alert's episode
//! (fingerprint and `starts_at`) and stops its repeats until it resolves.
//!
//! One cloneable handle is shared by the collection loop (which asks, every flush,
//! whether an alert is silenced or acknowledged) and the surfaces (which create, list
//! and expire). Every change is written through [`Memory`] before it is answered, so a
//! restart finds it: in the history store when it is enabled, else in a small JSON
//! file in the same data directory.
//!
//! The files: [`request`] checks what a client asks for, [`duration`] reads `"1h30m"`,
//! [`book`] holds the data and its rules, [`memory`] keeps it.

mod book;
mod duration;
mod memory;
mod quote;
mod request;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use monitoring_plugin_api::Alert;
use sha2::{Digest, Sha256};

pub use book::{AckView, SilenceView, EXPIRED_KEPT, MAX_ACKS, MAX_SILENCES};
pub use memory::{Keeper, Memory, STATE_KEY};
pub use request::{
    field, unknown_field, Refused, SilenceRequest, MAX_COMMENT_BYTES, REQUEST_FIELDS,
};

use book::Book;

/// The shared handle.
#[derive(Clone, Default)]
pub struct Silences(Arc<Shared>);

struct Shared {
    memory: Memory,
    /// The book as last kept. A std `Mutex` held only to clone or swap the `Arc`, so
    /// the collection loop's reads never wait for a disk write.
    book: Mutex<Arc<Book>>,
    /// Held by one change at a time across its write to disk: two changes made at
    /// once must not both start from the same book and lose one of them.
    changing: Mutex<()>,
    /// Counts the changes kept, so a reader knows the book moved without reading it.
    version: AtomicU64,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            memory: Memory::None,
            book: Mutex::default(),
            changing: Mutex::default(),
            version: AtomicU64::new(0),
        }
    }
}

impl Silences {
    /// Loads what `memory` kept (nothing when it keeps nothing yet); an unreadable
    /// record is an error naming where it is. Blocks on the disk.
    pub fn open(memory: Memory) -> Result<Self, String> {
        let book = memory.load()?;
        Ok(Self(Arc::new(Shared {
            memory,
            book: Mutex::new(Arc::new(book)),
            changing: Mutex::default(),
            version: AtomicU64::new(0),
        })))
    }

    fn book(&self) -> Arc<Book> {
        Arc::clone(&self.0.book.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Applies `change` to a copy of the book, keeps the copy, then makes it the book;
    /// when it cannot be kept, nothing changed. Blocks on the disk.
    fn change<T>(
        &self,
        change: impl FnOnce(&mut Book) -> Result<T, Refused>,
    ) -> Result<T, Refused> {
        let _one_at_a_time = self
            .0
            .changing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut book = Book::clone(&self.book());
        let answer = change(&mut book)?;
        self.0.memory.save(&book).map_err(Refused::Unsaved)?;
        *self.0.book.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(book);
        self.0.version.fetch_add(1, Ordering::Release);
        Ok(answer)
    }

    /// Changes whenever a silence or acknowledgement is made, expired or forgotten:
    /// the lifecycle re-reads silences only when it moved (or a boundary passed).
    pub fn version(&self) -> u64 {
        self.0.version.load(Ordering::Acquire)
    }

    /// The first time after `after` at which a silence starts or ends by itself.
    pub fn next_boundary(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.book().next_boundary(after)
    }

    /// Creates a silence asked for by `author` (used when the request names nobody);
    /// its id. Blocks on the disk.
    pub fn add(
        &self,
        request: SilenceRequest,
        author: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Refused> {
        self.change(|book| book.add(request, new_id(now), author, now))
    }

    /// Ends the silence `id` now. Blocks on the disk.
    pub fn expire(&self, id: &str, now: DateTime<Utc>) -> Result<(), Refused> {
        self.change(|book| book.expire(id, now))
    }

    /// Every silence, active first.
    pub fn list(&self, now: DateTime<Utc>) -> Vec<SilenceView> {
        self.book().list(now)
    }

    /// The ids of the active silences that match `alert` (whose host has `tags`).
    pub fn silencing(&self, alert: &Alert, tags: &[String], now: DateTime<Utc>) -> Vec<String> {
        self.book().silencing(alert, tags, now)
    }

    /// Acknowledges the firing `alert`'s current episode. Blocks on the disk.
    pub fn ack(
        &self,
        alert: &Alert,
        by: &str,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Result<AckView, Refused> {
        self.change(|book| book.ack(alert, by, comment, now))
    }

    /// The acknowledgement of `alert`'s current episode, if any.
    pub fn acked(&self, alert: &Alert) -> Option<AckView> {
        self.book().acked(alert)
    }

    /// Forgets the acknowledgement of an alert that resolved, in memory only: called
    /// on the collection loop, which must never wait for a disk. The next change kept
    /// keeps this too; until then a restart brings back an acknowledgement of an
    /// episode that is over, which matches nothing (a new episode has a new start).
    /// While a change is being kept the loop does not wait for it: the acknowledgement
    /// stays, as harmless.
    pub fn resolved(&self, fingerprint: &str) {
        if !self.book().acks.contains_key(fingerprint) {
            return;
        }
        let Ok(_one_at_a_time) = self.0.changing.try_lock() else {
            return;
        };
        let mut book = Book::clone(&self.book());
        if book.resolved(fingerprint) {
            *self.0.book.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(book);
            self.0.version.fetch_add(1, Ordering::Release);
        }
    }
}

/// A new silence id: 16 hex digits that differ for every call (time, process and a
/// counter hashed), so ids cannot collide and do not reveal how many were made.
fn new_id(now: DateTime<Utc>) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hash = Sha256::new();
    hash.update(now.timestamp_nanos_opt().unwrap_or_default().to_le_bytes());
    hash.update(std::process::id().to_le_bytes());
    hash.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hash.finalize()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
