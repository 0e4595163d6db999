//! File permission bits that bind the test, even when it runs as root (as it does in CI
//! and in containers): a read-only directory must really refuse the plugin's writes, or
//! the test of what the plugin does then proves nothing.
//!
//! Root is not stopped by mode bits because of three capabilities (`CAP_DAC_OVERRIDE`,
//! `CAP_DAC_READ_SEARCH`, `CAP_FOWNER`). On Linux capabilities belong to a thread, so
//! [`obey_permissions`] lowers them in the calling test's thread alone and raises them
//! again when its guard drops; root then meets the owner's bits like any user, and the
//! other tests running beside it keep theirs.

/// Until the returned guard drops, file permission bits bind the calling thread (and
/// threads it spawns meanwhile, which inherit its capabilities).
///
/// `None` when that cannot be arranged on this machine (root where capabilities cannot
/// be lowered per thread): the skip is then printed and counted (see
/// [`skip`](crate::skip)) and the test must return.
#[must_use = "permissions bind only while the guard lives"]
pub fn obey_permissions() -> Option<ObeyingPermissions> {
    match imp::lower() {
        Ok(restore) => Some(ObeyingPermissions { restore }),
        Err(reason) => {
            crate::skip(&format!(
                "file permissions cannot be made to bind this test: {reason}"
            ));
            None
        }
    }
}

/// Raises the thread's capabilities again when dropped (if they were lowered).
pub struct ObeyingPermissions {
    restore: Option<imp::Saved>,
}

impl Drop for ObeyingPermissions {
    fn drop(&mut self) {
        if let Some(saved) = self.restore.take() {
            imp::raise(saved);
        }
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use rustix::thread::{capabilities, set_capabilities, CapabilitySet, CapabilitySets};

    pub type Saved = CapabilitySets;

    /// What lets root past mode bits.
    const OVERRIDES: CapabilitySet = CapabilitySet::DAC_OVERRIDE
        .union(CapabilitySet::DAC_READ_SEARCH)
        .union(CapabilitySet::FOWNER);

    /// Lowers the overrides from the thread's effective set (they stay permitted, so
    /// they can be raised again); `None` when it had none to lower.
    pub fn lower() -> Result<Option<Saved>, String> {
        let before = capabilities(None).map_err(|e| format!("capget: {e}"))?;
        if !before.effective.intersects(OVERRIDES) {
            return Ok(None);
        }
        let lowered = CapabilitySets {
            effective: before.effective.difference(OVERRIDES),
            ..before
        };
        set_capabilities(None, lowered).map_err(|e| format!("capset: {e}"))?;
        Ok(Some(before))
    }

    pub fn raise(saved: Saved) {
        if let Err(e) = set_capabilities(None, saved) {
            // Only this test's thread keeps the lower set, and it is ending.
            eprintln!("cannot raise this thread's capabilities again: {e}");
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::fs;

    pub type Saved = ();

    /// Without per-thread capabilities nothing is lowered: find out whether mode bits
    /// bind this process already (they do unless it runs as root).
    pub fn lower() -> Result<Option<Saved>, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
        let read_only = dir.path().join("read-only");
        fs::create_dir(&read_only).map_err(|e| e.to_string())?;
        set_mode(&read_only, 0o555)?;
        let written = fs::write(read_only.join("probe"), b"").is_ok();
        set_mode(&read_only, 0o755)?;
        if written {
            Err("running as root, who ignores them here".into())
        } else {
            Ok(None)
        }
    }

    pub fn raise(_: Saved) {}

    #[cfg(unix)]
    fn set_mode(path: &std::path::Path, mode: u32) -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())
    }

    #[cfg(not(unix))]
    fn set_mode(_: &std::path::Path, _: u32) -> Result<(), String> {
        Err("no Unix mode bits on this system".into())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn set_mode(path: &std::path::Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn a_read_only_folder_refuses_this_thread_alone_while_the_guard_lives() {
        let dir = tempfile::tempdir().expect("temporary folder");
        set_mode(dir.path(), 0o555);
        let writable_before = fs::write(dir.path().join("before"), b"").is_ok();
        // A thread that exists before the guard, as the other tests' threads do.
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn({
            let path = dir.path().join("other");
            move || {
                wait.recv().expect("the go-ahead");
                fs::write(path, b"").is_ok()
            }
        });
        let Some(guard) = obey_permissions() else {
            set_mode(dir.path(), 0o755);
            return;
        };
        let refused = fs::write(dir.path().join("probe"), b"").is_err();
        go.send(()).expect("the other thread waits");
        let other = other.join().expect("the other thread");
        drop(guard);
        let writable_after = fs::write(dir.path().join("after"), b"").is_ok();
        set_mode(dir.path(), 0o755);

        assert!(refused, "the read-only folder accepted a write");
        assert_eq!(
            other, writable_before,
            "another thread's rights changed (root's, were this root)"
        );
        assert_eq!(
            writable_after, writable_before,
            "the thread's rights are back once the guard drops"
        );
    }
}
