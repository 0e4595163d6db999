//! The fake NVML: `fake_nvml.c` (next to this crate's Cargo.toml), compiled into a
//! `libnvidia-ml.so.1` in a temporary folder, and the values it answers with.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::peer::{require, Peer};
use crate::MIB;

/// The C source of the fake library.
pub const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fake_nvml.c");

/// A compiled fake `libnvidia-ml.so.1`; its folder is removed on drop (a library
/// still loaded from it stays usable).
pub struct FakeNvml {
    dir: tempfile::TempDir,
}

impl FakeNvml {
    /// Compiles the fake with preprocessor `defines` (`-DFAKE_NO_MEMORY_V2`,
    /// `-DFAKE_INIT_FAILS`). `None` only when the C compiler is missing and the
    /// opt-out lets the test skip (see [`require`]); a failing compile panics.
    pub fn build(defines: &[&str]) -> Option<Self> {
        let compiler = require(Peer::CCompiler)?;
        let dir = tempfile::tempdir().expect("temporary folder");
        let library = dir.path().join("libnvidia-ml.so.1");
        let status = Command::new(&compiler)
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o"])
            .arg(&library)
            .arg(SOURCE)
            .args(defines)
            .status()
            .unwrap_or_else(|e| panic!("run {}: {e}", compiler.display()));
        assert!(
            status.success(),
            "{} failed to build the fake NVML: {status}",
            compiler.display()
        );
        Some(Self { dir })
    }

    /// The library file.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("libnvidia-ml.so.1")
    }

    /// The folder holding it (a place for other scratch files of the test).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The two GPUs the fake reports, as the `gpus` entries of the section: GPU 0
/// supports every reading, GPU 1 no power reading.
pub fn gpus() -> [Value; 2] {
    [
        json!({
            "id": 0, "name": "Fake GeForce 0", "uuid": "GPU-00000000-0000-0000-0000-000000000000",
            "driver_version": "550.54.15",
            "memory_total": 8192 * MIB, "memory_used": 2048 * MIB, "memory_free": 5888 * MIB,
            "memory_percentage": 25.0, "gpu_usage_percent": 45.0, "temperature": 65.0,
            "power_draw": 220.5, "power_limit": 350.0
        }),
        json!({
            "id": 1, "name": "Fake Tesla 1", "uuid": "GPU-00000000-0000-0000-0000-000000000001",
            "driver_version": "550.54.15",
            "memory_total": 16384 * MIB, "memory_used": 12288 * MIB, "memory_free": 4096 * MIB,
            "memory_percentage": 75.0, "gpu_usage_percent": 99.0, "temperature": 71.0,
            "power_draw": null, "power_limit": null
        }),
    ]
}
