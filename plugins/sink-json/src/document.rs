//! One export file: a JSON array of `{"timestamp", "data"}` snapshot objects, optionally
//! gzip-compressed, replaced atomically (temp file + rename) on every export.
//!
//! Why an array rewritten whole rather than appended JSON lines: every reader, from
//! `jq` and `json.load` to `gzip -t`, gets one valid document at any moment, and a
//! crash mid-export leaves the previous version, never a torn file. The cost, reading
//! and rewriting the file once per export interval, is bounded by `max_file_size`.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use serde_json::Value;

/// How documents are encoded.
#[derive(Debug, Clone, Copy)]
pub struct Format {
    /// gzip around the JSON.
    pub compress: bool,
    /// Indented JSON.
    pub pretty: bool,
}

impl Format {
    /// `.json` or `.json.gz`.
    pub fn extension(self) -> &'static str {
        if self.compress {
            "json.gz"
        } else {
            "json"
        }
    }

    /// The bytes of a document holding `entries`.
    pub fn encode(self, entries: &[Value]) -> io::Result<Vec<u8>> {
        let json = if self.pretty {
            serde_json::to_vec_pretty(entries)?
        } else {
            serde_json::to_vec(entries)?
        };
        if !self.compress {
            return Ok(json);
        }
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&json)?;
        encoder.finish()
    }

    /// The entries of an existing document; `Ok(None)` when there is no file,
    /// `Err` with `InvalidData` when it is not a document of ours.
    pub fn read(self, path: &Path) -> io::Result<Option<Vec<Value>>> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let json = if self.compress {
            let mut json = Vec::new();
            GzDecoder::new(bytes.as_slice()).read_to_end(&mut json)?;
            json
        } else {
            bytes
        };
        serde_json::from_slice(&json)
            .map(Some)
            .map_err(io::Error::from)
    }
}

/// Replaces `path` with `bytes` so readers see the old or the new file, never half.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = sibling(path, ".tmp");
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `path` with `suffix` appended to its file name, in the same directory (so a
/// rename stays on one file system).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}
