//! The fleet's own thread and runtime, below the tick's priority.
//!
//! A gateway of 2,000 hosts takes in 4,000 frames a second: reading them, keeping the
//! view and the history, handing them to the sessions that follow them. On the
//! server's runtime that work competed with the server's own tick for the core, and
//! the tick reached its clients late. On a thread of its own at a lower priority
//! ([`crate::priority::FLEET`]) the system runs the tick first and the fleet in the
//! time left. The NATS client's connection task lives here too, so a flood on the bus
//! is this thread's to absorb: what it cannot keep up with, the NATS client drops and
//! counts (`frames_dropped`), and no tick waits for it.

use std::future::Future;

use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Where the fleet's tasks run.
pub struct FleetRuntime {
    handle: Handle,
    /// Tasks the thread waits for before it ends (they end on shutdown, the
    /// publisher after flushing what the NATS client holds).
    tasks: mpsc::UnboundedSender<JoinHandle<()>>,
}

impl FleetRuntime {
    /// Starts the thread. It runs until every task handed to [`Self::keep`] has
    /// ended and this handle is dropped.
    pub fn spawn() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (tasks, mut kept) = mpsc::unbounded_channel::<JoinHandle<()>>();
        std::thread::Builder::new()
            .name("fleet".into())
            .spawn(move || {
                crate::priority::lower(crate::priority::FLEET, "fleet");
                runtime.block_on(async move {
                    while let Some(task) = kept.recv().await {
                        // A task that panicked has said so; the others still end.
                        let _ = task.await;
                    }
                });
            })?;
        Ok(Self { handle, tasks })
    }

    /// Runs `future` on the fleet's thread, for its result.
    pub fn run<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `task` on the fleet's thread, which does not end before it.
    pub fn keep(&self, task: impl Future<Output = ()> + Send + 'static) {
        // The thread ends only after this handle is dropped: it is listening.
        let _ = self.tasks.send(self.handle.spawn(task));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tasks_run_on_the_fleet_thread_which_waits_for_them() {
        let fleet = FleetRuntime::spawn().expect("the thread");
        let name = fleet
            .run(async { std::thread::current().name().map(str::to_owned) })
            .await
            .expect("ran");
        assert_eq!(name.as_deref(), Some("fleet"));
        let (done, finished) = tokio::sync::oneshot::channel();
        fleet.keep(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let _ = done.send(());
        });
        drop(fleet);
        assert!(finished.await.is_ok(), "a kept task runs to its end");
    }
}
