//! The server under test: builds the real binary and plugin libraries once, starts the
//! binary on a free port of 127.0.0.1 in a scratch folder and reads its log.
//!
//! The build and the libraries are found from the test executable's own path
//! (`target/<profile>/deps/<test>`), so a test of any crate in the workspace gets the
//! binary of its own profile.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Every first-party plugin crate: those under plugins/ that build a `cdylib`.
pub fn first_party_plugins() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&root).expect("plugins/") {
        let manifest = entry.expect("entry").path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        if !text.contains("\"cdylib\"") {
            continue;
        }
        let name = text
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .expect("package name");
        names.push(name.to_owned());
    }
    names.sort();
    names
}

/// The four collectors every server should run.
pub const CORE_COLLECTORS: [&str; 4] = [
    "collector-cpu",
    "collector-disk",
    "collector-memory",
    "collector-system",
];

/// The folder holding the built binary and libraries (target/debug or target/release).
pub fn artifacts() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps/<test>")
            .to_owned();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.current_dir(env!("CARGO_MANIFEST_DIR")).args([
            "build",
            "--workspace",
            "--exclude",
            "monitoring-tests",
            "--exclude",
            "xtask",
            "--exclude",
            "monitoring-test-support",
        ]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building the server and plugins failed");
        profile_dir
    })
}

/// The library file a crate builds.
pub fn library(crate_name: &str) -> PathBuf {
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        crate_name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    artifacts().join(file)
}

/// A running server process in its own scratch folder.
pub struct Server {
    child: Child,
    /// The scratch folder: `plugins.toml` and `plugins/`.
    pub dir: tempfile::TempDir,
    /// The port it listens on.
    pub port: u16,
    logs: Arc<Mutex<Vec<String>>>,
}

/// What to start a server with.
pub struct Setup<'a> {
    /// Plugin crates whose libraries go into the plugins folder.
    pub plugins: &'a [&'a str],
    /// Extra text appended to plugins.toml (after `[server]` with host/port).
    pub config: &'a str,
    /// Extra files for the plugins folder: (name, contents).
    pub extra_files: &'a [(&'a str, &'a [u8])],
}

impl Server {
    /// Starts the server with the four core collectors and default settings.
    pub fn start_default() -> Self {
        Self::start(Setup {
            plugins: &CORE_COLLECTORS,
            config: "",
            extra_files: &[],
        })
    }

    /// Starts a server and waits until it listens.
    pub fn start(setup: Setup<'_>) -> Self {
        Self::start_with_env(setup, &[])
    }

    /// Starts a server with extra environment variables.
    pub fn start_with_env(setup: Setup<'_>, env: &[(&str, &str)]) -> Self {
        Self::start_prepared(setup, env, |_| {})
    }

