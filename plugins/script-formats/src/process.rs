//! Running a script so that nothing it does outlives its welcome: its own process
//! group, killed as a whole (SIGKILL to `-pgid`) at its timeout, when its output passes
//! the cap, when its run ends (whatever it left behind) and when the collector is
//! dropped (hot reload, shutdown) through its [`ProcessSlot`].
//!
//! The group is killed while its leader is still an unreaped zombie, so the group id
//! cannot have been reused by then. Output is read by a thread per pipe; the caller's
//! thread waits on a channel with the deadline, so a script that never writes and never
//! exits costs a sleeping thread until its timeout, nothing more.

mod slot;
mod wait;

use std::io::{self, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use slot::ProcessSlot;
use wait::{kill_group, wait_exit};

use crate::user::Account;

/// How long, after killing a group, its pipes are waited for before their reader is
/// left behind (a grandchild that left the group with `setsid` may hold them open).
const GRACE: Duration = Duration::from_secs(1);
/// Most of a run's stderr kept for its report; the rest is read and dropped.
pub const STDERR_CAP: usize = 16 * 1024;

/// What to run and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// The command's name in plugins.toml, for messages.
    pub name: String,
    /// The program and its arguments (never empty).
    pub argv: Vec<String>,
    /// Its whole environment: nothing of the server's is inherited.
    pub env: Vec<(String, String)>,
    /// Its working directory; the server's when `None`.
    pub cwd: Option<PathBuf>,
    /// The account it runs as; the server's when `None`.
    pub account: Option<Account>,
    /// Most bytes of stdout read per run (per reading for a daemon).
    pub max_output: usize,
}

/// Why a command did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The collector is being dropped: nothing new starts.
    #[error("command `{0}`: not started, the collector is stopping")]
    Stopped(String),
    /// The program could not be executed.
    #[error("command `{name}`: cannot run `{program}`: {reason}")]
    Spawn {
        /// The command's name.
        name: String,
        /// `argv[0]`.
        program: String,
        /// Why, in words.
        reason: String,
    },
}

/// How one run went.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// Its stdout, at most `max_output` bytes.
    pub stdout: Vec<u8>,
    /// Whether stdout passed `max_output` (the group was killed then).
    pub truncated: bool,
    /// Whether it was killed at its timeout.
    pub timed_out: bool,
    /// Its exit code, `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// From start to reaped.
    pub duration: Duration,
    /// Its stderr, at most [`STDERR_CAP`] bytes.
    pub stderr: Vec<u8>,
}

/// Runs `spec` to its end or to `timeout`, whichever is first.
pub fn run_once(
    spec: &CommandSpec,
    timeout: Duration,
    slot: &ProcessSlot,
) -> Result<RunOutcome, StartError> {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut child = slot
        .spawn(&spec.name, || build(spec, Stdio::null()).spawn())
        .map_err(|e| start_error(spec, e))??;
    let pid = pid_of(&child);
    let stdout = pipe_reader(child.stdout.take(), spec.max_output, Some(pid));
    let stderr = pipe_reader(child.stderr.take(), STDERR_CAP, None);

    let mut outcome = RunOutcome::default();
    match stdout.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok((bytes, truncated)) => (outcome.stdout, outcome.truncated) = (bytes, truncated),
        Err(_) => {
            kill_group(pid);
            outcome.timed_out = true;
            (outcome.stdout, outcome.truncated) = stdout.recv_timeout(GRACE).unwrap_or_default();
        }
    }
    if !wait_exit(pid, deadline) {
        outcome.timed_out = true;
    }
    // Whatever the run left in its group goes with it; the leader is still a zombie here.
    kill_group(pid);
    slot.clear();
    let status = child.wait();
    outcome.duration = started.elapsed();
    if let Ok(status) = status {
        use std::os::unix::process::ExitStatusExt;
        outcome.exit_code = status.code();
        outcome.signal = status.signal();
    }
    outcome.stderr = stderr
        .recv_timeout(GRACE)
        .map(|(b, _)| b)
        .unwrap_or_default();
    Ok(outcome)
}

/// A long-running command: ended by [`Daemon::finish`].
#[derive(Debug)]
pub struct Daemon {
    child: Child,
}

