//! Threads that do background work step aside for the tick.
//!
//! The tick's collectors and fan-out run at the process's priority; the history
//! writer and the fleet's intake lower their own thread's (its nice value), so that
//! on a busy core the system runs the tick first and them in the time left. Lowering
//! needs no privilege. On Linux the nice value is per thread; elsewhere this does
//! nothing.

/// The history writer's nice value: a commit is batch work that may wait.
pub const HISTORY_WRITER: i32 = 10;

/// The fleet thread's: thousands of hosts' frames come before anything but the tick.
pub const FLEET: i32 = 5;

/// Lowers the calling thread's priority to `nice`; `what` names it in the debug line
/// logged when the system refuses.
pub fn lower(nice: i32, what: &str) {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `0` is the calling thread.
    let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0;
    #[cfg(not(target_os = "linux"))]
    let failed = {
        let _ = nice;
        false
    };
    if failed {
        tracing::debug!(
            thread = what,
            nice,
            "This thread keeps the normal priority."
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn a_thread_lowers_only_itself() {
        let before = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let lowered = std::thread::spawn(|| {
            super::lower(super::HISTORY_WRITER, "test");
            unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
        })
        .join()
        .expect("the thread");
        assert_eq!(lowered, before.max(super::HISTORY_WRITER));
        assert_eq!(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }, before);
    }
}
