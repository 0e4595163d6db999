//! The two system calls std does not offer: killing a whole process group, and
//! waiting for a child's exit without reaping it (so its group id stays reserved until
//! the group is killed).

use std::time::{Duration, Instant};

/// SIGKILL to every process of group `pgid`; a group already gone is no error.
pub(super) fn kill_group(pgid: i32) {
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) with a negative pid signals that group; no memory is involved.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// Waits until child `pid` has exited or `deadline` passed, leaving it unreaped; true
/// when it exited.
pub(super) fn wait_exit(pid: i32, deadline: Instant) -> bool {
    let mut pause = Duration::from_micros(200);
    loop {
        if exited(pid) {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn exited(pid: i32) -> bool {
    let Ok(id) = libc::id_t::try_from(pid) else {
        return true;
    };
    // SAFETY: an all-zero siginfo_t is valid; waitid fills it for our own child.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is valid for writing; WNOWAIT leaves the child to `Child::wait`.
    let status = unsafe {
        libc::waitid(
            libc::P_PID,
            id,
            &mut info,
            libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
        )
    };
    // SAFETY: after a successful waitid the pid field is initialised (0: not yet).
    status != 0 || unsafe { info.si_pid() } != 0
}
