//! The store through its public handle, with synthetic times (`record` takes `at_ms`,
//! so days replay in seconds) and the recorded real snapshots.

use std::time::Duration;

use monitoring_plugin_api::{Alert, AlertLevel, Sections};
use serde_json::json;

use super::paths::tests::recorded;
use super::*;

const DAY: i64 = 86_400_000;
/// A Monday, 00:00 UTC: whole minutes, hours and days.
const T0: i64 = 1_796_428_800_000;

fn settings(dir: &std::path::Path, limits: Limits) -> Settings {
    Settings {
        dir: dir.to_owned(),
        limits,
    }
}

fn open(dir: &std::path::Path) -> Store {
    Store::open(settings(dir, Limits::default())).expect("the store opens")
}

fn sections(value: f64) -> Sections {
    serde_json::from_value(json!({"test": {"value": value, "double": value * 2.0, "name": "x"}}))
        .expect("an object")
}

/// One tick every `every_ms` over `[from, to)`, `test.value` = the tick's second.
fn replay(store: &Store, from: i64, to: i64, every_ms: i64) {
    for (n, at) in (from..to).step_by(every_ms as usize).enumerate() {
        store.record("", at, &sections((at / 1000) as f64), &[]);
        if n % 1000 == 999 {
            store.flush();
        }
    }
    store.flush();
    assert_eq!(store.status().ticks_dropped, 0);
}

fn span(from_ms: i64, to_ms: i64) -> Span {
    Span { from_ms, to_ms }
}

#[test]
fn pending_ticks_are_queryable_and_buckets_are_exact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    replay(&store, T0, T0 + 60_000, 500);
    let got = store
        .query("", "test.value", span(T0, T0 + 59_999), 6)
        .expect("a query");
    assert_eq!(got.step_seconds, 10.0);
    assert_eq!(got.points.len(), 6);
    let first_second = (T0 / 1000) as f64;
    assert_eq!(
        got.points[0],
        [
            first_second,
            first_second,
            first_second + 4.5,
            first_second + 9.0
        ]
    );
    assert_eq!(store.status().samples_written, 240);
    let series = store.series("", "test.").expect("series");
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["test.double", "test.value"]);
    assert_eq!(series[1].last, (T0 + 59_500) as f64 / 1000.0);
    assert_eq!(store.hosts().expect("hosts"), [""]);
}

#[test]
fn bad_queries_say_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    replay(&store, T0, T0 + 2_000, 500);
    match store.query("", "nope", span(T0, T0 + 1), 10) {
        Err(QueryError::Bad(text)) => assert_eq!(text, "no series `nope` for this host"),
        other => panic!("expected Bad, got {other:?}"),
    }
    for points in [0, 100_001] {
        assert!(matches!(
            store.query("", "test.value", span(T0, T0 + 1), points),
            Err(QueryError::Bad(_))
        ));
    }
}

#[test]
fn days_roll_into_minutes_and_hours_and_old_ticks_go() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut limits = Limits::default();
    limits.tiers[0].keep = Duration::from_secs(86_400);
    let store = Store::open(settings(dir.path(), limits)).expect("opens");
    replay(&store, T0, T0 + 3 * DAY, 30_000);
    let status = store.status();
    let oldest: Vec<Option<f64>> = status.tiers.iter().map(|t| t.oldest).collect();
    let tick_oldest = oldest[0].expect("ticks kept");
    assert!(
        tick_oldest >= ((T0 + 2 * DAY) / 1000 - 600) as f64,
        "{oldest:?}"
    );
    assert_eq!(oldest[1], Some((T0 / 1000) as f64));
    assert_eq!(oldest[2], Some((T0 / 1000) as f64));
    assert!(status.tiers.iter().all(|t| !t.cut_short));

    // Two days back at hourly points: the tick tier no longer reaches, the hour
    // tier answers, and the time not rolled yet comes from minutes and ticks.
    let end = T0 + 3 * DAY - 1;
    let got = store
        .query("", "test.value", span(T0 + DAY, end), 48)
        .expect("a query");
    assert_eq!(got.step_seconds, 3600.0);
    assert_eq!(got.points.len(), 48);
    let [t, min, avg, max] = got.points[10];
    assert_eq!(t, (T0 + DAY) as f64 / 1000.0 + 36_000.0);
    assert_eq!(min, t);
    assert_eq!(max, t + 3570.0);
    assert_eq!(avg, t + 1785.0);
    let last = got.points[47];
    assert_eq!(
        last[3],
        ((T0 + 3 * DAY - 30_000) / 1000) as f64,
        "the newest tick is included"
    );

    // Recent time at a fine step: ticks.
    let got = store
        .query("", "test.value", span(end - 300_000, end), 1000)
        .expect("a query");
    assert_eq!(got.step_seconds, 0.5);
    assert_eq!(got.points.len(), 10);

    // Three days back: only minutes and hours reach; minutes are finer.
    let got = store
        .query("", "test.value", span(T0, end), 72)
        .expect("a query");
    assert_eq!(got.step_seconds, 3600.0);
    assert_eq!(got.points.len(), 72);
    assert_eq!(
        got.points[0],
        [
            (T0 / 1000) as f64,
            (T0 / 1000) as f64,
            (T0 / 1000) as f64 + 1785.0,
            (T0 / 1000) as f64 + 3570.0
        ]
    );
}

