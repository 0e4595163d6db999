//! The exporter's files read back as a user would: gunzip, parse, `gzip -t` (a missing
//! `gzip` fails the test, naming its install command).

use super::*;
use flate2::read::GzDecoder;
use monitoring_plugin_api::ErrorKind;
use monitoring_test_support::Peer;
use std::io::Read;
use std::process::Command;

fn snapshot(timestamp: &str, usage: f64) -> SinkEvent {
    let data = json!({"memory": {"percentage": usage}});
    SinkEvent::Snapshot {
        timestamp: timestamp.into(),
        data: data.as_object().cloned().unwrap(),
    }
}

fn exporter(dir: &Path, tweak: impl FnOnce(&mut Config)) -> JsonSink {
    let mut config = Config {
        output_dir: dir.to_path_buf(),
        ..Config::default()
    };
    tweak(&mut config);
    JsonSink::new(config).unwrap()
}

/// The snapshots in a file, parsed the way any JSON tool would.
fn read_back(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap();
    let json = if path.extension().is_some_and(|e| e == "gz") {
        let mut json = Vec::new();
        GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut json)
            .unwrap();
        json
    } else {
        bytes
    };
    match serde_json::from_slice(&json).unwrap() {
        Value::Array(entries) => entries,
        other => panic!("not an array: {other}"),
    }
}

fn timestamps(path: &Path) -> Vec<String> {
    read_back(path)
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap().to_owned())
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn defaults_are_the_seeds() {
    let config: Config = serde_json::from_str("{}").unwrap();
    assert_eq!(config.output_dir, PathBuf::from("./monitoring_data"));
    assert_eq!(config.export_interval_secs, 60.0);
    assert!(!config.compress && !config.pretty_print && config.date_in_filename);
    assert_eq!(config.max_file_size, 10 * 1024 * 1024);
    assert!(serde_json::from_str::<Config>(r#"{"interval": 5}"#).is_err());
    let err = JsonSink::new(Config {
        export_interval_secs: -1.0,
        ..Config::default()
    })
    .err()
    .unwrap();
    assert_eq!(err.kind(), Some(ErrorKind::Config));
    assert!(err.message().contains("export_interval_secs"), "{err}");
}

#[test]
fn plain_files_hold_one_snapshot_per_interval_and_flush_writes_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let mut sink = exporter(dir.path(), |_| {});
    for (time, usage) in [
        ("10:00:00", 1.0),
        ("10:00:30", 2.0),
        ("10:00:59.9", 3.0),
        ("10:01:00", 4.0),
        ("10:01:30", 5.0),
    ] {
        sink.deliver(&snapshot(&format!("2025-01-03T{time}"), usage))
            .unwrap();
    }
    sink.deliver(&SinkEvent::Alert {
        alert: Alert {
            timestamp: "t".into(),
            component: "memory".into(),
            metric: "usage_percent".into(),
            value: 1.0,
            threshold: 1.0,
            level: AlertLevel::Warning,
            message: "m".into(),
            ..Default::default()
        },
    })
    .unwrap();
    let path = dir.path().join("monitoring_20250103.json");
    assert_eq!(
        names(dir.path()),
        ["monitoring_20250103.json"],
        "no temp file left behind"
    );
    assert_eq!(
        timestamps(&path),
        ["2025-01-03T10:00:00", "2025-01-03T10:01:00"]
    );
    let entries = read_back(&path);
    assert_eq!(entries[1]["data"]["memory"]["percentage"], 4.0);

    sink.flush().unwrap();
    assert_eq!(
        timestamps(&path).last().unwrap(),
        "2025-01-03T10:01:30",
        "flush writes the pending snapshot"
    );
    sink.flush().unwrap();
    assert_eq!(timestamps(&path).len(), 3, "and only once");
}

#[test]
fn compressed_files_pass_gzip_t_and_parse() {
    let dir = tempfile::tempdir().unwrap();
    let mut sink = exporter(dir.path(), |c| {
        c.compress = true;
        c.pretty_print = true;
        c.export_interval_secs = 0.0;
    });
    for i in 0..3 {
        sink.deliver(&snapshot(
            &format!("2025-01-03T10:00:0{i}+00:00"),
            f64::from(i),
        ))
        .unwrap();
    }
    let name = format!(
        "monitoring_{}.json.gz",
        local_time("2025-01-03T10:00:00+00:00")
            .unwrap()
            .format("%Y%m%d")
    );
    let path = dir.path().join(&name);
    assert_eq!(names(dir.path()), [name]);
    assert_eq!(read_back(&path).len(), 3);
    let mut json = String::new();
    GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut json)
        .unwrap();
    assert!(json.starts_with("[\n  {"), "pretty-printed: {json}");
    let Some(gzip) = monitoring_test_support::require(Peer::Gzip) else {
        return;
    };
    let status = Command::new(gzip).arg("-t").arg(&path).status().unwrap();
    assert!(status.success(), "gzip -t rejects {}", path.display());
}

