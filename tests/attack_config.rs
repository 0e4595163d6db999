//! Issue 20's attacks on what the server reads from disk, against the real binary:
//! the configuration path pointing at `/dev/zero` or a FIFO (at start and on SIGHUP),
//! a truncated copy written over a running plugin's library, big files dropped into
//! the plugins folder together (the staging folder's cap, mode and leftovers), and two
//! log complaints (a reload error's line, an unavailable plugin on every rescan).
//! During each attack a client connected before it must receive every tick.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use monitoring_test_support::witness::Witness;
use monitoring_test_support::{connect, library, plugin_record, Client, Server, Setup};

/// The default time between ticks, which every server here runs with.
const INTERVAL: Duration = Duration::from_millis(500);

/// The host's staging cap (`plugins::staging::MAX_STAGED_BYTES`).
const MAX_STAGED_BYTES: u64 = 256 * 1024 * 1024;

/// The most resident memory a server under these attacks may reach.
const RSS_BOUND_KB: u64 = 400 * 1024;

/// The server binary.
fn server_binary() -> PathBuf {
    monitoring_test_support::artifacts().join(format!(
        "monitoring-websocket-server{}",
        std::env::consts::EXE_SUFFIX
    ))
}

/// Sends `signal` (`-HUP`, `-TERM`) to `pid`.
fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal} {pid}");
}

/// A field of `/proc/<pid>/status` in kB (`VmRSS`, `VmHWM`); 0 once it is gone.
fn proc_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{field}:")))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Caps `pid`'s address space so that an unbounded read cannot take the machine down
/// with it (the unfixed server grew to 23.6 GB): it fails instead, at 4 GiB.
fn cap_address_space(pid: u32) {
    let status = Command::new("prlimit")
        .args([&format!("--pid={pid}"), "--as=4294967296"])
        .status();
    // Missing prlimit fails the test: the attack is not run uncapped.
    assert!(
        status.is_ok_and(|s| s.success()),
        "prlimit (util-linux) is needed to cap the attacked server's memory"
    );
}

