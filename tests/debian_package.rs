//! The Debian package of `cargo xtask deb`, end to end on this machine: built from the
//! test profile's binaries, installed with `dpkg -i` (as root, as CI runs), the unit
//! verified by `systemd-analyze`, the installed binary started with the installed
//! config (no systemd runs here: the binary is started directly, on a free loopback
//! port, with a `NOTIFY_SOCKET` of the test's that receives its `READY=1`) serving the
//! stream and every first-party plugin, `--check-config` passing on the installed
//! config and naming the line of a broken copy, and `dpkg --purge` leaving nothing but
//! a file the operator added. The package is purged at the end even when an assertion
//! fails (`Installed`'s drop).

#[path = "debian/package.rs"]
mod package;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use monitoring_test_support::http::get;
use monitoring_test_support::prometheus::free_port;
use monitoring_test_support::{connect, first_party_plugins, next_of_type, Peer};
use package::{Installed, MachineLock, CONFIG, CREATED, PACKAGE, PLUGINS_D, UNIT};

/// The installed server, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_package_installs_serves_checks_and_purges() {
    let (Some(_), Some(analyze)) = (
        monitoring_test_support::require(Peer::Strip),
        monitoring_test_support::require(Peer::SystemdAnalyze),
    ) else {
        return;
    };
    assert!(
        package::is_root(),
        "dpkg -i needs root (CI runs as root); run this test as root"
    );
    let _lock = MachineLock::take();
    let deb = package::build();
    let size = std::fs::metadata(&deb).map_or(0, |m| m.len());
    println!("package: {} ({} KiB)", deb.display(), size / 1024);
    let installed = Installed::install(&deb);

    installed_files_are_in_place();
    unit_verifies_and_scores(&analyze);
    check_config_passes_and_names_the_broken_line();
    installed_server_serves_every_plugin();

    // What an operator adds survives the purge; everything else goes.
    let own = Path::new(PLUGINS_D).join("liboperator_own.so");
    std::fs::write(&own, b"not a real library").expect("an operator's file");
    drop(installed);
    for path in CREATED {
        assert!(!Path::new(path).exists(), "{path} left after purge");
    }
    assert!(!package::user_exists(), "the service's user is left");
    assert!(own.is_file(), "the operator's file was removed");
    let left: Vec<_> = std::fs::read_dir(PLUGINS_D)
        .expect("plugins.d stays for the operator's file")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        [own.file_name().expect("name")],
        "only the operator's file"
    );
    std::fs::remove_dir_all("/etc/monitoring-websocket-server").expect("clean up");
}

fn installed_files_are_in_place() {
    let plugins = first_party_plugins();
    let linked = std::fs::read_dir(PLUGINS_D).expect("plugins.d").count();
    assert_eq!(linked, plugins.len(), "one link per first-party plugin");
    let data = std::fs::metadata("/var/lib/monitoring-websocket-server").expect("data dir");
    assert!(data.is_dir());
    assert!(package::user_exists(), "the service's user");
    let conffiles =
        package::run(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", PACKAGE]));
    assert!(
        package::text(&conffiles).contains(CONFIG),
        "plugins.toml is a conffile: {}",
        package::text(&conffiles)
    );
    let version = package::run(Command::new("monitoring-websocket-server").arg("--version"));
    assert!(
        package::text(&version).contains("(plugin API 1."),
        "{}",
        package::text(&version)
    );
}

fn unit_verifies_and_scores(analyze: &Path) {
    let verify = package::run(Command::new(analyze).args(["verify", UNIT]));
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "systemd-analyze verify:\n{}",
        package::text(&verify)
    );
    let security = package::run(Command::new(analyze).args(["security", "--offline=yes", UNIT]));
    let report = package::text(&security);
    let score: f64 = report
        .lines()
        .find_map(|l| l.split("exposure level for").nth(1))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{report}"));
    println!("systemd-analyze security: {score}");
    // 0 is a unit that can do nothing, 10 one that is not sandboxed at all; under 2 is
    // what systemd calls OK. A line dropped from the sandbox shows here.
    assert!(score <= 2.0, "exposure {score}:\n{report}");
}

