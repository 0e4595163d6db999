//! Private copies of plugin files, so the plugins folder can change under a running
//! server.
//!
//! `dlopen` maps a library's file: overwriting that file in place (`cp` over it, a
//! build writing its output, `cargo xtask install`) changes code the server is running
//! and kills it at once, even with identical bytes. So a library is never opened where
//! it lies: its bytes are read once, named by their SHA-256, and written to a private
//! folder; the probe and the loader open that copy. On Unix the copy is deleted as
//! soon as it is loaded (the mapping outlives the name), so the folder stays empty;
//! elsewhere it goes with the folder at exit.
//!
//! The folder lives in the system's temporary folder, so it is bounded like anything
//! a file dropped into the plugins folder can make the server write: one file is read
//! only up to [`MAX_LIBRARY_BYTES`], all copies at once stay under
//! [`MAX_STAGED_BYTES`] (the loader probes what it staged before staging more), and a
//! copy that would leave less than [`MIN_FREE_BYTES`] free there is refused. The folder
//! is owner-only (0700) and named `monitoring-plugins-<pid>-<random>`; the owner holds
//! an exclusive `flock` on a file inside it for its whole life, so a folder left by a
//! killed server (SIGKILL, the out-of-memory killer) is recognised and removed at the
//! next start, and a running server's folder never is.
//!
//! The content hash is also the library's identity: the same bytes under another
//! name are the same library, and a file whose hash changed is a new version.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// The largest plugin file read; beyond it a file is refused without being read
/// (the largest shipped plugin is about 70 MB as a debug build, 5 MB released).
pub const MAX_LIBRARY_BYTES: u64 = 256 * 1024 * 1024;

/// The most bytes of copies in the staging folder at once, whatever arrives together.
pub const MAX_STAGED_BYTES: u64 = 256 * 1024 * 1024;

/// The free space a copy must leave in the temporary folder's file system.
pub const MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes read (hashed and copied) at a time.
const CHUNK: usize = 64 * 1024;

/// The staging folder's name starts with this, then the owner's process id and `-`.
const PREFIX: &str = "monitoring-plugins-";

/// The file inside the staging folder its owner holds an exclusive `flock` on.
const LOCK_FILE: &str = ".owner.lock";

/// A library's bytes, copied where nothing else writes.
#[derive(Debug)]
pub struct Staged {
    /// The private copy to open.
    pub copy: PathBuf,
    /// SHA-256 of the bytes, hex.
    pub hash: String,
    /// Bytes the copy holds (0 when only hashed).
    len: u64,
}

/// The private folder, and what each plugin file looked like when it was last read.
#[derive(Debug)]
pub struct Staging {
    dir: tempfile::TempDir,
    /// Held open (and locked) for the life of the folder: the lock is the proof that
    /// its owner runs, released by the kernel however the process ends.
    _lock: Option<std::fs::File>,
    marks: HashMap<PathBuf, Mark>,
    /// Bytes of the copies now in the folder.
    staged_bytes: u64,
}

/// A file's size and modification time when it was hashed, to skip re-reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    len: u64,
    modified: Option<SystemTime>,
    hash: String,
}

