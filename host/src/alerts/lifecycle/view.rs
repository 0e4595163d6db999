//! The view the dashboard and `GET /api/alerts` show: every firing alert with what
//! keeps it quiet (silences, acknowledgement, inhibition), most severe first then
//! oldest, and the recently resolved ones, newest first.

use chrono::{DateTime, Utc};

use super::book::Book;
use super::inhibit::inhibited_by;
use super::{AlertView, AlertsView, Quieting};

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
