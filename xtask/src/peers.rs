//! Installs the real peers the tests talk to, when they are missing: Debian packages
//! (as root), pinned Python packages, Autobahn into a Python 2.7. Where each peer is
//! looked for, and how it is installed, is `monitoring_test_support::Peer`'s: the
//! installer and the tests cannot disagree.
//!
//! Quick when everything is present: each peer is looked up once (a few small process
//! runs) and nothing is downloaded.

use std::process::{Command, Stdio};

use monitoring_test_support::peer::{on_path, pythons_27, Install, Peer};

/// The pyenv version installed when no Python 2.7 exists and pyenv does.
const PYTHON_27: &str = "2.7.18";

/// Installs what is missing; returns the peers still missing afterwards (each already
/// reported with its install command).
pub fn ensure() -> Vec<Peer> {
    let missing: Vec<Peer> = Peer::ALL
        .into_iter()
        .filter(|peer| peer.find().is_none())
        .collect();
    if missing.is_empty() {
        println!("== peers: all {} present", Peer::ALL.len());
        return Vec::new();
    }
    for peer in &missing {
        println!("== peers: {} is missing; installing it", peer.name());
    }
    let pip: Vec<&str> = missing
        .iter()
        .filter_map(|peer| match peer.install() {
            Install::Pip(package) => Some(package),
            _ => None,
        })
        .collect();
    // Debian packages first: `python3` (a peer too) is what pip then runs.
    let mut apt: Vec<&str> = Vec::new();
    for peer in &missing {
        if let Install::Apt(packages) = peer.install() {
            for package in packages {
                if !apt.contains(package) {
                    apt.push(package);
                }
            }
        }
    }
    if !pip.is_empty() && !python_has_pip() {
        apt.push("python3-pip");
    }
    if !apt.is_empty() {
        apt_install(&apt);
    }
    if !pip.is_empty() {
        pip_install(&pip);
    }
    if missing.contains(&Peer::Autobahn) {
        autobahn_install();
    }
    let still: Vec<Peer> = Peer::ALL
        .into_iter()
        .filter(|peer| peer.find().is_none())
        .collect();
    for peer in &still {
        println!(
            "== peers: STILL MISSING {} (not installed, or installed where the tests do not \
             look); its tests will fail. By hand: {}",
            peer.name(),
            peer.manual_install()
        );
    }
    still
}

fn apt_install(packages: &[&str]) {
    let command = format!("apt-get install -y {}", packages.join(" "));
    if on_path("apt-get").is_none() {
        println!("== peers: no apt-get here; install by hand: {command}");
        return;
    }
    if !is_root() {
        println!("== peers: not root, so not running `{command}`; run it with sudo");
        return;
    }
    println!("== peers: apt-get update && {command}");
    let update = Command::new("apt-get")
        .args(["update", "-qq"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    if !update.is_ok_and(|s| s.success()) {
        println!("== peers: apt-get update failed; trying the install anyway");
    }
    let install = Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    if !install.is_ok_and(|s| s.success()) {
        println!("== peers: `{command}` failed");
    }
}

fn python_has_pip() -> bool {
    Command::new("python3")
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `python3 -m pip install`, retried with `--break-system-packages` where the system
/// Python refuses (Debian 12's "externally managed environment").
fn pip_install(packages: &[&str]) {
    println!("== peers: python3 -m pip install {}", packages.join(" "));
    let run = |extra: &[&str]| {
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(extra)
            .args(packages)
            .output()
    };
    match run(&[]) {
        Ok(out) if out.status.success() => {}
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("externally-managed") => {
            match run(&["--break-system-packages"]) {
                Ok(out) if out.status.success() => {}
                other => report_failure("pip install", &other),
            }
        }
        other => report_failure("pip install", &other),
    }
    // pyenv's shims for new commands (monitoring-websocket-client) appear on rehash.
    if on_path("pyenv").is_some() {
        let _ = Command::new("pyenv").arg("rehash").status();
    }
}

/// autobahntestsuite into the newest Python 2.7 under pyenv, installing one with pyenv
/// first if there is none (a compile of a few minutes, once).
fn autobahn_install() {
    if pythons_27().is_empty() {
        if on_path("pyenv").is_none() {
            println!(
                "== peers: Autobahn needs Python 2.7 and there is none under ~/.pyenv/versions \
                 and no pyenv to build one (install pyenv, then `pyenv install {PYTHON_27}`)"
            );
            return;
        }
        println!("== peers: pyenv install {PYTHON_27} (Autobahn needs Python 2.7)");
        let built = Command::new("pyenv")
            .args(["install", "--skip-existing", PYTHON_27])
            .status();
        if !built.is_ok_and(|s| s.success()) {
            println!("== peers: `pyenv install {PYTHON_27}` failed");
            return;
        }
    }
    let Some(python) = pythons_27().pop() else {
        return;
    };
    println!(
        "== peers: {} -m pip install {}",
        python.display(),
        monitoring_test_support::peer::AUTOBAHN
    );
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg(monitoring_test_support::peer::AUTOBAHN)
        .output();
    if !out.as_ref().is_ok_and(|o| o.status.success()) {
        report_failure("pip install autobahntestsuite", &out);
    }
}

fn report_failure(what: &str, out: &std::io::Result<std::process::Output>) {
    match out {
        Ok(out) => println!(
            "== peers: {what} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        ),
        Err(e) => println!("== peers: {what} could not run: {e}"),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
