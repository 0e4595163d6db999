//! A bad plugins.toml stops the server before it listens, with a message naming the
//! file, the line and the key.

use std::process::Command;

fn run_with_config(text: &str) -> (Option<i32>, String) {
    monitoring_test_support::run_to_exit(text)
}

#[test]
fn an_unknown_key_is_refused_naming_file_line_and_key() {
    let (code, stderr) = run_with_config("[server]\nport = 0\nmax_client = 5\n");
    assert_ne!(code, Some(0));
    assert!(stderr.contains("plugins.toml"), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("max_client"), "{stderr}");
}

#[test]
fn a_malformed_file_is_refused_naming_file_and_line() {
    let (code, stderr) = run_with_config("[server]\nport = 0\n\n[monitor\ninterval = 0.5\n");
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("plugins.toml") && stderr.contains("line 4"),
        "{stderr}"
    );
}

#[test]
fn a_bad_value_is_refused_naming_file_line_and_key() {
    let (code, stderr) = run_with_config("[server]\nport = 0\n[monitor]\ninterval = 0\n");
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("plugins.toml: line 4: `monitor.interval`"),
        "{stderr}"
    );
}

#[test]
fn a_missing_config_file_is_an_error() {
    let output = Command::new(monitoring_test_support::artifacts().join(format!(
        "monitoring-websocket-server{}",
        std::env::consts::EXE_SUFFIX
    )))
    .args(["--config", "/no/such/plugins.toml"])
    .output()
    .expect("run the server");
    assert_ne!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/no/such/plugins.toml") && stderr.contains("cannot read"),
        "{stderr}"
    );
}

/// Lines of `logs` that are WARN and contain every one of `needles`.
fn warnings_with(logs: &[String], needles: &[&str]) -> Vec<String> {
    logs.iter()
        .filter(|l| l.contains(" WARN ") && needles.iter().all(|n| l.contains(n)))
        .cloned()
        .collect()
}

#[test]
fn typos_in_plugin_tables_and_rule_metrics_are_warned_about_once_with_file_line_and_key() {
    let config = "\n[plugins.memroy]\nenabled = true\n\n\
                  [[alerts.rules]]\nmetric = \"memory.percentag\"\nwarning = 80.0\n\n\
                  [[alerts.rules]]\nmetric = \"memory.percentage\"\nwarning = 99.9\n";
    let server = monitoring_test_support::Server::start(monitoring_test_support::Setup {
        plugins: &monitoring_test_support::CORE_COLLECTORS,
        config,
        extra_files: &[],
    });
    let file = server.dir.path().join("plugins.toml");
    let file = file.display().to_string();
    // The rule check waits for the first complete snapshot.
    let rule_warning = server.wait_for_log(
        |l| l.contains("alerts.rules[0].metric"),
        std::time::Duration::from_secs(10),
    );
    assert!(rule_warning.is_some(), "log:\n{}", server.log_text());
    // A couple more ticks: each warning stays one line.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let logs = server.logs();
    // `[server]` takes lines 1–3 and the config starts on line 4 with a blank line.
    let table = warnings_with(
        &logs,
        &[
            &file,
            "line 5",
            "`[plugins.memroy]`",
            "did you mean `memory`?",
        ],
    );
    assert_eq!(
        table.len(),
        1,
        "one line for the table; log:\n{}",
        logs.join("\n")
    );
    let rule = warnings_with(
        &logs,
        &[
            &file,
            "line 8",
            "`alerts.rules[0].metric`",
            "`memory.percentag`",
        ],
    );
    assert_eq!(
        rule.len(),
        1,
        "one line for the rule; log:\n{}",
        logs.join("\n")
    );
    assert!(
        warnings_with(&logs, &["alerts.rules[1]"]).is_empty(),
        "a rule that matches is not warned about"
    );
}