impl Staging {
    /// Removes the staging folders of servers no longer running, then makes this
    /// process's own, owner-only and locked.
    pub fn new() -> std::io::Result<Self> {
        let temp = std::env::temp_dir();
        sweep_leftovers(&temp);
        let mut builder = tempfile::Builder::new();
        let prefix = format!("{PREFIX}{}-", std::process::id());
        builder.prefix(&prefix);
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let dir = builder.tempdir_in(&temp)?;
        #[cfg(unix)]
        {
            // The umask can only narrow the mode; set it exactly, whatever it was.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        }
        let lock = owner_lock(dir.path())?;
        Ok(Self {
            dir,
            _lock: lock,
            marks: HashMap::new(),
            staged_bytes: 0,
        })
    }

    /// The private folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether a copy of `len` bytes fits under [`MAX_STAGED_BYTES`] beside the copies
    /// there now.
    pub fn has_room_for(&self, len: u64) -> bool {
        self.staged_bytes.saturating_add(len) <= MAX_STAGED_BYTES
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
    /// each) into memory left the server's heap megabytes larger for good. A copy
    /// that would pass [`MAX_STAGED_BYTES`] or leave less than [`MIN_FREE_BYTES`] free
    /// is refused (the file is tried again at the next rescan).
    pub fn stage(&mut self, path: &Path, copy: bool) -> Result<Staged, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
        if !meta.is_file() {
            return Err("not a loadable library: it is not a regular file".into());
        }
        if meta.len() > MAX_LIBRARY_BYTES {
            return Err(format!(
                "not a loadable library: {} bytes is more than any plugin (at most {MAX_LIBRARY_BYTES})",
                meta.len()
            ));
        }
        let room = match copy {
            true => self.room_for(meta.len())?,
            false => u64::MAX,
        };
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
        let mut written: u64 = 0;
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("cannot read it: {e}")),
            };
            hasher.update(&chunk[..n]);
            if let Some(temp) = &mut temp {
                written += n as u64;
                // It grew while being read: stop before the folder passes its cap.
                if written > room {
                    return Err(format!(
                        "cannot copy it to {}: it grew past the {MAX_STAGED_BYTES} bytes the staging folder holds",
                        self.dir.path().display()
                    ));
                }
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
            self.staged_bytes += written;
        }
        Ok(Staged {
            copy: target,
            hash,
            len: written,
        })
    }

    /// Deletes a copy once it is loaded (or refused). On Unix the loaded library stays
    /// mapped; on Windows a loaded DLL cannot be deleted and stays until exit (and
    /// keeps counting against [`MAX_STAGED_BYTES`]).
    pub fn release(&mut self, staged: &Staged) {
        if std::fs::remove_file(&staged.copy).is_ok() {
            self.staged_bytes = self.staged_bytes.saturating_sub(staged.len);
        }
    }

    /// Forgets a file that left the folder.
    pub fn forget(&mut self, path: &Path) {
        self.marks.remove(path);
    }

    /// The most bytes a copy of a `len`-byte file may take, or why there is no room.
    fn room_for(&self, len: u64) -> Result<u64, String> {
        if !self.has_room_for(len) {
            return Err(format!(
                "cannot copy it to {}: {} bytes are staged already and {len} more would pass the {MAX_STAGED_BYTES}-byte cap",
                self.dir.path().display(),
                self.staged_bytes
            ));
        }
        if let Some(free) = free_bytes(self.dir.path()) {
            if free < len.saturating_add(MIN_FREE_BYTES) {
                return Err(format!(
                    "cannot copy it to {}: {free} bytes free there, {len} needed and {MIN_FREE_BYTES} kept free",
                    self.dir.path().display()
                ));
            }
        }
        Ok(MAX_STAGED_BYTES - self.staged_bytes)
    }
}

/// Bytes an unprivileged writer may still use on `dir`'s file system.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated and `stats` is written by statvfs before it is
    // read, which happens only when statvfs reports success.
    let stats = unsafe {
        if libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) != 0 {
            return None;
        }
        stats.assume_init()
    };
    #[allow(clippy::useless_conversion)] // The field types differ between platforms.
    Some(u64::from(stats.f_bavail).saturating_mul(u64::from(stats.f_frsize)))
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

/// Takes an exclusive `flock` on [`LOCK_FILE`] in `dir`, held while the returned file
/// is open. The lock is taken under another name and then renamed into place, so a
/// lock file another server's sweep can see is always already locked.
#[cfg(unix)]
fn owner_lock(dir: &Path) -> std::io::Result<Option<std::fs::File>> {
    let pending = dir.join(format!("{LOCK_FILE}.new"));
    let file = std::fs::File::create(&pending)?;
    if !try_lock(&file)? {
        return Err(std::io::Error::other("cannot lock a file just created"));
    }
    std::fs::rename(&pending, dir.join(LOCK_FILE))?;
    Ok(Some(file))
}

#[cfg(not(unix))]
fn owner_lock(_dir: &Path) -> std::io::Result<Option<std::fs::File>> {
    Ok(None)
}

/// An exclusive, non-blocking `flock`: `Ok(false)` when another open file holds it.
#[cfg(unix)]
fn try_lock(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor this `File` owns and keeps open.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    match error.kind() {
        std::io::ErrorKind::WouldBlock => Ok(false),
        _ => Err(error),
    }
}

/// Removes the staging folders in `temp` that servers of this user left when they
/// were killed: a folder whose lock nobody holds (or, without a lock file yet, whose
/// process is gone). A folder of a running server, or of another user, is left alone.
fn sweep_leftovers(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = owner_pid(&name.to_string_lossy()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let dir = entry.path();
        if !left_behind(&dir, pid) {
            continue;
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {
                tracing::info!(dir = %dir.display(), pid, "Removed the plugin staging folder of a server that is no longer running.");
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), pid, error = %e, "Cannot remove the plugin staging folder of a server that is no longer running.");
            }
        }
    }
}

