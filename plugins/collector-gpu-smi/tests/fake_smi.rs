//! The whole plugin, through its `Collector` trait, against fake `nvidia-smi` binaries:
//! shell scripts written into a temporary directory that print output derived from the
//! recorded reports in `tests/fixtures/` (CSV values copied from the XML), hang, or fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use collector_gpu_smi::{Config, SmiCollector};
use monitoring_plugin_api::{testing::check_sections, Collector, ErrorKind, PluginError};
use serde_json::{json, Value};

const MIB: u64 = 1024 * 1024;

/// `--query-gpu=index,uuid,driver_version,name` as the dual RTX 2070 machine answers it.
const DUAL_2070_STATIC: &str = "\
0, GPU-12345678-aaaa-bbbb-cccc-0123456789ab, 590.44.01, NVIDIA GeForce RTX 2070
1, GPU-12345678-aaaa-bbbb-cccc-0123456789cd, 590.44.01, NVIDIA GeForce RTX 2070";

/// The tick query with `nounits`, values from `dual_2070-v13.xml`.
const DUAL_2070_TICK: &str = "\
0, GPU-12345678-aaaa-bbbb-cccc-0123456789ab, 0, 8192, 1, 7786, 14, 9.23, 175.00
1, GPU-12345678-aaaa-bbbb-cccc-0123456789cd, 0, 8192, 1, 7786, 13, 11.82, 175.00";

/// Shell code printing a recorded report.
fn cat(fixture: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    format!("cat '{}'", path.display())
}

/// A fake nvidia-smi: each `*_action` is shell code run for that kind of call.
struct Fake {
    dir: PathBuf,
    binary: PathBuf,
}