#[test]
fn size_caps_trim_the_oldest_and_mark_the_tier_cut_short() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    replay(&store, T0, T0 + 6 * 3_600_000, 5_000);
    let before = store.status();
    assert!(before.tiers.iter().all(|t| !t.cut_short));
    let tick_bytes = before.tiers[0].bytes;

    let mut limits = Limits::default();
    limits.tiers[0].max_bytes = Some(tick_bytes / 2);
    store.set_limits(limits);
    replay(
        &store,
        T0 + 6 * 3_600_000,
        T0 + 6 * 3_600_000 + 2_000,
        1_000,
    );
    let after = store.status();
    assert!(after.tiers[0].bytes <= tick_bytes / 2, "{after:?}");
    assert!(after.tiers[0].cut_short);
    assert!(after.tiers[0].oldest > before.tiers[0].oldest);
    assert!(!after.tiers[1].cut_short);

    // Only the total cap: the finest tier gives way first.
    let limits = Limits {
        max_bytes: after.tiers.iter().map(|t| t.bytes).sum::<u64>() - after.tiers[0].bytes / 2,
        ..Limits::default()
    };
    store.set_limits(limits);
    replay(
        &store,
        T0 + 7 * 3_600_000,
        T0 + 7 * 3_600_000 + 2_000,
        1_000,
    );
    let capped = store.status();
    assert!(capped.tiers.iter().map(|t| t.bytes).sum::<u64>() <= limits.max_bytes);
    assert!(capped.tiers[0].bytes < after.tiers[0].bytes);
    assert_eq!(
        capped.tiers[1].oldest, after.tiers[1].oldest,
        "minutes untouched"
    );
}

#[test]
fn a_reopened_store_keeps_what_was_committed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    for n in 0..20 {
        store.record("", T0 + n * 500, &sections(n as f64), &[]);
    }
    // Past the commit interval, then dropped without `close`.
    std::thread::sleep(Duration::from_millis(1_500));
    drop(store);
    let store = open(dir.path());
    let got = store
        .query("", "test.value", span(T0, T0 + 10_000), 10_000)
        .expect("a query");
    assert_eq!(got.points.len(), 20);
}

#[test]
fn a_second_store_on_one_folder_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _store = open(dir.path());
    match Store::open(settings(dir.path(), Limits::default())) {
        Err(OpenError::Locked { path, pid }) => {
            assert_eq!(path, dir.path());
            assert_eq!(pid, std::process::id().to_string());
        }
        Err(other) => panic!("expected Locked, got {other}"),
        Ok(_) => panic!("a second store opened"),
    }
}

