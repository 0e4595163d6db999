//! The whole plugin against a fake NVML: `tests/fake_nvml.c`, compiled here into a
//! `libnvidia-ml.so.1` in a temporary directory and opened through `library_path`,
//! exactly as nvml-wrapper opens the real one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use collector_gpu_nvml::{Config, NvmlCollector};
use monitoring_plugin_api::{
    abi_stable::std_types::RStr, testing::check_sections, Collector, ErrorKind,
};
use serde_json::{json, Value};

const MIB: u64 = 1024 * 1024;

/// Compiles the fake library with `defines`, or returns `None` (after saying why) when
/// this machine has no C compiler.
fn fake_library(variant: &str, defines: &[&str]) -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("gpu-nvml-test-{}-{variant}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let library = dir.join("libnvidia-ml.so.1");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_nvml.c");
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

fn collector(library: &Path) -> Result<NvmlCollector, monitoring_plugin_api::PluginError> {
    NvmlCollector::new(Config {
        library_path: Some(library.to_owned()),
    })
}

fn collect_json(collector: &mut NvmlCollector) -> Value {
    let output = collector.collect().expect("collect succeeds");
    serde_json::to_value(output).expect("serializes")
}

#[test]
fn two_gpus_with_unsupported_power_as_null() {
    let Some(library) = fake_library("full", &[]) else {
        return;
    };
    let mut collector = collector(&library).expect("the fake NVML starts");
    let value = collect_json(&mut collector);
    check_sections(value.as_object().expect("an object")).expect("obeys the contract");
    assert_eq!(
        value,
        json!({"gpu": {"count": 2, "backend": "nvml", "gpus": [
            {
                "id": 0, "name": "Fake GeForce 0", "uuid": "GPU-00000000-0000-0000-0000-000000000000",
                "driver_version": "550.54.15",
                "memory_total": 8192 * MIB, "memory_used": 2048 * MIB, "memory_free": 5888 * MIB,
                "memory_percentage": 25.0, "gpu_usage_percent": 45.0, "temperature": 65.0,
                "power_draw": 220.5, "power_limit": 350.0
            },
            {
                "id": 1, "name": "Fake Tesla 1", "uuid": "GPU-00000000-0000-0000-0000-000000000001",
                "driver_version": "550.54.15",
                "memory_total": 16384 * MIB, "memory_used": 12288 * MIB, "memory_free": 4096 * MIB,
                "memory_percentage": 75.0, "gpu_usage_percent": 99.0, "temperature": 71.0,
                "power_draw": null, "power_limit": null
            }
        ],
            // GPU 0 again, flat, for clients of the published seed.
            "id": 0, "name": "Fake GeForce 0", "uuid": "GPU-00000000-0000-0000-0000-000000000000",
            "driver_version": "550.54.15",
            "memory_total": 8192 * MIB, "memory_used": 2048 * MIB, "memory_free": 5888 * MIB,
            "memory_percentage": 25.0, "gpu_usage_percent": 45.0, "temperature": 65.0,
            "power_draw": 220.5, "power_limit": 350.0
        }})
    );
    // A second tick reads again and agrees.
    assert_eq!(collect_json(&mut collector), value);
}

#[test]
fn old_drivers_without_memory_info_v2_still_report_memory() {
    let Some(library) = fake_library("no-memory-v2", &["-DFAKE_NO_MEMORY_V2"]) else {
        return;
    };
    let mut collector = collector(&library).expect("the fake NVML starts");
    let gpu = &collect_json(&mut collector)["gpu"]["gpus"][0];
    // The v1 call counts the 256 MiB reserved by the driver as used.
    assert_eq!(gpu["memory_total"], 8192 * MIB);
    assert_eq!(gpu["memory_used"], 2304 * MIB);
    assert_eq!(gpu["memory_free"], 5888 * MIB);
    assert_eq!(gpu["memory_percentage"], 28.1);
}

#[test]
fn a_driver_that_is_not_loaded_makes_the_plugin_unavailable() {
    let Some(library) = fake_library("init-fails", &["-DFAKE_INIT_FAILS"]) else {
        return;
    };
    let err = collector(&library).err().expect("refused");
    assert_eq!(err.kind(), Some(ErrorKind::Unavailable), "{err}");
    assert_eq!(
        err.message(),
        "NVML cannot start: NVIDIA driver is not loaded"
    );
}

#[test]
fn dropping_the_collector_shuts_nvml_down() {
    let Some(library) = fake_library("shutdown", &[]) else {
        return;
    };
    // Our own handle keeps the library (and its counters) loaded across the drop.
    // SAFETY: the fake library has no initialisers; the symbols are plain `int`s.
    let (inits, shutdowns) = unsafe {
        let lib = libloading::Library::new(&library).expect("loads");
        let inits = *lib.get::<*const i32>(b"fake_nvml_inits\0").expect("symbol");
        let shutdowns = *lib
            .get::<*const i32>(b"fake_nvml_shutdowns\0")
            .expect("symbol");
        std::mem::forget(lib);
        (inits, shutdowns)
    };
    let collector = collector(&library).expect("starts");
    // SAFETY: the library stays loaded (forgotten handle); the pointers stay valid.
    unsafe {
        assert_eq!((*inits, *shutdowns), (1, 0));
        drop(collector);
        assert_eq!((*inits, *shutdowns), (1, 1));
    }
}

#[test]
fn settings_arrive_through_the_plugin_boundary() {
    let Some(library) = fake_library("abi", &[]) else {
        return;
    };
    let module = collector_gpu_nvml::__monitoring_plugin_root();
    assert_eq!(module.metadata()().name.as_str(), "gpu-nvml");
    let new_collector = module.new_collector().expect("a collector plugin");
    let settings = json!({ "library_path": library }).to_string();
    let mut collector = new_collector(RStr::from_str(&settings))
        .into_result()
        .expect("builds");
    let sections: Value = serde_json::from_str(
        collector
            .collect()
            .into_result()
            .expect("collects")
            .as_str(),
    )
    .expect("JSON");
    assert_eq!(sections["gpu"]["count"], 2);
    assert_eq!(sections["gpu"]["gpu_usage_percent"], 45.0);
    let typo = new_collector(RStr::from_str(r#"{"library": "/x"}"#))
        .into_result()
        .err()
        .expect("refused");
    assert_eq!(typo.kind(), Some(ErrorKind::Config), "{typo}");
}

/// `cargo test -p collector-gpu-nvml --release -- --ignored --nocapture per_tick_cost`
#[test]
#[ignore = "timing, not a check; run by hand"]
fn per_tick_cost() {
    let Some(library) = fake_library("timing", &[]) else {
        return;
    };
    let started = Instant::now();
    let mut collector = collector(&library).expect("starts");
    let init = started.elapsed();
    let ticks = 100_000;
    let started = Instant::now();
    for _ in 0..ticks {
        std::hint::black_box(collector.collect().expect("collects"));
    }
    let per_tick = started.elapsed() / ticks;
    eprintln!(
        "gpu-nvml, fake NVML with 2 GPUs: {per_tick:?} per tick ({ticks} ticks); new() {init:?}"
    );
}
