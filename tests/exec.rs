//! The `exec` collector end to end, with real peers: Debian's Nagios checks through
//! `nagios` (one forced CRITICAL, then OK after a hot reload of plugins.toml), a
//! node_exporter collector script through `prometheus`, and a Python daemon printing
//! Influx lines.

#[path = "exec/common.rs"]
mod common;

use std::time::Duration;

use common::{data_where, fixture, quoted, reload, start};
use monitoring_test_support::peer::NAGIOS_PLUGINS;
use monitoring_test_support::{connect, require, Peer};
use serde_json::Value;

const SECOND: Duration = Duration::from_secs(1);

/// Four real checks and one forced CRITICAL by thresholds no load passes.
fn nagios_config() -> String {
    let check = |name: &str, args: &str| {
        format!(
            "[[plugins.exec.commands]]\nname = \"{name}\"\ncommand = [\"{NAGIOS_PLUGINS}/{args}\nformat = \"nagios\"\ninterval = 1\n\n"
        )
    };
    [
        check(
            "load",
            "check_load\", \"-w\", \"1000,1000,1000\", \"-c\", \"2000,2000,2000\"]",
        ),
        check(
            "root_disk",
            "check_disk\", \"-w\", \"1%\", \"-c\", \"1%\", \"-p\", \"/\"]",
        ),
        check(
            "procs",
            "check_procs\", \"-w\", \"100000\", \"-c\", \"200000\"]",
        ),
        check(
            "swap",
            "check_swap\", \"-n\", \"ok\", \"-w\", \"1%\", \"-c\", \"1%\"]",
        ),
        check(
            "forced",
            "check_load\", \"-w\", \"0,0,0\", \"-c\", \"0,0,0\"]",
        ),
    ]
    .concat()
}

fn state(data: &Value, section: &str) -> String {
    data[section]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn nagios_checks_become_sections_and_a_reload_turns_critical_to_ok() {
    require(Peer::MonitoringPlugins);
    let server = start(&nagios_config());
    let mut ws = connect(&server.url("/")).await;
    let data = data_where(&mut ws, 15 * SECOND, |d| {
        ["load", "root_disk", "procs", "swap", "forced"]
            .iter()
            .all(|s| d[*s]["format"] == "nagios")
    })
    .await;
    for section in ["load", "root_disk", "procs", "swap"] {
        assert_eq!(
            state(&data, section),
            "OK",
            "{section}: {:#}",
            data[section]
        );
        assert_eq!(data[section]["code"], 0, "{:#}", data[section]);
    }
    assert!(data["load"]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("LOAD OK")));
    assert!(
        data["load"]["perfdata"]["load1"]["value"].is_number(),
        "{:#}",
        data["load"]
    );
    assert_eq!(data["load"]["perfdata"]["load1"]["crit"], "2000.000");
    assert_eq!(
        data["root_disk"]["perfdata"]["/"]["unit"], "B",
        "{:#}",
        data["root_disk"]
    );
    assert!(data["procs"]["perfdata"]["procs"]["value"].as_f64() >= Some(1.0));
    assert_eq!(state(&data, "forced"), "CRITICAL", "{:#}", data["forced"]);
    assert!(data["forced"]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("LOAD CRITICAL")));
    let status = &data["exec"]["commands"];
    assert_eq!(status["forced"]["exit_code"], 2, "{status:#}");
    assert_eq!(status["load"]["exit_code"], 0, "{status:#}");
    assert!(
        status["forced"]["error"].is_null(),
        "a CRITICAL check ran fine: {status:#}"
    );

    reload(&server, |text| {
        text.replace("\"0,0,0\"", "\"1000,1000,1000\"")
    });
    let data = data_where(&mut ws, 15 * SECOND, |d| state(d, "forced") == "OK").await;
    assert_eq!(data["forced"]["code"], 0);
}

