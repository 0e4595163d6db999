//! WebSocket conformance: the Autobahn test suite's fuzzing client against `/echo`, a
//! route that echoes but otherwise uses the production WebSocket settings and close
//! handling. No case may be FAILED.
//!
//! Autobahn|Testsuite needs Python 2.7 (`pip2 install autobahntestsuite`; `.ci/run`
//! installs it under pyenv). Where `wstest` is absent the test says so and skips.
//! Cases 9.* (messages up to 16 MiB, performance) are excluded: the production limit
//! is 64 KiB and such messages are answered with 1009 by design; 12.* and 13.*
//! (permessage-deflate) come back UNIMPLEMENTED, which is not a failure.

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support::{Server, Setup};

fn wstest() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AUTOBAHN_WSTEST") {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let versions = std::fs::read_dir(home.join(".pyenv/versions")).ok()?;
    let mut found: Vec<PathBuf> = versions
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin/wstest"))
        .filter(|path| path.exists())
        .collect();
    found.sort();
    found.pop().or_else(|| {
        Command::new("wstest")
            .arg("--help")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| "wstest".into())
    })
}

#[test]
fn autobahn_finds_no_failed_case() {
    let Some(wstest) = wstest() else {
        eprintln!("SKIPPED: Autobahn's wstest is not installed (python2.7 -m pip install autobahntestsuite; .ci/run does)");
        return;
    };
    let server = Server::start_with_env(
        Setup {
            plugins: &[],
            config: "",
            extra_files: &[],
        },
        &[("MONITORING_CONFORMANCE_ECHO", "1")],
    );
    let reports = server.dir.path().join("autobahn");
    let spec = serde_json::json!({
        "outdir": reports,
        "servers": [{"agent": "monitoring-websocket-server", "url": server.url("/echo")}],
        "cases": ["*"],
        "exclude-cases": ["9.*"],
        "exclude-agent-cases": {}
    });
    let spec_path = server.dir.path().join("fuzzingclient.json");
    std::fs::write(&spec_path, spec.to_string()).expect("write spec");
    let output = Command::new(&wstest)
        .args(["-m", "fuzzingclient", "-s"])
        .arg(&spec_path)
        .current_dir(server.dir.path())
        .output()
        .expect("run wstest");
    assert!(
        output.status.success(),
        "wstest failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("index.json")).expect("autobahn wrote index.json"),
    )
    .expect("index.json is JSON");
    let cases = index["monitoring-websocket-server"]
        .as_object()
        .expect("our agent's results");
    assert!(cases.len() > 200, "only {} cases ran", cases.len());
    let failed: Vec<String> = cases
        .iter()
        .filter(|(_, result)| result["behavior"] == "FAILED" || result["behaviorClose"] == "FAILED")
        .map(|(case, result)| {
            format!(
                "{case}: {} / close {}",
                result["behavior"], result["behaviorClose"]
            )
        })
        .collect();
    let tally = |what: &str| cases.values().filter(|r| r["behavior"] == what).count();
    eprintln!(
        "autobahn: {} cases: {} OK, {} NON-STRICT, {} INFORMATIONAL, {} UNIMPLEMENTED, {} FAILED",
        cases.len(),
        tally("OK"),
        tally("NON-STRICT"),
        tally("INFORMATIONAL"),
        tally("UNIMPLEMENTED"),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "Autobahn cases FAILED:\n{}",
        failed.join("\n")
    );
}
