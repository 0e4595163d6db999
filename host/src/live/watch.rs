//! Watches the plugins folder and asks for a rescan once it has settled.
//!
//! A library being copied in arrives in pieces: the watcher waits until the folder has
//! been quiet for [`QUIET`] and every library file's size and modification time stayed
//! the same across that wait, so a half-written file is never probed. The operating
//! system's notifications (the `notify` crate: inotify, FSEvents, ReadDirectoryChangesW)
//! make it prompt; a comparison every [`FALLBACK`] catches what a file system does not
//! notify (network mounts). Comparing is a `stat` per file, nothing is read.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::plugins::loader::is_library;
use crate::shutdown::Shutdown;

/// How long the folder must stay unchanged before it is rescanned.
pub const QUIET: Duration = Duration::from_millis(400);

/// How often the folder is compared without a notification.
const FALLBACK: Duration = Duration::from_secs(30);

/// What the library files look like: name, size, modification time.
type Signature = Vec<(PathBuf, u64, Option<SystemTime>)>;

fn signature(dir: &Path) -> Signature {
    let mut files: Signature = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| is_library(p))
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let len = meta.as_ref().map_or(0, std::fs::Metadata::len);
            let modified = meta.and_then(|m| m.modified().ok());
            (p, len, modified)
        })
        .collect();
    files.sort();
    files
}

/// Watches `dir` until `shutdown`, calling `rescan` each time it changed and settled.
pub async fn run(dir: PathBuf, rescan: impl Fn(), mut shutdown: Shutdown) {
    let (tx, mut events) = mpsc::unbounded_channel::<()>();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reads (ours included: comparing opens the folder) are not changes.
        let relevant = event.map_or(true, |event| {
            !matches!(event.kind, notify::EventKind::Access(_))
                && event.paths.iter().any(|p| is_library(p))
        });
        if relevant {
            let _ = tx.send(());
        }
    })
    .and_then(|mut watcher| {
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
        Ok(watcher)
    });
    let _watcher = match watcher {
        Ok(watcher) => {
            tracing::info!(dir = %dir.display(), "Watching the plugins folder: libraries added, replaced or removed take effect live.");
            Some(watcher)
        }
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, every_s = FALLBACK.as_secs(), "Cannot watch the plugins folder; comparing it periodically instead.");
            None
        }
    };
    let mut last = signature(&dir);
    let mut fallback = tokio::time::interval(FALLBACK);
    fallback.reset();
    loop {
        tokio::select! {
            Some(()) = events.recv() => {}
            _ = fallback.tick() => {
                if signature(&dir) == last {
                    continue;
                }
            }
            () = shutdown.wait() => return,
        }
        // Settle: quiet for QUIET, and the same files, sizes and times across it.
        let mut before = signature(&dir);
        loop {
            tokio::select! {
                () = tokio::time::sleep(QUIET) => {}
                () = shutdown.wait() => return,
            }
            let mut noisy = false;
            while events.try_recv().is_ok() {
                noisy = true;
            }
            let now = signature(&dir);
            if !noisy && now == before {
                break;
            }
            before = now;
        }
        if before != last {
            last = before;
            rescan();
        }
    }
}