    /// Starts a server after `prepare` has had the filled plugins folder, for entries
    /// `extra_files` cannot make (a folder named like a library).
    pub fn start_prepared(
        setup: Setup<'_>,
        env: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> Self {
        let dir = tempfile::tempdir().expect("scratch folder");
        let plugins = dir.path().join("plugins");
        std::fs::create_dir(&plugins).expect("plugins folder");
        for name in setup.plugins {
            let from = library(name);
            let to = plugins.join(from.file_name().expect("library file name"));
            std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        }
        for (name, contents) in setup.extra_files {
            std::fs::write(plugins.join(name), contents).expect("extra file");
        }
        prepare(&plugins);
        let config = format!("[server]\nhost = \"127.0.0.1\"\nport = 0\n{}", setup.config);
        Self::launch(dir, &config, &[], env)
    }

    /// Starts a server with the repository's own plugins.toml, untouched, and the given
    /// plugin libraries; `--host 127.0.0.1 --port 0` on the command line override it.
    pub fn start_shipped(plugins: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("scratch folder");
        let folder = dir.path().join("plugins");
        std::fs::create_dir(&folder).expect("plugins folder");
        for name in plugins {
            let from = library(name);
            let to = folder.join(from.file_name().expect("library file name"));
            std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        }
        let shipped =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins.toml"))
                .expect("the repository's plugins.toml");
        Self::launch(dir, &shipped, &["--host", "127.0.0.1", "--port", "0"], &[])
    }

    fn launch(dir: tempfile::TempDir, config: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        std::fs::write(dir.path().join("plugins.toml"), config).expect("plugins.toml");
        Self::launch_in(dir, args, env)
    }

    /// Starts a server again in the scratch folder a stopped one left (see
    /// [`Server::stop_keeping_dir`]), with its plugins.toml, plugins and data.
    pub fn restart_in(dir: tempfile::TempDir) -> Self {
        Self::launch_in(dir, &[], &[])
    }

    /// [`Server::restart_in`] with environment variables (tokens, secrets), which a
    /// restarted process does not inherit from the stopped one.
    pub fn restart_in_with_env(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Self {
        Self::launch_in(dir, &[], env)
    }

    /// Stops the server with `signal` (`TERM`, `KILL`) and hands back its scratch
    /// folder, for a restart on the same data.
    #[cfg(unix)]
    pub fn stop_keeping_dir(mut self, signal: &str) -> tempfile::TempDir {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // `Drop` kills what is left; an empty folder takes the kept one's place.
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("scratch folder"))
    }

    fn launch_in(dir: tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(artifacts().join(format!(
            "monitoring-websocket-server{}",
            std::env::consts::EXE_SUFFIX
        )))
        .arg("--config")
        .arg(dir.path().join("plugins.toml"))
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("log lock").push(line);
            }
        });
        let mut server = Server {
            child,
            dir,
            port: 0,
            logs,
        };
        // `ws://`, or `wss://` when TLS is configured.
        let line = server.wait_for_log(|l| l.contains("Listening on ws"), Duration::from_secs(30));
        let line =
            line.unwrap_or_else(|| panic!("the server did not start; log:\n{}", server.log_text()));
        server.port = line
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.rsplit(':').next())
            .and_then(|port| port.parse().ok())
            .expect("port in the listening line");
        // Plugins load after the port is bound; wait until collection starts.
        let collecting =
            server.wait_for_log(|l| l.contains("Collecting."), Duration::from_secs(30));
        assert!(
            collecting.is_some(),
            "collection did not start; log:\n{}",
            server.log_text()
        );
        server
    }

    /// `ws://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// The server's process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every log line so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("log lock").clone()
    }

    /// The log as one text, for failure messages.
    pub fn log_text(&self) -> String {
        self.logs().join("\n")
    }

    /// Waits for a log line matching `pred`.
    pub fn wait_for_log(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.logs().into_iter().find(|l| pred(l)) {
                return Some(line);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    #[cfg(unix)]
    pub fn terminate(mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// Runs the binary with `config` (written next to an empty plugins folder in a
/// scratch folder) until it exits, for a start that must fail: its exit code and log.
pub fn run_to_exit(config: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("scratch folder");
    std::fs::create_dir(dir.path().join("plugins")).expect("plugins folder");
    let path = dir.path().join("plugins.toml");
    std::fs::write(&path, config).expect("write config");
    let output = Command::new(artifacts().join(format!(
        "monitoring-websocket-server{}",
        std::env::consts::EXE_SUFFIX
    )))
    .arg("--config")
    .arg(&path)
    .env("NO_COLOR", "1")
    .output()
    .expect("run the server");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that the log has exactly one "Plugin refused." line for the plugin file
/// named `file` (matched as a whole path component) and that it gives `reason`.
pub fn assert_refused_once(logs: &[String], file: &str, reason: &str) {
    let component = format!("/{file}");
    let names_file = |line: &str| {
        line.match_indices(&component).any(|(at, _)| {
            line[at + component.len()..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace)
        })
    };
    let lines: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("Plugin refused.") && names_file(l))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one refusal line for {file}; log:\n{}",
        logs.join("\n")
    );
    assert!(
        lines[0].contains(reason),
        "{file} refused for the wrong reason: {}",
        lines[0]
    );
}

/// The admin token of servers started with [`ADMIN_ACCESS`] and [`admin_env`].
pub const ADMIN_TOKEN: &str = "admin-token-of-the-test-harness-0123";

/// `[access]` naming the admin token's variable, for tests that change thresholds
/// (control commands are refused without an admin token).
pub const ADMIN_ACCESS: &str = "[access]\nadmin_token_env = \"MONITORING_ADMIN_TOKEN\"\n\n";

/// The environment that gives [`ADMIN_ACCESS`] its token.
pub fn admin_env() -> [(&'static str, &'static str); 1] {
    [("MONITORING_ADMIN_TOKEN", ADMIN_TOKEN)]
}