fn check_config_passes_and_names_the_broken_line() {
    let check = |config: &Path| {
        package::run(
            Command::new("monitoring-websocket-server")
                .args(["--check-config", "--config"])
                .arg(config),
        )
    };
    let good = check(Path::new(CONFIG));
    assert!(good.status.success(), "{}", package::text(&good));
    assert!(
        package::text(&good).contains(": OK ("),
        "{}",
        package::text(&good)
    );

    // The unit logs with --log-format json: every line one JSON object for shippers.
    let json = package::run(Command::new("monitoring-websocket-server").args([
        "--log-format",
        "json",
        "--check-config",
        "--config",
        CONFIG,
    ]));
    let logged = String::from_utf8_lossy(&json.stderr);
    assert!(logged.lines().count() > 0, "no log lines");
    for line in logged.lines() {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            parsed["level"].is_string() && parsed["fields"].is_object(),
            "{line}"
        );
    }

    let shipped = std::fs::read_to_string(CONFIG).expect("installed config");
    let scratch = tempfile::tempdir().expect("scratch");
    for (from, to, key) in [
        ("interval = 0.5", "interval = -1", "`monitor.interval`"),
        (
            "paths = [\"/\"]",
            "paths = [\"/no/such/dir\"]",
            "[plugins.disk]",
        ),
    ] {
        let line = 1 + shipped
            .lines()
            .position(|l| l.trim() == from)
            .unwrap_or_else(|| panic!("`{from}` not in the installed config"));
        let broken = scratch.path().join("plugins.toml");
        std::fs::write(&broken, shipped.replacen(from, to, 1)).expect("broken copy");
        let out = check(&broken);
        let said = package::text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        let expected = format!("{}: line {line}: {key}", broken.display());
        assert!(said.contains(&expected), "`{expected}` not in:\n{said}");
    }
}

fn installed_server_serves_every_plugin() {
    let port = free_port();
    // systemd's side of Type=notify: a datagram socket named by NOTIFY_SOCKET.
    let scratch = tempfile::tempdir().expect("scratch");
    let notify_path = scratch.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let child = Command::new("/usr/bin/monitoring-websocket-server")
        .args(["--config", CONFIG, "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the installed server");
    let _running = Running(child);
    let mut datagram = [0u8; 512];
    let got = notify
        .recv(&mut datagram)
        .expect("a notification within 60 s");
    let said = String::from_utf8_lossy(&datagram[..got]).into_owned();
    assert!(said.lines().any(|l| l == "READY=1"), "notified {said:?}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "READY=1 before the port listens"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let health = loop {
        let reply = std::panic::catch_unwind(|| get(port, "/health")).ok();
        if let Some(reply) = reply.filter(|r| r.status == 200) {
            let health = reply.json();
            if health["last_snapshot"]["sections"]
                .as_array()
                .is_some_and(|s| s.len() >= 8)
            {
                break health;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the installed server never became healthy"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // Every first-party file is known: running, disabled by the config, or unavailable
    // on this machine (no GPU, no sensors), and none refused.
    let plugins = &health["plugins"];
    assert_eq!(plugins["refused"], serde_json::json!([]), "{plugins}");
    let records: Vec<_> = ["loaded", "inactive"]
        .iter()
        .flat_map(|k| plugins[*k].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(records.len(), first_party_plugins().len(), "{plugins}");
    for record in &records {
        assert!(
            record["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(PLUGINS_D)),
            "{record}"
        );
    }
    let running = records.iter().filter(|r| r["state"] == "running").count();
    assert!(
        running >= 8,
        "the machine's collectors and the console sink: {plugins}"
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let data = runtime.block_on(async {
        let mut ws = connect(&format!("ws://127.0.0.1:{port}/")).await;
        next_of_type(&mut ws, "monitoring_data", Duration::from_secs(10)).await
    });
    let (data, _) = data.expect("the stream sends monitoring_data");
    for section in ["processor", "memory", "disk", "system", "network", "load"] {
        assert!(
            data["data"].get(section).is_some(),
            "no `{section}` in {data}"
        );
    }
}
