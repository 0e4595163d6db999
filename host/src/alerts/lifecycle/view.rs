//! The view the dashboard and `GET /api/alerts` show: every firing alert with what
//! keeps it quiet (silences, acknowledgement, inhibition), most severe first then
//! oldest, and the recently resolved ones, newest first.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use monitoring_plugin_api::Alert;
use serde::Serialize;

use super::super::silences::AckView;
use super::book::Book;
use super::inhibit::inhibited_by;
use super::quieting::Quieting;

/// One alert as the dashboard and `GET /api/alerts` show it.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    /// The alert, as it last fired (or as it was when it resolved).
    #[serde(flatten)]
    pub alert: Alert,
    /// The ids of the silences that match it now.
    pub silenced_by: Vec<String>,
    /// Its acknowledgement, if this episode has one.
    pub acked: Option<AckView>,
    /// Why it is not notified though firing and not silenced, e.g. `host web-1 is down`.
    pub inhibited_by: Option<String>,
}

/// Every alert the lifecycle knows: firing (silenced, acknowledged or not) and recently
/// resolved.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertsView {
    /// Firing now, most severe first, then oldest first.
    pub firing: Vec<AlertView>,
    /// Resolved lately, newest first (at most [`super::RESOLVED_KEPT`]).
    pub resolved: Vec<AlertView>,
}

/// A cloneable handle on the latest [`AlertsView`], written by the lifecycle after each
/// change and read by the surfaces.
#[derive(Debug, Clone, Default)]
pub struct Board(Arc<Mutex<Arc<AlertsView>>>);

impl Board {
    /// The view as last published.
    pub fn view(&self) -> Arc<AlertsView> {
        Arc::clone(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Publishes a new view.
    pub fn publish(&self, view: AlertsView) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(view);
    }

    /// The firing alert with this fingerprint, if any.
    pub fn firing(&self, fingerprint: &str) -> Option<Alert> {
        self.view()
            .firing
            .iter()
            .find(|view| view.alert.fingerprint == fingerprint)
            .map(|view| view.alert.clone())
    }
}

/// The view of `book` at `wall`.
pub(super) fn build(book: &Book, quiet: &dyn Quieting, wall: DateTime<Utc>) -> AlertsView {
    let mut firing: Vec<AlertView> = book
        .firing()
        .map(|entry| AlertView {
            silenced_by: quiet.silencing(&entry.alert, book.tags(&entry.alert.host), wall),
            acked: quiet.acked(&entry.alert),
            inhibited_by: inhibited_by(book, entry),
            alert: entry.alert.clone(),
        })
        .collect();
    firing.sort_by(|a, b| {
        b.alert
            .level
            .cmp(&a.alert.level)
            .then_with(|| a.alert.starts_at.cmp(&b.alert.starts_at))
            .then_with(|| a.alert.fingerprint.cmp(&b.alert.fingerprint))
    });
    let resolved = book
        .resolved()
        .map(|alert| AlertView {
            alert: alert.clone(),
            silenced_by: Vec::new(),
            acked: None,
            inhibited_by: None,
        })
        .collect();
    AlertsView { firing, resolved }
}
