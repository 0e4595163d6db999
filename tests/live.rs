//! The server changing while it runs, against the real binary and real plugin files:
//! libraries added, overwritten, replaced and removed in the plugins folder of a
//! running server, and `plugins.toml` reloaded on SIGHUP or an admin's `reload`, all
//! while clients stream. What must hold: no client is disconnected, no tick is
//! missed, nothing crashes, and clients are told (`plugin_event`).

#[path = "live/external.rs"]
mod external;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use monitoring_test_support::recorder::{
    worst_arrival_gap, worst_timestamp_gap, Record, Recorder, Tick,
};
use monitoring_test_support::{
    connect, connect_with_token, library, next_of_type, plugin_record, send_text, Server, Setup,
    CORE_COLLECTORS,
};

/// The default time between ticks, which every server here runs with.
const INTERVAL: Duration = Duration::from_millis(500);

/// Two intervals: a gap this long means a tick was missed.
const MISSED_TICK: Duration = Duration::from_millis(1000);

/// The plugins folder of `server`.
fn folder(server: &Server) -> PathBuf {
    server.dir.path().join("plugins")
}

/// Rewrites `server`'s plugins.toml with the harness's `[server]` lines and `extra`.
fn write_config(server: &Server, extra: &str) {
    let text = format!("[server]\nhost = \"127.0.0.1\"\nport = 0\n{extra}");
    std::fs::write(server.dir.path().join("plugins.toml"), text).expect("plugins.toml");
}

/// Sends SIGHUP to the server.
fn hangup(server: &Server) {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
}

/// `/health` as JSON.
fn health(server: &Server) -> Value {
    monitoring_test_support::http::get(server.port, "/health").json()
}