/// A daemon's pipes, for the caller to read and write.
#[derive(Debug)]
pub struct DaemonPipes {
    /// Its stdout, read line by line.
    pub stdout: ChildStdout,
    /// Its stdin, when asked for (Telegraf `execd`'s `signal = "STDIN"`).
    pub stdin: Option<ChildStdin>,
    /// Its stderr, for the caller to log.
    pub stderr: ChildStderr,
}

/// Starts `spec` as a daemon, its stdin a pipe when `with_stdin`.
pub fn spawn_daemon(
    spec: &CommandSpec,
    with_stdin: bool,
    slot: &ProcessSlot,
) -> Result<(Daemon, DaemonPipes), StartError> {
    let stdin = if with_stdin {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    let mut child = slot
        .spawn(&spec.name, || build(spec, stdin).spawn())
        .map_err(|e| start_error(spec, e))??;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill_group(pid_of(&child));
        slot.clear();
        let _ = child.wait();
        return Err(StartError::Spawn {
            name: spec.name.clone(),
            program: spec.argv.first().cloned().unwrap_or_default(),
            reason: "its pipes were not set up".into(),
        });
    };
    let stdin = child.stdin.take();
    Ok((
        Daemon { child },
        DaemonPipes {
            stdout,
            stdin,
            stderr,
        },
    ))
}

impl Daemon {
    /// Ends it (its stdout has closed, or the caller gives up on it): waits up to
    /// `grace` for it to exit, kills its group, reaps it. Its exit code, `None` when a
    /// signal ended it.
    pub fn finish(mut self, grace: Duration, slot: &ProcessSlot) -> Option<i32> {
        let pid = pid_of(&self.child);
        wait_exit(pid, Instant::now() + grace);
        kill_group(pid);
        slot.clear();
        self.child.wait().ok().and_then(|status| status.code())
    }

    /// Kills its whole group now (stdout reaches EOF soon after).
    pub fn kill(&self) {
        kill_group(pid_of(&self.child));
    }
}

fn build(spec: &CommandSpec, stdin: Stdio) -> Command {
    use std::os::unix::process::CommandExt;
    let (program, args) = spec
        .argv
        .split_first()
        .map_or(("", &[][..]), |(p, a)| (p.as_str(), a));
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .process_group(0)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }
    if let Some(account) = spec.account {
        // std drops supplementary groups (setgroups(0)) when root sets a uid.
        command.uid(account.uid).gid(account.gid);
    }
    command
}

fn start_error(spec: &CommandSpec, error: io::Error) -> StartError {
    let program = spec.argv.first().cloned().unwrap_or_default();
    let reason = match error.kind() {
        io::ErrorKind::NotFound if spec.cwd.is_some() => format!(
            "not found (or its cwd `{}` does not exist)",
            spec.cwd
                .as_deref()
                .unwrap_or_else(|| std::path::Path::new(""))
                .display()
        ),
        io::ErrorKind::NotFound => "not found (a bare name is looked up in its env's PATH)".into(),
        io::ErrorKind::PermissionDenied => "permission denied (is it executable?)".into(),
        _ => error.to_string(),
    };
    StartError::Spawn {
        name: spec.name.clone(),
        program,
        reason,
    }
}

fn pid_of(child: &Child) -> i32 {
    i32::try_from(child.id()).unwrap_or(i32::MAX)
}

/// Reads `pipe` to its end on a thread, keeping at most `cap` bytes; the channel gets
/// the bytes and whether there were more. With `kill_on_overflow`, the group of that
/// pid is killed as soon as the cap is passed (reading on would only feed a flood).
fn pipe_reader(
    pipe: Option<impl Read + Send + 'static>,
    cap: usize,
    kill_on_overflow: Option<i32>,
) -> mpsc::Receiver<(Vec<u8>, bool)> {
    let (sender, receiver) = mpsc::channel();
    let Some(mut pipe) = pipe else {
        let _ = sender.send((Vec::new(), false));
        return receiver;
    };
    // A thread that cannot start drops the sender: the caller sees a run with no output.
    let _ = std::thread::Builder::new()
        .name("exec-pipe".into())
        .spawn(move || {
            let mut kept = Vec::new();
            let mut chunk = vec![0u8; 64 * 1024];
            let mut over = false;
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        let room = cap.saturating_sub(kept.len());
                        kept.extend_from_slice(&chunk[..n.min(room)]);
                        if n > room {
                            over = true;
                            if let Some(pid) = kill_on_overflow {
                                kill_group(pid);
                                break;
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = sender.send((kept, over));
        });
    receiver
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod tests;
