//! The recent alert log behind `GET /api/alerts`: the last [`LOG_SIZE`] notifications
//! (fired and resolved) the engine sent to the sinks, plus a count of alerts fired since
//! start for `/metrics`.
//!
//! It records what the engine *notified*, after `for`, hysteresis and cooldown, so the
//! log reads like the sinks' history rather than one line per tick. The collection loop
//! is the only writer (once per tick with notifications); the lock is a std `Mutex`
//! held to push or to clone the log out, never across an `.await`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use monitoring_plugin_api::{Alert, SinkEvent};
use serde::Serialize;

/// Notifications kept, as the seed's recent-alerts list.
pub const LOG_SIZE: usize = 100;

/// One logged notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// `fired` or `resolved`.
    pub event: &'static str,
    /// The alert, as it fired (or last fired, for `resolved`).
    pub alert: Alert,
    /// When it cleared, for `resolved`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Mutex<VecDeque<LogEntry>>,
    fired: AtomicU64,
}

/// A cloneable handle on the log.
#[derive(Debug, Clone, Default)]
pub struct AlertLog(Arc<Inner>);

impl AlertLog {
    /// Records one tick's notifications; other events are ignored.
    pub fn record(&self, notifications: &[SinkEvent]) {
        if notifications.is_empty() {
            return;
        }
        let mut entries = self
            .0
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for event in notifications {
            let entry = match event {
                SinkEvent::Alert { alert } => {
                    self.0.fired.fetch_add(1, Ordering::Relaxed);
                    LogEntry {
                        event: "fired",
                        alert: alert.clone(),
                        resolved_at: None,
                    }
                }
                SinkEvent::Resolved { alert, resolved_at } => LogEntry {
                    event: "resolved",
                    alert: alert.clone(),
                    resolved_at: Some(resolved_at.clone()),
                },
                _ => continue,
            };
            if entries.len() == LOG_SIZE {
                entries.pop_front();
            }
            entries.push_back(entry);
        }
    }

    /// The log, newest first.
    pub fn recent(&self) -> Vec<LogEntry> {
        self.0
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .rev()
            .cloned()
            .collect()
    }

    /// Alert notifications sent since start (resolutions not counted).
    pub fn fired_total(&self) -> u64 {
        self.0.fired.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use super::*;

    fn alert(value: f64) -> Alert {
        Alert {
            timestamp: "t".into(),
            component: "memory".into(),
            metric: "memory.percentage".into(),
            value,
            threshold: 80.0,
            level: AlertLevel::Warning,
            message: "High memory usage".into(),
            ..Default::default()
        }
    }

    #[test]
    fn keeps_the_last_hundred_newest_first_and_counts_fired() {
        let log = AlertLog::default();
        for i in 0..150 {
            log.record(&[SinkEvent::Alert {
                alert: alert(f64::from(i)),
            }]);
        }
        log.record(&[SinkEvent::Resolved {
            alert: alert(1.0),
            resolved_at: "later".into(),
        }]);
        let recent = log.recent();
        assert_eq!(recent.len(), LOG_SIZE);
        assert_eq!(recent[0].event, "resolved");
        assert_eq!(recent[0].resolved_at.as_deref(), Some("later"));
        assert_eq!(recent[1].alert.value, 149.0);
        assert_eq!(log.fired_total(), 150);
    }
}
