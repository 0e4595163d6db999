//! The real programs the tests talk to, found by one rule each, and what happens when
//! one is missing: the test fails, naming the peer and the command that installs it.
//!
//! The only way around that is the opt-out [`ALLOW_MISSING`] for people who know what
//! they skip; it is ignored under CI (`CI` set to anything but `false`/`0`). A test
//! skipped through it still passes in libtest's count, so every skip is appended to the
//! file named by [`SKIP_LOG`], from which `cargo xtask test` prints the real count.
//!
//! `xtask` uses the same [`Peer::find`] to decide what to install, so the installer and
//! the tests cannot disagree about where a peer lives.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Set to `1` to let a test whose peer is missing skip (and be counted as skipped)
/// instead of failing. Ignored under CI.
pub const ALLOW_MISSING: &str = "MONITORING_TESTS_ALLOW_MISSING";

/// A file each skipped test appends one line to (`binary<TAB>test<TAB>reason`);
/// `cargo xtask test` sets it and subtracts those tests from libtest's passed count.
pub const SKIP_LOG: &str = "MONITORING_TEST_SKIP_LOG";

/// The pinned Python packages, as `pip install` takes them.
pub const AIOSMTPD: &str = "aiosmtpd==1.4.6";
/// The published Python client of the seed protocol.
pub const PUBLISHED_CLIENT: &str = "monitoring-websocket-client==1.0.83.90";
/// Apprise, whose CLI the notify sink's requests are compared with.
pub const APPRISE: &str = "apprise==1.9.3";
/// Autobahn|Testsuite (needs Python 2.7).
pub const AUTOBAHN: &str = "autobahntestsuite";

/// A real program some test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// `prometheus`, the server that scrapes `/metrics`.
    Prometheus,
    /// `promtool`, which lints the exposition (same Debian package).
    Promtool,
    /// Headless Chromium for the dashboard test (`CHROMIUM` names another binary).
    Chromium,
    /// Chromium's WebDriver (`CHROMEDRIVER` names another binary).
    ChromeDriver,
    /// A `python3` that can `import aiosmtpd`: the SMTP server of the email sink tests.
    Aiosmtpd,
    /// The published `monitoring-websocket-client` command.
    PublishedClient,
    /// Autobahn's `wstest` (`AUTOBAHN_WSTEST`, else under `~/.pyenv/versions/2.7*`,
    /// else on `PATH`).
    Autobahn,
    /// A C compiler (`CC`, else `cc`) to build the fake NVML library.
    CCompiler,
    /// `python3`, whose `platform.platform()` the system collector's `platform` copies.
    Python3,
    /// `gzip`, whose `gzip -t` checks the JSON exporter's compressed files.
    Gzip,
    /// `nats-server`, the bus of the fleet tests (`NATS_SERVER` names another binary;
    /// Debian installs it in `/usr/sbin`, often not on a user's `PATH`).
    NatsServer,
    /// The `apprise` command (pinned [`APPRISE`]), the reference for the notify sink's
    /// Apprise URLs.
    Apprise,
    /// Debian's `monitoring-plugins-basic`: the Nagios checks (`check_load`,
    /// `check_disk`, `check_procs`, `check_swap`) in [`NAGIOS_PLUGINS`].
    MonitoringPlugins,
    /// Debian's `prometheus-node-exporter-collectors`: textfile-collector scripts in
    /// [`NODE_EXPORTER_COLLECTORS`].
    NodeExporterCollectors,
    /// Debian's node_exporter (`prometheus-node-exporter`), the reference of the
    /// node_exporter drop-in names.
    NodeExporter,
    /// `systemd-analyze`, which verifies the package's unit.
    SystemdAnalyze,
    /// `strip` (binutils), with which `cargo xtask deb` drops debug info.
    Strip,
}

/// Where Debian installs the Nagios/Monitoring plugins.
pub const NAGIOS_PLUGINS: &str = "/usr/lib/nagios/plugins";
/// Where Debian installs node_exporter's textfile-collector scripts.
pub const NODE_EXPORTER_COLLECTORS: &str = "/usr/share/prometheus-node-exporter-collectors";

