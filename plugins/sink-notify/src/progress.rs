//! Which URLs a notification already reached, so that the host's retry of a partly
//! failed notification re-sends only to the ones that failed (a person should not get
//! the same page twice because another service was down).

use std::collections::{BTreeSet, VecDeque};

/// Notifications remembered at once; the oldest is forgotten first (a forgotten one
/// is re-sent whole, the safe side).
pub const REMEMBERED: usize = 64;

/// Done URL positions per notification (`group_key`, `timestamp`).
#[derive(Debug, Default)]
pub struct Progress {
    entries: VecDeque<((String, String), BTreeSet<usize>)>,
}

impl Progress {
    /// The URLs (0-based) already done for `key`.
    pub fn done(&self, key: &(String, String)) -> BTreeSet<usize> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, done)| done.clone())
            .unwrap_or_default()
    }

    /// Remembers `done` for `key` (a notification still to be retried).
    pub fn remember(&mut self, key: (String, String), done: BTreeSet<usize>) {
        self.entries.retain(|(k, _)| *k != key);
        if self.entries.len() >= REMEMBERED {
            self.entries.pop_front();
        }
        self.entries.push_back((key, done));
    }

    /// Forgets `key` (every URL done).
    pub fn forget(&mut self, key: &(String, String)) {
        self.entries.retain(|(k, _)| k != key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_forgetful() {
        let mut progress = Progress::default();
        let key = |i: usize| (format!("g{i}"), "t".to_owned());
        for i in 0..=REMEMBERED {
            progress.remember(key(i), BTreeSet::from([i]));
        }
        assert!(progress.done(&key(0)).is_empty(), "the oldest is forgotten");
        assert_eq!(
            progress.done(&key(REMEMBERED)),
            BTreeSet::from([REMEMBERED])
        );
        progress.forget(&key(REMEMBERED));
        assert!(progress.done(&key(REMEMBERED)).is_empty());
    }
}
