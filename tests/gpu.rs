//! The `gpu` section end to end: the real server with the real GPU plugins, fed by a
//! fake `nvidia-smi` (a shell script printing output recorded from real GPUs, in
//! `plugins/collector-gpu-smi/tests/fixtures`) or a fake `libnvidia-ml` (compiled from
//! `plugins/collector-gpu-nvml/tests/fake_nvml.c`), read over a real WebSocket.
//!
//! Every server here points the GPU plugins at fakes or at paths that do not exist, so
//! the tests mean the same on a machine with a real NVIDIA GPU (except the one that
//! checks the default settings, which only runs where there is no NVIDIA driver).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{connect, next_of_type, send_text, Client, Server, Setup, CORE_COLLECTORS};

const MIB: u64 = 1024 * 1024;
const SECOND: Duration = Duration::from_secs(1);

/// `--query-gpu=index,uuid,driver_version,name`, values from `rtx-3080-v13.xml`.
const RTX_3080_STATIC: &str =
    "0, GPU-19d6d965-2acc-f646-00f8-4c76979aabb4, 595.58.03, NVIDIA GeForce RTX 3080";
/// The tick query with `nounits`, values from `rtx-3080-v13.xml` (power: the instant
/// reading, as the XML parser takes it).
const RTX_3080_TICK: &str =
    "0, GPU-19d6d965-2acc-f646-00f8-4c76979aabb4, 65, 10240, 9184, 660, 27, 142.33, 320.00";

/// `--query-gpu=index,uuid,driver_version,name`, values from `dual_2070-v13.xml`.
const DUAL_2070_STATIC: &str = "\
0, GPU-12345678-aaaa-bbbb-cccc-0123456789ab, 590.44.01, NVIDIA GeForce RTX 2070
1, GPU-12345678-aaaa-bbbb-cccc-0123456789cd, 590.44.01, NVIDIA GeForce RTX 2070";
/// The tick query with `nounits`, values from `dual_2070-v13.xml`.
const DUAL_2070_TICK: &str = "\
0, GPU-12345678-aaaa-bbbb-cccc-0123456789ab, 0, 8192, 1, 7786, 14, 9.23, 175.00
1, GPU-12345678-aaaa-bbbb-cccc-0123456789cd, 0, 8192, 1, 7786, 13, 11.82, 175.00";

/// A path as a TOML string (JSON's string syntax is TOML's basic string syntax).
fn toml_path(path: &Path) -> String {
    serde_json::to_string(&path.to_string_lossy()).expect("a string serializes")
}

/// A path as a shell word (temporary and source paths hold no `'`).
fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.display())
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/collector-gpu-smi/tests/fixtures")
        .join(name)
}

/// Shell code printing `text` line by line.
fn print(text: &str) -> String {
    format!("printf '%s\\n' '{}'", text.replace('\n', "' '"))
}

/// A fake nvidia-smi in its own folder: shell code per kind of call.
struct FakeSmi {
    /// Holds the script; removed on drop.
    _dir: tempfile::TempDir,
    binary: PathBuf,
}

