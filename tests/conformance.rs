//! WebSocket conformance: the Autobahn test suite's fuzzing client against `/echo`, a
//! route that echoes but otherwise uses the production WebSocket settings and close
//! handling. No case may be FAILED.
//!
//! Autobahn|Testsuite needs Python 2.7 (`cargo xtask test` installs `autobahntestsuite`
//! into the one under pyenv). Where `wstest` is absent the test fails and says how to
//! install it.
//! Cases 9.* (messages up to 16 MiB, performance) are excluded: the production limit
//! is 64 KiB and such messages are answered with 1009 by design; 12.* and 13.*
//! (permessage-deflate) come back UNIMPLEMENTED, which is not a failure.

mod support;

use std::process::Command;

use serde_json::Value;
use support::{Peer, Server, Setup};

#[test]
fn autobahn_finds_no_failed_case() {
    let Some(wstest) = support::require(Peer::Autobahn) else {
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