/// Waits until `/health` satisfies `pred`.
fn wait_for_health(server: &Server, pred: impl Fn(&Value) -> bool, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let health = health(server);
        if pred(&health) {
            return health;
        }
        assert!(
            Instant::now() < deadline,
            "/health never got there: {health}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `n` recording clients, each past its first tick.
async fn recorders(server: &Server, n: usize, keep_data: bool) -> Vec<Recorder> {
    let url = server.url("/");
    let clients = futures_util::future::join_all((0..n).map(|_| connect(&url))).await;
    let recorders: Vec<Recorder> = clients
        .into_iter()
        .map(|ws| Recorder::start(ws, keep_data))
        .collect();
    for recorder in &recorders {
        recorder
            .wait_for(|r| !r.ticks.is_empty(), Duration::from_secs(10))
            .await
            .expect("a first tick");
    }
    recorders
}

/// Asserts that no recorder's connection ended.
fn assert_all_connected(recorders: &[Recorder]) {
    for (i, recorder) in recorders.iter().enumerate() {
        let record = recorder.record();
        assert!(
            record.closed.is_none(),
            "client {i} was disconnected: {:?}",
            record.closed
        );
    }
}

/// The `plugin_event`s of `record` whose path ends with `file`.
fn events_for(record: &Record, file: &str) -> Vec<Value> {
    record
        .plugin_events()
        .into_iter()
        .filter(|e| e["path"].as_str().is_some_and(|p| p.ends_with(file)))
        .collect()
}

/// The `external` section's version in a tick, if present.
fn external_version(tick: &Tick) -> Option<u64> {
    tick.data.as_ref()?.get(external::NAME)?["version"].as_u64()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_library_that_hangs_while_loading_is_refused_while_the_collectors_stream() {
    let server = Server::start_default();
    let clients = recorders(&server, 1, true).await;
    let client = &clients[0];
    let file = "libfixture_hangs_loading.so";
    let dropped = Instant::now();
    std::fs::copy(library("fixture-hangs-loading"), folder(&server).join(file)).expect("copy");

    let record = client
        .wait_for(|r| !events_for(r, file).is_empty(), Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("no plugin_event for {file}; log:\n{}", server.log_text()));
    let refused_at = Instant::now();
    let event = &events_for(&record, file)[0];
    assert_eq!(event["event"], "refused", "{event}");
    let reason = event["reason"].as_str().expect("a reason");
    assert!(
        reason.contains("timed out") && reason.contains("while loading"),
        "{event}"
    );
    monitoring_test_support::assert_refused_once(
        &server.logs(),
        file,
        "timed out after 5 s while loading",
    );

    // The probe took its whole deadline; the real collectors streamed all along.
    let during = record.ticks_since(dropped);
    let waited = refused_at - dropped;
    assert!(
        waited >= Duration::from_secs(4),
        "refused too soon: {waited:?}"
    );
    assert!(
        during.len() as f64 >= waited.as_secs_f64() / INTERVAL.as_secs_f64() - 2.0,
        "{} ticks in {waited:?}",
        during.len()
    );
    assert!(
        worst_timestamp_gap(&during) < MISSED_TICK,
        "a tick was missed while the library hung: {:?}",
        worst_timestamp_gap(&during)
    );
    for tick in &during {
        let data = tick.data.as_ref().expect("data");
        for section in ["processor", "memory", "disk", "system"] {
            assert!(data.get(section).is_some(), "{section} missing: {data}");
        }
    }
    assert_all_connected(&clients);
    let refused = health(&server)["plugins"]["refused"].to_string();
    assert!(refused.contains(file), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn overwriting_every_plugin_in_place_while_five_clients_stream_changes_nothing_but_versions()
{
    let scratch = tempfile::tempdir().expect("scratch");
    let project = external::Project::new();
    let (v1, v2) = tokio::task::spawn_blocking(move || {
        let v1 = project.build(1, scratch.path());
        let v2 = project.build(2, scratch.path());
        (
            std::fs::read(v1).expect("v1"),
            std::fs::read(v2).expect("v2"),
            scratch,
        )
    })
    .await
    .map(|(v1, v2, _scratch)| (v1, v2))
    .expect("build");
    let first_party = monitoring_test_support::first_party_plugins();
    let plugins: Vec<&str> = first_party.iter().map(String::as_str).collect();
    let external_file = external::file_name();
    let server = Server::start(Setup {
        plugins: &plugins,
        config: "",
        extra_files: &[(&external_file, &v1)],
    });
    let clients = recorders(&server, 5, true).await;
    let started = Instant::now();
    let dir = folder(&server);

    // `cp` over every file, in place (the same inode truncated and rewritten): the same
    // bytes for ours, the next version for the external one.
    for name in &plugins {
        let from = library(name);
        let to = dir.join(from.file_name().expect("file name"));
        std::fs::copy(&from, &to).expect("cp over a plugin");
    }
    std::fs::write(dir.join(&external_file), &v2).expect("cp the next version over");
    // And the real installer over the same folder: temp file + rename, every plugin.
    let status = Command::new(xtask())
        .args(["install", "--debug", "--no-build", "--into"])
        .arg(&dir)
        .status()
        .expect("run xtask install");
    assert!(status.success(), "xtask install failed");

    // Stop waiting if the server dropped the client (it crashed under the overwrites).
    let all_on_v2 =
        |r: &Record| r.closed.is_some() || r.ticks.last().and_then(external_version) == Some(2);
    for client in &clients {
        client
            .wait_for(all_on_v2, Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("version 2 never arrived; log:\n{}", server.log_text()));
    }
    assert_all_connected(&clients);
    // Keep streaming a while after the last change.
    let settled = Instant::now();
    for client in &clients {
        client
            .wait_for(
                |r| r.ticks_since(settled).len() >= 4,
                Duration::from_secs(10),
            )
            .await
            .expect("ticks after the overwrites");
    }

    assert_all_connected(&clients);
    let log = server.log_text();
    assert!(
        !log.contains("Plugin refused."),
        "something was refused:\n{log}"
    );
    assert!(
        !log.contains("Replacement refused."),
        "something was refused:\n{log}"
    );
    for client in &clients {
        let record = client.record();
        let events = record.plugin_events();
        assert!(
            events
                .iter()
                .all(|e| e["event"] == "replaced" || e["event"] == "loaded"),
            "{events:?}"
        );
        let external_events = events_for(&record, &external_file);
        assert!(
            external_events
                .iter()
                .any(|e| e["event"] == "replaced" && e["version"] == "1.0.2"),
            "{external_events:?}"
        );
        let ticks = record.ticks_since(started);
        assert!(
            worst_timestamp_gap(&ticks) < MISSED_TICK,
            "a tick was missed: {:?}",
            worst_timestamp_gap(&ticks)
        );
    }
    let health = health(&server);
    assert!(health["plugins"]["refused"]
        .as_array()
        .is_some_and(Vec::is_empty));
    // Both external versions stay mapped (never unloaded); the disabled sinks were
    // never mapped at all.
    let mapped = health["plugins"]["libraries_mapped"]
        .as_u64()
        .expect("count");
    let records = |key: &str| {
        health["plugins"][key]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let tried = records("loaded").len()
        + records("inactive")
            .iter()
            .filter(|r| r["state"] != "disabled")
            .count();
    assert_eq!(mapped, tried as u64 + 1, "{health}");
}

/// The xtask binary, built if it is not (its build does not touch the plugins).
fn xtask() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "-p", "xtask"])
        .status()
        .expect("cargo build -p xtask");
    assert!(status.success());
    monitoring_test_support::artifacts().join(format!("xtask{}", std::env::consts::EXE_SUFFIX))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_built_outside_the_workspace_is_added_replaced_and_removed_live() {
    let scratch = tempfile::tempdir().expect("scratch");
    let out = scratch.path().to_owned();
    let (v1, v2) = tokio::task::spawn_blocking(move || {
        let project = external::Project::new();
        (project.build(1, &out), project.build(2, &out))
    })
    .await
    .expect("build");
    let server = Server::start_default();
    let clients = recorders(&server, 1, true).await;
    let client = &clients[0];
    let file = external::file_name();
    let target = folder(&server).join(&file);
    assert!(client
        .record()
        .ticks
        .iter()
        .all(|t| external_version(t).is_none()));

    // Added.
    std::fs::copy(&v1, &target).expect("copy in");
    let copied = Instant::now();
    let record = client
        .wait_for(
            |r| r.ticks.iter().any(|t| external_version(t) == Some(1)),
            Duration::from_secs(15),
        )
        .await
        .unwrap_or_else(|| {
            panic!(
                "the external section never came; log:\n{}",
                server.log_text()
            )
        });
    let first = record
        .ticks
        .iter()
        .find(|t| external_version(t) == Some(1))
        .expect("first");
    eprintln!(
        "from the copy to the first data in the client: {:.0} ms",
        (first.at - copied).as_secs_f64() * 1000.0
    );
    assert!(first.at - copied < Duration::from_secs(5));
    let loaded = events_for(&record, &file);
    assert!(
        loaded.iter().any(|e| e["event"] == "loaded"
            && e["name"] == external::NAME
            && e["version"] == "1.0.1"),
        "{loaded:?}"
    );

    // Replaced in place by a new build.
    std::fs::copy(&v2, &target).expect("copy over");
    let record = client
        .wait_for(
            |r| r.ticks.last().and_then(external_version) == Some(2),
            Duration::from_secs(15),
        )
        .await
        .expect("version 2 in the data");
    assert!(
        events_for(&record, &file)
            .iter()
            .any(|e| e["event"] == "replaced" && e["version"] == "1.0.2"),
        "{:?}",
        record.plugin_events()
    );

    // Removed.
    std::fs::remove_file(&target).expect("remove");
    let record = client
        .wait_for(
            |r| events_for(r, &file).iter().any(|e| e["event"] == "removed"),
            Duration::from_secs(15),
        )
        .await
        .expect("a removed event");
    let (_, removed_at) = record
        .others
        .iter()
        .find(|(e, _)| e["event"] == "removed")
        .cloned()
        .expect("removed");
    let after = client
        .wait_for(
            |r| r.ticks.iter().filter(|t| t.at > removed_at).count() >= 3,
            Duration::from_secs(10),
        )
        .await
        .expect("ticks after the removal");
    // The tick being collected when the event went out may still carry it.
    let later: Vec<&Tick> = after
        .ticks
        .iter()
        .filter(|t| t.at > removed_at)
        .skip(1)
        .collect();
    assert!(later.iter().all(|t| external_version(t).is_none()));
    assert_all_connected(&clients);
}

/// A config with one memory rule at `warning`, and `rest`.
fn memory_rule(warning: f64, rest: &str) -> String {
    format!(
        "{rest}\n[alerts]\ncooldown = 300.0\ngroup_wait = 0.0\ngroup_interval = 1.0\n\n[[alerts.rules]]\nmetric = \"memory.percentage\"\n\
         warning = {warning:?}\n"
    )
}

/// Whether a tick carried a memory alert.
fn memory_alert(tick: &Tick) -> bool {
    tick.alerts
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|alerts| alerts.iter().any(|a| a["component"] == "memory"))
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_applies_a_good_file_and_refuses_a_broken_one_without_dropping_anyone() {
    let server = Server::start(Setup {
        plugins: &CORE_COLLECTORS,
        config: &memory_rule(99.99, ""),
        extra_files: &[],
    });
    let clients = recorders(&server, 3, false).await;
    let quiet = Instant::now();
    clients[0]
        .wait_for(|r| r.ticks_since(quiet).len() >= 3, Duration::from_secs(5))
        .await
        .expect("ticks");
    assert!(!clients[0].record().ticks.iter().any(memory_alert));

    // A lowered threshold: the alert fires.
    write_config(&server, &memory_rule(1.0, ""));
    hangup(&server);
    for client in &clients {
        client
            .wait_for(
                |r| r.ticks.iter().any(memory_alert),
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|| panic!("no alert after SIGHUP; log:\n{}", server.log_text()));
    }
    let health_now = wait_for_health(
        &server,
        |h| h["config_reload"]["reloads"] == 1,
        Duration::from_secs(5),
    );
    assert_eq!(health_now["config_reload"]["ok"], true);

    // A broken file (with a rule that would silence the alert): nothing changes.
    write_config(
        &server,
        &memory_rule(99.99, "[monitor]\ninterval = \"fast\"\nhistory_size = 10\n"),
    );
    let config_path = server.dir.path().join("plugins.toml");
    hangup(&server);
    let broken = wait_for_health(
        &server,
        |h| h["config_reload"]["failures"] == 1,
        Duration::from_secs(10),
    );
    let error = broken["config_reload"]["error"].as_str().expect("an error");
    let file = config_path.display().to_string();
    for part in [file.as_str(), "line 5", "interval"] {
        assert!(
            error.contains(part),
            "the error does not name {part}: {error}"
        );
    }
    assert_eq!(broken["config_reload"]["ok"], false);
    assert!(
        broken["warnings"].as_array().is_some_and(|w| w
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains(&file)))),
        "{broken}"
    );
    // /health shows the error once the line is written; the test's log reader may
    // still be a moment behind.
    server.wait_for_log(
        |l| l.contains("Configuration reload refused"),
        Duration::from_secs(5),
    );
    let log = server.log_text();
    let from = log
        .find("Configuration reload refused")
        .expect("a log line");
    for part in [file.as_str(), "line 5", "interval"] {
        assert!(
            log[from..].contains(part),
            "the log does not name {part}:\n{log}"
        );
    }
    let after_broken = Instant::now();
    let record = clients[0]
        .wait_for(
            |r| r.ticks_since(after_broken).len() >= 4,
            Duration::from_secs(5),
        )
        .await
        .expect("ticks");
    let ticks = record.ticks_since(after_broken);
    assert!(ticks.iter().all(memory_alert), "the rule changed");
    assert!(worst_timestamp_gap(&ticks) < MISSED_TICK);
    let mut ws = connect(&server.url("/")).await;
    send_text(&mut ws, r#"{"type":"get_status"}"#).await;
    let (status, _) = next_of_type(&mut ws, "status", Duration::from_secs(3))
        .await
        .expect("status");
    assert_eq!(status["monitor_interval"], 0.5, "the cadence changed");

    // A good file again: the warning goes away.
    write_config(&server, &memory_rule(1.0, ""));
    hangup(&server);
    let good = wait_for_health(
        &server,
        |h| h["config_reload"]["reloads"] == 2,
        Duration::from_secs(10),
    );
    assert_eq!(good["config_reload"]["ok"], true);
    assert!(good["config_reload"]
        .get("error")
        .is_none_or(Value::is_null));
    assert!(!good["warnings"].to_string().contains("reload"), "{good}");
    assert_all_connected(&clients);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reload_command_needs_the_admin_token() {
    let config = memory_rule(99.99, monitoring_test_support::ADMIN_ACCESS);
    let server = Server::start_with_env(
        Setup {
            plugins: &CORE_COLLECTORS,
            config: &config,
            extra_files: &[],
        },
        &monitoring_test_support::admin_env(),
    );
    let viewers = recorders(&server, 1, false).await;
    write_config(
        &server,
        &memory_rule(1.0, monitoring_test_support::ADMIN_ACCESS),
    );

    let mut viewer = connect(&server.url("/")).await;
    send_text(&mut viewer, r#"{"type":"reload"}"#).await;
    let (refusal, _) = next_of_type(&mut viewer, "error", Duration::from_secs(3))
        .await
        .expect("an error");
    assert_eq!(refusal["code"], "FORBIDDEN", "{refusal}");
    let refused_at = Instant::now();
    let record = viewers[0]
        .wait_for(
            |r| r.ticks_since(refused_at).len() >= 3,
            Duration::from_secs(5),
        )
        .await
        .expect("ticks");
    assert!(
        !record.ticks.iter().any(memory_alert),
        "applied without the token"
    );
    assert_eq!(health(&server)["config_reload"]["reloads"], 0);

    let mut admin =
        connect_with_token(&server.url("/"), monitoring_test_support::ADMIN_TOKEN).await;
    send_text(&mut admin, r#"{"type":"reload"}"#).await;
    let (result, _) = next_of_type(&mut admin, "reload_result", Duration::from_secs(10))
        .await
        .expect("a reload_result");
    assert_eq!(result["ok"], true, "{result}");
    assert!(
        result["changed"].to_string().contains("alert rules"),
        "{result}"
    );
    viewers[0]
        .wait_for(|r| r.ticks.iter().any(memory_alert), Duration::from_secs(5))
        .await
        .expect("the lowered threshold applies");
    assert_all_connected(&viewers);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_reloads_while_two_hundred_clients_stream_miss_no_tick() {
    let server_lines = "max_clients_per_ip = 0\nrate_limit = 1000.0\nrate_burst = 1000.0\n";
    let files = [
        memory_rule(
            97.0,
            &format!(
                "{server_lines}{}[monitor]\nhistory_size = 1000\n",
                monitoring_test_support::ADMIN_ACCESS
            ),
        ),
        memory_rule(
            98.0,
            &format!(
                "{server_lines}{}[monitor]\nhistory_size = 500\n",
                monitoring_test_support::ADMIN_ACCESS
            ),
        ),
    ];
    let server = Server::start_with_env(
        Setup {
            plugins: &CORE_COLLECTORS,
            config: &files[0],
            extra_files: &[],
        },
        &monitoring_test_support::admin_env(),
    );
    let clients = recorders(&server, 200, false).await;
    let mut admin =
        connect_with_token(&server.url("/"), monitoring_test_support::ADMIN_TOKEN).await;
    let started = Instant::now();
    for i in 0..100 {
        write_config(&server, &files[(i + 1) % 2]);
        send_text(&mut admin, r#"{"type":"reload"}"#).await;
        let (result, _) = next_of_type(&mut admin, "reload_result", Duration::from_secs(10))
            .await
            .expect("a reload_result");
        assert_eq!(result["ok"], true, "reload {i}: {result}");
        assert!(
            result["changed"].to_string().contains("history_size"),
            "{result}"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let reloaded = Instant::now();
    for client in &clients {
        client
            .wait_for(
                |r| r.ticks_since(reloaded).len() >= 2,
                Duration::from_secs(10),
            )
            .await
            .expect("ticks after the reloads");
    }
    let ended = Instant::now();
    assert_all_connected(&clients);
    assert_eq!(health(&server)["config_reload"]["reloads"], 100);

    // Every tick the server made during the soak, as any client saw it.
    let records: Vec<Record> = clients.iter().map(Recorder::record).collect();
    let mut all: Vec<String> = records
        .iter()
        .flat_map(|r| r.ticks.iter().map(|t| t.timestamp.clone()))
        .collect();
    all.sort();
    all.dedup();
    let mut worst_arrival = Duration::ZERO;
    let mut worst_stamp = Duration::ZERO;
    for (i, record) in records.iter().enumerate() {
        let soak: Vec<Tick> = record
            .ticks
            .iter()
            .filter(|t| t.at >= started && t.at <= ended)
            .cloned()
            .collect();
        let (first, last) = (&soak[0].timestamp, &soak[soak.len() - 1].timestamp);
        let expected = all.iter().filter(|t| *t >= first && *t <= last).count();
        assert_eq!(soak.len(), expected, "client {i} missed ticks");
        worst_arrival = worst_arrival.max(worst_arrival_gap(&soak));
        worst_stamp = worst_stamp.max(worst_timestamp_gap(&soak));
    }
    let soak_seconds = (ended - started).as_secs_f64();
    eprintln!(
        "100 reloads in {:.1} s, 200 clients, {} ticks: worst gap between two messages of \
         one client {:.0} ms (tick timestamps {:.0} ms)",
        (reloaded - started).as_secs_f64(),
        all.len(),
        worst_arrival.as_secs_f64() * 1000.0,
        worst_stamp.as_secs_f64() * 1000.0
    );
    assert!(
        worst_stamp < MISSED_TICK,
        "a tick was missed: {worst_stamp:?} between two ticks"
    );
    assert!(all.len() as f64 >= soak_seconds / INTERVAL.as_secs_f64() - 2.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_name_is_resolved_the_same_way_at_start_and_live() {
    let real = std::fs::read(library("collector-disk")).expect("the real disk collector");
    let copy = "liba_disk_copy.so";
    // Both at start.
    let at_start = Server::start(Setup {
        plugins: &CORE_COLLECTORS,
        config: "",
        extra_files: &[(copy, &real)],
    });
    // The copy dropped beside a running `disk`.
    let live = Server::start_default();
    let clients = recorders(&live, 1, false).await;
    std::fs::write(folder(&live).join(copy), &real).expect("copy in");
    let record = clients[0]
        .wait_for(
            |r| {
                events_for(r, "libcollector_disk.so")
                    .iter()
                    .any(|e| e["event"] == "refused")
            },
            Duration::from_secs(15),
        )
        .await
        .unwrap_or_else(|| panic!("no refusal; log:\n{}", live.log_text()));
    let refusal = events_for(&record, "libcollector_disk.so")
        .into_iter()
        .find(|e| e["event"] == "refused")
        .expect("refused");
    assert!(
        refusal["reason"]
            .as_str()
            .is_some_and(|r| r.contains(&format!("{}", folder(&live).join(copy).display()))),
        "{refusal}"
    );

    for server in [&at_start, &live] {
        let winner = folder(server).join(copy).display().to_string();
        let disk = plugin_record(server, "disk", Some("running")).await;
        assert_eq!(disk["path"], winner.as_str(), "{disk}");
        monitoring_test_support::assert_refused_once(
            &server.logs(),
            "libcollector_disk.so",
            &format!("is already provided by {winner}"),
        );
    }
    // A rescan (the winner's file rewritten with the same bytes) keeps it so.
    std::fs::write(folder(&at_start).join("libcollector_disk.so"), &real).expect("rewrite");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let disk = plugin_record(&at_start, "disk", Some("running")).await;
    assert_eq!(
        disk["path"],
        folder(&at_start).join(copy).display().to_string().as_str()
    );
    assert_all_connected(&clients);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_with_a_two_second_interval_is_asked_every_fourth_tick() {
    let mut plugins = CORE_COLLECTORS.to_vec();
    plugins.push("collector-processes");
    let server = Server::start(Setup {
        plugins: &plugins,
        config: "[plugins.processes]\ninterval = 2.0\n",
        extra_files: &[],
    });
    let clients = recorders(&server, 1, true).await;
    let record = clients[0]
        .wait_for(|r| r.ticks.len() >= 22, Duration::from_secs(20))
        .await
        .expect("ticks");
    // Skip the first ticks: the collector's first result may land on any of them.
    let sections: Vec<Value> = record.ticks[2..]
        .iter()
        .map(|t| t.data.as_ref().expect("data")["processes"].clone())
        .collect();
    assert!(
        sections.iter().all(|s| s.is_object()),
        "processes missing from a tick"
    );
    // A new result (top CPU shares move every collection) only every fourth tick.
    let changes: Vec<usize> = (1..sections.len())
        .filter(|&i| sections[i] != sections[i - 1])
        .collect();
    assert!(
        changes.len() >= 3,
        "asked too rarely: changes at {changes:?}"
    );
    // Four ticks apart; a collection that answers after the tick's deadline shows a
    // tick late and the next one is due on time (5 then 3), never closer than that.
    let apart: Vec<usize> = changes.windows(2).map(|p| p[1] - p[0]).collect();
    assert!(
        apart.iter().all(|&a| a >= 3),
        "asked too often: changes at {changes:?}"
    );
    assert!(
        apart.iter().filter(|&&a| a == 4).count() * 2 >= apart.len(),
        "not every fourth tick: changes at {changes:?}"
    );
    assert_all_connected(&clients);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reloaded_interval_changes_the_cadence_and_what_the_server_reports() {
    let server = Server::start(Setup {
        plugins: &CORE_COLLECTORS,
        config: "",
        extra_files: &[],
    });
    let clients = recorders(&server, 1, false).await;
    write_config(
        &server,
        "\n[monitor]\ninterval = 0.25\ncollect_timeout = 0.1\n",
    );
    hangup(&server);
    let health = wait_for_health(
        &server,
        |h| h["config_reload"]["reloads"] == 1,
        Duration::from_secs(5),
    );
    assert_eq!(health["service"]["monitor_interval"], 0.25, "{health}");
    assert_eq!(
        health["plugins"]["libraries_mapped"], 4,
        "the core four: {health}"
    );
    // Give the new ticker a moment, then count: about 8 ticks in 2 s, not 4.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ticks = clients[0].record().ticks_since(from).len();
    assert!((6..=10).contains(&ticks), "{ticks} ticks in 2 s at 0.25 s");
    assert_all_connected(&clients);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_plugin_is_never_mapped_until_a_reload_enables_it() {
    let plugins = ["collector-cpu", "collector-memory", "sink-json"];
    let server = Server::start(Setup {
        plugins: &plugins,
        config: "",
        extra_files: &[],
    });
    // Sinks run only when enabled: the json sink was probed, named and left unmapped.
    let health = health(&server);
    assert_eq!(health["plugins"]["libraries_mapped"], 2, "{health}");
    let inactive = health["plugins"]["inactive"].to_string();
    assert!(
        inactive.contains(r#""name":"json""#) && inactive.contains(r#""state":"disabled""#),
        "{inactive}"
    );
    let output = server.dir.path().join("exports");
    write_config(
        &server,
        &format!(
            "[plugins.json]\nenabled = true\noutput_dir = {:?}\n",
            output.display().to_string()
        ),
    );
    hangup(&server);
    let health = wait_for_health(
        &server,
        |h| h["plugins"]["libraries_mapped"] == 3,
        Duration::from_secs(5),
    );
    let loaded = health["plugins"]["loaded"].to_string();
    assert!(loaded.contains(r#""name":"json""#), "{loaded}");
}
