//! The collector on the live machine: the contract, and real processes found by pid.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use monitoring_plugin_api::ErrorKind;

use super::*;

/// A child process killed (by its pid) and reaped when the test ends, passed or not.
struct Spawned(Child);

impl Spawned {
    fn sh(script: &str) -> Self {
        let child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh starts");
        Self(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Waits for the child's first line: its readiness signal.
    fn first_line(&mut self) -> String {
        let stdout: &mut ChildStdout = self.0.stdout.as_mut().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("reads");
        line
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const BUSY_LOOP: &str = "while :; do :; done";
/// A shell variable of 150 MB of 'a' (dash drops NUL bytes, hence `tr`), held until
/// killed; `ready` once it is allocated.
const MEMORY_HOLDER: &str = "x=$(head -c 150000000 /dev/zero | tr '\\0' a); echo ready; read _";

fn position(list: &[ProcessInfo], pid: u32) -> Option<usize> {
    list.iter().position(|p| p.pid == pid)
}

#[test]
fn obeys_the_collector_contract() {
    let sections = monitoring_plugin_api::testing::check_collector::<ProcessesCollector>();
    let section: Processes =
        monitoring_plugin_api::serde_json::from_value(sections["processes"].clone())
            .expect("the processes schema");
    assert!(
        section.total >= 2,
        "at least this test and init: {section:?}"
    );
    for list in [&section.top_cpu, &section.top_memory] {
        assert_eq!(
            list.len(),
            10,
            "default top = 10 of {} processes",
            section.total
        );
        assert!(list.iter().all(|p| p.command.chars().count() <= 256));
    }
    assert!(section
        .top_cpu
        .windows(2)
        .all(|w| w[0].cpu_percent >= w[1].cpu_percent));
    assert!(section
        .top_memory
        .windows(2)
        .all(|w| w[0].memory_rss >= w[1].memory_rss));
}

/// A busy loop and a 150 MB holder, among everything else this shared machine runs
/// (compilers of several agents at once), rank in the top 40 by CPU and by memory,
/// named, owned and cut as configured.
#[test]
fn finds_a_busy_child_and_a_large_one_by_pid() {
    let busy = Spawned::sh(BUSY_LOOP);
    let mut holder = Spawned::sh(MEMORY_HOLDER);
    assert_eq!(holder.first_line(), "ready\n");
    let mut collector = ProcessesCollector::new(Config {
        top: 40,
        command_max: 12,
    })
    .expect("builds");
    // CPU use is measured between two readings: give the loop time to show.
    std::thread::sleep(Duration::from_secs(1));
    let section = collector.collect().expect("collects").processes;

    let at = position(&section.top_cpu, busy.pid())
        .unwrap_or_else(|| panic!("busy pid {} not in {:#?}", busy.pid(), section.top_cpu));
    let found = &section.top_cpu[at];
    assert!(found.cpu_percent > 0.0, "{found:?}");
    assert_eq!(found.name, "sh");
    // "sh -c while :; do :; done" cut to 12 characters, the last one the ellipsis.
    assert_eq!(found.command, "sh -c while…");
    if cfg!(unix) {
        assert!(found.user.is_some(), "{found:?}");
    }

    let at = position(&section.top_memory, holder.pid()).unwrap_or_else(|| {
        panic!(
            "holder pid {} not in {:#?}",
            holder.pid(),
            section.top_memory
        )
    });
    let found = &section.top_memory[at];
    assert!(found.memory_rss >= 150_000_000, "{found:?}");
    assert_eq!(
        found.memory_percent,
        percent_of(found.memory_rss, collector.total_memory).expect("memory is known")
    );
}

#[test]
fn settings_out_of_bounds_are_config_errors() {
    for (top, command_max) in [(0, 256), (101, 256), (10, 0), (10, 4097)] {
        let error = ProcessesCollector::new(Config { top, command_max })
            .err()
            .unwrap_or_else(|| panic!("top = {top}, command_max = {command_max} accepted"));
        assert_eq!(error.kind(), Some(ErrorKind::Config), "{}", error.message);
    }
}

#[test]
fn cpu_percent_is_one_decimal_and_never_negative_or_nan() {
    assert_eq!(cpu_percent(12.345), 12.3);
    assert_eq!(cpu_percent(187.06), 187.1);
    assert_eq!(cpu_percent(-0.01), 0.0);
    assert_eq!(cpu_percent(f32::NAN), 0.0);
}

/// `total` counts processes, as `/proc` lists them, not threads: 50 parked threads of
/// this test would add 50 (Linux lists threads as tasks of their process).
#[cfg(target_os = "linux")]
#[test]
fn counts_processes_not_threads() {
    let (release, parked) = std::sync::mpsc::channel::<()>();
    let parked = std::sync::Arc::new(std::sync::Mutex::new(parked));
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let parked = std::sync::Arc::clone(&parked);
            std::thread::spawn(move || {
                let _ = parked.lock().map(|receiver| receiver.recv());
            })
        })
        .collect();
    let mut collector = ProcessesCollector::new(Config::default()).expect("builds");
    let total = collector.collect().expect("collects").processes.total;
    let listed = std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .count() as u64;
    drop(release);
    for thread in threads {
        thread.join().expect("a parked thread ends");
    }
    // Other agents start and end processes meanwhile: a small difference is churn, 50
    // more would be the threads.
    assert!(
        total.abs_diff(listed) < 25,
        "total {total}, /proc lists {listed}"
    );
}
