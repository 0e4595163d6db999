//! The on-disk history (issue 22) with the real binary: kept with no configuration,
//! answered after a restart and after `kill -9`, every number a series by its path,
//! queries checked and guarded like every route, and the faults: a full disk (a real
//! tmpfs filled to the last byte), a corrupt file, two servers on one folder, a folder
//! that cannot be made.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use monitoring_test_support::http::{get, get_with};
use monitoring_test_support::{
    connect, connect_with_token, next_of_type, run_to_exit, send_text, Server, Setup,
    CORE_COLLECTORS,
};
use serde_json::Value;

const SECOND: Duration = Duration::from_secs(1);

/// Every collector whose sections have arrays keyed by name, and the processes.
const MACHINE_COLLECTORS: [&str; 6] = [
    "collector-cpu",
    "collector-memory",
    "collector-disk",
    "collector-network",
    "collector-disk-io",
    "collector-processes",
];

fn start(config: &str) -> Server {
    Server::start(Setup {
        plugins: &CORE_COLLECTORS,
        config,
        extra_files: &[],
    })
}

fn now() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// `GET path`, asserting 200, as JSON.
fn ok_json(server: &Server, path: &str) -> Value {
    let reply = get(server.port, path);
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.json()
}

/// The `[t, min, avg, max]` points of `series` over the last `from`; none while the
/// series has not been written yet.
fn points(server: &Server, series: &str, from: &str) -> Vec<Vec<f64>> {
    let path = format!("/api/query?series={series}&from={from}&points=10000");
    let reply = get(server.port, &path);
    if reply.status == 400 && reply.body.contains("no series") {
        return Vec::new();
    }
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    let body = reply.json();
    assert_eq!(body["series"], series, "{body}");
    body["points"]
        .as_array()
        .unwrap_or_else(|| panic!("points: {body}"))
        .iter()
        .map(|p| {
            p.as_array()
                .expect("a point is a list")
                .iter()
                .map(|v| v.as_f64().expect("numbers"))
                .collect()
        })
        .collect()
}

/// Waits until `check` holds, up to `timeout`.
fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

fn event_kinds(server: &Server) -> Vec<String> {
    let body = ok_json(server, "/api/events?from=-1h");
    body["events"]
        .as_array()
        .unwrap_or_else(|| panic!("events: {body}"))
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn history_is_kept_with_no_configuration_and_answered_after_a_restart() {
    let server = start("");
    assert!(
        wait_until(10 * SECOND, || points(&server, "memory.percentage", "-5m")
            .len()
            >= 4),
        "no points of memory.percentage; log:\n{}",
        server.log_text()
    );
    let series = ok_json(&server, "/api/series");
    let names: Vec<&str> = series["series"]
        .as_array()
        .expect("series list")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    for wanted in [
        "memory.percentage",
        "processor.usage_percent",
        "disk.percentage",
    ] {
        assert!(names.contains(&wanted), "{wanted} not in {names:?}");
    }
    let memory = series["series"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["name"] == "memory.percentage"))
        .expect("memory.percentage listed");
    assert_eq!(memory["unit"], "percent", "{memory}");
    let before = points(&server, "memory.percentage", "-5m");
    let data = server.dir.path().join("data");
    assert!(data.is_dir(), "data/ next to plugins.toml");

    let dir = server.stop_keeping_dir("TERM");
    let restarted_at = now();
    let server = Server::restart_in(dir);
    let after = points(&server, "memory.percentage", "-5m");
    let earlier = after.iter().filter(|p| p[0] < restarted_at).count();
    assert!(
        earlier >= before.len(),
        "{earlier} points from before the restart, {} were there",
        before.len()
    );
    for point in &after {
        assert!(
            point[1] <= point[2] && point[2] <= point[3],
            "min <= avg <= max: {point:?}"
        );
        assert!((0.0..=100.0).contains(&point[2]), "a percentage: {point:?}");
    }
    // The server's own events, in order (an alert may fall between them).
    let lifecycle = || -> Vec<String> {
        event_kinds(&server)
            .into_iter()
            .filter(|k| k == "start" || k == "stop")
            .collect()
    };
    assert!(
        wait_until(5 * SECOND, || lifecycle() == ["start", "stop", "start"]),
        "start, stop, start on the timeline: {:?}",
        event_kinds(&server)
    );
}

