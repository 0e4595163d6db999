//! A `once` command's worker thread: run, judge, record, sleep until the next
//! `interval`, until the collector is dropped.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Instant;

use script_formats::process::{self, ProcessSlot, StartError};
use script_formats::rate_limit::StderrLog;

use crate::config::Plan;
use crate::state::{judge, Shared};

/// Runs `plan` every `interval` until `stop` is dropped or `slot` is stopped.
pub fn run(plan: Plan, shared: Shared, slot: ProcessSlot, stop: Receiver<()>) {
    let mut stderr_log = StderrLog::new(&plan.spec.name);
    let mut next = Instant::now();
    loop {
        match process::run_once(&plan.spec, plan.timeout, &slot) {
            Err(StartError::Stopped(_)) => return,
            Err(error) => shared.failed(error.to_string(), Default::default(), None),
            Ok(outcome) => {
                for line in String::from_utf8_lossy(&outcome.stderr).lines() {
                    stderr_log.log(line);
                }
                match judge(&plan, &outcome) {
                    Ok(section) => shared.succeeded(section, outcome.duration, outcome.exit_code),
                    Err(error) => shared.failed(error, outcome.duration, outcome.exit_code),
                }
            }
        }
        let now = Instant::now();
        next += plan.interval;
        if next < now {
            // A run longer than its interval: the next one starts now, the missed
            // ones are skipped.
            next = now;
        }
        match stop.recv_timeout(next - now) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
