//! The one place a time becomes text. Inside the server a time is a
//! `DateTime<Local>` (it carries its UTC offset, so a DST change is no jump) or an
//! `Instant`; it is written out only at the wire edge, in the seed's format: Python's
//! `datetime.now().isoformat()`, local time with microseconds and no offset
//! (`2025-01-03T10:15:30.123456`), which the seed's clients parse.

use chrono::{DateTime, Local, SecondsFormat, Utc};
use serde::Serializer;

/// The seed's format.
pub const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// `at` in the seed's format.
pub fn iso(at: &DateTime<Local>) -> String {
    at.format(FORMAT).to_string()
}

/// Now, in the seed's format.
pub fn now_iso() -> String {
    iso(&Local::now())
}

/// `at` as RFC 3339 in UTC with milliseconds (`2025-01-03T09:15:30.123Z`): the format of
/// what is newer than the seed's wire (an alert's `starts_at`/`ends_at`, silences), so
/// that a time read on another machine or in another zone means one instant.
pub fn rfc3339(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `#[serde(serialize_with = "crate::timestamp::serialize_option")]` for an optional
/// time that goes out in the seed's format (`null` when absent).
pub fn serialize_option<S: Serializer>(
    at: &Option<DateTime<Local>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serializer.collect_str(&at.format(FORMAT)),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_look_like_pythons_isoformat() {
        let now = now_iso();
        assert!(
            chrono::NaiveDateTime::parse_from_str(&now, FORMAT).is_ok(),
            "{now}"
        );
        assert_eq!(now.len(), "2025-01-03T10:15:30.123456".len());
    }
}