#[test]
fn kill_9_loses_at_most_the_last_second() {
    let server = start("[monitor]\ninterval = 0.1\ncollect_timeout = 0.05\n");
    assert!(wait_until(10 * SECOND, || points(
        &server,
        "memory.percentage",
        "-1m"
    )
    .len()
        >= 20));
    std::thread::sleep(2 * SECOND);
    let seen = points(&server, "memory.percentage", "-1m");
    let last_seen = seen.last().expect("points")[0];
    let dir = server.stop_keeping_dir("KILL");
    let server = Server::restart_in(dir);
    let kept = points(&server, "memory.percentage", "-1m");
    let last_kept = kept
        .iter()
        .map(|p| p[0])
        .filter(|t| *t <= last_seen)
        .fold(f64::MIN, f64::max);
    assert!(
        last_kept >= last_seen - 1.2,
        "the last sample kept is {:.1} s older than the last one seen before kill -9",
        last_seen - last_kept
    );
    assert!(
        !server.log_text().contains("corrupt"),
        "a killed store is not corrupt; log:\n{}",
        server.log_text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_number_is_a_series_by_path_and_processes_are_kept() {
    let server = Server::start(Setup {
        plugins: &MACHINE_COLLECTORS,
        config: "",
        extra_files: &[],
    });
    let listed = |prefix: &str| -> Vec<String> {
        ok_json(&server, &format!("/api/series?prefix={prefix}"))["series"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|s| s["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(wait_until(10 * SECOND, || !listed("network.interfaces[").is_empty()));
    let current = ok_json(&server, "/api/current");
    let interface = current["data"]["network"]["interfaces"][0]["name"]
        .as_str()
        .expect("an interface name")
        .to_owned();
    let interfaces = listed("network.interfaces[");
    let wanted = format!("network.interfaces[{interface}].rx_bytes_per_sec");
    assert!(
        interfaces.contains(&wanted),
        "{wanted} not in {interfaces:?}"
    );
    assert!(
        listed("processor.per_core_usage[").contains(&"processor.per_core_usage[0]".to_owned()),
        "per-core usage by index"
    );
    let processes = listed("processes.");
    assert!(
        processes
            .iter()
            .all(|name| !name.contains("top_cpu") && !name.contains("pid")),
        "the process lists are not series: {processes:?}"
    );
    let series = format!("network.interfaces[{interface}].rx_bytes");
    let body = ok_json(
        &server,
        &format!(
            "/api/query?series={}&from=-5m",
            monitoring_test_support::http::encode(&series)
        ),
    );
    assert!(
        !body["points"].as_array().expect("points").is_empty(),
        "{body}"
    );

    let top = ok_json(&server, "/api/processes?at=now");
    let names: Vec<&str> = top["top_cpu"]
        .as_array()
        .expect("top_cpu")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(!names.is_empty(), "{top}");
    assert!(top["top_cpu"].as_array().map_or(0, Vec::len) <= 10, "{top}");
    assert_eq!(
        get(server.port, "/api/processes?at=1000000000").status,
        404,
        "nothing recorded in 2001"
    );

    // The same over the WebSocket, with the client's id echoed.
    let mut ws = connect(&server.url("/")).await;
    send_text(
        &mut ws,
        r#"{"type":"query","series":["memory.percentage","processor.usage_percent"],"from":"-5m","points":50,"id":7}"#,
    )
    .await;
    let (answer, _) = next_of_type(&mut ws, "query_result", 5 * SECOND)
        .await
        .expect("a query_result");
    assert_eq!(answer["id"], 7, "{answer}");
    assert_eq!(answer["what"], "query", "{answer}");
    let results = answer["results"].as_array().expect("two results");
    assert_eq!(results[0]["series"], "memory.percentage");
    assert_eq!(results[1]["series"], "processor.usage_percent");
    assert!(results[0]["points"].as_array().map_or(0, Vec::len) <= 50);
    send_text(&mut ws, r#"{"type":"query","what":"events","from":"-1h"}"#).await;
    let (events, _) = next_of_type(&mut ws, "query_result", 5 * SECOND)
        .await
        .expect("events");
    assert_eq!(events["events"][0]["kind"], "start", "{events}");
    send_text(
        &mut ws,
        r#"{"type":"query","series":"memory.percentage","from":"yesterday"}"#,
    )
    .await;
    let (error, _) = next_of_type(&mut ws, "error", 5 * SECOND)
        .await
        .expect("an error");
    assert_eq!(error["code"], "INVALID_PARAMS", "{error}");
    assert!(error["message"]
        .as_str()
        .unwrap_or_default()
        .contains("`from` must be a time"));
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_are_checked_and_need_the_viewer_token() {
    const VIEWER: &str = "viewer-token-for-history-0123456789";
    let server = Server::start_with_env(
        Setup {
            plugins: &CORE_COLLECTORS,
            config: "[access]\nviewer_token_env = \"HISTORY_VIEWER_TOKEN\"\n",
            extra_files: &[],
        },
        &[("HISTORY_VIEWER_TOKEN", VIEWER)],
    );
    let bearer = format!("Bearer {VIEWER}");
    let auth = [("Authorization", bearer.as_str())];
    for path in [
        "/api/series",
        "/api/query?series=memory.percentage",
        "/api/events",
        "/api/processes",
    ] {
        assert_eq!(
            get(server.port, path).status,
            401,
            "{path} without the token"
        );
    }
    let cases = [
        ("/api/query", "`series` must name a series"),
        (
            "/api/query?series=memory.percentage&points=0",
            "`points` must be",
        ),
        (
            "/api/query?series=memory.percentage&from=-1h&to=-2h",
            "before `to`",
        ),
        (
            "/api/query?series=memory.percentage&from=soon",
            "`from` must be a time",
        ),
        ("/api/query?series=no.such.series", "no series"),
        ("/api/events?limit=3", "unknown parameter `limit`"),
    ];
    assert!(wait_until(10 * SECOND, || {
        get_with(server.port, "/api/query?series=memory.percentage", &auth).status == 200
    }));
    for (path, expected) in cases {
        let reply = get_with(server.port, path, &auth);
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        let message = reply.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains(expected), "{path}: {message}");
    }
    let mut ws = connect_with_token(&server.url("/"), VIEWER).await;
    send_text(
        &mut ws,
        r#"{"type":"query","what":"series","prefix":"memory."}"#,
    )
    .await;
    let (answer, _) = next_of_type(&mut ws, "query_result", 5 * SECOND)
        .await
        .expect("a query_result");
    assert!(
        answer["series"].as_array().is_some_and(|s| !s.is_empty()),
        "{answer}"
    );
}

/// A tmpfs of `size` mounted on `at` (root only), unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs (to fill a disk for real) needs root: run the tests as root, \
             as CI does"
        );
        Self(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the file system is full; returns the bytes written.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("filler");
    let block = vec![0x5au8; 64 * 1024];
    let mut written = 0;
    loop {
        match file.write(&block) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    let _ = file.sync_all();
    written
}

fn health_warnings(server: &Server) -> Vec<String> {
    get(server.port, "/health").json()["warnings"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|w| w.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_never_stops_collection_or_the_stream_and_writes_resume() {
    let scratch = tempfile::tempdir().expect("scratch");
    let mount = scratch.path().join("disk");
    let disk = Tmpfs::mount(&mount, "16m");
    let data = mount.join("data");
    let server = start(&format!(
        "[monitor]\ninterval = 0.1\ncollect_timeout = 0.05\n\n[history]\ndir = \"{}\"\n",
        data.display()
    ));
    assert!(wait_until(10 * SECOND, || !points(
        &server,
        "memory.percentage",
        "-1m"
    )
    .is_empty()));
    let filler = mount.join("filler");
    let full_from = now();
    assert!(fill(&filler) > 0);

    assert!(
        wait_until(30 * SECOND, || health_warnings(&server)
            .iter()
            .any(|w| w.starts_with("history: cannot write"))),
        "/health says the history cannot write; warnings: {:?}\nlog:\n{}",
        health_warnings(&server),
        server.log_text()
    );
    // The stream goes on, at its pace.
    let mut ws = connect(&server.url("/")).await;
    let started = Instant::now();
    let mut frames = 0;
    while started.elapsed() < 2 * SECOND {
        if next_of_type(&mut ws, "monitoring_data", SECOND)
            .await
            .is_some()
        {
            frames += 1;
        }
    }
    assert!(
        frames >= 10,
        "{frames} frames in 2 s while the disk is full"
    );
    assert_eq!(
        get(server.port, "/health").status,
        200,
        "degraded, still serving"
    );

    std::fs::remove_file(&filler).expect("free the disk");
    let freed_at = now();
    assert!(
        wait_until(30 * SECOND, || !health_warnings(&server)
            .iter()
            .any(|w| w.starts_with("history: cannot write"))),
        "the warning clears once space returns: {:?}",
        health_warnings(&server)
    );
    // The ticks taken while the disk was full were kept for the write that succeeded.
    let during = points(&server, "memory.percentage", "-5m")
        .iter()
        .filter(|p| p[0] >= full_from && p[0] <= freed_at)
        .count();
    // Ticks of 0.1 s fall into points of `step_seconds` (the tick tier's 0.5 s).
    let step = ok_json(
        &server,
        "/api/query?series=memory.percentage&from=-5m&points=10000",
    )["step_seconds"]
        .as_f64()
        .expect("step_seconds");
    let expected = ((freed_at - full_from) / step) as usize;
    assert!(
        during * 2 >= expected,
        "{during} of about {expected} points of the time the disk was full are stored; log:\n{}",
        server.log_text()
    );
    let dir = server.stop_keeping_dir("TERM");
    let server = Server::restart_in(dir);
    assert!(!points(&server, "memory.percentage", "-5m").is_empty());
    assert!(
        !server.log_text().contains("corrupt"),
        "no corruption; log:\n{}",
        server.log_text()
    );
    drop(server);
    drop(disk);
}

#[test]
fn a_corrupt_store_is_moved_aside_and_a_fresh_one_started() {
    let server = Server::start_prepared(
        Setup {
            plugins: &CORE_COLLECTORS,
            config: "",
            extra_files: &[],
        },
        &[],
        |plugins| {
            let data = plugins.parent().expect("scratch").join("data");
            std::fs::create_dir_all(&data).expect("data");
            std::fs::write(
                data.join("history.db"),
                "not a database at all\n".repeat(500),
            )
            .expect("garbage");
        },
    );
    let data = server.dir.path().join("data");
    let moved: Vec<String> = std::fs::read_dir(&data)
        .expect("data")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("history.db.corrupt-"))
        .collect();
    assert_eq!(moved.len(), 1, "the corrupt file kept aside: {moved:?}");
    let lines: Vec<String> = server
        .logs()
        .into_iter()
        .filter(|l| l.contains(&moved[0]))
        .collect();
    assert_eq!(lines.len(), 1, "one log line names it: {lines:?}");
    assert!(lines[0].contains("WARN"), "{}", lines[0]);
    assert!(wait_until(10 * SECOND, || !points(
        &server,
        "memory.percentage",
        "-5m"
    )
    .is_empty()));
}

#[test]
fn a_second_server_on_the_same_folder_refuses_to_start_naming_it() {
    let first = start("");
    let data = first.dir.path().join("data");
    let (code, log) = run_to_exit(&format!(
        "[server]\nhost = \"127.0.0.1\"\nport = 0\n\n[history]\ndir = \"{}\"\n",
        data.display()
    ));
    assert_ne!(code, Some(0), "{log}");
    assert!(log.contains(&data.display().to_string()), "{log}");
    assert!(log.contains("in use by another running server"), "{log}");
    assert!(
        log.contains(&format!("pid {}", first.pid())),
        "names the holder: {log}"
    );
    // The first one runs on, unharmed.
    assert_eq!(get(first.port, "/api/series").status, 200);
}

#[test]
fn a_folder_that_cannot_be_made_is_an_error_naming_it() {
    let (code, log) = run_to_exit(
        "[server]\nhost = \"127.0.0.1\"\nport = 0\n\n[history]\ndir = \"plugins.toml/data\"\n",
    );
    assert_ne!(code, Some(0), "{log}");
    assert!(log.contains("plugins.toml/data"), "{log}");
    assert!(log.contains("[history]"), "{log}");
}

#[test]
fn a_reload_changes_the_limits_live_and_joins_the_timeline() {
    let server = start("");
    assert!(wait_until(10 * SECOND, || !points(
        &server,
        "memory.percentage",
        "-5m"
    )
    .is_empty()));
    let path = server.dir.path().join("plugins.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    std::fs::write(&path, format!("{text}\n[history]\ntick_days = 2\n")).expect("config");
    let _ = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status();
    assert!(
        wait_until(10 * SECOND, || event_kinds(&server)
            .iter()
            .any(|k| k == "reload")),
        "a reload event; log:\n{}",
        server.log_text()
    );
    let events = ok_json(&server, "/api/events?from=-1h");
    let reload = events["events"]
        .as_array()
        .and_then(|list| list.iter().find(|e| e["kind"] == "reload"))
        .cloned()
        .expect("the reload");
    assert_eq!(reload["ok"], true, "{reload}");
    assert!(
        reload["message"]
            .as_str()
            .unwrap_or_default()
            .contains("history retention"),
        "{reload}"
    );
}
