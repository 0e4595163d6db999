//! Inhibition: which firing alerts are not notified because another alert explains
//! them.
//!
//! - A host that is down (its [`HOST_DOWN`] alert fires) inhibits its own metric
//!   alerts: their values are stale, and the one page that matters says the host is
//!   gone.
//! - "A CRITICAL suppresses the WARNING of the same alert" needs no rule here: it
//!   holds by construction, since an alert's fingerprint is (rule, host, instance),
//!   not its level, so one alert escalates from WARNING to CRITICAL in place and there
//!   is never a WARNING and a CRITICAL of it to choose between.

use super::book::{Book, Entry, Source};
use super::identity::HOST_DOWN;

/// Why `entry` is inhibited now, e.g. `host web-1 is down`; `None` when it is not.
pub(super) fn inhibited_by(book: &Book, entry: &Entry) -> Option<String> {
    let host = &entry.alert.host;
    let is_host_down = entry.source == Source::Fleet && entry.alert.component == HOST_DOWN;
    (!is_host_down && book.is_down(host)).then(|| format!("host {host} is down"))
}
