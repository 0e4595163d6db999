use std::time::{Duration, Instant};

use monitoring_plugin_api::sections::scripted::{NagiosSection, NagiosState};

use super::*;

fn collector(commands: Value) -> ExecCollector {
    let config: Config =
        serde_json::from_value(serde_json::json!({ "commands": commands })).expect("config");
    ExecCollector::new(config).expect("builds")
}

/// Collects until `done` holds for the sections (or 10 s pass: then panics).
fn collect_until(
    collector: &mut ExecCollector,
    done: impl Fn(&Map<String, Value>) -> bool,
) -> Map<String, Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sections = Collector::collect(collector).expect("collects");
        if done(&sections) {
            return sections;
        }
        assert!(Instant::now() < deadline, "never happened: {sections:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn gone(pid: i64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat)
                if stat
                    .rsplit_once(") ")
                    .is_some_and(|(_, s)| s.starts_with('Z')) =>
            {
                return true
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    false
}

#[test]
fn obeys_the_collector_contract() {
    let settings = serde_json::json!({"commands": [
        {"name": "hello", "command": ["/bin/echo", "{\"greeting\": \"hello\"}"], "format": "json"}
    ]});
    let root = <ExecCollector as monitoring_plugin_api::Exported>::root_module();
    let sections =
        monitoring_plugin_api::testing::collector_compliance(root, &settings.to_string())
            .expect("obeys the contract");
    assert_eq!(sections["exec"]["commands"]["hello"]["format"], "json");
    let err = ExecCollector::new(Config::default())
        .err()
        .expect("no commands");
    assert_eq!(
        err.kind(),
        Some(monitoring_plugin_api::ErrorKind::Unavailable)
    );
}

#[test]
fn collect_returns_at_once_while_a_script_runs_then_its_section() {
    let mut exec = collector(serde_json::json!([{
        "name": "slow", "command": "sleep 1; echo '{\"answer\": 42}'", "shell": true,
        "format": "json", "timeout": 10
    }]));
    let first = Collector::collect(&mut exec).expect("collects");
    assert!(
        !first.contains_key("slow"),
        "the script is still sleeping: {first:?}"
    );
    assert_eq!(first["exec"]["commands"]["slow"]["runs"], 0);
    let sections = collect_until(&mut exec, |s| s.contains_key("slow"));
    assert_eq!(sections["slow"]["answer"], 42);
    let status = &sections["exec"]["commands"]["slow"];
    assert_eq!(status["exit_code"], 0);
    assert_eq!(status["runs"], 1);
    assert!(status["error"].is_null(), "{status}");
    assert!(
        status["duration_ms"]
            .as_f64()
            .is_some_and(|ms| ms >= 1000.0),
        "{status}"
    );
}

#[test]
fn a_check_that_hangs_is_unknown_and_named() {
    let mut exec = collector(serde_json::json!([{
        "name": "hangs", "command": ["/bin/sleep", "300"], "format": "nagios", "timeout": 0.3
    }]));
    let sections = collect_until(&mut exec, |s| s.contains_key("hangs"));
    let check: NagiosSection = serde_json::from_value(sections["hangs"].clone()).expect("nagios");
    assert_eq!(check.state, NagiosState::Unknown);
    assert!(
        check.message.contains("command `hangs` timed out"),
        "{check:?}"
    );
    assert_eq!(sections["exec"]["commands"]["hangs"]["failures"], 1);
}

#[test]
fn a_missing_program_and_a_parse_error_are_reported_by_name() {
    let mut exec = collector(serde_json::json!([
        {"name": "missing", "command": ["/nonexistent/check"], "format": "json"},
        {"name": "garbled", "command": "printf 'ok 1\\nbad-name 2\\n'", "shell": true, "format": "prometheus"}
    ]));
    let sections = collect_until(&mut exec, |s| {
        let commands = &s["exec"]["commands"];
        commands["missing"]["runs"] == 1 && commands["garbled"]["runs"] == 1
    });
    let commands = &sections["exec"]["commands"];
    let missing = commands["missing"]["error"].as_str().expect("an error");
    assert!(
        missing.contains("`missing`") && missing.contains("/nonexistent/check"),
        "{missing}"
    );
    let garbled = commands["garbled"]["error"].as_str().expect("an error");
    assert!(garbled.contains("command `garbled`: line 2"), "{garbled}");
    assert!(
        !sections.contains_key("garbled"),
        "no section from a failed parse"
    );
}

#[test]
fn dropping_the_collector_kills_a_daemon_and_what_it_forked() {
    let mut exec = collector(serde_json::json!([{
        "name": "forks", "mode": "daemon", "format": "json", "shell": true,
        "command": "sleep 300 & echo \"{\\\"child\\\": $!, \\\"me\\\": $$}\"; while :; do sleep 1; done"
    }]));
    let sections = collect_until(&mut exec, |s| s.contains_key("forks"));
    let child = sections["forks"]["child"].as_i64().expect("child pid");
    let me = sections["forks"]["me"].as_i64().expect("daemon pid");
    drop(exec);
    assert!(gone(me), "the daemon {me} survived its collector");
    assert!(
        gone(child),
        "the daemon's child {child} survived its collector"
    );
}

#[test]
fn a_daemon_that_exits_is_restarted() {
    let mut exec = collector(serde_json::json!([{
        "name": "brief", "mode": "daemon", "format": "json",
        "command": ["/bin/echo", "{\"alive\": true}"]
    }]));
    let sections = collect_until(&mut exec, |s| {
        s["exec"]["commands"]["brief"]["restarts"].as_u64() >= Some(1)
            && s["exec"]["commands"]["brief"]["runs"].as_u64() >= Some(2)
    });
    let error = sections["exec"]["commands"]["brief"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.is_empty() || error.contains("daemon `brief` exited with code 0"),
        "{error}"
    );
}

#[test]
fn a_daemon_asked_on_stdin_gives_influx_readings() {
    let mut exec = collector(serde_json::json!([{
        "name": "asked", "mode": "daemon", "format": "influx", "signal": "stdin", "interval": 0.1,
        "shell": true,
        "command": "i=0; while read -r _; do i=$((i+1)); echo \"ticks,host=a n=${i}i\"; done"
    }]));
    let sections = collect_until(&mut exec, |s| {
        s.get("asked")
            .and_then(|a| a["measurements"]["ticks"][0]["fields"]["n"].as_i64())
            .is_some_and(|n| n >= 3)
    });
    assert_eq!(sections["asked"]["format"], "influx");
    assert_eq!(
        sections["asked"]["measurements"]["ticks"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        sections["asked"]["measurements"]["ticks"][0]["tags"]["host"],
        "a"
    );
}

#[test]
fn user_drops_privileges_as_root_and_is_refused_otherwise() {
    let config: Config = serde_json::from_value(serde_json::json!({"commands": [{
        "name": "who", "format": "json", "user": "nobody", "shell": true,
        "command": "echo \"{\\\"uid\\\": $(id -u), \\\"groups\\\": \\\"$(id -G)\\\"}\""
    }]}))
    .expect("config");
    let root = script_formats::user::current_uid() == 0;
    match ExecCollector::new(config) {
        Ok(mut exec) => {
            assert!(root, "only root may switch users");
            let sections = collect_until(&mut exec, |s| s.contains_key("who"));
            let nobody = script_formats::user::find("nobody").expect("nobody exists");
            assert_eq!(sections["who"]["uid"], nobody.uid);
            assert_eq!(
                sections["who"]["groups"],
                nobody.gid.to_string(),
                "no supplementary groups kept"
            );
        }
        Err(err) => {
            assert!(!root, "root may switch users: {err}");
            assert!(err.message().contains("`user`"), "{err}");
        }
    }
}
