//! The gateway's unit tests: the view, the fan-out, the summaries and the news a
//! sweep hands the lifecycle, without a bus.

use super::*;
use crate::fleet::feed::{FeedReceiver, Follow};

#[test]
fn the_host_is_spliced_in_front() {
    let tagged =
        tag_with_host(r#"{"type":"monitoring_data","data":{}}"#, "web-1").expect("an object");
    let value: serde_json::Value = serde_json::from_str(&tagged).expect("still JSON");
    assert_eq!(value["host"], "web-1");
    assert_eq!(value["type"], "monitoring_data");
    assert_eq!(tag_with_host("{}", "a").as_deref(), Some(r#"{"host":"a"}"#));
    assert_eq!(tag_with_host("[1]", "a"), None);
}

fn gateway() -> (Gateway, FleetStatus) {
    let gateway = Gateway::new(
        "gw",
        Duration::from_secs(3),
        Duration::from_secs(60),
        1024,
        None,
    );
    let status = FleetStatus::new("gw".into(), "nats://x".into(), "none", true, Arc::default());
    (gateway, status)
}

fn json(text: &Utf8Bytes) -> serde_json::Value {
    serde_json::from_str(text.as_str()).expect("JSON")
}

const FRAME: &[u8] = br#"{"type":"monitoring_data","timestamp":"t","data":{"memory":{"percentage":42.0}},"alerts":[]}"#;

#[test]
fn a_frame_reaches_watchers_and_the_view() {
    let (gateway, status) = gateway();
    let followed = ["web-1".to_owned()];
    let mut watcher = gateway.subscribe(Follow::Hosts(&followed));
    let mut elsewhere = gateway.subscribe(Follow::Hosts(&["db-1".to_owned()]));
    gateway.on_frame("web-1", FRAME, &status);
    gateway.on_frame("web-1", b"not json", &status);
    let Ok(FleetEvent::Data(text)) = watcher.try_recv() else {
        panic!("the data at once");
    };
    assert!(elsewhere.try_recv().is_err(), "only to who follows web-1");
    assert!(text
        .as_str()
        .starts_with(r#"{"host":"web-1","type":"monitoring_data""#));
    assert!(watcher.try_recv().is_err(), "the change waits for the tick");
    gateway.sweep(Instant::now());
    let Ok(FleetEvent::Hosts(hosts)) = watcher.try_recv() else {
        panic!("then the tick's hosts message");
    };
    let hosts = json(&hosts);
    assert_eq!(hosts["type"], "hosts");
    assert_eq!(hosts["full"], false);
    assert_eq!(hosts["hosts"][0]["name"], "web-1");
    assert_eq!(hosts["hosts"][0]["state"], "up");
    assert_eq!(hosts["changes"][0]["to"], "up");
    assert!(
        matches!(watcher.try_recv(), Ok(FleetEvent::Summaries(_))),
        "and the overviews' first rows"
    );
    assert_eq!(gateway.hosts()[0].summary.memory_percent, Some(42.0));
    let report = status.report();
    assert_eq!((report.frames_received, report.malformed), (1, 1));
    assert_eq!(gateway.greeting(|_| true).len(), 2);
    assert_eq!(json(&gateway.greeting(|_| true)[0])["full"], true);
    assert_eq!(gateway.greeting(|name| name == "other").len(), 1);
    gateway.sweep(Instant::now());
    assert!(watcher.try_recv().is_err(), "no change, no message");
}

#[test]
fn a_flood_of_names_is_one_difference_per_tick() {
    let (gateway, status) = gateway();
    gateway.on_frame("web-1", FRAME, &status);
    gateway.sweep(Instant::now());
    let mut watcher = gateway.subscribe(Follow::Everything);
    for i in 0..5000 {
        gateway.on_frame(&format!("flood-{i}"), FRAME, &status);
    }
    gateway.sweep(Instant::now());
    let mut hosts_messages = Vec::new();
    loop {
        match watcher.try_recv() {
            Ok(FleetEvent::Hosts(text)) => hosts_messages.push(json(&text)),
            Ok(FleetEvent::Data(_) | FleetEvent::Summaries(_))
            | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
    assert_eq!(hosts_messages.len(), 1, "one message for the tick");
    let message = &hosts_messages[0];
    assert_eq!(message["changes"].as_array().map(Vec::len), Some(5000));
    let listed = message["hosts"].as_array().expect("a list");
    assert_eq!(listed.len(), 5000, "only the changed hosts");
    assert!(listed.iter().all(|host| host["name"] != "web-1"));
    assert_eq!(
        json(&gateway.table())["hosts"].as_array().map(Vec::len),
        Some(5001)
    );
}

#[test]
fn overviews_get_the_rows_that_changed_once_per_second() {
    let (gateway, status) = gateway();
    let mut watcher = gateway.subscribe(Follow::Summaries);
    let start = Instant::now();
    gateway.on_frame("web-1", FRAME, &status);
    gateway.sweep(start);
    let summaries = |watcher: &mut FeedReceiver| {
        let mut found = Vec::new();
        while let Ok(event) = watcher.try_recv() {
            match event {
                FleetEvent::Summaries(text) => found.push(json(&text)),
                FleetEvent::Data(_) => panic!("an overview gets no frames"),
                FleetEvent::Hosts(_) => {}
            }
        }
        found
    };
    let first = summaries(&mut watcher);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["type"], "host_summaries");
    assert_eq!(first[0]["hosts"][0]["name"], "web-1");
    assert_eq!(first[0]["hosts"][0]["memory_percent"], 42.0);
    assert_eq!(first[0]["hosts"][0]["alerts"], 0);
    gateway.on_frame("web-2", FRAME, &status);
    gateway.sweep(start + Duration::from_millis(500));
    assert!(summaries(&mut watcher).is_empty(), "within the second");
    gateway.on_frame("web-1", FRAME, &status);
    gateway.sweep(start + Duration::from_secs(1));
    let next = summaries(&mut watcher);
    let names: Vec<&Value> = next[0]["hosts"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| &row["name"])
        .collect();
    assert_eq!(names, ["web-2"], "web-1 did not change");
    let table = json(&gateway.summaries_table());
    assert_eq!(table["full"], true);
    assert_eq!(table["hosts"].as_array().map(Vec::len), Some(2));
}

#[test]
fn an_oversize_frame_is_refused_unread_and_counted() {
    let (gateway, status) = gateway();
    let mut watcher = gateway.subscribe(Follow::Everything);
    gateway.on_frame("web-1", FRAME, &status);
    let mut big = FRAME.to_vec();
    big.resize(1025, b' ');
    gateway.on_frame("web-1", &big, &status);
    gateway.on_frame("stranger", &big, &status);
    let report = status.report();
    assert_eq!((report.frames_received, report.frames_oversize), (1, 2));
    let hosts = gateway.hosts();
    assert_eq!(hosts.len(), 1, "a refused frame adds no host");
    assert_eq!(hosts[0].frames_oversize, 1);
    assert!(matches!(watcher.try_recv(), Ok(FleetEvent::Data(_))));
    assert!(watcher.try_recv().is_err(), "nothing forwarded");
}

#[test]
fn sweeps_tell_the_lifecycle_what_changed_in_each_hosts_alerts_and_state() {
    let (gateway, status) = gateway();
    let frame = |level: &str| {
        serde_json::json!({"type": "monitoring_data", "timestamp": "t", "tags": ["db"],
            "data": {}, "alerts": [{"timestamp": "t", "component": "memory",
            "metric": "usage_percent", "value": 91.0, "threshold": 90.0, "level": level,
            "message": "High memory usage", "host": "someone-else"}]})
        .to_string()
    };
    let start = Instant::now();
    gateway.on_frame("web-2", frame("WARNING").as_bytes(), &status);
    let news = gateway.sweep(start);
    let [FleetNews::Alerts { host, tags, active }] = &news[..] else {
        panic!("{news:?}");
    };
    assert_eq!(
        (host.as_str(), tags.as_slice()),
        ("web-2", ["db".to_owned()].as_slice())
    );
    assert_eq!(
        active[0].host, "web-2",
        "the subject names the host, not the payload"
    );
    assert_eq!(active[0].fingerprint.len(), 16);
    gateway.on_frame("web-2", frame("WARNING").as_bytes(), &status);
    assert!(gateway.sweep(start).is_empty(), "same alerts: no news");
    gateway.on_frame("web-2", frame("CRITICAL").as_bytes(), &status);
    assert_eq!(gateway.sweep(start).len(), 1, "escalated");
    gateway.unreport("web-2");
    assert_eq!(gateway.sweep(start).len(), 1, "reported again");
    let stale = gateway.sweep(Instant::now() + Duration::from_secs(4));
    assert_eq!(
        stale,
        [FleetNews::Down {
            host: "web-2".into(),
            down: true
        }]
    );
}

#[test]
fn one_frame_per_host_per_history_interval_is_kept_and_every_frame_counts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = crate::store::Store::open(crate::store::Settings {
        dir: dir.path().to_owned(),
        limits: crate::store::Limits::default(),
    })
    .expect("the store opens");
    let gateway = Gateway::new(
        "gw",
        Duration::from_secs(3),
        Duration::from_secs(60),
        1024,
        Some(FleetHistory {
            store: store.clone(),
            every: Duration::from_secs(3600),
        }),
    );
    let status = FleetStatus::new("gw".into(), "nats://x".into(), "none", true, Arc::default());
    let frame = |memory: f64| {
        serde_json::json!({"type": "monitoring_data", "timestamp": "t",
            "data": {"memory": {"percentage": memory}}, "alerts": []})
        .to_string()
    };
    for memory in [10.0, 20.0, 30.0] {
        gateway.on_frame("web-1", frame(memory).as_bytes(), &status);
        gateway.on_frame("web-2", frame(memory + 1.0).as_bytes(), &status);
    }
    assert_eq!(
        gateway.hosts()[0].summary.memory_percent,
        Some(30.0),
        "every frame updates the tile"
    );
    store.flush();
    let now = chrono::Utc::now().timestamp_millis();
    let span = crate::store::Span {
        from_ms: now - 60_000,
        to_ms: now + 60_000,
    };
    for (host, first) in [("web-1", 10.0), ("web-2", 11.0)] {
        let kept = store
            .query(host, "memory.percentage", span, 1000)
            .expect("a query");
        let values: Vec<f64> = kept.points.iter().map(|point| point[2]).collect();
        assert_eq!(
            values,
            [first],
            "{host}: its first frame only, within the hour"
        );
    }
}
