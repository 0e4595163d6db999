//! `cargo xtask deb [--profile release|dev] [--no-build]`: the Debian package,
//! `target/debian/monitoring-websocket-server_<version>_<arch>.deb`.
//!
//! Built with Debian's own `dpkg-deb --build` from a staged tree rather than
//! `cargo-deb`: dpkg-deb is on every Debian machine (CI installs nothing and compiles
//! nothing for it), and the package holds more than one crate's output (the server
//! and every plugin `cdylib`), which a staged tree says plainly. What the tree holds:
//!
//! - `/usr/bin/monitoring-websocket-server`;
//! - `/usr/lib/monitoring-websocket-server/plugins/*.so`, the first-party plugins;
//! - `/etc/monitoring-websocket-server/plugins.toml`, the repository's commented
//!   `plugins.toml` with the package's folders (a conffile: an upgrade keeps edits);
//! - `/etc/monitoring-websocket-server/plugins.d/`, the folder the server loads: one
//!   symlink per first-party plugin (as Apache's `mods-enabled`), beside which the
//!   operator drops their own plugin files (the server reads one folder; this keeps it
//!   one without mixing the operator's files into `/usr/lib`);
//! - the systemd unit and the maintainer scripts of `packaging/` (system user, history
//!   folder `/var/lib/monitoring-websocket-server`, purge).
//!
//! `--profile dev` packages the debug build, which the tests use so CI does not pay for
//! a second release build; binaries are stripped of debug info either way.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

const PACKAGE: &str = "monitoring-websocket-server";
const PLUGIN_LIB_DIR: &str = "usr/lib/monitoring-websocket-server/plugins";
const PLUGINS_D: &str = "etc/monitoring-websocket-server/plugins.d";
const DATA_DIR: &str = "/var/lib/monitoring-websocket-server";

/// The repository's `plugins.toml` lines that change in the package, each of which
/// must appear exactly once (a renamed key fails the build instead of shipping a
/// config that writes next to itself in /etc).
const CONFIG_EDITS: [(&str, &str); 4] = [
    (
        "plugins_dir = \"plugins\"",
        "plugins_dir = \"/etc/monitoring-websocket-server/plugins.d\"",
    ),
    (
        "dir = \"data\"",
        "dir = \"/var/lib/monitoring-websocket-server\"",
    ),
    (
        "path = \"./monitoring_alerts.log\"",
        "path = \"/var/lib/monitoring-websocket-server/monitoring_alerts.log\"",
    ),
    (
        "output_dir = \"./monitoring_data\"",
        "output_dir = \"/var/lib/monitoring-websocket-server/monitoring_data\"",
    ),
];

/// What `cargo xtask deb` was asked.
pub struct Options {
    /// Cargo's profile: `release` (operators) or `dev` (tests).
    pub profile: String,
    /// Package what is already built.
    pub build: bool,
}

impl Options {
    /// `--profile P`, `--no-build`.
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let profile = match args.iter().position(|a| a == "--profile") {
            Some(at) => args.get(at + 1).context("--profile needs a name")?.clone(),
            None => "release".to_owned(),
        };
        if profile != "release" && profile != "dev" {
            bail!("--profile is release or dev, not {profile}");
        }
        Ok(Self {
            profile,
            build: !args.iter().any(|a| a == "--no-build"),
        })
    }

    /// The folder under `target/` cargo writes this profile to.
    fn out_dir(&self) -> &str {
        if self.profile == "dev" {
            "debug"
        } else {
            "release"
        }
    }
}

/// Builds (unless told not to), stages and packages; returns the `.deb`'s path.
pub fn build(root: &Path, target: &Path, options: &Options) -> anyhow::Result<PathBuf> {
    let plugins = crate::plugin_crates(root)?;
    if options.build {
        crate::build_all(root, options.out_dir(), &plugins)?;
    }
    let built = target.join(options.out_dir());
    let version = workspace_version(root)?;
    let arch = command_output(Command::new("dpkg").arg("--print-architecture"))?;
    let stage = target
        .join("debian")
        .join(format!("stage-{}", options.profile));
    if stage.exists() {
        std::fs::remove_dir_all(&stage)
            .with_context(|| format!("cannot clear {}", stage.display()))?;
    }
    stage_files(root, &built, &stage, &plugins)?;
    write_control(root, &stage, &version, &arch)?;
    let deb = target
        .join("debian")
        .join(format!("{PACKAGE}_{version}_{arch}.deb"));
    // xz for what operators download; gzip -1 for the tests' debug build, which is
    // larger and packaged on every test run.
    let compression: &[&str] = if options.profile == "dev" {
        &["-Zgzip", "-z1"]
    } else {
        &["-Zxz"]
    };
    let status = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .args(compression)
        .arg(&stage)
        .arg(&deb)
        .status()
        .context("cannot run dpkg-deb (Debian's dpkg package)")?;
    if !status.success() {
        bail!("dpkg-deb --build {} failed", stage.display());
    }
    Ok(deb)
}

