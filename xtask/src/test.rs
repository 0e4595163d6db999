//! `cargo xtask test`: installs the peers the tests need, runs `cargo test --workspace`,
//! and closes with the honest count: `N passed, N failed, N skipped`.
//!
//! libtest counts a test that returned early as passed. Every such early return goes
//! through `monitoring_test_support::skip`, which appends a line to the file named by
//! `MONITORING_TEST_SKIP_LOG`; those tests are moved from passed to skipped here.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context;
use monitoring_test_support::peer::{allowed_to_skip, ALLOW_MISSING, SKIP_LOG};

/// What the `test result:` lines add up to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl Totals {
    /// Adds one libtest summary line, e.g.
    /// `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; …`.
    pub fn add_line(&mut self, line: &str) -> bool {
        let Some(rest) = line.trim_start().strip_prefix("test result: ") else {
            return false;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(what), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match what {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                _ => {}
            }
        }
        true
    }
}

/// Runs the suite; returns whether it passed.
pub fn run(root: &Path, target: &Path, args: &[String]) -> anyhow::Result<bool> {
    let no_install = args.iter().any(|a| a == "--no-install");
    let cargo_args: Vec<&String> = args.iter().skip_while(|a| *a != "--").skip(1).collect();

    if no_install {
        println!("== peers: not installing (--no-install)");
    } else {
        crate::peers::ensure();
    }
    if std::env::var_os(ALLOW_MISSING).is_some() {
        if allowed_to_skip() {
            println!(
                "== {ALLOW_MISSING} is set: a test whose peer is missing is skipped and counted"
            );
        } else {
            println!("== {ALLOW_MISSING} is ignored under CI: a missing peer fails its tests");
        }
    }

    std::fs::create_dir_all(target).context("cannot create the target folder")?;
    let skip_log = target.join(format!("test-skips-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&skip_log);

    let mut test_args: Vec<&str> = vec!["test"];
    // `-p` picks packages itself; otherwise the whole workspace, as README.md says.
    if !cargo_args
        .iter()
        .any(|a| a.starts_with("-p") || a.starts_with("--package"))
    {
        test_args.push("--workspace");
    }
    // Every test binary runs even when one fails, so the count below is complete.
    test_args.push("--no-fail-fast");
    test_args.extend(cargo_args.iter().map(|a| a.as_str()));
    println!("== cargo {}", test_args.join(" "));
    let mut test = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    test.current_dir(root)
        .args(&test_args)
        .env(SKIP_LOG, &skip_log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = test.spawn().context("cannot run cargo test")?;
    // cargo reports each failed test binary on stderr; libtest its results on stdout.
    // A binary that failed without a `FAILED` result line crashed or was killed.
    let stderr = child.stderr.take().context("cargo's stderr is piped")?;
    let failed_binaries = std::thread::spawn(move || {
        let mut count = 0u64;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            count += u64::from(line.starts_with("error: test failed, to rerun pass"));
        }
        count
    });
    let stdout = child.stdout.take().context("cargo's stdout is piped")?;
    let mut totals = Totals::default();
    let mut failed_results = 0u64;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("cannot read cargo test's output")?;
        println!("{line}");
        totals.add_line(&line);
        failed_results += u64::from(line.starts_with("test result: FAILED"));
    }
    let status = child.wait().context("cargo test did not finish")?;
    let crashed = failed_binaries
        .join()
        .unwrap_or(0)
        .saturating_sub(failed_results);

    let skips = read_skips(&skip_log);
    let _ = std::fs::remove_file(&skip_log);
    let skipped = skips.len() as u64;
    println!();
    for ((binary, test), reason) in &skips {
        println!("skipped: {binary} {test}: {reason}");
    }
    if totals.ignored > 0 {
        println!(
            "{} ignored: marked #[ignore] (timings run by hand), not counted below",
            totals.ignored
        );
    }
    if crashed > 0 {
        println!(
            "{crashed} test binaries ended without a result (crashed, aborted or killed; see \
             above): each counted as one failure, their passed tests are not counted"
        );
    }
    let failed = totals.failed + crashed;
    if !status.success() && failed == 0 {
        println!("cargo test failed ({status}) without a failed test: a build error; see above");
    }
    println!(
        "{} passed, {} failed, {} skipped",
        totals.passed.saturating_sub(skipped),
        failed,
        skipped
    );
    Ok(status.success() && failed == 0)
}

/// `(binary, test) → reason` of every logged skip; a test logged twice counts once.
fn read_skips(log: &Path) -> BTreeMap<(String, String), String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            let binary = fields.next()?.to_owned();
            let test = fields.next()?.to_owned();
            let reason = fields.next().unwrap_or_default().to_owned();
            Some(((binary, test), reason))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Totals;

    #[test]
    fn sums_libtest_summaries_and_ignores_other_lines() {
        let mut totals = Totals::default();
        for line in [
            "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.51s",
            "running 3 tests",
            "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s",
            "test a_test_named_test_result ... ok",
        ] {
            totals.add_line(line);
        }
        assert_eq!(
            totals,
            Totals {
                passed: 14,
                failed: 1,
                ignored: 1
            }
        );
    }
}
