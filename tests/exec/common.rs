//! What the exec and textfile tests share: a server with the `exec` (and `textfile`)
//! plugin and a given plugins.toml tail, waiting for a `monitoring_data` that shows
//! something, and reloading plugins.toml.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use monitoring_test_support::{next_of_type, Client, Server, Setup};
use serde_json::Value;

/// The plugins these tests load.
pub const PLUGINS: [&str; 3] = ["collector-exec", "collector-textfile", "collector-load"];

/// A fixture script of tests/exec.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("exec")
        .join(name)
}

/// A server whose plugins.toml ends with `config`.
pub fn start(config: &str) -> Server {
    Server::start(Setup {
        plugins: &PLUGINS,
        config,
        extra_files: &[],
    })
}

/// The `data` of the next `monitoring_data` for which `done` holds, within `timeout`.
pub async fn data_where(
    ws: &mut Client,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    let mut last = Value::Null;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some((message, _)) = next_of_type(ws, "monitoring_data", left).await else {
            panic!("never happened within {timeout:?}; last data: {last:#}");
        };
        if done(&message["data"]) {
            return message["data"].clone();
        }
        last = message["data"].clone();
    }
}

/// Rewrites plugins.toml with `edit` applied and sends SIGHUP.
pub fn reload(server: &Server, edit: impl FnOnce(String) -> String) {
    let path = server.dir.path().join("plugins.toml");
    let text = std::fs::read_to_string(&path).expect("plugins.toml");
    std::fs::write(&path, edit(text)).expect("rewrite plugins.toml");
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success(), "kill -HUP");
}

/// Whether `pid` is gone within 3 s (or a zombie: it runs no more).
pub fn gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat)
                if stat
                    .rsplit_once(") ")
                    .is_some_and(|(_, s)| s.starts_with('Z')) =>
            {
                return true
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    false
}

/// The pids a fixture wrote to `file`, one a line.
pub fn pids(file: &Path) -> Vec<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// A TOML string.
pub fn quoted(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}
