//! A `daemon` command's supervisor thread (Telegraf `execd` style): start it, read its
//! stdout reading by reading, log its stderr rate-limited, and when it exits start it
//! again after a back-off of 1 s doubling to 60 s (back to 1 s once it gave a reading).
//!
//! A reading is one line for `json` (one object) and `influx` (folded into the
//! section: a point per measurement and tag set); for `prometheus`, the lines up to a
//! blank line or `# EOF`. A line or a prometheus block over `max_output` is an error
//! that kills the daemon (it will be restarted), so memory stays bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStderr, ChildStdin};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use monitoring_plugin_api::sections::scripted::ScriptFormat;
use script_formats::process::{self, ProcessSlot, StartError};
use script_formats::rate_limit::StderrLog;
use script_formats::{influx, json, prometheus};
use serde_json::Value;

use crate::config::Plan;
use crate::state::Shared;

/// First wait before a restart.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait before a restart.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long an exited daemon's leftovers get before its group is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Supervises `plan` until `stop` is dropped or `slot` is stopped.
pub fn supervise(plan: Plan, shared: Shared, slot: ProcessSlot, stop: Receiver<()>) {
    let stderr_log = Arc::new(Mutex::new(StderrLog::new(&plan.spec.name)));
    let mut backoff = FIRST_BACKOFF;
    let mut started_before = false;
    loop {
        if started_before {
            shared.update(|latest| latest.status.restarts += 1);
        }
        started_before = true;
        match process::spawn_daemon(&plan.spec, plan.signal_stdin, &slot) {
            Err(StartError::Stopped(_)) => return,
            Err(error) => shared.failed(error.to_string(), Duration::ZERO, None),
            Ok((daemon, pipes)) => {
                log_stderr(pipes.stderr, Arc::clone(&stderr_log));
                // Dropping this sender ends the stdin signaller with the run.
                let (_run_alive, run_ended) = mpsc::channel::<()>();
                if let Some(stdin) = pipes.stdin {
                    signal_readings(stdin, plan.interval, run_ended);
                }
                let (readings, error) = read_readings(&plan, pipes.stdout, &shared);
                if error.is_some() {
                    daemon.kill();
                }
                let code = daemon.finish(EXIT_GRACE, &slot);
                if slot.is_stopped() {
                    return;
                }
                let why = error.unwrap_or_else(|| {
                    format!(
                        "daemon `{}` exited with code {}",
                        plan.spec.name,
                        code.map_or_else(|| "? (killed by a signal)".into(), |c| c.to_string())
                    )
                });
                if readings > 0 {
                    backoff = FIRST_BACKOFF;
                }
                shared.failed(
                    format!("{why}; restarting in {} s", backoff.as_secs()),
                    Duration::ZERO,
                    code,
                );
            }
        }
        match stop.recv_timeout(backoff) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Reads readings until EOF or an error that ends the daemon; how many were good, and
/// that error.
pub(crate) fn read_readings(
    plan: &Plan,
    stdout: impl Read,
    shared: &Shared,
) -> (u64, Option<String>) {
    let name = &plan.spec.name;
    let mut reader = BufReader::new(stdout);
    let mut readings = 0;
    let mut line_number = 0usize;
    let mut influx_section = influx::Builder::new(influx::MAX_SERIES);
    let mut block = String::new();
    loop {
        let line = match read_line(&mut reader, plan.spec.max_output) {
            Ok(Some(line)) => line,
            Ok(None) => return (readings, None),
            Err(error) => return (readings, Some(format!("daemon `{name}`: {error}"))),
        };
        line_number += 1;
        let parsed: Option<Result<Value, String>> = match plan.format {
            ScriptFormat::Json if line.trim().is_empty() => None,
            ScriptFormat::Json => {
                Some(json::parse(&line).map(Value::Object).map_err(|e| e.message))
            }
            ScriptFormat::Influx => match influx_section.merge_line(&line) {
                Err(error) => Some(Err(error)),
                // Published once the lines that came together are folded in, not per
                // line: encoding a section of 10 000 series for every line would let a
                // chatty daemon burn a core.
                Ok(()) if reader.buffer().is_empty() => {
                    Some(serde_json::to_value(influx_section.section()).map_err(|e| e.to_string()))
                }
                Ok(()) => None,
            },
            ScriptFormat::Prometheus => {
                let trimmed = line.trim();
                if trimmed.is_empty() || trimmed == "# EOF" {
                    let text = std::mem::take(&mut block);
                    (!text.trim().is_empty()).then(|| {
                        prometheus::parse(&text)
                            .map_err(|e| e.to_string())
                            .and_then(|p| {
                                serde_json::to_value(p.section).map_err(|e| e.to_string())
                            })
                    })
                } else if block.len() + line.len() > plan.spec.max_output {
                    return (
                        readings,
                        Some(format!(
                            "daemon `{name}`: a reading longer than `max_output` ({} bytes) before line {line_number}",
                            plan.spec.max_output
                        )),
                    );
                } else {
                    block.push_str(&line);
                    block.push('\n');
                    None
                }
            }
            // Refused at load: a Nagios state is an exit code.
            ScriptFormat::Nagios => None,
        };
        match parsed {
            None => {}
            Some(Ok(section)) => {
                readings += 1;
                // A daemon's reading has no run time of its own (the schema's 0).
                shared.succeeded(section, Duration::ZERO, None);
            }
            Some(Err(error)) => shared.update(|latest| {
                latest.status.failures += 1;
                latest.status.error = Some(format!(
                    "daemon `{name}`: output line {line_number}: {error}"
                ));
            }),
        }
    }
}

/// One line without its newline; `None` at EOF; an error past `cap` bytes or for a
/// line that is not UTF-8.
fn read_line(reader: &mut impl BufRead, cap: usize) -> Result<Option<String>, String> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let read = reader
        .take(limit)
        .read_until(b'\n', &mut bytes)
        .map_err(|e| format!("cannot read its output: {e}"))?;
    if read == 0 {
        return Ok(None);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    } else if bytes.len() > cap {
        return Err(format!("a line longer than `max_output` ({cap} bytes)"));
    }
    String::from_utf8(bytes).map(Some).map_err(|e| {
        format!(
            "a line that is not UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Logs the daemon's stderr, line by line, through the command's throttle.
fn log_stderr(stderr: ChildStderr, log: Arc<Mutex<StderrLog>>) {
    let _ = std::thread::Builder::new()
        .name("exec-stderr".into())
        .spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut bytes = Vec::new();
            loop {
                bytes.clear();
                match (&mut reader).take(4096).read_until(b'\n', &mut bytes) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => log
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .log(&String::from_utf8_lossy(&bytes)),
                }
            }
        });
}

/// Writes a newline to the daemon's stdin every `interval` (the first at once), until
/// the run ends or the pipe closes.
fn signal_readings(mut stdin: ChildStdin, interval: Duration, run_ended: Receiver<()>) {
    let _ = std::thread::Builder::new()
        .name("exec-signal".into())
        .spawn(move || loop {
            if stdin.write_all(b"\n").and_then(|()| stdin.flush()).is_err() {
                return;
            }
            match run_ended.recv_timeout(interval) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        });
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::config::{plans, Config};

    fn plan(format: &str) -> Plan {
        let config: Config = serde_json::from_value(serde_json::json!({"commands": [
            {"name": "d", "command": ["x"], "format": format, "mode": "daemon", "max_output": 64}
        ]}))
        .expect("config");
        plans(config).expect("valid").remove(0)
    }

    #[test]
    fn a_prometheus_reading_ends_at_a_blank_line_or_eof_marker() {
        let plan = plan("prometheus");
        let shared = Shared::new(&plan);
        let output = "a 1\nb 2\n\na 3\n# EOF\na 4\n";
        let (readings, error) = read_readings(&plan, Cursor::new(output), &shared);
        assert_eq!(
            (readings, error),
            (2, None),
            "the unfinished third block is no reading"
        );
        let latest = shared.snapshot();
        let section = latest.section.expect("a section");
        assert_eq!(section["values"], serde_json::json!({"a": 3.0}));
        assert_eq!(latest.status.runs, 2);
    }

    #[test]
    fn a_json_line_that_does_not_parse_is_counted_and_named_then_reading_goes_on() {
        let plan = plan("json");
        let shared = Shared::new(&plan);
        let output = "{\"n\": 1}\nnot json\n{\"n\": 2}\n";
        let (readings, error) = read_readings(&plan, Cursor::new(output), &shared);
        assert_eq!((readings, error), (2, None));
        let latest = shared.snapshot();
        assert_eq!(latest.section.expect("a section")["n"], 2);
        assert_eq!(latest.status.failures, 1);
        // The last good reading clears the error; the failure stays counted.
        assert_eq!(latest.status.error, None);
    }

    #[test]
    fn a_line_over_max_output_ends_the_daemon_with_an_error() {
        let plan = plan("json");
        let shared = Shared::new(&plan);
        let output = format!("{{\"n\": 1}}\n{}\n", "x".repeat(100));
        let (readings, error) = read_readings(&plan, Cursor::new(output), &shared);
        assert_eq!(readings, 1);
        let error = error.expect("an error");
        assert!(
            error.contains("daemon `d`: a line longer than `max_output` (64 bytes)"),
            "{error}"
        );
    }

    #[test]
    fn a_prometheus_block_over_max_output_ends_the_daemon() {
        let plan = plan("prometheus");
        let shared = Shared::new(&plan);
        let output = "a 1\n".repeat(40);
        let (readings, error) = read_readings(&plan, Cursor::new(output), &shared);
        assert_eq!(readings, 0);
        assert!(error
            .expect("an error")
            .contains("a reading longer than `max_output`"));
    }
}