#[test]
fn an_older_store_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(schema::DB_FILE);
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        let conn = schema::migrate(conn, &path, 1).expect("version 1");
        conn.execute("INSERT INTO series(host, name, unit, first_ms, last_ms) VALUES ('', 'old.value', NULL, 1000, 2000)", [])
            .expect("a series");
        conn.execute("INSERT INTO events(host, time_ms, end_ms, alert, kind) VALUES ('', 1500, NULL, 0, '{\"kind\":\"start\"}')", [])
            .expect("an event");
    }
    let store = open(dir.path());
    let series = store.series("", "").expect("series");
    assert_eq!(series.len(), 1);
    assert_eq!(
        (series[0].name.as_str(), series[0].first, series[0].last),
        ("old.value", 1.0, 2.0)
    );
    let events = store.events(None, span(0, 3000)).expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::Start);
    // The newer step's table works.
    let processes: Sections = serde_json::from_value(
        json!({"processes": {"top_cpu": [{"pid": 1, "name": "init"}], "total": 1}}),
    )
    .expect("object");
    store.record("", T0, &processes, &[]);
    store.flush();
    assert!(store.processes("", T0).expect("processes").is_some());
}

fn alert(level: AlertLevel, value: f64) -> Alert {
    Alert {
        timestamp: String::new(),
        component: "memory".into(),
        metric: "percentage".into(),
        value,
        threshold: 80.0,
        level,
        message: format!("High memory usage: {value:.1}% (threshold: 80.0%)"),
        ..Default::default()
    }
}

#[test]
fn alert_episodes_open_and_close() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    let warn = |v| alert(AlertLevel::Warning, v);
    let ticks: [&[Alert]; 5] = [&[], &[warn(81.0)], &[warn(85.0)], &[], &[warn(90.0)]];
    for (n, alerts) in ticks.iter().enumerate() {
        store.record("", T0 + n as i64 * 1000, &sections(1.0), alerts);
    }
    store.record_event(Event {
        host: String::new(),
        time: (T0 / 1000) as f64,
        end: None,
        kind: EventKind::Start,
    });
    store.flush();
    drop(store);
    // The still-open episode is closed at the last tick on open.
    let store = open(dir.path());
    let events = store
        .events(Some(""), span(T0, T0 + 10_000))
        .expect("events");
    let times: Vec<(f64, Option<f64>)> = events
        .iter()
        .map(|e| {
            (
                e.time - (T0 / 1000) as f64,
                e.end.map(|e| e - (T0 / 1000) as f64),
            )
        })
        .collect();
    assert_eq!(times, [(0.0, None), (1.0, Some(3.0)), (4.0, Some(4.0))]);
    match &events[1].kind {
        EventKind::Alert { level, value, .. } => {
            assert_eq!((level.as_str(), *value), ("WARNING", 81.0))
        }
        other => panic!("expected an alert, got {other:?}"),
    }
}

#[test]
fn top_processes_are_kept_once_a_minute() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    let snapshots = recorded(20);
    for n in 0..360 {
        store.record(
            "",
            T0 + n * 500,
            &snapshots[n as usize % snapshots.len()],
            &[],
        );
    }
    store.flush();
    assert_eq!(store.processes("", T0 - 1).expect("query"), None);
    let at = store
        .processes("", T0 + 150_000)
        .expect("query")
        .expect("kept");
    assert_eq!(at.time, (T0 + 120_000) as f64 / 1000.0);
    assert_eq!(at.top_cpu.len(), 10);
    assert_eq!(at.top_memory.len(), 10);
    assert!(at.top_cpu[0].get("pid").is_some());
}

/// Bytes per stored sample at tick resolution on 30 minutes of the recorded real
/// snapshots (cycled when fewer were recorded), replayed at 2 Hz.
#[test]
fn real_snapshots_compress_to_under_a_byte_per_sample() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    let snapshots = recorded(3_600);
    let ticks = 3_600;
    for n in 0..ticks {
        store.record(
            "",
            T0 + n * 500,
            &snapshots[n as usize % snapshots.len()],
            &[],
        );
        if n % 500 == 499 {
            store.flush();
        }
    }
    // The next window's first tick seals the last full one.
    store.record("", T0 + ticks * 500, &snapshots[0], &[]);
    store.close();
    let status = store.status();
    let samples = status.samples_written as f64;
    let chunk_bytes = status.tiers[0].bytes as f64;
    println!(
        "{} snapshots recorded, {samples} samples: tick chunks {:.3} B/sample, file {:.3} B/sample",
        snapshots.len(),
        chunk_bytes / samples,
        status.bytes as f64 / samples
    );
    assert!(
        chunk_bytes / samples < 1.0,
        "{} B/sample",
        chunk_bytes / samples
    );
}