/// The host side of issue 24 raises a non-OK Nagios section as an alert (component =
/// the section, metric `state`) and resolves it when the check is OK again.
#[tokio::test]
async fn a_critical_check_alerts_and_resolves_when_it_is_ok_again() {
    require(Peer::MonitoringPlugins);
    let server = start(&nagios_config());
    let mut ws = connect(&server.url("/")).await;
    let fired = |alerts: &Value| {
        alerts.as_array().and_then(|all| {
            all.iter()
                .find(|a| a["component"] == "forced" && a["metric"] == "state")
                .cloned()
        })
    };
    let mut alert = None;
    // 30 ticks: the check runs every second, so it has been CRITICAL for ~10 runs.
    for _ in 0..30 {
        let (message, _) =
            monitoring_test_support::next_of_type(&mut ws, "monitoring_data", 5 * SECOND)
                .await
                .expect("monitoring_data keeps coming");
        alert = fired(&message["alerts"]);
        if alert.is_some() {
            break;
        }
    }
    let alert = alert.expect("the CRITICAL check `forced` raises an alert");
    assert_eq!(alert["level"], "CRITICAL", "{alert}");
    assert!(
        alert["message"]
            .as_str()
            .is_some_and(|m| m.contains("LOAD CRITICAL")),
        "{alert}"
    );

    reload(&server, |text| {
        text.replace("\"0,0,0\"", "\"1000,1000,1000\"")
    });
    data_where(&mut ws, 15 * SECOND, |d| state(d, "forced") == "OK").await;
    let mut resolved = false;
    for _ in 0..20 {
        let (message, _) =
            monitoring_test_support::next_of_type(&mut ws, "monitoring_data", 5 * SECOND)
                .await
                .expect("monitoring_data keeps coming");
        if fired(&message["alerts"]).is_none() {
            resolved = true;
            break;
        }
    }
    assert!(
        resolved,
        "the alert of `forced` resolves once the check is OK"
    );
}

#[tokio::test]
async fn a_node_exporter_collector_script_becomes_a_prometheus_section() {
    let script = require(Peer::NodeExporterCollectors).expect("directory-size.sh");
    let measured = tempfile::tempdir().expect("a directory to measure");
    std::fs::write(measured.path().join("payload"), vec![7u8; 64 * 1024]).expect("payload");
    let config = format!(
        "[[plugins.exec.commands]]\nname = \"dirsize\"\ncommand = [\"/bin/sh\", {}, {}]\n\
         format = \"prometheus\"\ninterval = 1\n",
        quoted(&script),
        quoted(measured.path())
    );
    let server = start(&config);
    let mut ws = connect(&server.url("/")).await;
    let data = data_where(&mut ws, 15 * SECOND, |d| {
        d["dirsize"]["format"] == "prometheus"
    })
    .await;
    let family = &data["dirsize"]["families"][0];
    assert_eq!(
        family["name"], "node_directory_size_bytes",
        "{:#}",
        data["dirsize"]
    );
    assert_eq!(family["type"], "gauge");
    let sample = &family["samples"][0];
    assert_eq!(
        sample["labels"]["directory"],
        measured.path().display().to_string()
    );
    assert!(sample["value"].as_f64() >= Some(64.0 * 1024.0), "{sample}");
}

#[tokio::test]
async fn a_python_daemon_streams_influx_readings() {
    let python = require(Peer::Python3).expect("python3");
    // pyenv's shim needs its own environment; the interpreter itself needs none.
    let output = std::process::Command::new(&python)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    let interpreter = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let config = format!(
        "[[plugins.exec.commands]]\nname = \"pydaemon\"\ncommand = [{interpreter:?}, {}]\n\
         format = \"influx\"\nmode = \"daemon\"\n",
        quoted(&fixture("influx_daemon.py"))
    );
    let server = start(&config);
    let mut ws = connect(&server.url("/")).await;
    let counter =
        |d: &Value| d["pydaemon"]["measurements"]["exec_test"][0]["fields"]["counter"].as_i64();
    let first = data_where(&mut ws, 15 * SECOND, |d| counter(d).is_some()).await;
    let start_count = counter(&first).expect("a counter");
    let later = data_where(&mut ws, 10 * SECOND, |d| counter(d) > Some(start_count + 2)).await;
    let point = &later["pydaemon"]["measurements"]["exec_test"][0];
    assert_eq!(point["tags"]["source"], "python", "{point}");
    assert!(point["fields"]["half"].is_number(), "{point}");
    let status = &later["exec"]["commands"]["pydaemon"];
    assert_eq!(status["mode"], "daemon", "{status}");
    assert_eq!(status["restarts"], 0, "{status}");
    assert!(status["runs"].as_u64() > Some(2), "{status}");
}
