//! Opens each plugin library first in a short-lived child process, so a file that
//! crashes, aborts or hangs while it is being loaded costs a refusal, not the server.
//!
//! `dlopen` runs a library's constructors and trusts its ELF headers: a truncated copy
//! of a real plugin dies of SIGBUS inside the dynamic loader, and a constructor may call
//! `abort()`. Neither can be caught in-process. So the server re-executes its own binary
//! as `monitoring-websocket-server --probe-plugin <path>` ([`PROBE_FLAG`]), which loads
//! the library exactly as the loader does (`crate::plugins::probe_child`) and prints
//! one [`Reply`] line with the plugin's identity; only a file whose probe exited
//! cleanly is then opened in the server's own process, and only once its plugin is
//! enabled (the identity from the probe is all the server needs to know of a disabled
//! one).
//!
//! Probes run a few at a time ([`PARALLEL`]) under a deadline ([`DEADLINE`]); a probe
//! past it is killed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::plugins::identity::{Kind, Metadata};

/// The hidden subcommand `main.rs` dispatches before anything else.
pub const PROBE_FLAG: &str = "--probe-plugin";

/// How long one probe may take before its child is killed and the file refused.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// How many probes run at once: loading is mostly disk reads and relocations, so a
/// few more than the cores keeps start-up quick without flooding a small machine.
const PARALLEL: usize = 4;

/// The most of a probe's output read (one JSON line is far shorter); a library that
/// prints more than this from its constructor gets SIGPIPE and is refused.
const OUTPUT_CAP: u64 = 64 * 1024;

/// How often a running probe is checked for having exited.
const POLL: Duration = Duration::from_millis(5);

/// The one JSON line a probe child prints: the plugin's identity, or why its file is
/// refused. Written by the child ([`crate::plugins::probe_child`]) and read by
/// [`verdict`], so both sides share this one definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    /// The file loaded (exit code 0).
    Loaded(Metadata),
    /// The file was refused (exit code 1), in one line.
    Refused {
        /// Why.
        error: String,
    },
}

/// How libraries are opened before they are loaded in-process.
#[derive(Debug, Clone)]
pub enum Isolation {
    /// Probe each file in a child: this executable, run with [`PROBE_FLAG`].
    ChildProcess {
        /// The server binary (`std::env::current_exe()`).
        exe: PathBuf,
    },
    /// Load straight into this process, unprobed: a crashing library ends the process.
    /// For tests, whose executable is a test harness that cannot answer [`PROBE_FLAG`].
    InProcess,
}

/// Probes every file, a few at a time; one result per path, in the same order: the
/// plugin's identity, or the one-line reason the file is refused.
pub fn probe_all(exe: &Path, paths: &[PathBuf]) -> Vec<Result<Metadata, String>> {
    let mut results: Vec<Option<Result<Metadata, String>>> = vec![None; paths.len()];
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots = std::sync::Mutex::new(&mut results);
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL.min(paths.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = paths.get(i) else { break };
                let outcome = probe(exe, path);
                if let Ok(mut slots) = slots.lock() {
                    slots[i] = Some(outcome);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("its probe did not report".into())))
        .collect()
}

/// Probes one file in a child process under [`DEADLINE`].
pub fn probe(exe: &Path, path: &Path) -> Result<Metadata, String> {
    let mut child = Command::new(exe)
        .arg(PROBE_FLAG)
        .arg(path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start its load probe ({}): {e}", exe.display()))?;
    let reader = child.stdout.take().map(|stdout| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.take(OUTPUT_CAP).read_to_string(&mut text);
            text
        })
    });
    let status = wait(&mut child, DEADLINE);
    let output = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    match status {
        None => Err(format!(
            "timed out after {} s while loading",
            DEADLINE.as_secs()
        )),
        Some(status) => verdict(status, &output),
    }
}

/// Waits for `child` until `deadline`; past it, kills and reaps it and returns `None`.
fn wait(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if started.elapsed() < deadline => std::thread::sleep(POLL),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// What a finished probe's exit status and output say about the file.
fn verdict(status: ExitStatus, output: &str) -> Result<Metadata, String> {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return Err(format!("crashed while loading: {}", signal_name(signal)));
    }
    let reply = output
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Reply>(line).ok());
    match (status.code(), reply) {
        (Some(0), Some(Reply::Loaded(metadata))) if metadata.kind != Kind::Unknown => Ok(metadata),
        (Some(0), None | Some(Reply::Loaded(_))) => {
            Err("its load probe did not say what plugin it is".to_owned())
        }
        (Some(1), Some(Reply::Refused { error })) => Err(error),
        (code, _) => Err(format!(
            "its load probe ended unexpectedly (exit code {})",
            code.map_or_else(|| "none".into(), |c| c.to_string())
        )),
    }
}

/// The conventional name of the signals a crashing load dies of.
#[cfg(unix)]
fn signal_name(signal: i32) -> String {
    let name = match signal {
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        #[cfg(any(target_os = "linux", target_os = "android"))]
        7 => "SIGBUS",
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        10 => "SIGBUS",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn signals_are_named() {
        assert_eq!(signal_name(6), "SIGABRT");
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(64), "signal 64");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_clean_refusal_carries_the_childs_reason() {
        use std::os::unix::process::ExitStatusExt;
        let refused = ExitStatus::from_raw(1 << 8);
        assert_eq!(
            verdict(refused, "{\"error\":\"not a loadable library: x\"}\n"),
            Err("not a loadable library: x".into())
        );
        let loaded = ExitStatus::from_raw(0);
        let reply = r#"{"name":"cpu","kind":"collector","version":"1.2.0","api_version":"0.4.0","description":"CPU"}"#;
        assert_eq!(
            verdict(loaded, &format!("{reply}\n")),
            Ok(Metadata {
                name: "cpu".into(),
                kind: Kind::Collector,
                version: "1.2.0".into(),
                api_version: "0.4.0".into(),
                description: "CPU".into(),
            })
        );
        assert!(verdict(loaded, "").is_err(), "silence is not a pass");
        assert!(
            verdict(loaded, "{\"name\":\"cpu\"}\n").is_err(),
            "a pass names the plugin whole"
        );
        let bus = ExitStatus::from_raw(7);
        assert_eq!(
            verdict(bus, ""),
            Err("crashed while loading: SIGBUS".into())
        );
    }
}
