//! The fake `nvidia-smi`: a shell script answering each kind of call with shell code
//! of the test's choosing, usually the recorded real output below.
//!
//! The recorded `nvidia-smi -q -x` reports live in
//! `plugins/collector-gpu-smi/tests/fixtures/` (copied unchanged from real machines);
//! the CSV rows here are the values of those reports as the CSV queries print them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::MIB;

/// `--query-gpu=index,uuid,driver_version,name`, values from `rtx-3080-v13.xml`.
pub const RTX_3080_STATIC: &str =
    "0, GPU-19d6d965-2acc-f646-00f8-4c76979aabb4, 595.58.03, NVIDIA GeForce RTX 3080";
/// The tick query with `nounits`, values from `rtx-3080-v13.xml` (power: the instant
/// reading, as the XML parser takes it).
pub const RTX_3080_TICK: &str =
    "0, GPU-19d6d965-2acc-f646-00f8-4c76979aabb4, 65, 10240, 9184, 660, 27, 142.33, 320.00";

/// `--query-gpu=index,uuid,driver_version,name`, values from `dual_2070-v13.xml`.
pub const DUAL_2070_STATIC: &str = "\
0, GPU-12345678-aaaa-bbbb-cccc-0123456789ab, 590.44.01, NVIDIA GeForce RTX 2070
1, GPU-12345678-aaaa-bbbb-cccc-0123456789cd, 590.44.01, NVIDIA GeForce RTX 2070";
/// The tick query with `nounits`, values from `dual_2070-v13.xml`.
pub const DUAL_2070_TICK: &str = "\
0, GPU-12345678-aaaa-bbbb-cccc-0123456789ab, 0, 8192, 1, 7786, 14, 9.23, 175.00
1, GPU-12345678-aaaa-bbbb-cccc-0123456789cd, 0, 8192, 1, 7786, 13, 11.82, 175.00";

/// `gtx-1070-ti.xml` as the static query prints it: no driver version.
pub const GTX_1070_TI_STATIC: &str =
    "0, GPU-f9ba66fc-a7f5-94c5-da19-019ef2f9c665, [N/A], GeForce GTX 1070 Ti";
/// `gtx-1070-ti.xml` as the tick query prints it: no power readings.
pub const GTX_1070_TI_TICK: &str =
    "0, GPU-f9ba66fc-a7f5-94c5-da19-019ef2f9c665, 0, 4096, 42, 4054, 39, [N/A], [Not Supported]";

/// A recorded `nvidia-smi -q -x` report.
pub fn report(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/collector-gpu-smi/tests/fixtures")
        .join(name)
}

/// Shell code printing a recorded report.
pub fn cat(name: &str) -> String {
    format!("cat {}", sh_quote(&report(name)))
}

/// Shell code printing `text` line by line.
pub fn print(text: &str) -> String {
    format!("printf '%s\\n' '{}'", text.replace('\n', "' '"))
}

/// A path as a shell word (temporary and source paths hold no `'`).
pub fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.display())
}

/// The dual RTX 2070 machine's GPUs as the `gpus` entries of the section.
pub fn dual_2070_gpus() -> [Value; 2] {
    let gpu = |id: u32, uuid: &str, temperature: f64, power_draw: f64| {
        json!({
            "id": id, "name": "NVIDIA GeForce RTX 2070", "uuid": uuid, "driver_version": "590.44.01",
            "memory_total": 8192 * MIB, "memory_used": MIB, "memory_free": 7786 * MIB,
            "memory_percentage": 0.0, "gpu_usage_percent": 0.0, "temperature": temperature,
            "power_draw": power_draw, "power_limit": 175.0
        })
    };
    [
        gpu(0, "GPU-12345678-aaaa-bbbb-cccc-0123456789ab", 14.0, 9.23),
        gpu(1, "GPU-12345678-aaaa-bbbb-cccc-0123456789cd", 13.0, 11.82),
    ]
}

/// A fake nvidia-smi in its own temporary folder, removed on drop. Every call's
/// arguments are appended to `calls.log` beside it.
pub struct FakeSmi {
    dir: tempfile::TempDir,
    binary: PathBuf,
}

impl FakeSmi {
    /// Each `*_action` is shell code run for that kind of call: the static query
    /// (names), the tick query, and `-q -x`.
    pub fn new(static_action: &str, tick_action: &str, xml_action: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let binary = dir.path().join("nvidia-smi");
        let script = format!(
            "#!/bin/sh\n\
             echo \"$*\" >> {calls}\n\
             case \"$*\" in\n\
               \"-q -x\") {xml_action} ;;\n\
               *driver_version,name*) {static_action} ;;\n\
               *utilization.gpu*) {tick_action} ;;\n\
               --probe) ;;\n\
               *) echo \"unexpected arguments: $*\" >&2; exit 2 ;;\n\
             esac\n",
            calls = sh_quote(&dir.path().join("calls.log")),
        );
        let staging = dir.path().join("nvidia-smi.tmp");
        std::fs::write(&staging, script).expect("script written");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        std::fs::rename(&staging, &binary).expect("script in place");
        settle(&binary);
        let _ = std::fs::remove_file(dir.path().join("calls.log"));
        FakeSmi { dir, binary }
    }

    /// Answers for GPUs: the static and tick CSV queries, and a recorded XML report.
    pub fn printing(statics: &str, tick: &str, xml_report: &str) -> Self {
        Self::new(&print(statics), &print(tick), &cat(xml_report))
    }

    /// The script.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// How often it was asked for names (static query) and for a tick.
    pub fn calls(&self) -> (usize, usize) {
        let log = std::fs::read_to_string(self.dir.path().join("calls.log")).unwrap_or_default();
        let count = |needle| log.lines().filter(|line| line.contains(needle)).count();
        (count("driver_version,name"), count("utilization.gpu"))
    }
}

/// Another test thread may fork while this one still has the new script open for
/// writing; exec then fails with ETXTBSY (26) until that child has exec'd in turn. Once
/// one exec succeeds no writer is left, so later runs cannot hit it.
fn settle(binary: &Path) {
    for _ in 0..100 {
        match Command::new(binary).arg("--probe").status() {
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(10)),
            other => {
                other.expect("the fake nvidia-smi runs");
                return;
            }
        }
    }
}
