//! Nothing a script does takes the server down or stalls a tick: a command that hangs
//! is killed at its timeout, one that prints 50 MiB is cut at `max_output`, children
//! that outlive their script are killed with its group (at the timeout, and for a
//! daemon when a reload drops its command), and the ticks keep coming meanwhile. Also
//! the tick gaps with 20 commands configured, for the report.

#[path = "exec/common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{data_where, fixture, gone, pids, quoted, reload, start};
use monitoring_test_support::{connect, next_of_type};
use serde_json::Value;

const SECOND: Duration = Duration::from_secs(1);

fn error_of(data: &Value, command: &str) -> String {
    data["exec"]["commands"][command]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn hung_flooding_and_forking_scripts_are_contained_and_the_tick_goes_on() {
    let scratch = tempfile::tempdir().expect("scratch");
    let forked = scratch.path().join("forked.pids");
    let daemon_forked = scratch.path().join("daemon.pids");
    let command = |name: &str, script: &str, extra: &str| {
        format!(
            "[[plugins.exec.commands]]\nname = \"{name}\"\ncommand = [\"/bin/sh\", {}{extra}]\n\
             format = \"json\"\ninterval = 1\ntimeout = 1\n\n",
            quoted(&fixture(script))
        )
    };
    let config = [
        command("hangs", "hang.sh", ""),
        command("floods", "flood.sh", "").replace("timeout = 1", "timeout = 20"),
        command("forks", "forker.sh", &format!(", {}", quoted(&forked))),
        command("daemon", "forking_daemon.sh", &format!(", {}", quoted(&daemon_forked)))
            .replace("format = \"json\"", "format = \"json\"\nmode = \"daemon\""),
        // Something that keeps working, to see the reload happen.
        "[[plugins.exec.commands]]\nname = \"alive\"\ncommand = [\"/bin/echo\", \"{\\\"ok\\\": 1}\"]\n\
         format = \"json\"\ninterval = 1\n"
            .to_owned(),
    ]
    .concat();
    let server = start(&config);
    let mut ws = connect(&server.url("/")).await;

    let data = data_where(&mut ws, 20 * SECOND, |d| {
        let failures = |c: &str| d["exec"]["commands"][c]["failures"].as_u64().unwrap_or(0);
        failures("hangs") >= 1
            && failures("floods") >= 1
            && failures("forks") >= 1
            && d["daemon"]["beats"].is_number()
    })
    .await;
    let hangs = error_of(&data, "hangs");
    assert!(
        hangs.contains("command `hangs` timed out after 1 s"),
        "{hangs}"
    );
    let floods = error_of(&data, "floods");
    assert!(
        floods.contains("command `floods` printed more than `max_output` (1048576 bytes)"),
        "{floods}"
    );
    assert!(error_of(&data, "forks").contains("timed out"), "{data:#}");
    assert!(
        data.get("hangs").is_none_or(Value::is_null),
        "no section from a hung run"
    );

    // Every child the forker left (and the forker) died with its group at the timeout.
    let children = pids(&forked);
    assert!(
        children.len() >= 4,
        "the forker wrote its pids: {children:?}"
    );
    for pid in &children {
        assert!(
            gone(*pid),
            "{pid} of the forker's group outlived the timeout"
        );
    }

    // The ticks never waited for any of it.
    let mut last = Instant::now();
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
            .await
            .expect("a tick within 2 s while scripts hang, flood and fork");
        worst = worst.max(last.elapsed());
        last = Instant::now();
    }
    eprintln!("worst tick gap while scripts hang, flood and fork: {worst:?}");

    // A reload that drops the daemon's command kills it and what it forked.
    let daemon_pids = pids(&daemon_forked);
    assert_eq!(daemon_pids.len(), 2, "{daemon_pids:?}");
    let kept: String = config
        .split("\n\n")
        .filter(|table| table.contains("name = \"alive\""))
        .collect();
    reload(&server, |text| {
        let head = text
            .split("[[plugins.exec.commands]]")
            .next()
            .unwrap_or_default()
            .to_owned();
        format!(
            "{head}{}",
            kept.replace("{\\\"ok\\\": 1}", "{\\\"ok\\\": 2}")
        )
    });
    data_where(&mut ws, 15 * SECOND, |d| d["alive"]["ok"] == 2).await;
    for pid in daemon_pids {
        assert!(gone(pid), "{pid} of the dropped daemon survived the reload");
    }
}

#[tokio::test]
async fn twenty_commands_leave_the_tick_steady() {
    let config: String = (0..20)
        .map(|i| {
            let format = ["json", "prometheus", "influx", "nagios"][i % 4];
            let output = match format {
                "json" => format!("{{\\\"n\\\": {i}}}"),
                "prometheus" => format!("value {i}"),
                "influx" => format!("m n={i}"),
                _ => format!("OK - {i} | n={i}"),
            };
            format!(
                "[[plugins.exec.commands]]\nname = \"c{i}\"\ncommand = [\"/bin/echo\", \"{output}\"]\n\
                 format = \"{format}\"\ninterval = 0.5\n\n"
            )
        })
        .collect();
    let server = start(&config);
    let mut ws = connect(&server.url("/")).await;
    data_where(&mut ws, 15 * SECOND, |d| {
        (0..20).all(|i| !d[format!("c{i}")].is_null())
    })
    .await;
    let (_, mut last) = next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
        .await
        .expect("a tick");
    let mut gaps = Vec::new();
    for _ in 0..40 {
        let (_, at) = next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
            .await
            .expect("a tick within 2 s with 20 commands");
        gaps.push(at - last);
        last = at;
    }
    gaps.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    eprintln!(
        "tick gaps with 20 commands (interval 0.5 s, 40 ticks): min {:.1} ms, median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        ms(gaps[0]),
        ms(gaps[20]),
        ms(gaps[36]),
        ms(gaps[39])
    );
}

#[test]
fn a_bad_command_table_is_refused_naming_the_command_and_its_line() {
    let config = "[[plugins.exec.commands]]\nname = \"good\"\ncommand = [\"/bin/true\"]\nformat = \"json\"\n\n\
                  [[plugins.exec.commands]]\nname = \"bad\"\ncommand = \"ls -l\"\nformat = \"json\"\n";
    let server = start(config);
    let line = server
        .wait_for_log(|l| l.contains("Plugin refused."), 20 * SECOND)
        .unwrap_or_else(|| panic!("no refusal; log:\n{}", server.log_text()));
    assert!(line.contains("plugins.toml: line"), "{line}");
    assert!(line.contains("[plugins.exec]"), "{line}");
    assert!(line.contains("command `bad`"), "{line}");
    assert!(line.contains("`command` is a string"), "{line}");
}
