use super::*;

fn sh(name: &str, script: &str) -> CommandSpec {
    CommandSpec {
        name: name.into(),
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        cwd: None,
        account: None,
        max_output: 1024 * 1024,
    }
}

/// Whether `pid` is gone within a second (SIGKILL is delivered asynchronously).
fn gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        if gone_now(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Whether `pid` is gone (or a zombie nobody reaped yet: it runs no more).
fn gone_now(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

#[test]
fn runs_with_only_the_given_environment_and_cwd() {
    let mut spec = sh("env", "echo \"$PATH|$HOME|$(pwd)\"; echo oops >&2; exit 3");
    spec.cwd = Some("/tmp".into());
    let outcome = run_once(&spec, Duration::from_secs(10), &ProcessSlot::new()).expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&outcome.stdout),
        "/usr/bin:/bin||/tmp\n"
    );
    assert_eq!(outcome.stderr, b"oops\n");
    assert_eq!(outcome.exit_code, Some(3));
    assert!(!outcome.timed_out && !outcome.truncated);
}

#[test]
fn kills_a_hung_command_with_its_group_at_the_timeout() {
    let spec = sh("hangs", "sleep 300 & echo $!; sleep 300");
    let started = Instant::now();
    let outcome = run_once(&spec, Duration::from_millis(300), &ProcessSlot::new()).expect("runs");
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.signal, Some(libc::SIGKILL));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let child: i32 = String::from_utf8_lossy(&outcome.stdout)
        .trim()
        .parse()
        .expect("a pid");
    assert!(gone(child), "the backgrounded sleep {child} survived");
}

#[test]
fn kills_what_a_finished_run_left_behind() {
    let spec = sh("forks", "sleep 300 >/dev/null 2>&1 & echo $!");
    let outcome = run_once(&spec, Duration::from_secs(10), &ProcessSlot::new()).expect("runs");
    assert_eq!(outcome.exit_code, Some(0));
    assert!(!outcome.timed_out);
    let child: i32 = String::from_utf8_lossy(&outcome.stdout)
        .trim()
        .parse()
        .expect("a pid");
    assert!(gone(child), "the backgrounded sleep {child} survived");
}

#[test]
fn cuts_output_over_the_cap_and_kills_the_writer() {
    let mut spec = sh("floods", "head -c 52428800 /dev/zero; sleep 300");
    spec.max_output = 1024 * 1024;
    let started = Instant::now();
    let outcome = run_once(&spec, Duration::from_secs(30), &ProcessSlot::new()).expect("runs");
    assert!(outcome.truncated, "{:?}", outcome.stdout.len());
    assert_eq!(outcome.stdout.len(), 1024 * 1024);
    assert!(!outcome.timed_out, "killed at the cap, not at the timeout");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn names_a_missing_or_non_executable_command() {
    let mut spec = sh("missing", "");
    spec.argv = vec!["/nonexistent/check_thing".into()];
    let err = run_once(&spec, Duration::from_secs(1), &ProcessSlot::new()).expect_err("missing");
    let text = err.to_string();
    assert!(
        text.contains("`missing`") && text.contains("/nonexistent/check_thing"),
        "{text}"
    );
    assert!(text.contains("not found"), "{text}");
    let not_executable =
        std::env::temp_dir().join(format!("not-executable-{}", std::process::id()));
    std::fs::write(&not_executable, "#!/bin/sh\n").expect("write");
    spec.argv = vec![not_executable.display().to_string()];
    let err = run_once(&spec, Duration::from_secs(1), &ProcessSlot::new()).expect_err("no x bit");
    let _ = std::fs::remove_file(&not_executable);
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[test]
fn a_stopped_slot_kills_the_running_group_and_starts_nothing_more() {
    let slot = ProcessSlot::new();
    let spec = sh("long", "sleep 300");
    let stopper = {
        let slot = slot.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            slot.stop();
        })
    };
    let outcome = run_once(&spec, Duration::from_secs(60), &slot).expect("runs");
    stopper.join().expect("stopper");
    assert_eq!(outcome.signal, Some(libc::SIGKILL), "{outcome:?}");
    let err = run_once(&spec, Duration::from_secs(60), &slot).expect_err("stopped");
    assert!(matches!(err, StartError::Stopped(_)), "{err}");
}
