//! The sink end to end against the scripted HTTP server: the request a receiver gets.

use std::time::{Duration, Instant};

use monitoring_plugin_api::{ErrorKind, Exported};
use monitoring_test_support::http_server::{Reply, TestServer};
use prost::Message;
use serde_json::json;

use super::*;
use crate::proto::WriteRequest;

fn config(value: serde_json::Value) -> Config {
    serde_json::from_value(value).expect("a config")
}

#[test]
fn obeys_the_sink_contract_and_asks_for_snapshots() {
    use monitoring_plugin_api::testing::{check_sink, Delivery};

    let server = TestServer::start(Reply::status(204));
    let settings = json!({"url": server.url("/api/v1/write"), "instance": "web-1"});
    // Alerts are not this sink's business: they succeed without a request.
    check_sink::<RemoteWriteSink>(&settings.to_string(), Delivery::Succeeds);
    assert!(RemoteWriteSink::root_module().wants_snapshots());
    // The contract's flush sent the snapshot: one request, its series timed.
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&requests[0].body)
        .expect("snappy");
    let write = WriteRequest::decode(raw.as_slice()).expect("protobuf");
    assert!(write.timeseries.len() > 5, "{write:?}");
}

#[test]
fn defaults_and_bad_settings() {
    let defaults = config(json!({}));
    assert_eq!(defaults.job, "monitoring");
    assert_eq!(defaults.batch_max_samples, 2000);
    let err = RemoteWriteSink::new(defaults).err().expect("refused");
    assert_eq!(err.kind(), Some(ErrorKind::Config));
    assert!(err.message().contains("`url`"), "{err}");
    for (bad, key) in [
        (
            json!({"url": "http://h/w", "batch_max_samples": 0}),
            "batch_max_samples",
        ),
        (
            json!({"url": "http://h/w", "queue_max_samples": 10}),
            "queue_max_samples",
        ),
        (
            json!({"url": "http://h/w", "flush_interval_secs": 0}),
            "flush_interval_secs",
        ),
        (
            json!({"url": "http://h/w", "labels": {"__x": "y"}}),
            "labels",
        ),
        (
            json!({"url": "http://h/w", "labels": {"job": "y"}}),
            "labels",
        ),
        (
            json!({"url": "http://h/w", "bearer_token_env": "NOPE_RW_TEST"}),
            "bearer_token_env",
        ),
    ] {
        let err = RemoteWriteSink::with_env(config(bad), |_| None)
            .err()
            .expect("refused");
        assert!(err.message().contains(key), "{key}: {err}");
    }
    assert!(serde_json::from_value::<Config>(json!({"password": "x"})).is_err());
}

#[test]
fn a_snapshot_arrives_as_a_snappy_protobuf_write_request() {
    let server = TestServer::start(Reply::status(204));
    let mut sink = RemoteWriteSink::with_env(
        config(
            json!({"url": server.url("/api/v1/write"), "instance": "web-1",
            "bearer_token_env": "TOKEN", "labels": {"dc": "fra1"}}),
        ),
        |name| (name == "TOKEN").then(|| "tok-1".to_owned()),
    )
    .expect("a sink");
    let data = json!({"load": {"load1": 0.5, "load5": 0.4, "load15": 0.3,
        "runnable_tasks": 1, "total_tasks": 9, "uptime_seconds": 60, "cpu_count": 2}});
    let event = SinkEvent::Snapshot {
        timestamp: "2024-01-15T10:30:00.5+00:00".into(),
        data: data.as_object().cloned().expect("an object"),
    };
    sink.deliver(&event).expect("queued");
    sink.flush().expect("sent");
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.requests().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/v1/write");
    assert_eq!(request.header("content-encoding"), Some("snappy"));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(
        request.header("x-prometheus-remote-write-version"),
        Some("0.1.0")
    );
    assert_eq!(request.header("authorization"), Some("Bearer tok-1"));
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&request.body)
        .expect("snappy");
    let write = WriteRequest::decode(raw.as_slice()).expect("protobuf");
    let load1 = write
        .timeseries
        .iter()
        .find(|s| s.labels.iter().any(|l| l.value == "node_load1"))
        .expect("node_load1");
    let labels: Vec<(&str, &str)> = load1
        .labels
        .iter()
        .map(|l| (l.name.as_str(), l.value.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("__name__", "node_load1"),
            ("dc", "fra1"),
            ("instance", "web-1"),
            ("job", "monitoring")
        ]
    );
    assert_eq!(load1.samples[0].value, 0.5);
    assert_eq!(load1.samples[0].timestamp, 1_705_314_600_500);
    let names: Vec<&str> = write
        .timeseries
        .iter()
        .map(|s| s.labels[0].value.as_str())
        .collect();
    assert!(names.contains(&"system_uptime_seconds"), "{names:?}");
}