/// The process id in a staging folder's name, `monitoring-plugins-<pid>-<random>`.
fn owner_pid(name: &str) -> Option<u32> {
    let (pid, random) = name.strip_prefix(PREFIX)?.split_once('-')?;
    (!random.is_empty()).then_some(())?;
    pid.parse().ok()
}

/// Whether `dir` is a staging folder of this user whose server is gone.
#[cfg(unix)]
fn left_behind(dir: &Path, pid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != me {
        return false;
    }
    match std::fs::File::open(dir.join(LOCK_FILE)) {
        // Whoever holds the lock runs; taking it proves nobody does (it is released
        // when this file closes, at the end of this function).
        Ok(lock) => matches!(try_lock(&lock), Ok(true)),
        // Not locked yet: a server that is starting, unless its process is gone.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let young = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_none_or(|age| age < std::time::Duration::from_secs(60));
            !young && !process_exists(pid)
        }
        Err(_) => false,
    }
}

#[cfg(not(unix))]
fn left_behind(_dir: &Path, _pid: u32) -> bool {
    false
}

/// Whether a process with this id exists (of any user).
#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
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
        staging.release(&first);
        assert!(!first.copy.exists());
    }

    #[test]
    fn a_directory_is_refused() {
        let folder = tempfile::tempdir().expect("temp dir");
        let mut staging = Staging::new().expect("staging");
        let err = staging.stage(folder.path(), true).expect_err("refused");
        assert!(err.contains("not a regular file"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn the_folder_is_owner_only_and_locked() {
        use std::os::unix::fs::PermissionsExt;
        let staging = Staging::new().expect("staging");
        let mode = std::fs::metadata(staging.dir())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let name = staging
            .dir()
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert_eq!(owner_pid(&name), Some(std::process::id()));
        let lock = std::fs::File::open(staging.dir().join(LOCK_FILE)).expect("lock file");
        assert!(!try_lock(&lock).expect("flock"), "the owner holds the lock");
    }

    #[cfg(unix)]
    #[test]
    fn only_the_folders_of_servers_that_are_gone_are_swept() {
        let temp = tempfile::tempdir().expect("temp dir");
        let make = |name: &str| {
            let dir = temp.path().join(name);
            std::fs::create_dir(&dir).expect("dir");
            std::fs::write(dir.join("0123-libx.so"), b"a copy").expect("copy");
            dir
        };
        // Killed: its lock file is there, nobody holds it.
        let killed = make("monitoring-plugins-4000001-aaaaaa");
        std::fs::write(killed.join(LOCK_FILE), b"").expect("lock file");
        // Running: its owner holds the lock (here, this test).
        let running = make("monitoring-plugins-4000002-bbbbbb");
        let held = owner_lock(&running).expect("lock").expect("a lock on unix");
        // Another program's folder, and one of an older server without a process id.
        let other = make("monitoring-plugins-cache");
        let older = make("monitoring-plugins-Ab12Cd");
        sweep_leftovers(temp.path());
        assert!(!killed.exists(), "a killed server's folder is removed");
        assert!(running.exists(), "a running server's folder stays");
        assert!(
            other.exists() && older.exists(),
            "folders not named by a pid stay"
        );
        drop(held);
        sweep_leftovers(temp.path());
        assert!(!running.exists(), "once its owner is gone, it is removed");
    }

    #[test]
    fn copies_stay_under_the_total_cap() {
        let folder = tempfile::tempdir().expect("temp dir");
        let mut staging = Staging::new().expect("staging");
        let big = folder.path().join("libbig.so");
        std::fs::write(&big, b"x").expect("write");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&big)
            .expect("open");
        file.set_len(MAX_STAGED_BYTES / 2 + 1).expect("sparse");
        assert!(staging.has_room_for(MAX_STAGED_BYTES / 2 + 1));
        let first = staging.stage(&big, true).expect("first copy");
        assert!(!staging.has_room_for(MAX_STAGED_BYTES / 2 + 1));
        let again = folder.path().join("libbig2.so");
        std::fs::copy(&big, &again).expect("copy");
        let err = staging.stage(&again, true).expect_err("over the cap");
        assert!(err.contains("cap"), "{err}");
        staging.release(&first);
        assert!(staging.has_room_for(MAX_STAGED_BYTES / 2 + 1));
    }
}
