//! Runs nvidia-smi under a deadline and hands back its stdout.
//!
//! nvidia-smi can hang for many seconds when the driver is wedged, so each run has a
//! deadline: past it the process is killed, with its whole process group (so that a
//! wrapper script's children die too), and reaped. Both pipes are drained on their own
//! threads so a chatty stderr cannot block the child while stdout is read.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Why a run produced no output.
#[derive(Debug)]
pub enum RunError {
    /// The binary could not be started.
    Spawn(io::Error),
    /// It was still running at the deadline, and was killed.
    TimedOut(Duration),
    /// It exited unsuccessfully; `reason` is the first line it printed.
    Failed { status: ExitStatus, reason: String },
    /// Its output could not be read.
    Io(io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spawn(e) => write!(f, "cannot start: {e}"),
            RunError::TimedOut(after) => {
                write!(f, "no answer within {} ms; killed", after.as_millis())
            }
            RunError::Failed { status, reason } => write!(f, "{status}: {reason}"),
            RunError::Io(e) => write!(f, "cannot read its output: {e}"),
        }
    }
}

/// Which pipe a reader thread drained.
enum Pipe {
    Stdout(io::Result<Vec<u8>>),
    Stderr(io::Result<Vec<u8>>),
}

/// Runs `binary args…` and returns its stdout, or why not, within `timeout`.
pub fn run(binary: &Path, args: &[&str], timeout: Duration) -> Result<String, RunError> {
    let deadline = Instant::now() + timeout;
    let mut command = Command::new(binary);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().map_err(RunError::Spawn)?;

    // Bounded by construction: each reader sends exactly one message.
    let (sender, receiver) = mpsc::channel();
    if let Some(mut stdout) = child.stdout.take() {
        let sender = sender.clone();
        std::thread::spawn(move || sender.send(Pipe::Stdout(read_all(&mut stdout))));
    }
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || sender.send(Pipe::Stderr(read_all(&mut stderr))));
    }

    let (mut stdout, mut stderr) = (None, None);
    while stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(left) {
            Ok(Pipe::Stdout(bytes)) => stdout = Some(bytes.map_err(RunError::Io)?),
            Ok(Pipe::Stderr(bytes)) => stderr = Some(bytes.map_err(RunError::Io)?),
            Err(mpsc::RecvTimeoutError::Timeout) => return Err(kill(&mut child, timeout)),
            // Both readers are gone: a pipe was missing. Treat as empty.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = wait(&mut child, deadline).ok_or_else(|| kill(&mut child, timeout))?;
    let stdout = String::from_utf8_lossy(stdout.as_deref().unwrap_or_default()).into_owned();
    if status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(stderr.as_deref().unwrap_or_default()).into_owned();
    // nvidia-smi prints its own failures ("… couldn't communicate with the NVIDIA
    // driver") on stdout, other tools on stderr.
    let reason = first_line(&stderr)
        .or_else(|| first_line(&stdout))
        .unwrap_or("no message")
        .to_owned();
    Err(RunError::Failed { status, reason })
}

fn read_all(pipe: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    pipe.read_to_end(&mut bytes).map(|_| bytes)
}

/// Waits for the exit, which follows the pipes' closing at once unless the child closed
/// them early; `None` at the deadline.
fn wait(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            _ => return None,
        }
    }
}

fn kill(child: &mut Child, timeout: Duration) -> RunError {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: plain syscall. The child is not reaped yet, so its pid, which is also
        // its process group's id (`process_group(0)`), cannot have been reused.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    // Harmless if the group kill got it already; the only kill elsewhere.
    let _ = child.kill();
    let _ = child.wait();
    RunError::TimedOut(timeout)
}

fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| !line.is_empty())
}

/// Finds `binary` as the shell would: a path when it has a `/`, else on `PATH`.
pub fn resolve(binary: &Path) -> Option<PathBuf> {
    if binary.components().count() > 1 || binary.is_absolute() {
        return is_executable(binary).then(|| binary.to_owned());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(binary))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = path.metadata() else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str, timeout_ms: u64) -> Result<String, RunError> {
        run(
            Path::new("/bin/sh"),
            &["-c", script],
            Duration::from_millis(timeout_ms),
        )
    }

    #[test]
    fn returns_stdout() {
        assert_eq!(
            sh("echo one; echo two >&2; echo three", 5000).expect("runs"),
            "one\nthree\n"
        );
    }

    #[test]
    fn failure_carries_the_first_line_printed() {
        let err = sh(
            "echo '' >&2; echo 'first problem' >&2; echo second >&2; exit 3",
            5000,
        )
        .expect_err("must fail");
        assert!(
            matches!(&err, RunError::Failed { reason, .. } if reason == "first problem"),
            "{err}"
        );
        let err = sh("echo 'NVIDIA-SMI has failed'; exit 9", 5000).expect_err("must fail");
        assert!(
            matches!(&err, RunError::Failed { reason, .. } if reason == "NVIDIA-SMI has failed"),
            "{err}"
        );
        assert!(err.to_string().contains("9"), "{err}");
    }

    #[test]
    fn large_outputs_on_both_pipes_do_not_deadlock() {
        let out = sh("i=0; while [ $i -lt 2000 ]; do echo 0123456789abcdef0123456789abcdef; echo x >&2; i=$((i+1)); done", 10_000)
            .expect("runs");
        assert_eq!(out.lines().count(), 2000);
    }

    #[test]
    fn a_hung_child_is_killed_at_the_deadline() {
        let started = Instant::now();
        let err = sh("sleep 30", 200).expect_err("must fail");
        assert!(matches!(err, RunError::TimedOut(_)), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn missing_binaries_are_not_found() {
        assert!(matches!(
            run(
                Path::new("/nonexistent/nvidia-smi"),
                &[],
                Duration::from_secs(1)
            ),
            Err(RunError::Spawn(_))
        ));
        assert_eq!(resolve(Path::new("/nonexistent/nvidia-smi")), None);
        assert_eq!(resolve(Path::new("surely-no-such-binary-on-path")), None);
        assert_eq!(
            resolve(Path::new("/bin/sh")),
            Some(PathBuf::from("/bin/sh"))
        );
        assert!(resolve(Path::new("sh")).is_some());
        // A file that exists but cannot be executed is not a binary.
        assert_eq!(
            resolve(Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/Cargo.toml"
            ))),
            None
        );
    }
}
