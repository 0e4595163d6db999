//! Libraries that would take the server down while being loaded (truncated copies of a
//! real plugin that die of SIGBUS inside the dynamic loader, a constructor that aborts)
//! are opened first in a probe child: each is refused with one line naming it and what
//! happened, and the real plugins beside them load and stream.

use std::time::Duration;

use monitoring_test_support::{
    connect, library, next_of_type, send_text, Server, Setup, CORE_COLLECTORS,
};
use serde_json::Value;

/// Truncated copies of the real CPU collector, and why each must be refused.
fn truncated_copies(real: &[u8]) -> Vec<(String, Vec<u8>, &'static str)> {
    let mut copies = Vec::new();
    for size in [1024, 20 * 1024, 200 * 1024] {
        copies.push((
            format!("libtruncated_{size}.so"),
            real[..size].to_vec(),
            "crashed while loading: SIGBUS",
        ));
    }
    // One byte short only loses the end of the section headers, which the dynamic
    // loader never reads: it loads, and is refused as the second `cpu`.
    copies.push((
        "libtruncated_size_minus_1.so".into(),
        real[..real.len() - 1].to_vec(),
        "a plugin named `cpu` (version 0.1.0) is already provided by ",
    ));
    copies
}

#[tokio::test(flavor = "multi_thread")]
async fn libraries_that_crash_or_abort_while_loading_are_refused_and_the_rest_streams() {
    let real = std::fs::read(library("collector-cpu")).expect("the real CPU collector");
    let copies = truncated_copies(&real);
    let mut extra: Vec<(&str, &[u8])> = copies
        .iter()
        .map(|(name, bytes, _)| (name.as_str(), bytes.as_slice()))
        .collect();
    extra.push(("libempty.so", b"".as_slice()));
    let mut plugins: Vec<&str> = CORE_COLLECTORS.to_vec();
    plugins.push("fixture-aborts");
    let server = Server::start_prepared(
        Setup {
            plugins: &plugins,
            config: "",
            extra_files: &extra,
        },
        &[],
        |folder| std::fs::create_dir(folder.join("libdir.so")).expect("libdir.so/"),
    );

    let mut ws = connect(&server.url("/")).await;
    for _ in 0..2 {
        let (message, _) = next_of_type(&mut ws, "monitoring_data", Duration::from_secs(3))
            .await
            .expect("a tick");
        for section in ["processor", "memory", "disk", "system"] {
            assert!(
                message["data"].get(section).is_some(),
                "{section} missing: {message}"
            );
        }
    }

    let mut expectations: Vec<(String, &str)> = copies
        .iter()
        .map(|(name, _, reason)| (name.clone(), *reason))
        .collect();
    expectations.push(("libempty.so".into(), "not a loadable library"));
    expectations.push(("libdir.so".into(), "not a loadable library"));
    expectations.push((
        "libfixture_aborts.so".into(),
        "crashed while loading: SIGABRT",
    ));
    let logs = server.logs();
    for (file, reason) in &expectations {
        monitoring_test_support::assert_refused_once(&logs, file, reason);
    }

    send_text(&mut ws, r#"{"type":"get_status"}"#).await;
    let (status, _) = next_of_type(&mut ws, "status", Duration::from_secs(2))
        .await
        .expect("status");
    let records = status["plugins"].as_array().expect("plugins");
    let record_of = |file: &str| {
        records
            .iter()
            .find(|p| p["path"].as_str().is_some_and(|p| p.ends_with(file)))
            .cloned()
            .unwrap_or(Value::Null)
    };
    for (file, reason) in &expectations {
        let record = record_of(file);
        assert_eq!(record["state"], "refused", "{file}: {status}");
        assert!(
            record["reason"]
                .as_str()
                .is_some_and(|r| r.contains(reason)),
            "{file}: {record}"
        );
    }
    let health = monitoring_test_support::http::get(server.port, "/health").json();
    let refused = health["plugins"]["refused"].as_array().expect("refused");
    assert!(
        refused
            .iter()
            .any(|p| p.to_string().contains("crashed while loading: SIGBUS")),
        "{health}"
    );
}
