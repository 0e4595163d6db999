//! Server-wide shutdown: one signal (SIGINT/SIGTERM or a test's trigger) that every
//! task can wait on, as in mini-redis.

use tokio::sync::watch;

/// A cloneable handle that resolves once shutdown begins.
#[derive(Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// Starts shutdown when fired or dropped.
pub struct Trigger {
    sender: watch::Sender<bool>,
}

/// A new trigger and its first handle.
pub fn channel() -> (Trigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (Trigger { sender }, Shutdown { receiver })
}

impl Trigger {
    /// Begins shutdown.
    pub fn fire(&self) {
        self.sender.send_replace(true);
    }
}

impl Shutdown {
    /// Resolves when shutdown has begun.
    pub async fn wait(&mut self) {
        // An error means the trigger was dropped, which also means shut down.
        let _ = self.receiver.wait_for(|down| *down).await;
    }

    /// Whether shutdown has begun.
    pub fn is_down(&self) -> bool {
        *self.receiver.borrow()
    }
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM or SIGQUIT (whose default would
/// dump core without closing a single client).
pub async fn signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "Cannot listen for Ctrl-C.");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::terminate()), signal(SignalKind::quit())) {
            (Ok(mut term), Ok(mut quit)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = quit.recv() => {}
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "Cannot listen for SIGTERM and SIGQUIT.");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
