//! The JSON routes end to end: the real server with the real collectors, asked over
//! real HTTP on its WebSocket port. Shapes of `/api/current`, `/api/history`,
//! `/api/alerts` and `/health`; the history bounded by a small `history_size`; 503
//! before the first snapshot. (The TTL is unit-tested with injected time in
//! `host/src/history.rs`: an hour is too long to wait for here; the 400s that say what
//! is wrong need no plugins and are tested in process, in `host/tests/server.rs`.)

use std::time::{Duration, Instant};

use monitoring_test_support::http::{encode, get, Reply};
use monitoring_test_support::{Server, Setup, CORE_COLLECTORS};
use serde_json::Value;

const HISTORY_SIZE: usize = 5;

/// Core collectors, a fast tick, a history of 5 and a memory rule that always fires.
fn start() -> Server {
    let config = format!(
        "[monitor]\ninterval = 0.1\ncollect_timeout = 0.08\nhistory_size = {HISTORY_SIZE}\n\n\
         [alerts]\ncooldown = 300.0\ngroup_wait = 0.0\ngroup_interval = 1.0\n\n[[alerts.rules]]\nmetric = \"memory.percentage\"\n\
         component = \"memory\"\nwarning = 1.0\n"
    );
    Server::start(Setup {
        plugins: &CORE_COLLECTORS,
        config: &config,
        extra_files: &[],
    })
}

/// Polls `path` until `pred` holds.
fn wait_for(server: &Server, path: &str, pred: impl Fn(&Reply) -> bool) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = get(server.port, path);
        if pred(&reply) {
            return reply;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never satisfied the condition; last reply: {reply:?}\nlog:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn json_routes_have_the_documented_shapes() {
    let server = start();

    let current = wait_for(&server, "/api/current", |r| r.status == 200).json();
    assert!(current.get("type").is_none(), "no `type`: {current}");
    monitoring_test_support::parse_timestamp(&current["timestamp"]);
    let percentage = current["data"]["memory"]["percentage"].as_f64();
    assert!(
        percentage.is_some_and(|p| (0.0..=100.0).contains(&p)),
        "{current}"
    );
    assert!(current["data"]["processor"]["usage_percent"].is_number());
    assert!(
        current["alerts"].is_array(),
        "alerts always present: {current}"
    );

    // The history fills up to its size and no further.
    let full = wait_for(&server, "/api/history", |r| {
        r.status == 200 && r.json()["count"] == HISTORY_SIZE
    })
    .json();
    assert_eq!(full["history_size"], HISTORY_SIZE);
    assert_eq!(full["ttl_seconds"], 3600);
    let snapshots = full["snapshots"].as_array().expect("snapshots array");
    let stamps: Vec<_> = snapshots
        .iter()
        .map(|s| monitoring_test_support::parse_timestamp(&s["timestamp"]))
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {stamps:?}"
    );
    assert!(snapshots
        .iter()
        .all(|s| s["data"].is_object() && s["alerts"].is_array()));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        get(server.port, "/api/history").json()["count"],
        HISTORY_SIZE
    );

    let three = get(server.port, "/api/history?count=3").json();
    assert_eq!(three["count"], 3);
    let three_stamps: Vec<_> = three["snapshots"]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| monitoring_test_support::parse_timestamp(&s["timestamp"]))
        .collect();
    assert!(three_stamps.windows(2).all(|w| w[0] < w[1]));

    // `since` selects by snapshot time, inclusive.
    let since = three["snapshots"][1]["timestamp"]
        .as_str()
        .expect("timestamp");
    let later = get(
        server.port,
        &format!("/api/history?since={}", encode(since)),
    )
    .json();
    let later_count = later["count"].as_u64().expect("count");
    assert!(later_count >= 2, "{later}");
    assert!(later["snapshots"]
        .as_array()
        .expect("array")
        .iter()
        .all(|s| monitoring_test_support::parse_timestamp(&s["timestamp"]) >= three_stamps[1]));
    let with_offset = get(
        server.port,
        "/api/history?since=2000-01-01T00:00:00Z&count=2",
    );
    assert_eq!(with_offset.json()["count"], 2, "{with_offset:?}");
    let future = get(server.port, "/api/history?since=2999-01-01T00:00:00").json();
    assert_eq!(future["count"], 0);

    // Active alerts and the log.
    let alerts = wait_for(&server, "/api/alerts", |r| {
        r.json()["recent"].as_array().is_some_and(|a| !a.is_empty())
    })
    .json();
    assert_eq!(alerts["active"][0]["component"], "memory", "{alerts}");
    assert_eq!(alerts["active"][0]["level"], "WARNING");
    assert_eq!(alerts["recent"][0]["event"], "fired");
    assert_eq!(alerts["recent"][0]["alert"]["component"], "memory");
    assert!(alerts["fired_total"].as_u64().is_some_and(|n| n >= 1));
}

