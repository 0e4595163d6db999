//! The `gpu` section end to end: the real server with the real GPU plugins, fed by a
//! fake `nvidia-smi` (a shell script printing output recorded from real GPUs, in
//! `plugins/collector-gpu-smi/tests/fixtures`) or a fake `libnvidia-ml` (compiled from
//! `test-support/fake_nvml.c`), read over a real WebSocket; both fakes and the recorded
//! rows come from the shared test-support crate, as in the plugins' own tests.
//!
//! Every server here points the GPU plugins at fakes or at paths that do not exist, so
//! the tests mean the same on a machine with a real NVIDIA GPU (except the one that
//! checks the default settings, which only runs where there is no NVIDIA driver and
//! is counted as skipped elsewhere).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use monitoring_test_support::smi::{
    self, print, sh_quote, FakeSmi, DUAL_2070_STATIC, DUAL_2070_TICK, RTX_3080_STATIC,
    RTX_3080_TICK,
};
use monitoring_test_support::{
    connect, next_of_type, send_text, Client, Server, Setup, CORE_COLLECTORS,
};
use monitoring_test_support::{gpu_section as section, nvml, nvml::FakeNvml, MIB};
use serde_json::{json, Value};

const SECOND: Duration = Duration::from_secs(1);

/// A path as a TOML string (JSON's string syntax is TOML's basic string syntax).
fn toml_path(path: &Path) -> String {
    serde_json::to_string(&path.to_string_lossy()).expect("a string serializes")
}

/// `[plugins.gpu-smi]` running `fake`.
fn smi_table(fake: &FakeSmi, extra: &str) -> String {
    format!(
        "\n[plugins.gpu-smi]\nbinary = {}\n{extra}\n",
        toml_path(fake.binary())
    )
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
        config: &smi_table(&fake, ""),
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
            config: &smi_table(&fake, extra),
            extra_files: &[],
        });
        let mut ws = connect(&server.url("/")).await;
        let gpu = &first_gpu_data(&mut ws, &server).await["gpu"];
        assert_eq!(
            *gpu,
            section("nvidia-smi", &smi::dual_2070_gpus()),
            "{extra}"
        );
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
        config: &smi_table(&fake, "timeout_ms = 1000"),
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
async fn nvml_serves_two_gpus_and_nvidia_smi_stands_by() {
    let Some(fake) = FakeNvml::build(&[]) else {
        return;
    };
    let library = fake.path();
    // A working nvidia-smi too: the host's policy, not the plugin, keeps it idle.
    let smi = FakeSmi::printing(DUAL_2070_STATIC, DUAL_2070_TICK, "dual_2070-v13.xml");
    let config = format!(
        "\n[plugins.gpu-nvml]\nlibrary_path = {lib}\n{smi}",
        lib = toml_path(&library),
        smi = smi_table(&smi, "")
    );
    let server = Server::start(Setup {
        plugins: &with_core(&["collector-gpu-nvml", "collector-gpu-smi"]),
        config: &config,
        extra_files: &[],
    });
    let mut ws = connect(&server.url("/")).await;
    let gpu = &first_gpu_data(&mut ws, &server).await["gpu"];
    // The canned values of fake_nvml.c.
    let expected = section("nvml", &nvml::gpus());
    assert_eq!(*gpu, expected);
    assert!(gpu["gpus"][1]["power_draw"].is_null() && gpu["gpus"][1]["power_limit"].is_null());
    assert_eq!(status_of(&mut ws, "gpu-nvml").await["state"], "running");
    for _ in 0..4 {
        let (message, _) = next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
            .await
            .expect("a tick");
        assert_eq!(message["data"]["gpu"]["backend"], "nvml", "{message}");
    }
    let health: Value =
        serde_json::from_str(&monitoring_test_support::http::get(server.port, "/health").body)
            .expect("/health is JSON");
    let collector = health["collectors"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == "gpu-smi"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(collector["state"], "standby", "{health}");
    assert_eq!(
        smi.calls().1,
        0,
        "nvidia-smi never asked for a tick while NVML serves"
    );
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
    let Some(fake) = FakeNvml::build(&["-DFAKE_INIT_FAILS"]) else {
        return;
    };
    let library = fake.path();
    let config = format!(
        "\n[plugins.gpu-nvml]\nlibrary_path = {lib}\n\n\
         [plugins.gpu-smi]\nbinary = \"/nonexistent/nvidia-smi\"\n",
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
        // Not a missing peer but this machine: what the test checks cannot happen here.
        monitoring_test_support::skip("this machine has an NVIDIA driver or nvidia-smi");
        return;
    }
    assert_no_gpu_quietly("").await;
}
