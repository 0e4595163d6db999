//! ABI evolution, proven with the real binary: plugins built against plugin-api 1.0's
//! root module (tests/fixture-plugins/old-minor-*, which lack the `wants_snapshots`
//! field 1.1 appended) load in today's host and do their work next to today's plugins;
//! a sink that decodes events with 1.1's types (tests/fixture-plugins/sink-api-1-1,
//! before 1.2's alert identity and notifications) gets its alerts in a form it reads.

use std::path::Path;
use std::time::{Duration, Instant};

use monitoring_test_support::{connect, next_of_type, send_text, Server, Setup};

/// Today's memory collector (for an alert to fire), the two 1.0 fixtures and the 1.1
/// sink.
const PLUGINS: [&str; 4] = [
    "collector-memory",
    "fixture-old-minor-collector",
    "fixture-old-minor-sink",
    "fixture-sink-api-1-1",
];

/// The lines the old sink has written so far.
fn recorded(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_built_against_the_previous_minor_version_load_and_work() {
    let scratch = tempfile::tempdir().expect("scratch folder");
    let events = scratch.path().join("events.log");
    let events_1_1 = scratch.path().join("events-1-1.log");
    // Memory use is always above 1 %, so the rule fires on the first tick, and is
    // notified at once (no group wait).
    let config = format!(
        "[alerts]\ngroup_wait = 0.0\n[[alerts.rules]]\nmetric = \"memory.percentage\"\ncomponent = \"memory\"\n\
         warning = 1.0\n\n[plugins.old-minor-sink]\nenabled = true\npath = {:?}\n\n\
         [plugins.sink-api-1-1]\nenabled = true\npath = {:?}\n",
        events.display().to_string(),
        events_1_1.display().to_string()
    );
    let server = Server::start(Setup {
        plugins: &PLUGINS,
        config: &config,
        extra_files: &[],
    });
    let refused: Vec<String> = server
        .logs()
        .into_iter()
        .filter(|l| l.contains("Plugin refused.") && l.contains("old_minor"))
        .collect();
    assert!(refused.is_empty(), "a 1.0 plugin was refused: {refused:?}");

    // The old collector's section reaches a WebSocket client.
    let mut ws = connect(&server.url("/")).await;
    let (message, _) = next_of_type(&mut ws, "monitoring_data", Duration::from_secs(5))
        .await
        .expect("a snapshot");
    assert_eq!(
        message["data"]["old_minor"],
        serde_json::json!({"answer": 42, "api": "1.0.0"}),
        "{message}"
    );
    assert!(message["data"]["memory"]["total"].is_u64(), "{message}");

    // Both run, and say which plugin-api they were built against.
    send_text(&mut ws, r#"{"type":"get_status"}"#).await;
    let (status, _) = next_of_type(&mut ws, "status", Duration::from_secs(2))
        .await
        .expect("status");
    for name in ["old-minor-collector", "old-minor-sink"] {
        let plugin = status["plugins"]
            .as_array()
            .and_then(|plugins| plugins.iter().find(|p| p["name"] == name))
            .unwrap_or_else(|| panic!("{name} is not listed: {status}"));
        assert_eq!(plugin["state"], "running", "{plugin}");
        assert_eq!(plugin["api_version"], "1.0.0", "{plugin}");
    }

    // The old sink receives events: the alert, and snapshots, which a 1.0 sink cannot
    // decline and so keeps getting.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = recorded(&events);
    while !(lines.iter().any(|l| l == "alert") && lines.iter().any(|l| l == "snapshot")) {
        assert!(
            Instant::now() < deadline,
            "the old sink got {lines:?}; log:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        lines = recorded(&events);
    }

    // The 1.1 sink decodes what it gets with 1.1's types: one `alert` per alert, never
    // the `notification` event it does not know.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = recorded(&events_1_1);
    while !lines
        .iter()
        .any(|l| l.starts_with("alert Warning High memory usage"))
    {
        assert!(
            Instant::now() < deadline,
            "the 1.1 sink got {lines:?}; log:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        lines = recorded(&events_1_1);
    }
    assert!(!lines.iter().any(|l| l == "unknown"), "{lines:?}");
}