/// How a missing peer is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Install {
    /// Debian packages.
    Apt(&'static [&'static str]),
    /// A pinned package for `python3 -m pip`.
    Pip(&'static str),
    /// A package for the pip of a Python 2.7.
    Pip27(&'static str),
}

impl Peer {
    /// Every peer, in the order `xtask` checks them.
    pub const ALL: [Peer; 17] = [
        Peer::CCompiler,
        Peer::Gzip,
        Peer::Python3,
        Peer::Prometheus,
        Peer::Promtool,
        Peer::Chromium,
        Peer::ChromeDriver,
        Peer::Aiosmtpd,
        Peer::PublishedClient,
        Peer::Autobahn,
        Peer::NatsServer,
        Peer::Apprise,
        Peer::MonitoringPlugins,
        Peer::NodeExporterCollectors,
        Peer::NodeExporter,
        Peer::SystemdAnalyze,
        Peer::Strip,
    ];

    /// The name a failure or a skip gives it.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Prometheus => "Prometheus (`prometheus`)",
            Peer::Promtool => "Prometheus' `promtool`",
            Peer::Chromium => "Chromium (`chromium`)",
            Peer::ChromeDriver => "ChromeDriver (`chromedriver`)",
            Peer::Aiosmtpd => "aiosmtpd (python3 -c 'import aiosmtpd')",
            Peer::PublishedClient => "the published client (`monitoring-websocket-client`)",
            Peer::Autobahn => "Autobahn|Testsuite (`wstest`, Python 2.7)",
            Peer::CCompiler => "a C compiler (`cc` or $CC)",
            Peer::Python3 => "Python 3 (`python3`)",
            Peer::Gzip => "`gzip`",
            Peer::NatsServer => "the NATS server (`nats-server`)",
            Peer::Apprise => "Apprise (`apprise`)",
            Peer::MonitoringPlugins => {
                "the Nagios checks (`check_load` of monitoring-plugins-basic)"
            }
            Peer::NodeExporterCollectors => {
                "node_exporter's textfile scripts (prometheus-node-exporter-collectors)"
            }
            Peer::NodeExporter => "node_exporter (`/usr/bin/prometheus-node-exporter`)",
            Peer::SystemdAnalyze => "`systemd-analyze`",
            Peer::Strip => "`strip` (binutils)",
        }
    }

    /// How to install it.
    pub fn install(self) -> Install {
        match self {
            Peer::Prometheus | Peer::Promtool => Install::Apt(&["prometheus"]),
            Peer::Chromium => Install::Apt(&["chromium"]),
            Peer::ChromeDriver => Install::Apt(&["chromium-driver"]),
            Peer::Aiosmtpd => Install::Pip(AIOSMTPD),
            Peer::PublishedClient => Install::Pip(PUBLISHED_CLIENT),
            Peer::Autobahn => Install::Pip27(AUTOBAHN),
            Peer::CCompiler => Install::Apt(&["gcc"]),
            Peer::Python3 => Install::Apt(&["python3"]),
            Peer::Gzip => Install::Apt(&["gzip"]),
            Peer::NatsServer => Install::Apt(&["nats-server"]),
            Peer::Apprise => Install::Pip(APPRISE),
            Peer::MonitoringPlugins => Install::Apt(&["monitoring-plugins-basic"]),
            Peer::NodeExporterCollectors => Install::Apt(&["prometheus-node-exporter-collectors"]),
            Peer::NodeExporter => Install::Apt(&["prometheus-node-exporter"]),
            Peer::SystemdAnalyze => Install::Apt(&["systemd"]),
            Peer::Strip => Install::Apt(&["binutils"]),
        }
    }

    /// The command that installs it by hand.
    pub fn manual_install(self) -> String {
        match self.install() {
            Install::Apt(packages) => format!("apt-get install -y {}", packages.join(" ")),
            Install::Pip(package) => format!("python3 -m pip install {package}"),
            Install::Pip27(package) => {
                format!("~/.pyenv/versions/2.7.18/bin/python -m pip install {package}")
            }
        }
    }

    /// How to install it, as a failing test says it.
    pub fn install_command(self) -> String {
        format!(
            "`cargo xtask test` installs it, or: {}",
            self.manual_install()
        )
    }

    /// Where it is on this machine, if it is.
    pub fn find(self) -> Option<PathBuf> {
        match self {
            Peer::Prometheus => on_path("prometheus"),
            Peer::Promtool => on_path("promtool"),
            Peer::Chromium => from_env("CHROMIUM").unwrap_or_else(|| on_path("chromium")),
            Peer::ChromeDriver => {
                from_env("CHROMEDRIVER").unwrap_or_else(|| on_path("chromedriver"))
            }
            Peer::Aiosmtpd => {
                let python = on_path("python3")?;
                runs(Command::new(&python).args(["-c", "import aiosmtpd"])).then_some(python)
            }
            Peer::PublishedClient => {
                let client = on_path("monitoring-websocket-client")?;
                // A pyenv shim exists for every version's commands; ask it to run.
                runs(Command::new(&client).arg("--help")).then_some(client)
            }
            Peer::Autobahn => wstest(),
            Peer::CCompiler => {
                let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
                let path = if compiler.contains('/') {
                    Some(PathBuf::from(&compiler)).filter(|p| p.is_file())
                } else {
                    on_path(&compiler)
                };
                path.filter(|p| runs(Command::new(p).arg("--version")))
            }
            Peer::Python3 => {
                // A pyenv shim exists for every version's commands; ask it to run.
                on_path("python3").filter(|python| runs(Command::new(python).args(["-c", ""])))
            }
            Peer::Gzip => on_path("gzip"),
            Peer::Apprise => {
                let apprise = on_path("apprise")?;
                // A pyenv shim exists for every version's commands; ask it to run.
                runs(Command::new(&apprise).arg("--version")).then_some(apprise)
            }
            Peer::NatsServer => from_env("NATS_SERVER").unwrap_or_else(|| {
                on_path("nats-server").or_else(|| {
                    Some(PathBuf::from("/usr/sbin/nats-server")).filter(|p| p.is_file())
                })
            }),
            Peer::MonitoringPlugins => {
                // Every check exits 3 (UNKNOWN) for `--version`: only its presence tells.
                Some(Path::new(NAGIOS_PLUGINS).join("check_load")).filter(|check| check.is_file())
            }
            Peer::NodeExporterCollectors => {
                Some(Path::new(NODE_EXPORTER_COLLECTORS).join("directory-size.sh"))
                    .filter(|script| script.is_file())
            }
            Peer::NodeExporter => on_path("prometheus-node-exporter"),
            Peer::SystemdAnalyze => on_path("systemd-analyze"),
            Peer::Strip => on_path("strip"),
        }
    }
}

