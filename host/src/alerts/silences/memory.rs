//! Where silences and acknowledgements are kept: one versioned JSON document,
//! `{"version":1,"silences":[…],"acks":[…]}`, in the history store's key-value table
//! or, with history off, in a file replaced atomically (written beside, then renamed).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::book::{AckView, Book};
use super::request::Silence;

/// The document's version; a newer one is refused, not misread.
const VERSION: u32 = 1;

/// The key of the document in the store's table.
pub const STATE_KEY: &str = "alerts.silences";

/// Largest file read back (1000 silences of 16 KiB each fit).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// A key-value table that writes synchronously: the history store's, behind a trait
/// because the alerts stage does not know the store stage (the server's root wires
/// one to the other).
pub trait Keeper: Send + Sync {
    /// Replaces the value of `key`; returns once it is on disk.
    fn put(&self, key: &str, value: &str) -> Result<(), String>;
    /// The value of `key`, `None` when nothing was kept.
    fn get(&self, key: &str) -> Result<Option<String>, String>;
    /// Where it is, for messages.
    fn place(&self) -> String;
}

/// Where silences and acknowledgements are kept.
#[derive(Clone)]
pub enum Memory {
    /// In the history store (a key-value row of its own).
    Store(Arc<dyn Keeper>),
    /// In this JSON file (history disabled), replaced atomically on each change.
    File(PathBuf),
    /// Nowhere (tests).
    None,
}

#[derive(Serialize)]
struct Written<'a> {
    version: u32,
    silences: &'a [Silence],
    acks: Vec<&'a AckView>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Read {
    version: u32,
    silences: Vec<Silence>,
    acks: Vec<AckView>,
}

impl Memory {
    /// Where it keeps, for messages.
    pub fn place(&self) -> String {
        match self {
            Memory::Store(keeper) => keeper.place(),
            Memory::File(path) => path.display().to_string(),
            Memory::None => "nowhere".to_owned(),
        }
    }

    /// What was kept, an empty book when nothing was; an unreadable document is an
    /// error naming where it is.
    pub fn load(&self) -> Result<Book, String> {
        let text = match self {
            Memory::Store(keeper) => keeper.get(STATE_KEY)?,
            Memory::File(path) => read_file(path)?,
            Memory::None => None,
        };
        let Some(text) = text else {
            return Ok(Book::default());
        };
        decode(&text).map_err(|reason| format!("{}: {reason}", self.place()))
    }

    /// Keeps `book`; returns once it is on disk.
    pub fn save(&self, book: &Book) -> Result<(), String> {
        let text = encode(book)?;
        match self {
            Memory::Store(keeper) => keeper.put(STATE_KEY, &text),
            Memory::File(path) => {
                write_file(path, &text).map_err(|e| format!("{}: {e}", path.display()))
            }
            Memory::None => Ok(()),
        }
    }
}

fn encode(book: &Book) -> Result<String, String> {
    serde_json::to_string(&Written {
        version: VERSION,
        silences: &book.silences,
        acks: book.acks.values().collect(),
    })
    .map_err(|e| format!("cannot encode the silences: {e}"))
}

fn decode(text: &str) -> Result<Book, String> {
    let read: Read =
        serde_json::from_str(text).map_err(|e| format!("not a silences document: {e}"))?;
    if read.version != VERSION {
        return Err(format!(
            "version {} of the silences document, this server reads version {VERSION}",
            read.version
        ));
    }
    let mut book = Book::default();
    for mut silence in read.silences {
        silence
            .recompile()
            .map_err(|e| format!("silence {}: {e}", silence.id))?;
        book.silences.push(silence);
    }
    book.acks = read
        .acks
        .into_iter()
        .map(|ack| (ack.fingerprint.clone(), ack))
        .collect();
    Ok(book)
}

fn read_file(path: &Path) -> Result<Option<String>, String> {
    let failed = |e: std::io::Error| format!("{}: {e}", path.display());
    let size = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(e)),
    };
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "{}: {size} bytes, more than a silences document can be ({MAX_FILE_BYTES})",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map(Some).map_err(failed)
}

/// Writes `path.tmp`, syncs it, renames it over `path`: a crash leaves the old
/// document or the new one, never half of one.
fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // The rename itself is kept once the folder is synced; best effort where a
        // folder cannot be opened for that.
        if let Ok(folder) = std::fs::File::open(parent) {
            let _ = folder.sync_all();
        }
    }
    Ok(())
}
