//! A real Prometheus server for the tests: its own process on a loopback port, with a
//! throwaway TSDB, scraping one target every second; stopped on drop. The `/metrics`
//! tests and the remote-write tests both read our series back through its HTTP API.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{encode, get};

/// A running Prometheus.
pub struct Prometheus {
    child: Child,
    /// The port its HTTP API listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `binary` on `port` (see [`free_port`]), scraping `127.0.0.1:target_port`
    /// every second as job `job`; `extra_args` go on its command line (such as
    /// `--web.enable-remote-write-receiver`).
    pub fn start(
        binary: &Path,
        port: u16,
        job: &str,
        target_port: u16,
        extra_args: &[&str],
    ) -> Self {
        Self::start_jobs(binary, port, &[(job, target_port)], extra_args)
    }

    /// [`Prometheus::start`] with several jobs, each scraping `127.0.0.1:<port>` every
    /// second (the node_exporter comparison scrapes node_exporter and our server).
    pub fn start_jobs(binary: &Path, port: u16, jobs: &[(&str, u16)], extra_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("scratch folder");
        let mut config =
            String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
        for (job, target_port) in jobs {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n\
                 \x20     - targets: ['127.0.0.1:{target_port}']\n"
            ));
        }
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(extra_args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        Self { child, port, dir }
    }

    /// Its log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `data` of an API answer (`path` such as `/api/v1/query?query=…`), once
    /// Prometheus answers 200.
    pub fn api(&self, path: &str) -> Option<Value> {
        let reply = std::panic::catch_unwind(|| get(self.port, path)).ok()?;
        (reply.status == 200).then(|| reply.json()["data"].clone())
    }

    /// The instant vector of `query`, once Prometheus answers.
    pub fn query(&self, query: &str) -> Option<Vec<Value>> {
        let path = format!("/api/v1/query?query={}", encode(query));
        self.api(&path)?["result"].as_array().cloned()
    }

    /// Waits until `query` returns at least one series; fails the test with
    /// Prometheus's log past `timeout`.
    pub fn wait_for(&self, query: &str, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(result) = self.query(query).filter(|r| !r.is_empty()) {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus never returned `{query}`; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs `promtool check metrics` (at `promtool`) on `text` and fails the calling test
/// unless it is accepted. The one complaint allowed is the camelCase of node_exporter's
/// own `node_memory_<MemInfoField>_bytes` names (issue 25): node_exporter's exposition
/// draws the same lint, and dashboards query exactly those names.
pub fn promtool_check(promtool: &Path, text: &str) {
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    std::io::Write::write_all(&mut check.stdin.take().expect("stdin"), text.as_bytes())
        .expect("feed promtool");
    let out = check.wait_with_output().expect("promtool finishes");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() || only_node_exporters_own_names(&said),
        "promtool check metrics failed:\n{said}\non:\n{text}"
    );
}

/// Whether every line promtool said is the camelCase lint of a `node_memory_*_bytes`.
fn only_node_exporters_own_names(said: &str) -> bool {
    let mut problems = said.lines().filter(|l| !l.trim().is_empty()).peekable();
    problems.peek().is_some()
        && problems.all(|line| {
            line.starts_with("node_memory_")
                && line.ends_with(
                    "_bytes metric names should be written in 'snake_case' not 'camelCase'",
                )
        })
}
