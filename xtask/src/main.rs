//! `cargo xtask`: the commands cargo alone cannot express, because the plugins are
//! `cdylib`s that nothing depends on.
//!
//! - `cargo xtask run [-- SERVER FLAGS]`: release-build the server and every plugin in
//!   `plugins/`, copy the plugin libraries into `plugins/`, start the server with
//!   `plugins.toml`.
//! - `cargo xtask install [--debug] [--into DIR] [--no-build]`: the same without
//!   starting the server; `--into` copies the libraries into DIR instead of `plugins/`
//!   (a running server's plugins folder: every copy is atomic, temp file + rename);
//!   `--no-build` copies what is already built (the live tests, whose harness built it).
//! - `cargo xtask test [--no-install] [-- CARGO TEST ARGS]`: install the real peers the
//!   tests use where missing, run `cargo test --workspace`, and close with
//!   `N passed, N failed, N skipped` (see `test.rs`). The README's test command.
//! - `cargo xtask deb [--profile release|dev] [--no-build]`: the Debian package in
//!   `target/debian/` (see `deb.rs`).

mod deb;
mod peers;
mod test;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use serde::Deserialize;

#[derive(Deserialize)]
struct Manifest {
    package: Package,
    lib: Option<Lib>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
}

#[derive(Deserialize)]
struct Lib {
    #[serde(rename = "crate-type", default)]
    crate_type: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let root = workspace_root()?;
    match command.as_str() {
        "run" => {
            install(&root, "release", &root.join("plugins"), true)?;
            let server = target_dir(&root)
                .join("release")
                .join(exe("monitoring-websocket-server"));
            let status = Command::new(&server)
                .arg("--config")
                .arg(root.join("plugins.toml"))
                .args(rest.iter().filter(|a| *a != "--"))
                .status()
                .with_context(|| format!("cannot start {}", server.display()))?;
            std::process::exit(status.code().unwrap_or(1));
        }
        "install" => {
            let profile = if rest.iter().any(|a| a == "--debug") {
                "debug"
            } else {
                "release"
            };
            let into = match rest.iter().position(|a| a == "--into") {
                Some(at) => PathBuf::from(rest.get(at + 1).context("--into needs a folder")?),
                None => root.join("plugins"),
            };
            install(
                &root,
                profile,
                &into,
                !rest.iter().any(|a| a == "--no-build"),
            )
        }
        "test" => {
            let passed = test::run(&root, &target_dir(&root), &rest)?;
            std::process::exit(if passed { 0 } else { 1 });
        }
        "deb" => {
            let options = deb::Options::parse(&rest)?;
            let deb = deb::build(&root, &target_dir(&root), &options)?;
            let size = std::fs::metadata(&deb).map_or(0, |m| m.len());
            println!("{} ({} KiB)", deb.display(), size / 1024);
            Ok(())
        }
        _ => bail!(
            "usage: cargo xtask run [-- --host H --port P] \
             | cargo xtask install [--debug] [--into DIR] [--no-build] \
             | cargo xtask test [--no-install] [-- CARGO TEST ARGS] \
             | cargo xtask deb [--profile release|dev] [--no-build]"
        ),
    }
}

/// Builds the server and every plugin crate (unless `build` is false), then copies the
/// plugin libraries into `into` (normally `plugins/`).
fn install(root: &Path, profile: &str, into: &Path, build: bool) -> anyhow::Result<()> {
    let plugins = plugin_crates(root)?;
    if build {
        build_all(root, profile, &plugins)?;
    }
    let built = target_dir(root).join(profile);
    for name in &plugins {
        let file = format!(
            "{}{}{}",
            std::env::consts::DLL_PREFIX,
            name.replace('-', "_"),
            std::env::consts::DLL_SUFFIX
        );
        let from = built.join(&file);
        let to = into.join(&file);
        install_atomically(&from, &to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    }
    eprintln!(
        "Installed {} plugins into {}",
        plugins.len(),
        into.display()
    );
    Ok(())
}

/// `cargo build` of the server and `plugins` in `profile`.
fn build_all(root: &Path, profile: &str, plugins: &[String]) -> anyhow::Result<()> {
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .current_dir(root)
        .arg("build")
        .args(["-p", "monitoring-websocket-server"]);
    for name in plugins {
        build.args(["-p", name]);
    }
    if profile == "release" {
        build.arg("--release");
    }
    let status = build.status().context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build failed");
    }
    Ok(())
}

/// Copies `from` to a temporary name beside `to`, then renames it over `to`: a server
/// watching the folder never sees a half-written library, and one that has the old
/// file open keeps its old inode.
fn install_atomically(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut temp = to.as_os_str().to_owned();
    temp.push(".installing");
    let temp = std::path::PathBuf::from(temp);
    std::fs::copy(from, &temp)?;
    std::fs::rename(&temp, to).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// Crates under `plugins/` that build a `cdylib`, i.e. loadable plugins.
fn plugin_crates(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root.join("plugins")).context("cannot read plugins/")? {
        let manifest_path = entry?.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest_path) else {
            continue;
        };
        let manifest: Manifest = toml::from_str(&text)
            .with_context(|| format!("cannot parse {}", manifest_path.display()))?;
        if manifest
            .lib
            .is_some_and(|lib| lib.crate_type.iter().any(|t| t == "cdylib"))
        {
            names.push(manifest.package.name);
        }
    }
    names.sort();
    Ok(names)
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent folder")
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}
