//! The whole plugin against a fake NVML: `fake_nvml.c` of the shared test-support
//! crate, compiled into a `libnvidia-ml.so.1` in a temporary folder and opened through
//! `library_path`, exactly as nvml-wrapper opens the real one.

use std::path::Path;
use std::time::Instant;

use collector_gpu_nvml::{Config, NvmlCollector};
use monitoring_plugin_api::{
    abi_stable::std_types::RStr, testing::check_sections, Collector, ErrorKind,
};
use monitoring_test_support::{gpu_section, nvml, nvml::FakeNvml, MIB};
use serde_json::{json, Value};

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
    let Some(fake) = FakeNvml::build(&[]) else {
        return;
    };
    let mut collector = collector(&fake.path()).expect("the fake NVML starts");
    let value = collect_json(&mut collector);
    check_sections(value.as_object().expect("an object")).expect("obeys the contract");
    assert_eq!(value, json!({ "gpu": gpu_section("nvml", &nvml::gpus()) }));
    // GPU 1 cannot read its power: null, not zero.
    assert!(value["gpu"]["gpus"][1]["power_draw"].is_null());
    // A second tick reads again and agrees.
    assert_eq!(collect_json(&mut collector), value);
}

#[test]
fn old_drivers_without_memory_info_v2_still_report_memory() {
    let Some(fake) = FakeNvml::build(&["-DFAKE_NO_MEMORY_V2"]) else {
        return;
    };
    let library = fake.path();
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
    let Some(fake) = FakeNvml::build(&["-DFAKE_INIT_FAILS"]) else {
        return;
    };
    let library = fake.path();
    let err = collector(&library).err().expect("refused");
    assert_eq!(err.kind(), Some(ErrorKind::Unavailable), "{err}");
    assert_eq!(
        err.message(),
        "NVML cannot start: NVIDIA driver is not loaded"
    );
}

#[test]
fn dropping_the_collector_shuts_nvml_down() {
    let Some(fake) = FakeNvml::build(&[]) else {
        return;
    };
    let library = fake.path();
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
    let Some(fake) = FakeNvml::build(&[]) else {
        return;
    };
    let library = fake.path();
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
    let Some(fake) = FakeNvml::build(&[]) else {
        return;
    };
    let library = fake.path();
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
