//! A bad plugins.toml stops the server before it listens, with a message naming the
//! file, the line and the key.

mod support;

use std::process::Command;

fn run_with_config(text: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("scratch folder");
    let path = dir.path().join("plugins.toml");
    std::fs::write(&path, text).expect("write config");
    let output = Command::new(support::artifacts().join(format!(
        "monitoring-websocket-server{}",
        std::env::consts::EXE_SUFFIX
    )))
    .arg("--config")
    .arg(&path)
    .env("NO_COLOR", "1")
    .output()
    .expect("run the server");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
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
    let output = Command::new(support::artifacts().join(format!(
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