/// The peer's path. When it is missing the calling test fails naming it and its
/// install command, unless [`ALLOW_MISSING`] is set outside CI: then the skip is
/// printed and logged, and `None` tells the test to return.
pub fn require(peer: Peer) -> Option<PathBuf> {
    if let Some(path) = peer.find() {
        return Some(path);
    }
    let reason = format!("{} is missing; {}", peer.name(), peer.install_command());
    if !allowed_to_skip() {
        panic!(
            "{reason}. (Only outside CI, {ALLOW_MISSING}=1 turns this failure into a counted skip.)"
        );
    }
    skip(&reason);
    None
}

/// Records that the calling test is returning without checking what it names, for a
/// reason of this machine that is not a missing peer (e.g. a real NVIDIA driver is
/// present). The test still returns early; the skip is printed and counted.
pub fn skip(reason: &str) {
    eprintln!("SKIPPED: {reason}");
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("<unnamed test>");
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    // Test binaries are named `<target>-<hash>`; the hash says nothing to a reader.
    let binary = binary
        .rsplit_once('-')
        .filter(|(_, hash)| hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()))
        .map_or(binary.as_str(), |(name, _)| name)
        .to_owned();
    let Some(log) = std::env::var_os(SKIP_LOG) else {
        return;
    };
    let line = format!("{binary}\t{test}\t{}\n", reason.replace(['\t', '\n'], " "));
    // One short `write` with O_APPEND: lines of concurrent tests do not interleave.
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!(
            "cannot record the skip in {}: {e}",
            Path::new(&log).display()
        );
    }
}

/// Whether a missing peer may be skipped: the opt-out is set and this is not CI.
pub fn allowed_to_skip() -> bool {
    let set = |name| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    set(ALLOW_MISSING) && !set("CI")
}

/// `name` in a folder of `PATH`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// The file an environment variable names, if it is set; `Some(None)` when it names
/// nothing that exists (the variable wins over `PATH` either way).
fn from_env(name: &str) -> Option<Option<PathBuf>> {
    let value = std::env::var_os(name)?;
    Some(Some(PathBuf::from(value)).filter(|path| path.is_file()))
}

/// Runs quietly and exits 0.
fn runs(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Every Python 2.7 under pyenv, newest last.
pub fn pythons_27() -> Vec<PathBuf> {
    let Some(home) = std::env::var_os("HOME") else {
        return Vec::new();
    };
    let Ok(versions) = std::fs::read_dir(Path::new(&home).join(".pyenv/versions")) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = versions
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("2.7"))
        .map(|entry| entry.path().join("bin/python"))
        .filter(|python| python.is_file())
        .collect();
    found.sort();
    found
}

fn wstest() -> Option<PathBuf> {
    if let Some(named) = from_env("AUTOBAHN_WSTEST") {
        return named;
    }
    let beside_python = pythons_27()
        .into_iter()
        .filter_map(|python| Some(python.parent()?.join("wstest")))
        .rfind(|wstest| wstest.is_file());
    beside_python
        .or_else(|| on_path("wstest").filter(|wstest| runs(Command::new(wstest).arg("--help"))))
}