/// Waits up to `timeout` for a log line matching `pred`, sampling the server's
/// resident memory meanwhile; returns the line and the peak resident kB seen.
fn wait_watching_memory(
    server: &Server,
    pred: impl Fn(&str) -> bool,
    timeout: Duration,
) -> (Option<String>, u64) {
    let deadline = Instant::now() + timeout;
    let mut peak = 0;
    loop {
        peak = peak.max(proc_kb(server.pid(), "VmRSS"));
        if let Some(line) = server.logs().into_iter().find(|l| pred(l)) {
            return (Some(line), peak);
        }
        if Instant::now() > deadline || peak > RSS_BOUND_KB {
            return (None, peak);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Replaces `server`'s plugins.toml with a symlink to `target`.
fn config_symlink_to(server: &Server, target: &Path) -> PathBuf {
    let config = server.dir.path().join("plugins.toml");
    std::fs::remove_file(&config).expect("remove plugins.toml");
    std::os::unix::fs::symlink(target, &config).expect("symlink");
    config
}

/// Rewrites `server`'s plugins.toml (a regular file again) with the harness's
/// `[server]` lines and `extra`.
fn write_config(server: &Server, extra: &str) {
    let config = server.dir.path().join("plugins.toml");
    let _ = std::fs::remove_file(&config);
    let text = format!("[server]\nhost = \"127.0.0.1\"\nport = 0\n{extra}");
    std::fs::write(config, text).expect("plugins.toml");
}

fn only_cpu() -> Setup<'static> {
    Setup {
        plugins: &["collector-cpu"],
        config: "",
        extra_files: &[],
    }
}

#[test]
fn a_config_path_to_dev_zero_at_start_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("scratch folder");
    let config = dir.path().join("plugins.toml");
    std::os::unix::fs::symlink("/dev/zero", &config).expect("symlink");
    // Under a 4 GiB address-space cap, so the unfixed server fails instead of eating
    // the machine.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4194304 && exec \"$0\" --config \"$1\" --host 127.0.0.1 --port 0")
        .arg(server_binary())
        .arg(&config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let pid = child.id();
    let started = Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        peak = peak.max(proc_kb(pid, "VmRSS"));
        if started.elapsed() > Duration::from_secs(20) || peak > RSS_BOUND_KB {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server neither refused nor failed; killed after {:?} at {peak} kB resident",
                started.elapsed()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    eprintln!(
        "--config → /dev/zero: exit {status} after {:?}, peak RSS {peak} kB, stderr: {}",
        started.elapsed(),
        stderr.trim()
    );
    assert!(!status.success(), "it must not start");
    assert!(
        stderr.contains(&config.display().to_string())
            && stderr.contains("character device")
            && stderr.contains("not a regular file"),
        "the error names the path and why: {stderr}"
    );
    assert!(peak < RSS_BOUND_KB, "peak RSS {peak} kB");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_with_the_config_a_symlink_to_dev_zero_keeps_the_running_config_in_bounded_memory() {
    let server = Server::start(only_cpu());
    cap_address_space(server.pid());
    let witness = Witness::start(&server).await;
    let before = proc_kb(server.pid(), "VmRSS");
    let config = config_symlink_to(&server, Path::new("/dev/zero"));
    signal(server.pid(), "-HUP");
    let (line, peak) = tokio::task::block_in_place(|| {
        wait_watching_memory(
            &server,
            |l| l.contains("Configuration reload refused"),
            Duration::from_secs(20),
        )
    });
    eprintln!("SIGHUP with /dev/zero: RSS {before} kB before, peak {peak} kB");
    let line = line.unwrap_or_else(|| {
        panic!(
            "no refusal in 20 s (peak RSS {peak} kB); log:\n{}",
            server.log_text()
        )
    });
    assert!(
        line.contains(&config.display().to_string()) && line.contains("not a regular file"),
        "the error names the path and why: {line}"
    );
    assert!(peak < RSS_BOUND_KB, "peak RSS {peak} kB");
    tokio::time::sleep(INTERVAL * 4).await;
    witness.assert_every_tick(INTERVAL, "a reload of /dev/zero");
    let status = server.terminate(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "a clean exit after it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fifo_as_config_neither_hangs_the_reload_nor_the_next_one_nor_shutdown() {
    let server = Server::start(only_cpu());
    let witness = Witness::start(&server).await;
    let config = server.dir.path().join("plugins.toml");
    std::fs::remove_file(&config).expect("remove plugins.toml");
    let made = Command::new("mkfifo").arg(&config).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo is needed");
    signal(server.pid(), "-HUP");
    let refused = server.wait_for_log(
        |l| l.contains("Configuration reload refused"),
        Duration::from_secs(10),
    );
    let refused = refused.unwrap_or_else(|| {
        panic!(
            "the reload of a FIFO never answered; log:\n{}",
            server.log_text()
        )
    });
    assert!(
        refused.contains(&config.display().to_string()) && refused.contains("FIFO"),
        "{refused}"
    );

    // A good file is applied by the next reload.
    write_config(&server, "[monitor]\nhistory_size = 77\n");
    signal(server.pid(), "-HUP");
    let applied = server.wait_for_log(
        |l| l.contains("Configuration reloaded.") && l.contains("history_size"),
        Duration::from_secs(10),
    );
    assert!(
        applied.is_some(),
        "the good file after the FIFO was not applied; log:\n{}",
        server.log_text()
    );
    witness.assert_every_tick(INTERVAL, "a reload of a FIFO");

    // And with a FIFO again, a reload in progress does not hold the exit.
    std::fs::remove_file(&config).expect("remove plugins.toml");
    let made = Command::new("mkfifo").arg(&config).status();
    assert!(made.is_ok_and(|s| s.success()));
    signal(server.pid(), "-HUP");
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    let status = server.terminate(Duration::from_secs(10));
    eprintln!(
        "SIGTERM after a FIFO reload: exited in {:?}",
        asked.elapsed()
    );
    assert!(
        status.is_some(),
        "SIGTERM did not end the server within 10 s"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_error_for_collect_timeout_names_a_real_line() {
    let server = Server::start(only_cpu());
    // The file sets only `interval`, below the default collect_timeout (0.25 s).
    write_config(&server, "\n[monitor]\ninterval = 0.2\n");
    signal(server.pid(), "-HUP");
    let refused = server.wait_for_log(
        |l| l.contains("Configuration reload refused"),
        Duration::from_secs(10),
    );
    let refused = refused.unwrap_or_else(|| panic!("no refusal; log:\n{}", server.log_text()));
    assert!(
        !refused.contains("line 0") && refused.contains("line 6: `monitor.interval`"),
        "the error points at the line that is wrong: {refused}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unavailable_plugin_is_logged_once_across_rescans() {
    let server = Server::start(Setup {
        plugins: &["collector-cpu", "collector-gpu-smi"],
        config: "\n[plugins.gpu-smi]\nbinary = \"/nonexistent/nvidia-smi\"\n",
        extra_files: &[],
    });
    let witness = Witness::start(&server).await;
    let folder = server.dir.path().join("plugins");
    let memory = library("collector-memory");
    let copy = folder.join(memory.file_name().expect("name"));
    // Three rescans: a library added, removed, added again.
    for (round, add) in [true, false, true].into_iter().enumerate() {
        if add {
            std::fs::copy(&memory, &copy).expect("copy");
        } else {
            std::fs::remove_file(&copy).expect("remove");
        }
        let wanted = if add {
            "Plugin loaded."
        } else {
            "Plugin stopped."
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while server
            .logs()
            .iter()
            .filter(|l| l.contains(wanted) && l.contains("memory"))
            .count()
            < round / 2 + 1
        {
            assert!(
                Instant::now() < deadline,
                "rescan {round} did not happen; log:\n{}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let lines = server
        .logs()
        .into_iter()
        .filter(|l| l.contains("Plugin not available on this machine") && l.contains("gpu-smi"))
        .count();
    assert_eq!(
        lines,
        1,
        "one line for an unavailable plugin; log:\n{}",
        server.log_text()
    );
    witness.assert_every_tick(INTERVAL, "three rescans");
}

/// The `plugin_event`s that arrive on `ws` within `timeout` while `until` is false,
/// and every tick's sections meanwhile.
async fn events_and_ticks(
    ws: &mut Client,
    timeout: Duration,
    until: impl Fn(&[Value]) -> bool,
) -> (Vec<Value>, Vec<Value>) {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut events = Vec::new();
    let mut ticks = Vec::new();
    while !until(&events) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(message) = monitoring_test_support::next_json(ws, left).await else {
            break;
        };
        match message["type"].as_str() {
            Some("plugin_event") => events.push(message),
            Some("monitoring_data") => ticks.push(message["data"].clone()),
            _ => {}
        }
    }
    (events, ticks)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_copy_over_a_running_collector_keeps_the_running_version() {
    let server = Server::start(Setup {
        plugins: &["collector-cpu", "collector-memory"],
        config: "",
        extra_files: &[],
    });
    let witness = Witness::start(&server).await;
    let mut ws = connect(&server.url("/")).await;
    let good = library("collector-cpu");
    let installed = server
        .dir
        .path()
        .join("plugins")
        .join(good.file_name().expect("name"));
    let bytes = std::fs::read(&good).expect("the built library");
    // A copy over the installed file, in place, cut short after 64 KiB: the dynamic
    // loader maps segments the file no longer has and dies of SIGBUS. (Cut at half,
    // a debug build still loads: its second half is debug information.)
    let cut = bytes.len().min(64 * 1024);
    std::fs::write(&installed, &bytes[..cut]).expect("truncated copy");

    let (events, _) = events_and_ticks(&mut ws, Duration::from_secs(20), |events| {
        events.iter().any(|e| e["event"] == "refused")
    })
    .await;
    let refused = events
        .iter()
        .find(|e| e["event"] == "refused")
        .unwrap_or_else(|| panic!("no refused event: {events:?}; log:\n{}", server.log_text()));
    let reason = refused["reason"].as_str().unwrap_or_default();
    eprintln!("the truncated copy's event: {refused}");
    assert!(
        refused["name"] == "cpu" && reason.contains("keeps running") && reason.contains("version"),
        "the event says the replacement was refused and which version runs: {refused}"
    );
    // Then every tick still carries the collector's section, and nothing is removed.
    let (later, ticks) = events_and_ticks(&mut ws, INTERVAL * 8, |_| false).await;
    assert!(
        later.iter().all(|e| e["event"] != "removed"),
        "the running plugin was stopped: {later:?}"
    );
    assert!(ticks.len() >= 6, "only {} ticks", ticks.len());
    for tick in &ticks {
        assert!(
            tick.get("processor").is_some(),
            "a tick without processor: {tick}"
        );
    }
    let record = plugin_record(&server, "cpu", None).await;
    assert_eq!(record["state"], "running", "{record}");

    // The good file back: still running, and the refusal is gone.
    std::fs::write(&installed, &bytes).expect("the good file back");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let record = plugin_record(&server, "cpu", None).await;
        if record["state"] == "running" && record.get("reason").is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "still {record}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, ticks) = events_and_ticks(&mut ws, INTERVAL * 4, |_| false).await;
    assert!(ticks.iter().all(|t| t.get("processor").is_some()));
    witness.assert_every_tick(INTERVAL, "a truncated replacement");
}

/// The staging folders in `temp`.
fn staging_folders(temp: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(temp)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("monitoring-plugins-")
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// Bytes of the files in `dir` (what the disk holds of them).
fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.blocks() * 512)
        .sum()
}

/// Bytes free on `dir`'s file system.
fn free_bytes(dir: &Path) -> u64 {
    let stats = rustix::fs::statvfs(dir).expect("statvfs");
    stats.f_bavail * stats.f_frsize
}

/// Starts a server whose temporary folder is `temp`.
fn start_in(temp: &Path) -> Server {
    let temp = temp.to_str().expect("a UTF-8 path");
    Server::start_with_env(only_cpu(), &[("TMPDIR", temp)])
}

/// The one staging folder `server` made in `temp` (besides `others`).
fn own_staging(temp: &Path, others: &[PathBuf]) -> PathBuf {
    let mine: Vec<PathBuf> = staging_folders(temp)
        .into_iter()
        .filter(|f| !others.contains(f))
        .collect();
    assert_eq!(mine.len(), 1, "one staging folder: {mine:?}");
    mine[0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_big_files_dropped_at_once_stay_under_the_staging_cap() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().expect("temp folder");
    let server = start_in(temp.path());
    let staging = own_staging(temp.path(), &[]);
    let mut failures = Vec::new();
    let mode = std::fs::metadata(&staging)
        .expect("staging")
        .permissions()
        .mode()
        & 0o777;
    if mode != 0o700 {
        failures.push(format!("the staging folder is {mode:o}, not 700"));
    }
    let witness = Witness::start(&server).await;
    // Three 150 MiB files (sparse here; their copies are not), made beside the plugins
    // folder and moved in together.
    let size = 150 * 1024 * 1024;
    let folder = server.dir.path().join("plugins");
    let names = ["libmid1.so", "libmid2.so", "libmid3.so"];
    for name in names {
        let file = std::fs::File::create(server.dir.path().join(name)).expect("create");
        file.set_len(size).expect("sparse length");
    }
    let free_before = free_bytes(temp.path());
    for name in names {
        std::fs::rename(server.dir.path().join(name), folder.join(name)).expect("move in");
    }
    let (mut peak, mut least_free) = (0, free_before);
    let deadline = Instant::now() + Duration::from_secs(90);
    let refused = |logs: &[String]| {
        names.iter().all(|n| {
            logs.iter()
                .any(|l| l.contains("Plugin refused.") && l.contains(n))
        })
    };
    while !refused(&server.logs()) && Instant::now() < deadline {
        peak = peak.max(disk_bytes(&staging));
        least_free = least_free.min(free_bytes(temp.path()));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    eprintln!(
        "three 150 MiB files: staging peak {} MiB (cap {} MiB), free space {} → least {} MiB",
        peak >> 20,
        MAX_STAGED_BYTES >> 20,
        free_before >> 20,
        least_free >> 20
    );
    if !refused(&server.logs()) {
        failures.push(format!(
            "not all three were refused; log:\n{}",
            server.log_text()
        ));
    }
    if peak > MAX_STAGED_BYTES {
        failures.push(format!(
            "the staging folder held {} MiB at once, over the {} MiB cap",
            peak >> 20,
            MAX_STAGED_BYTES >> 20
        ));
    }
    witness.assert_every_tick(INTERVAL, "three big files dropped at once");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_staging_folder_of_a_killed_server_is_removed_at_the_next_start() {
    let temp = tempfile::tempdir().expect("temp folder");
    let killed = start_in(temp.path());
    let killed_staging = own_staging(temp.path(), &[]);
    // What a copy being probed leaves when the server is killed.
    std::fs::write(
        killed_staging.join("0123456789abcdef-libmid.so"),
        vec![0u8; 4096],
    )
    .expect("a staged copy");
    let running = start_in(temp.path());
    let running_staging = own_staging(temp.path(), std::slice::from_ref(&killed_staging));
    let witness = Witness::start(&running).await;
    drop(killed); // SIGKILL
    let next = start_in(temp.path());
    let next_staging = own_staging(
        temp.path(),
        &[killed_staging.clone(), running_staging.clone()],
    );
    assert!(
        !killed_staging.exists(),
        "the killed server's staging folder is still there: {}; log:\n{}",
        killed_staging.display(),
        next.log_text()
    );
    assert!(
        running_staging.exists(),
        "a running server's staging folder was removed"
    );
    assert!(next_staging.exists());
    witness.assert_every_tick(INTERVAL, "a second server starting beside it");
    drop(next);
    drop(running);
}
