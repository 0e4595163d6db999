//! Threads that do background work step aside for the tick.
//!
//! The tick's collectors and fan-out run at the process's priority; the history
//! writer and the fleet's intake lower their own thread's (its nice value) by a step
//! below it, so that on a busy core the system runs the tick first and them in the
//! time left. The step is relative: a server started under `nice 15` keeps its
//! background threads below its tick's, never above. Lowering needs no privilege.
//! On Linux the nice value is per thread; elsewhere this does nothing.

/// How far below the process the history writer runs: a commit is batch work that
/// may wait.
pub const HISTORY_WRITER: i32 = 10;

/// How far below the process the fleet thread runs: thousands of hosts' frames come
/// before anything but the tick.
pub const FLEET: i32 = 5;

/// The lowest priority there is (the highest nice value).
#[cfg(target_os = "linux")]
const LOWEST: i32 = 19;

/// Lowers the calling thread's priority `steps` below what it has; `what` names the
/// thread in the debug line logged when the system refuses.
pub fn lower(steps: i32, what: &str) {
    #[cfg(target_os = "linux")]
    // SAFETY: getpriority and setpriority only read their integer arguments; `0` is
    // the calling thread.
    let failed = unsafe {
        let now = libc::getpriority(libc::PRIO_PROCESS, 0);
        libc::setpriority(libc::PRIO_PROCESS, 0, now.saturating_add(steps).min(LOWEST)) != 0
    };
    #[cfg(not(target_os = "linux"))]
    let failed = {
        let _ = steps;
        false
    };
    if failed {
        tracing::debug!(
            thread = what,
            steps,
            "This thread keeps the normal priority."
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn a_thread_lowers_only_itself_and_relative_to_where_it_was() {
        let nice = || unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let before = nice();
        let lowered = std::thread::spawn(move || {
            super::lower(super::FLEET, "test");
            let once = nice();
            super::lower(super::FLEET, "test");
            (once, nice())
        })
        .join()
        .expect("the thread");
        assert_eq!(
            lowered,
            (
                (before + super::FLEET).min(19),
                (before + 2 * super::FLEET).min(19)
            ),
            "each step from where the thread was"
        );
        assert_eq!(nice(), before, "the other threads keep theirs");
    }
}
