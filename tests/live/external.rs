//! A collector built outside the workspace, as a third party would: its own Cargo
//! project in a scratch folder (its own `[workspace]`), depending on the plugin API by
//! path, built with plain `cargo build`. The target folder is a fixed one under the
//! workspace's `target/`, so a second run only recompiles this small crate.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The collector's plugin name and section.
pub const NAME: &str = "external";

/// The library file name the project builds.
pub fn file_name() -> String {
    format!(
        "{}external_collector{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// The scratch project.
pub struct Project {
    dir: tempfile::TempDir,
    workspace: PathBuf,
}

impl Project {
    /// Writes nothing yet; [`Project::build`] writes the version it builds.
    pub fn new() -> Self {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .canonicalize()
            .expect("workspace root");
        let dir = tempfile::tempdir().expect("project folder");
        std::fs::create_dir(dir.path().join("src")).expect("src/");
        // The workspace's lock file: the same abi_stable and serde the server was built
        // with, and no registry look-up for versions.
        std::fs::copy(workspace.join("Cargo.lock"), dir.path().join("Cargo.lock"))
            .expect("Cargo.lock");
        Self { dir, workspace }
    }

    /// Builds the collector reporting `{"external": {"version": version}}` with plugin
    /// version `1.0.{version}`, and returns a copy of the library in `out` (the build's
    /// own file is rewritten by the next build).
    pub fn build(&self, version: u32, out: &Path) -> PathBuf {
        let api = self.workspace.join("plugin-api");
        let manifest = format!(
            "[package]\nname = \"external-collector\"\nversion = \"1.0.{version}\"\n\
             edition = \"2021\"\npublish = false\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\nmonitoring-plugin-api = {{ path = {api:?} }}\n\
             serde = {{ version = \"1\", features = [\"derive\"] }}\n\n\
             # Not a member of any workspace above it.\n[workspace]\n"
        );
        std::fs::write(self.dir.path().join("Cargo.toml"), manifest).expect("Cargo.toml");
        std::fs::write(self.dir.path().join("src/lib.rs"), source(version)).expect("lib.rs");
        let target = self.workspace.join("target/external-collector");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let started = std::time::Instant::now();
        let status = Command::new(cargo)
            .current_dir(self.dir.path())
            .args(["build", "--quiet"])
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the external collector failed");
        eprintln!(
            "external collector version {version} built in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let built = target.join("debug").join(file_name());
        let copy = out.join(format!(
            "external-{version}{}",
            std::env::consts::DLL_SUFFIX
        ));
        std::fs::copy(&built, &copy).expect("copy the built library");
        copy
    }
}

/// The collector's whole source.
fn source(version: u32) -> String {
    format!(
        r#"//! A collector written outside the monitoring workspace.

use monitoring_plugin_api::prelude::*;

/// No settings.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {{}}

/// The section.
#[derive(Serialize)]
pub struct Section {{
    /// Which build this is.
    pub version: u32,
}}

/// What one collection returns.
#[derive(Serialize)]
pub struct Output {{
    /// The `external` section.
    pub external: Section,
}}

/// The collector.
pub struct External;

impl Collector for External {{
    const NAME: &'static str = "{NAME}";
    const DESCRIPTION: &'static str = "Built outside the workspace by the live tests.";
    type Config = Config;
    type Output = Output;

    fn new(_: Config) -> Result<Self, PluginError> {{
        Ok(External)
    }}

    fn collect(&mut self) -> Result<Output, PluginError> {{
        Ok(Output {{ external: Section {{ version: {version} }} }})
    }}
}}

declare_collector!(External);
"#
    )
}
