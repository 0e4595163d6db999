//! Tells systemd (a `Type=notify` unit) when the server is ready and when it stops.
//!
//! Outside systemd (`NOTIFY_SOCKET` unset) every call does nothing. A failed
//! notification is logged, never fatal: the server serves either way, and systemd
//! reports a unit that never became ready on its own.

/// The port listens: `READY=1`, after which `systemctl start` returns.
pub fn ready() {
    #[cfg(unix)]
    send(&[sd_notify::NotifyState::Ready], "READY=1");
}

/// The server is shutting down: `STOPPING=1`.
pub fn stopping() {
    #[cfg(unix)]
    send(&[sd_notify::NotifyState::Stopping], "STOPPING=1");
}

#[cfg(unix)]
fn send(states: &[sd_notify::NotifyState], what: &str) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, notification = what, "Cannot notify systemd.");
    }
}
