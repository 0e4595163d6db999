//! Sections made by scripts (issue 24), host side, against the real server: a
//! fixture collector serves the sections the `exec` collector would (a Nagios check,
//! a Prometheus section, the `exec` status), read from a file this test rewrites. The
//! check's CRITICAL state reaches the real `file` sink as an alert and resolves when
//! it is OK again and when its command is removed; a real Prometheus scrapes the
//! families under their own names and labels; `get_status` and `/health` carry the
//! per-command status.

use std::path::Path;
use std::time::{Duration, Instant};

use monitoring_test_support::http::get;
use monitoring_test_support::prometheus::{free_port, promtool_check, Prometheus};
use monitoring_test_support::{connect, next_json, send_text, Client, Peer, Server, Setup};
use serde_json::{json, Value};

const SECOND: Duration = Duration::from_secs(1);

/// The fixture, the `file` sink, and one core collector (so our own `system_*` names
/// are there for a script family to clash with).
const PLUGINS: [&str; 3] = ["fixture-scripted-sections", "sink-file", "collector-memory"];

/// What the fixture serves: the check `load_check` in `state`, a Prometheus section,
/// and the exec status of the commands in `commands`.
fn sections(state: &str, code: i32, commands: &[&str]) -> Value {
    let status = |section: &str| {
        json!({"section": section, "format": "nagios", "mode": "once",
            "last_run": "2026-01-01T00:00:00.000000", "duration_ms": 12.5,
            "exit_code": code, "runs": 3, "failures": 0, "restarts": 0})
    };
    let commands: serde_json::Map<String, Value> = commands
        .iter()
        .map(|name| ((*name).to_owned(), status(name)))
        .collect();
    let mut data = json!({
        "exec": {"commands": commands},
        "backup": {"format": "prometheus", "values": {"backup_last_success": 1.0}, "families": [
            {"name": "backup_age_seconds", "type": "gauge", "help": "Age of the newest backup",
             "samples": [{"name": "backup_age_seconds", "labels": {"target": "db"}, "value": 42.0},
                         {"name": "backup_age_seconds", "labels": {"target": "www"}, "value": 7.0}]},
            {"name": "backup_runs_total", "type": "counter", "help": "Backups run",
             "samples": [{"name": "backup_runs_total", "value": 5.0}]},
            {"name": "backup_last_success", "type": "gauge",
             "samples": [{"name": "backup_last_success", "value": 1.0}]},
            {"name": "system_memory_usage_percent", "type": "gauge",
             "samples": [{"name": "system_memory_usage_percent", "value": 1234.0}]},
            {"name": "bad name", "type": "gauge",
             "samples": [{"name": "bad name", "value": 1.0}]},
            {"name": "backup_note", "type": "gauge", "help": "A \"quoted\"\nhelp",
             "samples": [{"name": "backup_note", "labels": {"text": "a\"b\\c\nd"}, "value": 1.0}]},
        ]},
    });
    if commands_has(&data, "load_check") {
        data["load_check"] = json!({"format": "nagios", "state": state, "code": code,
            "message": format!("LOAD {state} - load average: 9.10, 8.00, 7.00"),
            "perfdata": {"load1": {"value": 9.1, "warn": "5", "crit": "8", "min": 0.0}}});
    }
    data
}

fn commands_has(data: &Value, name: &str) -> bool {
    data["exec"]["commands"].get(name).is_some()
}

/// Replaces the fixture's file the way scripts should: write, then rename.
fn serve(path: &Path, data: &Value) {
    let staged = path.with_extension("tmp");
    std::fs::write(&staged, data.to_string()).expect("write sections");
    std::fs::rename(&staged, path).expect("rename sections");
}