impl Fake {
    fn new(name: &str, static_action: &str, tick_action: &str, xml_action: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("gpu-smi-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let binary = dir.join("nvidia-smi");
        let script = format!(
            "#!/bin/sh\n\
             echo \"$*\" >> '{calls}'\n\
             case \"$*\" in\n\
               \"-q -x\") {xml_action} ;;\n\
               *driver_version,name*) {static_action} ;;\n\
               *utilization.gpu*) {tick_action} ;;\n\
               --probe) ;;\n\
               *) echo \"unexpected arguments: $*\" >&2; exit 2 ;;\n\
             esac\n",
            calls = dir.join("calls.log").display(),
        );
        let staging = dir.join("nvidia-smi.tmp");
        std::fs::write(&staging, script).expect("script written");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        std::fs::rename(&staging, &binary).expect("script in place");
        settle(&binary);
        let _ = std::fs::remove_file(dir.join("calls.log"));
        Fake { dir, binary }
    }

    fn config(&self) -> Config {
        Config {
            binary: self.binary.clone(),
            force: true,
            ..Config::default()
        }
    }

    /// How often nvidia-smi was asked for names (`static`) and for a tick.
    fn calls(&self) -> (usize, usize) {
        let log = std::fs::read_to_string(self.dir.join("calls.log")).unwrap_or_default();
        let count = |needle| log.lines().filter(|line| line.contains(needle)).count();
        (count("driver_version,name"), count("utilization.gpu"))
    }
}

/// Another test's thread may fork while this one still has the new script open for
/// writing; exec then fails with ETXTBSY until that child has exec'd in turn.
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

fn collect(collector: &mut SmiCollector) -> Value {
    let output = collector.collect().expect("collect succeeds");
    let value = serde_json::to_value(output).expect("serializes");
    check_sections(value.as_object().expect("an object")).expect("obeys the contract");
    value
}

fn dual_2070_section() -> Value {
    let gpu = |id, uuid: &str, temperature, power_draw| {
        json!({
            "id": id, "name": "NVIDIA GeForce RTX 2070", "uuid": uuid, "driver_version": "590.44.01",
            "memory_total": 8192 * MIB, "memory_used": MIB, "memory_free": 7786 * MIB,
            "memory_percentage": 0.0, "gpu_usage_percent": 0.0, "temperature": temperature,
            "power_draw": power_draw, "power_limit": 175.0
        })
    };
    let first = gpu(0, "GPU-12345678-aaaa-bbbb-cccc-0123456789ab", 14.0, 9.23);
    let mut section = json!({"count": 2, "backend": "nvidia-smi", "gpus": [
        first.clone(),
        gpu(1, "GPU-12345678-aaaa-bbbb-cccc-0123456789cd", 13.0, 11.82),
    ]});
    // GPU 0's fields again at the top, as the published seed sends them.
    let flat = section.as_object_mut().expect("an object");
    flat.extend(first.as_object().expect("an object").clone());
    assert_eq!(flat["gpu_usage_percent"], 0.0);
    assert_eq!(flat["temperature"], 14.0);
    json!({ "gpu": section })
}

fn print(text: &str) -> String {
    format!("printf '%s\\n' '{}'", text.replace('\n', "' '"))
}

#[test]
fn csv_ticks_of_two_gpus() {
    let fake = Fake::new(
        "csv",
        &print(DUAL_2070_STATIC),
        &print(DUAL_2070_TICK),
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(fake.config()).expect("starts");
    assert_eq!(collect(&mut collector), dual_2070_section());
    assert_eq!(collect(&mut collector), dual_2070_section());
    // Names were read once, at start; each tick ran only the cheap query.
    assert_eq!(fake.calls(), (1, 2));
}

#[test]
fn the_xml_report_gives_the_same_section_as_the_csv_queries() {
    let fake = Fake::new("xml", "exit 99", "exit 99", &cat("dual_2070-v13.xml"));
    let mut collector = SmiCollector::new(Config {
        xml: true,
        ..fake.config()
    })
    .expect("starts");
    assert_eq!(collect(&mut collector), dual_2070_section());
}

#[test]
fn unsupported_readings_are_null() {
    // gtx-1070-ti.xml: no driver version, power N/A; as CSV, nvidia-smi prints [N/A].
    let fake = Fake::new(
        "nulls",
        &print("0, GPU-f9ba66fc-a7f5-94c5-da19-019ef2f9c665, [N/A], GeForce GTX 1070 Ti"),
        &print("0, GPU-f9ba66fc-a7f5-94c5-da19-019ef2f9c665, 0, 4096, 42, 4054, 39, [N/A], [Not Supported]"),
        &cat("gtx-1070-ti.xml"),
    );
    let mut csv = SmiCollector::new(fake.config()).expect("starts");
    let mut xml = SmiCollector::new(Config {
        xml: true,
        ..fake.config()
    })
    .expect("starts");
    let expected = json!({"gpu": {"count": 1, "backend": "nvidia-smi", "gpus": [{
        "id": 0, "name": "GeForce GTX 1070 Ti", "uuid": "GPU-f9ba66fc-a7f5-94c5-da19-019ef2f9c665",
        "driver_version": null, "memory_total": 4096 * MIB, "memory_used": 42 * MIB,
        "memory_free": 4054 * MIB, "memory_percentage": 1.0, "gpu_usage_percent": 0.0,
        "temperature": 39.0, "power_draw": null, "power_limit": null
    }],
        // Flat, as the published seed sends GPU 0: nulls stay null.
        "id": 0, "name": "GeForce GTX 1070 Ti", "uuid": "GPU-f9ba66fc-a7f5-94c5-da19-019ef2f9c665",
        "driver_version": null, "memory_total": 4096 * MIB, "memory_used": 42 * MIB,
        "memory_free": 4054 * MIB, "memory_percentage": 1.0, "gpu_usage_percent": 0.0,
        "temperature": 39.0, "power_draw": null, "power_limit": null
    }});
    assert_eq!(collect(&mut csv), expected);
    assert_eq!(collect(&mut xml), expected);
}

#[test]
fn names_are_read_again_after_static_refresh_secs() {
    let fake = Fake::new(
        "refresh",
        &print(DUAL_2070_STATIC),
        &print(DUAL_2070_TICK),
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(Config {
        static_refresh_secs: 0,
        ..fake.config()
    })
    .expect("starts");
    for _ in 0..3 {
        collect(&mut collector);
    }
    assert_eq!(fake.calls(), (4, 3));
}

#[test]
fn a_gpu_missing_from_the_names_is_reported_without_a_name_and_without_a_storm() {
    let first_only = DUAL_2070_STATIC.lines().next().expect("a line");
    let fake = Fake::new(
        "unknown",
        &print(first_only),
        &print(DUAL_2070_TICK),
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(fake.config()).expect("starts");
    for _ in 0..3 {
        let value = collect(&mut collector);
        assert_eq!(value["gpu"]["gpus"][1]["name"], Value::Null);
        assert_eq!(value["gpu"]["gpus"][1]["temperature"], 13.0);
    }
    assert_eq!(fake.calls(), (1, 3));
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

#[test]
#[cfg(target_os = "linux")]
fn a_hung_nvidia_smi_is_killed_and_the_tick_fails_retryably() {
    let fake_dir = std::env::temp_dir().join(format!("gpu-smi-test-{}-hang", std::process::id()));
    let shell_pid = fake_dir.join("shell.pid");
    let sleeper_pid = fake_dir.join("sleeper.pid");
    let hang = format!(
        "echo $$ > '{}'; sleep 30 & echo $! > '{}'; wait",
        shell_pid.display(),
        sleeper_pid.display()
    );
    let fake = Fake::new(
        "hang",
        &print(DUAL_2070_STATIC),
        &hang,
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(Config {
        timeout_ms: 300,
        ..fake.config()
    })
    .expect("starts");
    let started = Instant::now();
    let err = collector.collect().expect_err("the tick fails");
    let took = started.elapsed();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(
        err.message().contains("no answer within 300 ms; killed"),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "{took:?}"
    );
    // The script and the process it started are both dead (the whole group was killed).
    for pid_file in [&shell_pid, &sleeper_pid] {
        let pid = std::fs::read_to_string(pid_file).expect("the fake wrote its pid");
        let deadline = Instant::now() + Duration::from_secs(2);
        while !gone(&pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            gone(&pid),
            "process {} from {} is still running",
            pid.trim(),
            pid_file.display()
        );
    }
}

#[test]
fn a_failing_nvidia_smi_fails_the_tick_retryably_with_its_first_line() {
    let fail =
        "echo 'Unable to determine the device handle for GPU0000:02:00.0: Unknown Error' >&2; \
                echo 'details' >&2; exit 15";
    let fake = Fake::new(
        "fail",
        &print(DUAL_2070_STATIC),
        fail,
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(fake.config()).expect("starts");
    let err = collector.collect().expect_err("the tick fails");
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(
        err.message().ends_with("exit status: 15: Unable to determine the device handle for GPU0000:02:00.0: Unknown Error"),
        "{err}"
    );
}

#[test]
fn a_tick_that_lists_no_gpu_sends_no_section() {
    let fake = Fake::new(
        "empty",
        &print(DUAL_2070_STATIC),
        "exit 0",
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(fake.config()).expect("starts");
    let err = collector.collect().expect_err("no GPU, no section");
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(err.message().contains("no GPU"), "{err}");
}

#[test]
fn without_a_driver_the_plugin_is_unavailable() {
    let no_driver = "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. \
                     Make sure that the latest NVIDIA driver is installed and running.\"; echo; exit 9";
    let fake = Fake::new("no-driver", no_driver, no_driver, no_driver);
    for config in [
        fake.config(),
        Config {
            xml: true,
            ..fake.config()
        },
    ] {
        let err = SmiCollector::new(config).err().expect("refused");
        assert_eq!(err.kind(), Some(ErrorKind::Unavailable), "{err}");
        assert!(
            err.message()
                .contains("couldn't communicate with the NVIDIA driver"),
            "{err}"
        );
    }
    let fake = Fake::new("no-gpu", ":", ":", &cat("dual_2070-v13.xml"));
    let err = SmiCollector::new(fake.config()).err().expect("refused");
    assert_eq!(err.message(), "nvidia-smi reports no GPU");
}

#[test]
fn a_hang_at_start_is_retryable_and_garbage_is_fatal() {
    let fake = Fake::new(
        "start-hang",
        "exec sleep 30",
        ":",
        &cat("dual_2070-v13.xml"),
    );
    let err = SmiCollector::new(Config {
        timeout_ms: 200,
        ..fake.config()
    })
    .err()
    .expect("refused");
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");

    let fake = Fake::new(
        "garbage",
        &print(DUAL_2070_STATIC),
        "echo 'Field is not valid'",
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(fake.config()).expect("starts");
    let err = collector.collect().expect_err("the tick fails");
    assert_eq!(err.kind(), Some(ErrorKind::Fatal), "{err}");
}

/// Builds the fake NVML of collector-gpu-nvml's tests, if a C compiler is here.
fn fake_nvml() -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("gpu-smi-test-{}-nvml", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let library = dir.join("libnvidia-ml.so.1");
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../collector-gpu-nvml/tests/fake_nvml.c");
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    match Command::new(&compiler)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .status()
    {
        Ok(status) if status.success() => Some(library),
        Ok(status) => panic!("{compiler} failed to build the fake NVML: {status}"),
        Err(e) => {
            eprintln!("SKIPPED: no C compiler ({compiler}: {e}); cannot build the fake NVML");
            None
        }
    }
}

#[test]
fn steps_aside_when_nvml_works_unless_forced() {
    let Some(nvml) = fake_nvml() else { return };
    let fake = Fake::new(
        "aside",
        &print(DUAL_2070_STATIC),
        &print(DUAL_2070_TICK),
        &cat("dual_2070-v13.xml"),
    );
    let with_nvml = |force| Config {
        force,
        nvml_library_path: Some(nvml.clone()),
        ..fake.config()
    };
    let err: PluginError = SmiCollector::new(with_nvml(false))
        .err()
        .expect("steps aside");
    assert_eq!(err.kind(), Some(ErrorKind::Unavailable), "{err}");
    assert_eq!(
        err.message(),
        "NVML is available; gpu-nvml serves the gpu section"
    );
    assert!(SmiCollector::new(with_nvml(true)).is_ok());
    // NVML that does not start leaves the section to this plugin.
    let without_nvml = Config {
        force: false,
        nvml_library_path: Some(fake.dir.join("no-libnvidia-ml.so.1")),
        ..fake.config()
    };
    assert!(SmiCollector::new(without_nvml).is_ok());
}

/// `cargo test -p collector-gpu-smi --release --test fake_smi -- --ignored --nocapture`
#[test]
#[ignore = "timing, not a check; run by hand"]
fn per_tick_cost() {
    let fake = Fake::new(
        "timing",
        &print(DUAL_2070_STATIC),
        &print(DUAL_2070_TICK),
        &cat("dual_2070-v13.xml"),
    );
    let ticks = 200;
    for xml in [false, true] {
        let mut collector = SmiCollector::new(Config {
            xml,
            ..fake.config()
        })
        .expect("starts");
        let started = Instant::now();
        for _ in 0..ticks {
            std::hint::black_box(collector.collect().expect("collects"));
        }
        let mode = if xml { "-q -x" } else { "csv" };
        eprintln!(
            "gpu-smi {mode}, fake sh binary, 2 GPUs: {:?} per tick",
            started.elapsed() / ticks
        );
    }
    let report = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dual_2070-v13.xml"),
    )
    .expect("fixture");
    let started = Instant::now();
    for _ in 0..ticks {
        std::hint::black_box(collector_gpu_smi::xml::parse(&report).expect("parses"));
    }
    eprintln!(
        "parsing dual_2070-v13.xml (89 KB) alone: {:?}",
        started.elapsed() / ticks
    );
}