/// The file tree of the package under `stage`.
fn stage_files(root: &Path, built: &Path, stage: &Path, plugins: &[String]) -> anyhow::Result<()> {
    let bin = stage.join("usr/bin").join(PACKAGE);
    copy_stripped(&built.join(PACKAGE), &bin)?;
    let libs = stage.join(PLUGIN_LIB_DIR);
    let links = stage.join(PLUGINS_D);
    create_dir(&links)?;
    for name in plugins {
        let file = format!("lib{}.so", name.replace('-', "_"));
        copy_stripped(&built.join(&file), &libs.join(&file))?;
        let target = Path::new("/").join(PLUGIN_LIB_DIR).join(&file);
        std::os::unix::fs::symlink(&target, links.join(&file))
            .with_context(|| format!("cannot link {file} into {}", links.display()))?;
    }
    let packaging = root.join("packaging");
    copy(
        &packaging.join(format!("{PACKAGE}.service")),
        &stage
            .join("usr/lib/systemd/system")
            .join(format!("{PACKAGE}.service")),
    )?;
    let doc = stage.join("usr/share/doc").join(PACKAGE);
    copy(&root.join("README.md"), &doc.join("README.md"))?;
    copy(&root.join("docs/operations.md"), &doc.join("operations.md"))?;
    let config = package_config(&read(&root.join("plugins.toml"))?)?;
    write(
        &stage.join("etc/monitoring-websocket-server/plugins.toml"),
        &config,
    )?;
    Ok(())
}

/// The repository's `plugins.toml` with the package's folders and a header saying
/// where the file is and how a change takes effect.
pub fn package_config(text: &str) -> anyhow::Result<String> {
    let mut config = format!(
        "# /etc/monitoring-websocket-server/plugins.toml, from the Debian package.\n\
         # Your edits survive upgrades (a conffile). Check them with\n\
         #   monitoring-websocket-server --check-config --config /etc/monitoring-websocket-server/plugins.toml\n\
         # and apply them with `systemctl reload monitoring-websocket-server` (SIGHUP).\n\
         # Your own plugin files go in /etc/monitoring-websocket-server/plugins.d; history\n\
         # is kept in {DATA_DIR}, the only folder the service may write.\n\n"
    );
    let mut body = text.to_owned();
    for (from, to) in CONFIG_EDITS {
        let found = body.lines().filter(|l| l.trim() == from).count();
        if found != 1 {
            bail!("plugins.toml: expected one line `{from}`, found {found}");
        }
        body = body.replacen(from, to, 1);
    }
    config.push_str(&body);
    Ok(config)
}

/// `DEBIAN/`: control (with the installed size), conffiles, md5sums, the scripts.
fn write_control(root: &Path, stage: &Path, version: &str, arch: &str) -> anyhow::Result<()> {
    let installed_kib = command_output(
        Command::new("du")
            .args(["-sk", "--apparent-size"])
            .arg(stage),
    )?
    .split_whitespace()
    .next()
    .unwrap_or("0")
    .to_owned();
    let md5sums = command_output(
        Command::new("sh")
            .current_dir(stage)
            .args(["-c", "find usr -type f -print0 | sort -z | xargs -0 md5sum"]),
    )?;
    let debian = root.join("packaging/debian");
    let control = read(&debian.join("control.in"))?
        .replace("@VERSION@", version)
        .replace("@ARCH@", arch)
        .replace("@INSTALLED_SIZE@", &installed_kib);
    let meta = stage.join("DEBIAN");
    write(&meta.join("control"), &control)?;
    write(&meta.join("md5sums"), &format!("{md5sums}\n"))?;
    copy(&debian.join("conffiles"), &meta.join("conffiles"))?;
    for script in ["postinst", "prerm", "postrm"] {
        copy(&debian.join(script), &meta.join(script))?;
        set_mode(&meta.join(script), 0o755)?;
    }
    Ok(())
}

/// `[workspace.package] version`.
fn workspace_version(root: &Path) -> anyhow::Result<String> {
    let manifest: toml::Table = toml::from_str(&read(&root.join("Cargo.toml"))?)
        .context("cannot parse the workspace Cargo.toml")?;
    manifest
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
        .context("Cargo.toml has no [workspace.package] version")
}

/// Copies `from` to `to` without its debug info: a debug build is ~10× larger with it,
/// and a backtrace still names functions (the symbol table stays).
fn copy_stripped(from: &Path, to: &Path) -> anyhow::Result<()> {
    create_dir(to.parent().unwrap_or(Path::new(".")))?;
    let status = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(to)
        .arg(from)
        .status()
        .context("cannot run strip (binutils)")?;
    if !status.success() {
        bail!("strip {} failed (is it built?)", from.display());
    }
    set_mode(to, 0o755)
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    create_dir(to.parent().unwrap_or(Path::new(".")))?;
    std::fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    set_mode(to, 0o644)
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    create_dir(path.parent().unwrap_or(Path::new(".")))?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    set_mode(path, 0o644)
}

fn command_output(command: &mut Command) -> anyhow::Result<String> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packaged_config_uses_the_packages_folders() {
        let root = crate::workspace_root().unwrap_or_else(|e| panic!("{e}"));
        let text = read(&root.join("plugins.toml")).unwrap_or_else(|e| panic!("{e}"));
        let config = package_config(&text).unwrap_or_else(|e| panic!("{e}"));
        assert!(config.contains("plugins_dir = \"/etc/monitoring-websocket-server/plugins.d\""));
        assert!(config.contains("dir = \"/var/lib/monitoring-websocket-server\""));
        assert!(
            !config.contains("\"./"),
            "a relative path is left:\n{config}"
        );
    }

    #[test]
    fn a_config_without_the_expected_line_is_refused() {
        let refused = package_config("[monitor]\nplugins_dir = \"elsewhere\"\n");
        assert!(refused.is_err_and(|e| e.to_string().contains("plugins_dir")));
    }
}
