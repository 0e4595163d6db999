//! The one process group a command may have running, shared between the thread that
//! runs it and the collector that may be dropped at any moment.

use std::sync::{Arc, Mutex, PoisonError};

use super::{kill_group, StartError};

/// A command's running process group, and whether its collector is stopping.
///
/// A `Mutex` because spawning and stopping must not interleave: a stop that came
/// first refuses the spawn, a spawn that came first is killed by the stop. It is held
/// only around a fork or a kill.
#[derive(Debug, Clone, Default)]
pub struct ProcessSlot(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    stopped: bool,
    pgid: Option<i32>,
}

impl ProcessSlot {
    /// A fresh slot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `spawn` unless the slot is stopped, recording the child's group.
    pub(super) fn spawn(
        &self,
        name: &str,
        spawn: impl FnOnce() -> std::io::Result<std::process::Child>,
    ) -> std::io::Result<Result<std::process::Child, StartError>> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if state.stopped {
            return Ok(Err(StartError::Stopped(name.to_owned())));
        }
        let child = spawn()?;
        state.pgid = i32::try_from(child.id()).ok();
        Ok(Ok(child))
    }

    /// Forgets the group (its leader is about to be reaped).
    pub(super) fn clear(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).pgid = None;
    }

    /// Kills the running group, if any, and refuses every later start.
    pub fn stop(&self) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.stopped = true;
        if let Some(pgid) = state.pgid {
            kill_group(pgid);
        }
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stopped
    }
}
