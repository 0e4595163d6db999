//! The Debian package under test: built from the test profile's binaries by
//! `cargo xtask deb --profile dev --no-build`, installed with `dpkg -i`, always purged.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use monitoring_test_support::server::artifacts;

/// The package's name, as dpkg knows it.
pub const PACKAGE: &str = "monitoring-websocket-server";
/// The installed config.
pub const CONFIG: &str = "/etc/monitoring-websocket-server/plugins.toml";
/// The folder the installed server loads plugins from.
pub const PLUGINS_D: &str = "/etc/monitoring-websocket-server/plugins.d";
/// The installed unit.
pub const UNIT: &str = "/usr/lib/systemd/system/monitoring-websocket-server.service";
/// Every path the package or its scripts create, which a purge must take away.
pub const CREATED: [&str; 6] = [
    "/usr/bin/monitoring-websocket-server",
    "/usr/lib/monitoring-websocket-server",
    "/usr/share/doc/monitoring-websocket-server",
    UNIT,
    CONFIG,
    "/var/lib/monitoring-websocket-server",
];

/// Held while this test owns the machine's dpkg state: a second run of this test (from
/// another checkout on the same machine) waits instead of installing over this one.
pub struct MachineLock(#[allow(dead_code)] File);

impl MachineLock {
    /// Waits for the lock.
    pub fn take() -> Self {
        let file = File::create(std::env::temp_dir().join("monitoring-websocket-server-deb.lock"))
            .expect("lock file");
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .expect("lock the package test");
        Self(file)
    }
}

/// Builds the `.deb` of the test profile's binaries (no second build: `artifacts()`
/// built them) and returns its path.
pub fn build() -> PathBuf {
    let profile_dir = artifacts();
    let target = profile_dir.parent().expect("target/<profile>");
    let profile = if profile_dir.ends_with("release") {
        "release"
    } else {
        "dev"
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--quiet", "--package", "xtask", "--", "deb"])
        .args(["--profile", profile, "--no-build"])
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("run cargo xtask deb");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo xtask deb failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = stdout
        .lines()
        .find_map(|l| l.split(" (").next().filter(|p| p.ends_with(".deb")))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no .deb named in:\n{stdout}"));
    assert!(deb.is_file(), "{} missing", deb.display());
    deb
}

/// The installed package; dropping it purges, whatever the test did before.
pub struct Installed;

impl Installed {
    /// `dpkg -i deb`, after purging what an interrupted earlier run may have left.
    pub fn install(deb: &Path) -> Self {
        purge();
        let out = run(Command::new("dpkg").arg("-i").arg(deb));
        assert!(out.status.success(), "dpkg -i failed:\n{}", text(&out));
        Self
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        purge();
    }
}

/// `dpkg --purge`, which succeeds when the package is not installed too.
pub fn purge() -> Output {
    run(Command::new("dpkg").args(["--purge", PACKAGE]))
}

/// Whether the machine knows the service's user.
pub fn user_exists() -> bool {
    run(Command::new("getent").args(["passwd", PACKAGE]))
        .status
        .success()
}

/// Whether this process may install packages.
pub fn is_root() -> bool {
    let out = run(Command::new("id").arg("-u"));
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Runs `command`, failing the test only if it cannot start.
pub fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

/// stdout and stderr together, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
