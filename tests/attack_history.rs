//! Issue 20, items 1 and 8 (and part of 9): what `/api/history` and the history behind
//! it may cost the server, proven on the real binary.
//!
//! - A crowd reading the whole history again and again plus hundreds of readers that
//!   never read, from several loopback addresses, leave the server's memory bounded;
//!   the readers that never read are cut, and a client connected before the attack
//!   keeps every tick.
//! - A stored snapshot costs about its JSON in memory, and a history that could not
//!   fit its memory bound is refused at start, naming the keys.
//! - A bad `count` is quoted in part.

#[path = "attacks/history.rs"]
mod attack;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use monitoring_test_support::http::get;
use monitoring_test_support::witness::Witness;
use monitoring_test_support::{Server, Setup, CORE_COLLECTORS};

const INTERVAL: Duration = Duration::from_millis(100);

/// Core collectors ticking every 100 ms, keeping `history_size` snapshots.
fn start(history_size: usize) -> Server {
    let config = format!(
        "[monitor]\ninterval = {}\ncollect_timeout = 0.08\nhistory_size = {history_size}\n",
        INTERVAL.as_secs_f64()
    );
    Server::start(Setup {
        plugins: &CORE_COLLECTORS,
        config: &config,
        extra_files: &[],
    })
}

/// Waits until the history holds `count` snapshots; returns the full reply's length.
fn fill(server: &Server, count: usize) -> usize {
    let deadline = Instant::now() + INTERVAL * count as u32 * 3 + Duration::from_secs(20);
    loop {
        let reply = get(server.port, &format!("/api/history?count={count}"));
        assert_eq!(reply.status, 200, "{reply:?}");
        if reply.json()["count"] == count {
            return reply.body.len();
        }
        assert!(
            Instant::now() < deadline,
            "the history never filled: {}",
            reply.json()["count"]
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn rss_mib(server: &Server) -> f64 {
    attack::memory_kib(server.pid(), "VmRSS").expect("the server's /proc status") as f64 / 1024.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_readers_slow_or_many_leave_memory_bounded_and_ticks_flowing() {
    const SIZE: usize = 400;
    let server = start(SIZE);
    let body = tokio::task::block_in_place(|| fill(&server, SIZE));
    let before = rss_mib(&server);
    let witness = Witness::start(&server).await;
    let outcome = attack::run(attack::Knobs {
        port: server.port,
        duration: Duration::from_secs(8),
        readers: 50,
        slow_per_address: 150,
        addresses: 3,
        count: SIZE,
        pid: Some(server.pid()),
    })
    .await;
    let peak = outcome.peak_rss_kib as f64 / 1024.0;
    eprintln!(
        "history of {SIZE}: {:.2} MB a reply; RSS {before:.1} MB before, peak {peak:.1} MB \
         (VmHWM {:.1} MB); {outcome:?}",
        body as f64 / 1e6,
        outcome.hwm_kib as f64 / 1024.0
    );
    witness.assert_every_tick(INTERVAL, "the history attack");
    assert!(
        outcome.slow_opened >= 300,
        "the slow readers could not even connect: {outcome:?}"
    );
    // Each slow reader held a copy of the reply: 450 × a reply of ~1 MB.
    assert!(
        peak - before < 64.0,
        "the server grew from {before:.1} MB to {peak:.1} MB under the attack; {outcome:?}"
    );
    assert!(
        outcome.replies_ok > 0,
        "the readers never got a whole history: {outcome:?}"
    );
    assert_eq!(
        outcome.slow_alive, 0,
        "readers that take nothing must lose their connection: {outcome:?}"
    );
    // The server is still serving the history afterwards.
    let reply = tokio::task::block_in_place(|| get(server.port, "/api/history?count=1"));
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[test]
fn a_stored_snapshot_costs_about_its_json() {
    const SIZE: usize = 1000;
    let server = start(SIZE);
    let config_fill = 50;
    fill(&server, config_fill);
    let empty = rss_mib(&server);
    let body = fill(&server, SIZE);
    // Let the allocator hand back what the filling left free (it trims every 10 s).
    std::thread::sleep(Duration::from_secs(11));
    let full = rss_mib(&server);
    let per_snapshot = (full - empty) * 1024.0 * 1024.0 / (SIZE - config_fill) as f64;
    let json = body as f64 / SIZE as f64;
    eprintln!(
        "RSS {empty:.1} MB at {config_fill} snapshots, {full:.1} MB at {SIZE}: \
         {per_snapshot:.0} bytes a snapshot of {json:.0} bytes of JSON"
    );
    assert!(
        per_snapshot < 2.5 * json,
        "a snapshot of {json:.0} bytes of JSON costs {per_snapshot:.0} bytes of RSS"
    );
}

#[test]
fn a_history_past_its_memory_bound_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("scratch folder");
    let path = dir.path().join("plugins.toml");
    std::fs::write(
        &path,
        "[server]\nhost = \"127.0.0.1\"\nport = 0\n\n[monitor]\ninterval = 0.05\n\
         collect_timeout = 0.04\nhistory_size = 100000\n",
    )
    .expect("write config");
    let mut child = Command::new(monitoring_test_support::artifacts().join(format!(
        "monitoring-websocket-server{}",
        std::env::consts::EXE_SUFFIX
    )))
    .arg("--config")
    .arg(&path)
    .env("NO_COLOR", "1")
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("run the server");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    let status = status.unwrap_or_else(|| {
        panic!("history_size = 100000 at 0.05 s a tick was accepted; the server ran:\n{stderr}")
    });
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("plugins.toml: line 8: `monitor.history_size`")
            && stderr.contains("`monitor.interval`"),
        "{stderr}"
    );
}

#[test]
fn a_long_count_is_quoted_in_part() {
    let server = start(10);
    let digits = "7".repeat(5000);
    let reply = get(server.port, &format!("/api/history?count={digits}"));
    assert_eq!(reply.status, 400, "{reply:?}");
    let error = reply.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.len() < 300 && error.contains(&format!("`{}…`", "7".repeat(64))),
        "{} bytes: {}",
        error.len(),
        &error[..error.len().min(300)]
    );
}
