//! An append-only file rotated by size, logrotate style: `<path>` is current,
//! `<path>.1` the newest rotated file and `<path>.N` the oldest kept.
//!
//! The handle is dropped after any error, so the next append opens the path afresh:
//! a directory that was missing, read-only or replaced is picked up as soon as it is
//! usable again, without restarting the server. A file moved or deleted behind our
//! back (external logrotate) is noticed on the next append and the path reopened.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The open file and how many bytes it holds.
struct Open {
    file: File,
    size: u64,
}

/// A log file with size-based rotation.
pub struct LogFile {
    path: PathBuf,
    max_size: u64,
    backups: u32,
    open: Option<Open>,
}

impl LogFile {
    /// A log at `path`, opened on first use.
    pub fn new(path: PathBuf, max_size: u64, backups: u32) -> Self {
        Self {
            path,
            max_size,
            backups,
            open: None,
        }
    }

    /// Where the current file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `bytes` in one write, rotating first when they would take the file past
    /// the limit. A record larger than the limit is written alone in a fresh file.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let result = self.try_append(bytes);
        if result.is_err() {
            self.open = None;
        }
        result
    }

    /// Pushes written data to the disk.
    pub fn sync(&mut self) -> io::Result<()> {
        match &self.open {
            Some(open) => open.file.sync_data(),
            None => Ok(()),
        }
    }

    fn try_append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let len = bytes.len() as u64;
        let size = self.current()?.size;
        if size > 0 && size.saturating_add(len) > self.max_size {
            self.open = None;
            rotate(&self.path, self.backups)?;
        }
        let open = self.current()?;
        open.file.write_all(bytes)?;
        open.size += len;
        Ok(())
    }

    fn current(&mut self) -> io::Result<&mut Open> {
        if self
            .open
            .as_ref()
            .is_some_and(|open| !still_at_path(&open.file, &self.path))
        {
            self.open = None;
        }
        if self.open.is_none() {
            if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent)?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            let size = file.metadata()?.len();
            self.open = Some(Open { file, size });
        }
        self.open
            .as_mut()
            .ok_or_else(|| io::Error::other("log file not open"))
    }
}

/// Whether `file` is still the one at `path`: an external logrotate, a user deleting
/// the log or replacing its directory would otherwise leave us writing into an unlinked
/// file. One `stat` per alert is cheap.
#[cfg(unix)]
fn still_at_path(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at_path(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// Shifts `<path>.i` to `<path>.(i+1)`, drops the oldest and moves `<path>` to
/// `<path>.1`; with no backups the current file is removed.
fn rotate(path: &Path, backups: u32) -> io::Result<()> {
    if backups == 0 {
        return remove_if_present(path);
    }
    remove_if_present(&numbered(path, backups))?;
    for i in (1..backups).rev() {
        rename_if_present(&numbered(path, i), &numbered(path, i + 1))?;
    }
    rename_if_present(path, &numbered(path, 1))
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn rename_if_present(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
