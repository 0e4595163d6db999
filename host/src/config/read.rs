//! Reading `plugins.toml` from disk, bounded: whatever the path names (a symlink to
//! `/dev/zero`, a FIFO nobody writes to, a multi-gigabyte file), reading it ends
//! quickly with the text or an error naming the path.
//!
//! The file is opened non-blocking, so opening a FIFO returns at once instead of
//! waiting for a writer; what was opened is then checked with `fstat` (not the path
//! again, which may have changed meanwhile) and must be a regular file (a symlink to
//! one is fine); and at most [`MAX_CONFIG_BYTES`] are read from it.

use std::io::Read;
use std::path::Path;

use super::error::ConfigError;

/// The largest configuration file read (the shipped one is a few kilobytes); a larger
/// file is refused without reading further.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The whole text of the regular file at `path`, at most [`MAX_CONFIG_BYTES`].
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    let failed = |source: std::io::Error| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let file = open_without_blocking(path).map_err(failed)?;
    let meta = file.metadata().map_err(failed)?;
    if !meta.is_file() {
        return Err(ConfigError::NotAFile {
            path: path.to_owned(),
            what: describe(&meta.file_type()),
        });
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large(path));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // One byte past the cap tells a file that grew since `fstat` from one at the cap.
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large(path));
    }
    String::from_utf8(bytes).map_err(|e| {
        failed(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        ))
    })
}

fn too_large(path: &Path) -> ConfigError {
    ConfigError::TooLarge {
        path: path.to_owned(),
        cap: MAX_CONFIG_BYTES,
    }
}

#[cfg(unix)]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// What a file that is not a regular file is, in words.
fn describe(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_and_a_symlink_to_one_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("plugins.toml");
        std::fs::write(&file, "[monitor]\ninterval = 1.0\n").expect("write");
        assert_eq!(
            read_text(&file).expect("read"),
            "[monitor]\ninterval = 1.0\n"
        );
        #[cfg(unix)]
        {
            let link = dir.path().join("link.toml");
            std::os::unix::fs::symlink(&file, &link).expect("symlink");
            assert!(read_text(&link).is_ok());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_device_a_fifo_and_a_directory_are_refused_naming_the_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let zero = dir.path().join("zero.toml");
        std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
        let err = read_text(&zero).expect_err("refused").to_string();
        assert!(
            err.contains("zero.toml") && err.contains("character device"),
            "{err}"
        );
        let fifo = dir.path().join("fifo.toml");
        let name = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("c path");
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let err = read_text(&fifo)
            .expect_err("refused, not blocked")
            .to_string();
        assert!(err.contains("fifo.toml") && err.contains("FIFO"), "{err}");
        let err = read_text(dir.path()).expect_err("refused").to_string();
        assert!(err.contains("directory"), "{err}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_naming_path_and_cap() {
        let dir = tempfile::tempdir().expect("temp dir");
        let big = dir.path().join("big.toml");
        let file = std::fs::File::create(&big).expect("create");
        file.set_len(MAX_CONFIG_BYTES + 1).expect("sparse length");
        let err = read_text(&big).expect_err("refused").to_string();
        assert!(
            err.contains("big.toml") && err.contains(&MAX_CONFIG_BYTES.to_string()),
            "{err}"
        );
    }
}