#[test]
fn a_new_file_each_day_or_one_file_without_the_date() {
    let dir = tempfile::tempdir().unwrap();
    let mut sink = exporter(dir.path(), |_| {});
    sink.deliver(&snapshot("2025-01-03T23:59:30", 1.0)).unwrap();
    sink.deliver(&snapshot("2025-01-04T00:00:40", 2.0)).unwrap();
    assert_eq!(
        names(dir.path()),
        ["monitoring_20250103.json", "monitoring_20250104.json"]
    );

    let single = tempfile::tempdir().unwrap();
    let mut sink = exporter(single.path(), |c| c.date_in_filename = false);
    sink.deliver(&snapshot("2025-01-03T23:59:30", 1.0)).unwrap();
    sink.deliver(&snapshot("2025-01-04T00:00:40", 2.0)).unwrap();
    assert_eq!(names(single.path()), ["monitoring.json"]);
    assert_eq!(read_back(&single.path().join("monitoring.json")).len(), 2);
}

#[test]
fn files_are_split_before_passing_max_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let one = Format {
        compress: false,
        pretty: false,
    }
    .encode(&[entry("2025-01-03T10:00:00", &Sections::new())])
    .unwrap()
    .len() as u64;
    let mut sink = exporter(dir.path(), |c| {
        c.export_interval_secs = 0.0;
        c.max_file_size = one * 5 / 2; // room for two snapshots, not three
    });
    for i in 0..5 {
        sink.deliver(&SinkEvent::Snapshot {
            timestamp: format!("2025-01-03T10:00:0{i}"),
            data: Sections::new(),
        })
        .unwrap();
    }
    assert_eq!(
        names(dir.path()),
        [
            "monitoring_20250103.1.json",
            "monitoring_20250103.2.json",
            "monitoring_20250103.json"
        ]
    );
    assert_eq!(
        timestamps(&dir.path().join("monitoring_20250103.1.json")),
        ["2025-01-03T10:00:00", "2025-01-03T10:00:01"]
    );
    assert_eq!(
        timestamps(&dir.path().join("monitoring_20250103.2.json")),
        ["2025-01-03T10:00:02", "2025-01-03T10:00:03"]
    );
    assert_eq!(
        timestamps(&dir.path().join("monitoring_20250103.json")),
        ["2025-01-03T10:00:04"]
    );
}

/// `output_dir` is made a regular file: unlike `chmod`, this blocks root too.
#[test]
fn an_unwritable_directory_is_retryable_and_the_snapshot_is_written_once_fixed() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("out");
    std::fs::write(&dir, b"in the way").unwrap();
    let mut sink = exporter(&dir, |_| {});
    let err = sink
        .deliver(&snapshot("2025-01-03T10:00:00", 1.0))
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(err.message().contains("monitoring_20250103.json"), "{err}");
    let err = sink.flush().unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");

    std::fs::remove_file(&dir).unwrap();
    sink.flush().unwrap();
    assert_eq!(
        timestamps(&dir.join("monitoring_20250103.json")),
        ["2025-01-03T10:00:00"]
    );
    // The failed attempt did not count as an export: the interval runs from the write.
    sink.deliver(&snapshot("2025-01-03T10:00:30", 2.0)).unwrap();
    assert_eq!(timestamps(&dir.join("monitoring_20250103.json")).len(), 1);
}

/// The same with a read-only directory: permission bits are made to bind this test
/// even as root (see `obey_permissions`).
#[test]
fn a_read_only_directory_is_retryable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let Some(_obeying) = monitoring_test_support::obey_permissions() else {
        return;
    };
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    assert!(
        std::fs::write(dir.path().join("probe"), b"").is_err(),
        "the read-only directory accepts writes"
    );
    let mut sink = exporter(dir.path(), |_| {});
    let err = sink
        .deliver(&snapshot("2025-01-03T10:00:00", 1.0))
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    sink.flush().unwrap();
    assert_eq!(
        read_back(&dir.path().join("monitoring_20250103.json")).len(),
        1
    );
}

#[test]
fn a_file_that_is_not_ours_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("monitoring_20250103.json"),
        b"[{\"timestamp\": \"trunc",
    )
    .unwrap();
    let mut sink = exporter(dir.path(), |_| {});
    sink.deliver(&snapshot("2025-01-03T10:00:00", 1.0)).unwrap();
    assert_eq!(
        names(dir.path()),
        [
            "monitoring_20250103.json",
            "monitoring_20250103.json.corrupt"
        ]
    );
    assert_eq!(
        read_back(&dir.path().join("monitoring_20250103.json")).len(),
        1
    );
}

#[test]
fn obeys_the_sink_contract_and_asks_for_snapshots() {
    use monitoring_plugin_api::testing::{check_sink, Delivery};
    use monitoring_plugin_api::Exported;

    let dir = tempfile::tempdir().unwrap();
    let settings = json!({ "output_dir": dir.path(), "date_in_filename": false }).to_string();
    // Alerts are not this sink's business: they succeed without writing anything.
    check_sink::<JsonSink>(&settings, Delivery::Succeeds);
    assert_eq!(
        timestamps(&dir.path().join("monitoring.json")),
        ["2025-01-03T10:15:30.123456"]
    );
    assert!(JsonSink::root_module().wants_snapshots());
}
