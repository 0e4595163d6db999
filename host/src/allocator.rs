//! The process's use of glibc's malloc, tuned for a server with many small, long-lived
//! connections (elsewhere both calls do nothing).
//!
//! glibc gives each thread that allocates its own arena, up to eight per core, and
//! memory freed in one arena serves only that arena; and it returns freed memory in the
//! middle of its heap to the system only when asked. A burst of connections (each
//! handshake holds hyper's buffers of 8 KiB and more until the upgrade) therefore left
//! RSS megabytes above what the clients use, spread over arenas, for good. Measured
//! with `bench/fanout.sh`'s server and load generator at 10,000 clients: 87 MB with
//! glibc's defaults, 66 MB with two arenas, about 4 MB less again once trimmed; at the
//! same CPU per message (no hot path allocates).

/// At most two malloc arenas unless `MALLOC_ARENA_MAX` says otherwise; call before any
/// thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tunable, and no other thread runs yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Gives the pages malloc holds free back to the system (a few milliseconds for a heap
/// of tens of megabytes); the memory sampler calls it every ten seconds.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes malloc's own locks; it is safe from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
