//! Private copies of plugin files, so the plugins folder can change under a running
//! server.
//!
//! `dlopen` maps a library's file: overwriting that file in place (`cp` over it, a
//! build writing its output, `cargo xtask install`) changes code the server is running
//! and kills it at once, even with identical bytes. So a library is never opened where
//! it lies: its bytes are read once, named by their SHA-256, and written to a private
//! folder (mode 0700, made by `tempfile`); the probe and the loader open that copy.
//! On Unix the copy is deleted as soon as it is loaded (the mapping outlives the
//! name), so the folder stays empty; elsewhere it goes with the folder at exit.
//!
//! The content hash is also the library's identity: the same bytes under another
//! name are the same library, and a file whose hash changed is a new version.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// The largest plugin file read; beyond it a file is refused without being read.
const MAX_LIBRARY_BYTES: u64 = 512 * 1024 * 1024;

/// Bytes read (hashed and copied) at a time.
const CHUNK: usize = 64 * 1024;

/// A library's bytes, copied where nothing else writes.
#[derive(Debug)]
pub struct Staged {
    /// The private copy to open.
    pub copy: PathBuf,
    /// SHA-256 of the bytes, hex.
    pub hash: String,
}

/// The private folder, and what each plugin file looked like when it was last read.
#[derive(Debug)]
pub struct Staging {
    dir: tempfile::TempDir,
    marks: HashMap<PathBuf, Mark>,
}

/// A file's size and modification time when it was hashed, to skip re-reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    len: u64,
    modified: Option<SystemTime>,
    hash: String,
}

impl Staging {
    /// Makes the private folder.
    pub fn new() -> std::io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("monitoring-plugins-")
            .tempdir()?;
        Ok(Self {
            dir,
            marks: HashMap::new(),
        })
    }

    /// The private folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The hash of `path` as last read, if its size and modification time have not
    /// changed since: a rescan does not re-read unchanged files.
    pub fn unchanged_hash(&self, path: &Path) -> Option<String> {
        let mark = self.marks.get(path)?;
        let meta = std::fs::metadata(path).ok()?;
        (meta.len() == mark.len && meta.modified().ok() == mark.modified).then(|| mark.hash.clone())
    }

    /// Reads `path` once and hashes it; with `copy`, also writes the private copy
    /// (temp file + rename, so a half-written copy is never opened). The hash and the
    /// copy come from the same bytes, whatever happens to the file meanwhile. The
    /// file is streamed through a small buffer: reading whole libraries (megabytes
    /// each) into memory left the server's heap megabytes larger for good.
    pub fn stage(&mut self, path: &Path, copy: bool) -> Result<Staged, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
        if !meta.is_file() {
            return Err("not a loadable library: it is not a regular file".into());
        }
        if meta.len() > MAX_LIBRARY_BYTES {
            return Err(format!(
                "not a loadable library: {} bytes is more than any plugin",
                meta.len()
            ));
        }
        let copy_error =
            |e: std::io::Error| format!("cannot copy it to {}: {e}", self.dir.path().display());
        let mut temp = match copy {
            true => Some(tempfile::NamedTempFile::new_in(self.dir.path()).map_err(copy_error)?),
            false => None,
        };
        let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
        let mut reader = file.take(MAX_LIBRARY_BYTES);
        let mut hasher = Sha256::new();
        let mut chunk = vec![0u8; CHUNK];
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("cannot read it: {e}")),
            };
            hasher.update(&chunk[..n]);
            if let Some(temp) = &mut temp {
                // No fsync: the copy only has to outlive this process, not a power cut.
                temp.write_all(&chunk[..n]).map_err(copy_error)?;
            }
        }
        let hash = hex(&hasher.finalize());
        self.marks.insert(
            path.to_owned(),
            Mark {
                len: meta.len(),
                modified: meta.modified().ok(),
                hash: hash.clone(),
            },
        );
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plugin".into());
        let short = hash.get(..16).unwrap_or(&hash);
        let target = self.dir.path().join(format!("{short}-{file_name}"));
        if let Some(temp) = temp {
            temp.persist(&target).map_err(|e| copy_error(e.error))?;
        }
        Ok(Staged { copy: target, hash })
    }

    /// Forgets a file that left the folder.
    pub fn forget(&mut self, path: &Path) {
        self.marks.remove(path);
    }
}

/// Deletes a copy once it is loaded (or refused). On Unix the loaded library stays
/// mapped; on Windows a loaded DLL cannot be deleted and stays until exit.
pub fn release(copy: &Path) {
    let _ = std::fs::remove_file(copy);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_named_by_content_and_survives_the_original() {
        let folder = tempfile::tempdir().expect("temp dir");
        let original = folder.path().join("libx.so");
        std::fs::write(&original, b"version one").expect("write");
        let mut staging = Staging::new().expect("staging");
        let first = staging.stage(&original, true).expect("staged");
        assert!(first.copy.starts_with(staging.dir()));
        assert_eq!(std::fs::read(&first.copy).expect("copy"), b"version one");
        assert_eq!(staging.unchanged_hash(&original), Some(first.hash.clone()));

        std::fs::write(&original, b"version two, longer").expect("overwrite");
        assert_eq!(staging.unchanged_hash(&original), None, "size changed");
        assert_eq!(std::fs::read(&first.copy).expect("copy"), b"version one");
        let second = staging.stage(&original, true).expect("staged");
        assert_ne!(first.hash, second.hash);
        assert_ne!(first.copy, second.copy);
        release(&first.copy);
        assert!(!first.copy.exists());
    }

    #[test]
    fn a_directory_is_refused() {
        let folder = tempfile::tempdir().expect("temp dir");
        let mut staging = Staging::new().expect("staging");
        let err = staging.stage(folder.path(), true).expect_err("refused");
        assert!(err.contains("not a regular file"), "{err}");
    }
}