fn lines(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// How many lines of the file sink match `pred`, waiting until at least `count` do.
fn wait_for_lines(server: &Server, log: &Path, count: usize, pred: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + 15 * SECOND;
    while lines(log).iter().filter(|l| pred(l)).count() < count {
        assert!(
            Instant::now() < deadline,
            "fewer than {count} matching lines in {:?}; server log:\n{}",
            lines(log),
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn is_check(line: &Value, event: &str) -> bool {
    line["event"] == event && line["component"] == "load_check"
}

/// The `status` reply to `command` (skipping the greeting and the stream).
async fn request(ws: &mut Client, command: Value) -> Value {
    send_text(ws, &command.to_string()).await;
    let deadline = Instant::now() + 5 * SECOND;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = next_json(ws, left).await.expect("a reply");
        if message["type"] == "status" {
            return message;
        }
    }
}

fn start(dir: &Path) -> (Server, std::path::PathBuf, std::path::PathBuf) {
    let file = dir.join("sections.json");
    let log = dir.join("alerts.log");
    serve(&file, &sections("CRITICAL", 2, &["load_check"]));
    let config = format!(
        "[alerts]\ngroup_wait = 0.0\ngroup_interval = 1.0\n\n\
         [plugins.fixture-scripted-sections]\npath = {:?}\n\n\
         [plugins.file]\nenabled = true\npath = {:?}\n",
        file.display().to_string(),
        log.display().to_string()
    );
    let server = Server::start(Setup {
        plugins: &PLUGINS,
        config: &config,
        extra_files: &[],
    });
    (server, file, log)
}

#[tokio::test]
async fn a_nagios_check_alerts_through_the_sinks_and_resolves() {
    let scratch = tempfile::tempdir().expect("scratch folder");
    let (server, file, log) = start(scratch.path());

    wait_for_lines(&server, &log, 1, |l| is_check(l, "alert"));
    let alert = lines(&log)
        .into_iter()
        .find(|l| is_check(l, "alert"))
        .expect("alert");
    assert_eq!(alert["level"], "CRITICAL", "{alert}");
    assert_eq!(alert["metric"], "state", "{alert}");
    assert_eq!(alert["value"], 2.0, "{alert}");
    assert_eq!(
        alert["message"], "load_check CRITICAL: LOAD CRITICAL - load average: 9.10, 8.00, 7.00",
        "{alert}"
    );

    // get_status: the active alert and the command's status; /health: the same status.
    let mut ws = connect(&server.url("/")).await;
    let status = request(&mut ws, json!({"type": "get_status"})).await;
    let command = &status["scripts"]["commands"]["load_check"];
    assert_eq!(command["exit_code"], 2, "{status}");
    assert_eq!(command["runs"], 3, "{status}");
    assert_eq!(command["section"], "load_check", "{status}");
    let active = status["active_alerts"].as_array().expect("active_alerts");
    assert!(
        active.iter().any(|a| a["labels"]["check"] == "load_check"),
        "{status}"
    );
    let health = get(server.port, "/health").json();
    assert_eq!(
        health["scripts"]["commands"]["load_check"]["duration_ms"],
        12.5
    );

    // OK again: resolved.
    serve(&file, &sections("OK", 0, &["load_check"]));
    wait_for_lines(&server, &log, 1, |l| is_check(l, "resolved"));

    // CRITICAL again, then the command removed (a reload): resolved at once, and the
    // section is gone from the snapshot.
    serve(&file, &sections("CRITICAL", 2, &["load_check"]));
    wait_for_lines(&server, &log, 2, |l| is_check(l, "alert"));
    serve(&file, &sections("CRITICAL", 2, &[]));
    wait_for_lines(&server, &log, 2, |l| is_check(l, "resolved"));
    let current = get(server.port, "/api/current").json();
    assert!(current["data"].get("load_check").is_none(), "{current}");
}

/// `promtool check metrics` on the exposition with script families, hostile help and
/// label values, a clash and an invalid name among them: valid text.
#[test]
fn promtool_accepts_the_exposition_with_script_families() {
    let Some(promtool) = monitoring_test_support::require(Peer::Promtool) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("scratch folder");
    let (server, _file, _log) = start(scratch.path());
    let text = wait_for_families(&server);
    promtool_check(&promtool, &text);
    assert!(!text.contains("bad name"), "{text}");
    assert_eq!(
        text.matches("# TYPE system_memory_usage_percent ").count(),
        1
    );
}

/// `/metrics` once the script families are there.
fn wait_for_families(server: &Server) -> String {
    let deadline = Instant::now() + 15 * SECOND;
    loop {
        let text = get(server.port, "/metrics").body;
        if text.contains("backup_age_seconds{target=\"db\"} 42") {
            return text;
        }
        assert!(Instant::now() < deadline, "no script family in:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn prometheus_scrapes_script_families_under_their_own_names() {
    let Some(binary) = monitoring_test_support::require(Peer::Prometheus) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("scratch folder");
    let (server, _file, _log) = start(scratch.path());
    wait_for_families(&server);
    let prometheus = Prometheus::start(&binary, free_port(), "monitoring", server.port, &[]);
    let value = |sample: &Value| -> f64 {
        sample["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no value in {sample}"))
    };
    let timeout = 60 * SECOND;
    let up = prometheus.wait_for(r#"up{job="monitoring"}"#, timeout);
    assert_eq!(
        value(&up[0]),
        1.0,
        "the scrape failed: {:?}",
        prometheus.api("/api/v1/targets")
    );
    let db = prometheus.wait_for(r#"backup_age_seconds{target="db"}"#, timeout);
    assert_eq!(value(&db[0]), 42.0);
    let www = prometheus.wait_for(r#"backup_age_seconds{target="www"}"#, timeout);
    assert_eq!(value(&www[0]), 7.0);
    assert_eq!(
        value(&prometheus.wait_for("backup_runs_total", timeout)[0]),
        5.0
    );
    let state = prometheus.wait_for(r#"nagios_check_state{check="load_check"}"#, timeout);
    assert_eq!(value(&state[0]), 2.0);
    let perf = prometheus.wait_for(
        r#"nagios_perfdata_value{check="load_check",label="load1"}"#,
        timeout,
    );
    assert_eq!(value(&perf[0]), 9.1);
    let runs = prometheus.wait_for(
        r#"monitoring_exec_runs_total{command="load_check"}"#,
        timeout,
    );
    assert_eq!(value(&runs[0]), 3.0);
    // Ours won the clash: the memory collector's percentage, not the script's 1234.
    let ours = prometheus.wait_for("system_memory_usage_percent", timeout);
    assert!(value(&ours[0]) <= 100.0, "{ours:?}");
    let refused = prometheus.wait_for("monitoring_scripted_families_refused", timeout);
    assert_eq!(value(&refused[0]), 2.0, "the clash and the invalid name");
    let note = prometheus.wait_for("backup_note", timeout);
    assert_eq!(note[0]["metric"]["text"], "a\"b\\c\nd", "{note:?}");
    assert!(
        prometheus
            .query("system_backup_families_samples_value")
            .unwrap_or_default()
            .is_empty(),
        "not flattened"
    );
}
