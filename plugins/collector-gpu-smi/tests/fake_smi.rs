//! The whole plugin, through its `Collector` trait, against fake `nvidia-smi` binaries
//! (the shared test-support crate's): shell scripts in a temporary folder that print
//! the recorded reports in `tests/fixtures/` and CSV rows with their values, hang, or
//! fail.

use std::time::{Duration, Instant};

use collector_gpu_smi::{Config, SmiCollector};
use monitoring_plugin_api::{testing::check_sections, Collector, ErrorKind};
use monitoring_test_support::smi::{
    self, cat, print, FakeSmi, DUAL_2070_STATIC, DUAL_2070_TICK, GTX_1070_TI_STATIC,
    GTX_1070_TI_TICK,
};
use monitoring_test_support::{gpu_section, MIB};
use serde_json::{json, Value};

/// The plugin's settings for running `fake`.
fn config(fake: &FakeSmi) -> Config {
    Config {
        binary: fake.binary().to_owned(),
        ..Config::default()
    }
}

fn collect(collector: &mut SmiCollector) -> Value {
    let output = collector.collect().expect("collect succeeds");
    let value = serde_json::to_value(output).expect("serializes");
    check_sections(value.as_object().expect("an object")).expect("obeys the contract");
    value
}

fn dual_2070_section() -> Value {
    let section = gpu_section("nvidia-smi", &smi::dual_2070_gpus());
    // GPU 0's fields again at the top, as the published seed sends them.
    assert_eq!(section["gpu_usage_percent"], 0.0);
    assert_eq!(section["temperature"], 14.0);
    json!({ "gpu": section })
}

#[test]
fn csv_ticks_of_two_gpus() {
    let fake = FakeSmi::new(
        &print(DUAL_2070_STATIC),
        &print(DUAL_2070_TICK),
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(config(&fake)).expect("starts");
    assert_eq!(collect(&mut collector), dual_2070_section());
    assert_eq!(collect(&mut collector), dual_2070_section());
    // Names were read once, at start; each tick ran only the cheap query.
    assert_eq!(fake.calls(), (1, 2));
}

#[test]
fn the_xml_report_gives_the_same_section_as_the_csv_queries() {
    let fake = FakeSmi::new("exit 99", "exit 99", &cat("dual_2070-v13.xml"));
    let mut collector = SmiCollector::new(Config {
        xml: true,
        ..config(&fake)
    })
    .expect("starts");
    assert_eq!(collect(&mut collector), dual_2070_section());
}

#[test]
fn unsupported_readings_are_null() {
    // gtx-1070-ti.xml: no driver version, power N/A; as CSV, nvidia-smi prints [N/A].
    let fake = FakeSmi::new(
        &print(GTX_1070_TI_STATIC),
        &print(GTX_1070_TI_TICK),
        &cat("gtx-1070-ti.xml"),
    );
    let mut csv = SmiCollector::new(config(&fake)).expect("starts");
    let mut xml = SmiCollector::new(Config {
        xml: true,
        ..config(&fake)
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
    let fake = FakeSmi::new(
        &print(DUAL_2070_STATIC),
        &print(DUAL_2070_TICK),
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(Config {
        static_refresh_secs: 0,
        ..config(&fake)
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
    let fake = FakeSmi::new(
        &print(first_only),
        &print(DUAL_2070_TICK),
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(config(&fake)).expect("starts");
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
    let pids = monitoring_test_support::tempfile::tempdir().expect("temporary folder");
    let shell_pid = pids.path().join("shell.pid");
    let sleeper_pid = pids.path().join("sleeper.pid");
    let hang = format!(
        "echo $$ > '{}'; sleep 30 & echo $! > '{}'; wait",
        shell_pid.display(),
        sleeper_pid.display()
    );
    let fake = FakeSmi::new(&print(DUAL_2070_STATIC), &hang, &cat("dual_2070-v13.xml"));
    let mut collector = SmiCollector::new(Config {
        timeout_ms: 300,
        ..config(&fake)
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
    let fake = FakeSmi::new(&print(DUAL_2070_STATIC), fail, &cat("dual_2070-v13.xml"));
    let mut collector = SmiCollector::new(config(&fake)).expect("starts");
    let err = collector.collect().expect_err("the tick fails");
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(
        err.message().ends_with("exit status: 15: Unable to determine the device handle for GPU0000:02:00.0: Unknown Error"),
        "{err}"
    );
}

#[test]
fn a_tick_that_lists_no_gpu_sends_no_section() {
    let fake = FakeSmi::new(
        &print(DUAL_2070_STATIC),
        "exit 0",
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(config(&fake)).expect("starts");
    let err = collector.collect().expect_err("no GPU, no section");
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(err.message().contains("no GPU"), "{err}");
}

#[test]
fn without_a_driver_the_plugin_is_unavailable() {
    let no_driver = "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. \
                     Make sure that the latest NVIDIA driver is installed and running.\"; echo; exit 9";
    let fake = FakeSmi::new(no_driver, no_driver, no_driver);
    for config in [
        config(&fake),
        Config {
            xml: true,
            ..config(&fake)
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
    let fake = FakeSmi::new(":", ":", &cat("dual_2070-v13.xml"));
    let err = SmiCollector::new(config(&fake)).err().expect("refused");
    assert_eq!(err.message(), "nvidia-smi reports no GPU");
}

#[test]
fn a_hang_at_start_is_retryable_and_garbage_is_fatal() {
    let fake = FakeSmi::new("exec sleep 30", ":", &cat("dual_2070-v13.xml"));
    let err = SmiCollector::new(Config {
        timeout_ms: 200,
        ..config(&fake)
    })
    .err()
    .expect("refused");
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");

    let fake = FakeSmi::new(
        &print(DUAL_2070_STATIC),
        "echo 'Field is not valid'",
        &cat("dual_2070-v13.xml"),
    );
    let mut collector = SmiCollector::new(config(&fake)).expect("starts");
    let err = collector.collect().expect_err("the tick fails");
    assert_eq!(err.kind(), Some(ErrorKind::Fatal), "{err}");
}

/// `cargo test -p collector-gpu-smi --release --test fake_smi -- --ignored --nocapture`
#[test]
#[ignore = "timing, not a check; run by hand"]
fn per_tick_cost() {
    let fake = FakeSmi::new(
        &print(DUAL_2070_STATIC),
        &print(DUAL_2070_TICK),
        &cat("dual_2070-v13.xml"),
    );
    let ticks = 200;
    for xml in [false, true] {
        let mut collector = SmiCollector::new(Config {
            xml,
            ..config(&fake)
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
    let report = std::fs::read_to_string(smi::report("dual_2070-v13.xml")).expect("fixture");
    let started = Instant::now();
    for _ in 0..ticks {
        std::hint::black_box(collector_gpu_smi::xml::parse(&report).expect("parses"));
    }
    eprintln!(
        "parsing dual_2070-v13.xml (89 KB) alone: {:?}",
        started.elapsed() / ticks
    );
}