#[test]
fn health_reports_every_section() {
    let server = start();
    let reply = wait_for(&server, "/health", |r| {
        r.status == 200
            && r.json()["collectors"]
                .as_array()
                .is_some_and(|c| c.iter().all(|c| c["last_success"].is_string()))
    });
    let health = reply.json();
    assert!(
        matches!(health["status"].as_str(), Some("ok" | "degraded")),
        "{health}"
    );
    assert_eq!(health["service"]["status"], health["status"]);
    assert_eq!(health["service"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(health["service"]["uptime_seconds"]
        .as_f64()
        .is_some_and(|s| s >= 0.0));
    let loaded: Vec<&str> = health["plugins"]["loaded"]
        .as_array()
        .expect("loaded")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(loaded.len(), 4, "{loaded:?}");
    assert!(health["plugins"]["refused"].is_array());
    let collectors = health["collectors"].as_array().expect("collectors");
    assert_eq!(collectors.len(), 4);
    for collector in collectors {
        assert_eq!(collector["state"], "ok", "{collector}");
        assert_eq!(collector["consecutive_failures"], 0);
        assert_eq!(collector["hung"], false);
        assert!(collector["backoff_ms"].is_number());
    }
    assert!(health["sinks"].is_array());
    assert_eq!(health["clients"]["connected"], 0);
    assert!(health["clients"]["websocket"]["frames_sent"].is_number());
    let memory = &health["memory"];
    if cfg!(target_os = "linux") {
        assert!(
            memory["rss_bytes"].as_u64().is_some_and(|b| b > 0),
            "{memory}"
        );
        assert!(memory["threads"].as_u64().is_some_and(|n| n > 1));
        assert!(memory["open_files"].as_u64().is_some_and(|n| n > 0));
    }
    assert!(memory["trend"]["status"].is_string(), "{memory}");
    assert_eq!(memory["trend"]["growing"], false);
    assert!(health["last_snapshot"]["seq"]
        .as_u64()
        .is_some_and(|n| n >= 1));
    assert!(health["problems"].as_array().is_some_and(Vec::is_empty));
}

/// A snapshot is stamped when its tick asked the collectors, not when the last answer
/// came (see `Snapshot::taken`): with a collector that never returns, the first tick
/// waits out its 2 s deadline, and the snapshot it then publishes is 2 s old.
#[test]
fn a_snapshot_carries_the_instant_its_tick_asked_the_collectors() {
    let server = Server::start(Setup {
        plugins: &["fixture-hangs", "collector-memory"],
        config: "[monitor]\ninterval = 10.0\ncollect_timeout = 2.0\n",
        extra_files: &[],
    });
    let current = wait_for(&server, "/api/current", |reply| reply.status == 200);
    let seen = chrono::Local::now().naive_local();
    let snapshot: Value = current.json();
    let stamp = snapshot["timestamp"].as_str().expect("a timestamp");
    let taken = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.f")
        .expect("an ISO local time");
    let age = (seen - taken).to_std().expect("taken before it was seen");
    // Polled every 50 ms from well before the deadline: seen within ~0.1 s of being
    // published, which is the deadline after it was asked for.
    assert!(
        age >= Duration::from_millis(1800) && age < Duration::from_secs(4),
        "published {age:?} after its timestamp {stamp}"
    );
    assert!(snapshot["data"]["memory"].is_object(), "{snapshot}");
}

/// A collector that never returns, a long tick and a long deadline: the first snapshot
/// comes only after the deadline, and until then there is nothing to serve.
#[test]
fn before_the_first_snapshot_current_and_health_answer_503() {
    let server = Server::start(Setup {
        plugins: &["fixture-hangs"],
        config: "[monitor]\ninterval = 10.0\ncollect_timeout = 6.0\n",
        extra_files: &[],
    });
    let current = get(server.port, "/api/current");
    assert_eq!(current.status, 503, "{current:?}");
    assert!(current.json()["error"]
        .as_str()
        .is_some_and(|e| e.contains("no snapshot yet")));
    let health = get(server.port, "/health");
    assert_eq!(health.status, 503, "{health:?}");
    let health: Value = health.json();
    assert_eq!(health["status"], "starting");
    assert_eq!(health["collectors"][0]["busy"], true, "{health}");
    let history = get(server.port, "/api/history").json();
    assert_eq!(history["count"], 0);
    // /metrics still answers with the server's own series.
    let metrics = get(server.port, "/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("monitoring_server_connected_clients"));
}