impl FakeSmi {
    fn new(static_action: &str, tick_action: &str, xml_action: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let binary = dir.path().join("nvidia-smi");
        let script = format!(
            "#!/bin/sh\n\
             case \"$*\" in\n\
               \"-q -x\") {xml_action} ;;\n\
               *driver_version,name*) {static_action} ;;\n\
               *utilization.gpu*) {tick_action} ;;\n\
               --probe) ;;\n\
               *) echo \"unexpected arguments: $*\" >&2; exit 2 ;;\n\
             esac\n"
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
        FakeSmi { _dir: dir, binary }
    }

    /// Answers for GPUs: the static and tick CSV queries, and the recorded XML report.
    fn printing(statics: &str, tick: &str, xml_fixture: &str) -> Self {
        let xml = format!("cat {}", sh_quote(&fixture(xml_fixture)));
        Self::new(&print(statics), &print(tick), &xml)
    }

    /// `[plugins.gpu-smi]` running this fake. `force`: run even where a real NVML works.
    fn table(&self, extra: &str) -> String {
        format!(
            "\n[plugins.gpu-smi]\nbinary = {}\nforce = true\n{extra}\n",
            toml_path(&self.binary)
        )
    }
}

/// Another test thread may fork while this one still has the new script open for
/// writing; exec then fails with ETXTBSY (26) until that child has exec'd in turn. Once
/// one exec succeeds no writer is left, so the server's runs cannot hit it.
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

/// Builds the fake NVML of collector-gpu-nvml's tests, as they do; `None` (after saying
/// why) when this machine has no C compiler.
fn fake_nvml(dir: &Path, defines: &[&str]) -> Option<PathBuf> {
    let library = dir.join("libnvidia-ml.so.1");
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/collector-gpu-nvml/tests/fake_nvml.c");
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let status = Command::new(&compiler)
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o"])
        .arg(&library)
        .arg(&source)
        .args(defines)
        .status();
    match status {
        Ok(status) if status.success() => Some(library),
        Ok(status) => panic!("{compiler} failed to build the fake NVML: {status}"),
        Err(e) => {
            eprintln!("SKIPPED: no C compiler ({compiler}: {e}); cannot build the fake NVML");
            None
        }
    }
}

/// The core collectors plus `extra`.
fn with_core(extra: &[&'static str]) -> Vec<&'static str> {
    CORE_COLLECTORS.iter().chain(extra).copied().collect()
}

/// The `data` of the first snapshot that has a `gpu` section.
async fn first_gpu_data(ws: &mut Client, server: &Server) -> Value {
    let deadline = Instant::now() + 5 * SECOND;
    while Instant::now() < deadline {
        let Some((message, _)) = next_of_type(ws, "monitoring_data", 2 * SECOND).await else {
            break;
        };
        if message["data"].get("gpu").is_some() {
            return message["data"].clone();
        }
    }
    panic!("no gpu section within 5 s; log:\n{}", server.log_text());
}

/// The section a client must see: `gpus`, and GPU 0's fields again at the top level,
/// as the published seed sends them.
fn section(backend: &str, gpus: &[Value]) -> Value {
    let mut section = json!({"count": gpus.len(), "backend": backend, "gpus": gpus});
    let flat = section.as_object_mut().expect("an object");
    flat.extend(gpus[0].as_object().expect("an object").clone());
    section
}

fn dual_2070() -> [Value; 2] {
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

/// The plugin's entry in `get_status`.
async fn status_of(ws: &mut Client, plugin: &str) -> Value {
    send_text(ws, r#"{"type":"get_status"}"#).await;
    let (status, _) = next_of_type(ws, "status", 2 * SECOND)
        .await
        .expect("a status answer");
    status["plugins"]
        .as_array()
        .and_then(|plugins| plugins.iter().find(|p| p["name"] == plugin))
        .cloned()
        .unwrap_or_else(|| panic!("{plugin} missing from {status}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn one_gpu_through_nvidia_smi() {
    let fake = FakeSmi::printing(RTX_3080_STATIC, RTX_3080_TICK, "rtx-3080-v13.xml");
    let server = Server::start(Setup {
        plugins: &with_core(&["collector-gpu-smi"]),
        config: &fake.table(""),
        extra_files: &[],
    });
    let mut ws = connect(&server.url("/")).await;
    let data = first_gpu_data(&mut ws, &server).await;
    let gpu = json!({
        "id": 0, "name": "NVIDIA GeForce RTX 3080", "uuid": "GPU-19d6d965-2acc-f646-00f8-4c76979aabb4",
        "driver_version": "595.58.03",
        "memory_total": 10240 * MIB, "memory_used": 9184 * MIB, "memory_free": 660 * MIB,
        "memory_percentage": 89.7, "gpu_usage_percent": 65.0, "temperature": 27.0,
        "power_draw": 142.33, "power_limit": 320.0
    });
    assert_eq!(data["gpu"], section("nvidia-smi", &[gpu]));
    // What the published client reads.
    assert_eq!(data["gpu"]["gpu_usage_percent"], 65.0);
    assert_eq!(data["gpu"]["memory_percentage"], 89.7);
    for other in ["processor", "memory", "disk", "system"] {
        assert!(data.get(other).is_some(), "{other} missing: {data}");
    }
    assert_eq!(status_of(&mut ws, "gpu-smi").await["state"], "running");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_gpus_through_nvidia_smi_csv_and_xml() {
    let fake = FakeSmi::printing(DUAL_2070_STATIC, DUAL_2070_TICK, "dual_2070-v13.xml");
    // The cheap CSV queries (the default), then the full `-q -x` report: same section.
    for extra in ["", "xml = true"] {
        let server = Server::start(Setup {
            plugins: &with_core(&["collector-gpu-smi"]),
            config: &fake.table(extra),
            extra_files: &[],
        });
        let mut ws = connect(&server.url("/")).await;
        let gpu = &first_gpu_data(&mut ws, &server).await["gpu"];
        assert_eq!(*gpu, section("nvidia-smi", &dual_2070()), "{extra}");
        assert_eq!(gpu["count"], 2);
        // The flat fields are GPU 0's, not GPU 1's.
        assert_eq!(gpu["uuid"], "GPU-12345678-aaaa-bbbb-cccc-0123456789ab");
        assert_eq!(
            (&gpu["temperature"], &gpu["power_draw"]),
            (&json!(14.0), &json!(9.23))
        );
        assert_eq!(gpu["gpus"][1]["temperature"], 13.0);
    }
}

#[cfg(target_os = "linux")]
fn gone(pid: &str) -> bool {
    // Dead, or a zombie about to be reaped by whoever inherited it.
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// `(shell pid, sleep pid)` of every hanging run so far.
#[cfg(target_os = "linux")]
fn hanging_runs(file: &Path) -> Vec<[String; 2]> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut pids = line.split_whitespace().map(str::to_owned);
            Some([pids.next()?, pids.next()?])
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[cfg(target_os = "linux")]
async fn a_hanging_nvidia_smi_is_killed_and_does_not_hold_up_the_ticks() {
    let pids = tempfile::NamedTempFile::new().expect("pid file");
    let hang = format!(
        "sleep 30 & echo \"$$ $!\" >> {}; wait",
        sh_quote(pids.path())
    );
    let fake = FakeSmi::new(&print(DUAL_2070_STATIC), &hang, "exit 3");
    let server = Server::start(Setup {
        plugins: &with_core(&["collector-gpu-smi"]),
        config: &fake.table("timeout_ms = 1000"),
        extra_files: &[],
    });
    let mut ws = connect(&server.url("/")).await;
    // The first tick may wait out the collect deadline; count from the one after it.
    next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
        .await
        .expect("a first tick");
    let mut arrivals = Vec::new();
    for _ in 0..9 {
        let (message, at) = next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
            .await
            .unwrap_or_else(|| panic!("a tick; log:\n{}", server.log_text()));
        let data = message["data"].as_object().expect("a data object");
        for other in ["processor", "memory", "disk", "system"] {
            assert!(data.contains_key(other), "{other} missing: {message}");
        }
        assert!(
            !data.contains_key("gpu"),
            "no gpu while it hangs: {message}"
        );
        arrivals.push(at);
    }
    // Ticks stay on their 0.5 s grid: a tick that sends nvidia-smi a request waits at
    // most the collect deadline (0.25 s) for it, never the 1 s nvidia-smi timeout, and
    // no delay accumulates.
    for (i, at) in arrivals.iter().enumerate() {
        let expected = Duration::from_millis(500 * i as u64);
        let actual = at.duration_since(arrivals[0]);
        let off = actual.abs_diff(expected);
        assert!(
            off <= Duration::from_millis(400),
            "tick {i} arrived {actual:?} after the first, expected about {expected:?}"
        );
    }

    // By now nvidia-smi was run at least twice (the second run starts only once the
    // first has been killed and its failure handled): the first run's shell and its
    // `sleep 30` are gone, and at most the current run is alive.
    let runs = hanging_runs(pids.path());
    assert!(
        runs.len() >= 2,
        "nvidia-smi runs: {runs:?}; log:\n{}",
        server.log_text()
    );
    for pid in &runs[0] {
        let deadline = Instant::now() + 2 * SECOND;
        while !gone(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(gone(pid), "process {pid} of the first run is still alive");
    }
    let alive: Vec<&[String; 2]> = runs
        .iter()
        .filter(|run| run.iter().any(|pid| !gone(pid)))
        .collect();
    assert!(alive.len() <= 1, "leftover runs: {alive:?}");
    assert!(
        server
            .logs()
            .iter()
            .any(|l| l.contains("gpu-smi") && l.contains("no answer within 1000 ms; killed")),
        "the failure is reported; log:\n{}",
        server.log_text()
    );

    // Stop the server, then the run it left hanging, which its timeout would have
    // killed had the server lived on: nothing of this test outlives it.
    drop(server);
    for pid in hanging_runs(pids.path()).iter().flatten() {
        if !gone(pid) {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nvml_serves_two_gpus_and_nvidia_smi_steps_aside() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let Some(library) = fake_nvml(dir.path(), &[]) else {
        return;
    };
    let config = format!(
        "\n[plugins.gpu-nvml]\nlibrary_path = {lib}\n\n\
         [plugins.gpu-smi]\nbinary = \"/nonexistent/nvidia-smi\"\nnvml_library_path = {lib}\n",
        lib = toml_path(&library)
    );
    let server = Server::start(Setup {
        plugins: &with_core(&["collector-gpu-nvml", "collector-gpu-smi"]),
        config: &config,
        extra_files: &[],
    });
    let mut ws = connect(&server.url("/")).await;
    let gpu = &first_gpu_data(&mut ws, &server).await["gpu"];
    // The canned values of fake_nvml.c.
    let expected = section(
        "nvml",
        &[
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
        ],
    );
    assert_eq!(*gpu, expected);
    assert!(gpu["gpus"][1]["power_draw"].is_null() && gpu["gpus"][1]["power_limit"].is_null());
    assert_eq!(status_of(&mut ws, "gpu-nvml").await["state"], "running");
    let smi = status_of(&mut ws, "gpu-smi").await;
    assert_eq!(smi["state"], "unavailable", "{smi}");
}

/// Starts a server with both GPU plugins and `config`, and checks that neither finds a
/// GPU quietly: one info line each, no `gpu` section, nothing worse in the log.
async fn assert_no_gpu_quietly(config: &str) {
    let server = Server::start(Setup {
        plugins: &with_core(&["collector-gpu-nvml", "collector-gpu-smi"]),
        config,
        extra_files: &[],
    });
    let mut ws = connect(&server.url("/")).await;
    for _ in 0..4 {
        let (message, _) = next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
            .await
            .expect("a tick");
        let data = message["data"].as_object().expect("a data object");
        assert!(!data.contains_key("gpu"), "{message}");
        for other in ["processor", "memory", "disk", "system"] {
            assert!(data.contains_key(other), "{other} missing: {message}");
        }
    }
    for plugin in ["gpu-nvml", "gpu-smi"] {
        assert_eq!(status_of(&mut ws, plugin).await["state"], "unavailable");
    }
    let logs = server.logs();
    for plugin in ["gpu-nvml", "gpu-smi"] {
        let lines: Vec<&String> = logs
            .iter()
            .filter(|l| {
                l.contains(&format!("plugin={plugin}"))
                    && (l.contains("not available") || l.contains("unavailable"))
            })
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "one line for {plugin}; log:\n{}",
            logs.join("\n")
        );
        assert!(
            lines[0].contains(" INFO ") && lines[0].contains("Plugin not available"),
            "{}",
            lines[0]
        );
    }
    let complaints: Vec<&String> = logs
        .iter()
        .filter(|l| {
            (l.contains(" WARN ") || l.contains(" ERROR ")) && l.to_lowercase().contains("gpu")
        })
        .collect();
    assert!(complaints.is_empty(), "{complaints:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_driver_or_nvidia_smi_there_is_no_gpu_section_and_no_noise() {
    // The fake NVML as it answers where the driver is not loaded; no nvidia-smi at all.
    let dir = tempfile::tempdir().expect("temporary folder");
    let Some(library) = fake_nvml(dir.path(), &["-DFAKE_INIT_FAILS"]) else {
        return;
    };
    let config = format!(
        "\n[plugins.gpu-nvml]\nlibrary_path = {lib}\n\n\
         [plugins.gpu-smi]\nbinary = \"/nonexistent/nvidia-smi\"\nnvml_library_path = {lib}\n",
        lib = toml_path(&library)
    );
    assert_no_gpu_quietly(&config).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn default_settings_on_a_machine_without_nvidia() {
    let driver = Path::new("/proc/driver/nvidia").exists();
    let smi_on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join("nvidia-smi").exists())
    });
    if driver || smi_on_path {
        eprintln!("SKIPPED: this machine has an NVIDIA driver or nvidia-smi");
        return;
    }
    assert_no_gpu_quietly("").await;
}
