//! Broken plugins next to good ones: each bad file is refused or contained with one
//! clear line, and the good collectors keep producing snapshots on time.

use std::time::Duration;

use monitoring_test_support::{connect, next_of_type, send_text, Server, Setup, CORE_COLLECTORS};
use serde_json::Value;

const BROKEN: [&str; 7] = [
    "fixture-panics",
    "fixture-init-fails",
    "fixture-hangs",
    "fixture-duplicate",
    "fixture-not-abi-stable",
    "fixture-changed-layout",
    "fixture-old-major",
];

#[tokio::test(flavor = "multi_thread")]
async fn broken_plugins_are_refused_or_contained_and_the_rest_runs_on_time() {
    let plugins: Vec<&str> = CORE_COLLECTORS
        .iter()
        .chain(BROKEN.iter())
        .copied()
        .collect();
    let server = Server::start(Setup {
        plugins: &plugins,
        config: "",
        extra_files: &[("libjunk.so", b"definitely not an ELF file".as_slice())],
    });
    let mut ws = connect(&server.url("/")).await;
    // The very first tick waits out the deadline for the hanging plugin (it cannot know
    // yet that it hangs); from then on the hanging plugin is skipped without waiting.
    next_of_type(&mut ws, "monitoring_data", Duration::from_secs(2))
        .await
        .expect("a first tick");
    let mut previous = None;
    for _ in 0..5 {
        let (message, at) = next_of_type(&mut ws, "monitoring_data", Duration::from_secs(2))
            .await
            .expect("a tick");
        let data = message["data"].as_object().expect("data object");
        for section in ["processor", "memory", "disk", "system"] {
            assert!(data.contains_key(section), "{section} missing: {message}");
        }
        assert!(
            !data.contains_key("panics") && !data.contains_key("hangs"),
            "{message}"
        );
        assert!(
            data["memory"]["total"].as_u64().is_some_and(|t| t > 0),
            "the impostor must not win: {message}"
        );
        if let Some(previous) = previous {
            let apart = at.duration_since(previous);
            assert!(
                (Duration::from_millis(350)..=Duration::from_millis(650)).contains(&apart),
                "ticks {apart:?} apart despite a hanging and a panicking plugin"
            );
        }
        previous = Some(at);
    }

    let logs = server.logs();
    let expectations = [
        ("libjunk.so", "not a loadable library"),
        ("libfixture_not_abi_stable.so", "not a monitoring plugin"),
        ("libfixture_changed_layout.so", "ABI layout mismatch"),
        ("libfixture_old_major.so", "built against plugin-api 0.9.0"),
        ("libfixture_init_fails.so", "fixture init failure"),
        (
            "libfixture_duplicate.so",
            "a plugin named `memory` (version 0.1.0) is already provided by ",
        ),
    ];
    for (file, reason) in expectations {
        monitoring_test_support::assert_refused_once(&logs, file, reason);
    }
    assert!(
        logs.iter().all(|l| l.len() < 600),
        "refusals are summarised, not dumped"
    );
    let panics = logs
        .iter()
        .find(|l| l.contains("fixture-panics") && l.contains("panic"));
    assert!(
        panics.is_some(),
        "the panic is reported; log:\n{}",
        logs.join("\n")
    );

    send_text(&mut ws, r#"{"type":"get_status"}"#).await;
    let (status, _) = next_of_type(&mut ws, "status", Duration::from_secs(1))
        .await
        .expect("status");
    let plugins = status["plugins"].as_array().expect("plugins");
    let state_of = |name: &str| {
        plugins
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["state"].clone())
    };
    assert_eq!(state_of("fixture-hangs"), Some(Value::from("running")));
    assert_eq!(state_of("fixture-init-fails"), Some(Value::from("refused")));
    assert_eq!(state_of("libjunk.so"), Some(Value::from("refused")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugins_bad_setting_is_refused_with_file_line_and_key() {
    let server = Server::start(Setup {
        plugins: &CORE_COLLECTORS,
        config: "\n[plugins.disk]\nenabled = true\nbogus_key = 1\n",
        extra_files: &[],
    });
    let line = server
        .wait_for_log(
            |l| l.contains("Plugin refused.") && l.contains("libcollector_disk"),
            Duration::from_secs(5),
        )
        .unwrap_or_else(|| panic!("disk refused; log:\n{}", server.log_text()));
    assert!(
        line.contains("plugins.toml: line 7: [plugins.disk]"),
        "{line}"
    );
    assert!(line.contains("unknown field `bogus_key`"), "{line}");
    assert!(
        !line.contains("column"),
        "positions inside the JSON handed to the plugin mean nothing to users: {line}"
    );
    let mut ws = connect(&server.url("/")).await;
    let (message, _) = next_of_type(&mut ws, "monitoring_data", Duration::from_secs(2))
        .await
        .expect("a tick");
    assert!(
        message["data"].get("disk").is_none() && message["data"].get("memory").is_some(),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_collector_is_left_out() {
    let server = Server::start(Setup {
        plugins: &CORE_COLLECTORS,
        config: "\n[plugins.cpu]\nenabled = false\n",
        extra_files: &[],
    });
    let mut ws = connect(&server.url("/")).await;
    let (message, _) = next_of_type(&mut ws, "monitoring_data", Duration::from_secs(2))
        .await
        .expect("a tick");
    assert!(message["data"].get("processor").is_none(), "{message}");
    assert!(message["data"].get("memory").is_some(), "{message}");
}
