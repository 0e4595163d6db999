//! A snapshot: every collector's sections at one instant, and the timestamp format the
//! seed's clients parse (Python's `datetime.now().isoformat()`, local time with
//! microseconds and no offset).

use monitoring_plugin_api::Sections;

/// One tick's data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// When it was assembled, ISO 8601 local time.
    pub timestamp: String,
    /// The sections, as in `monitoring_data.data`.
    pub data: Sections,
}

/// Now, as the seed writes timestamps: `2025-01-03T10:15:30.123456`.
pub fn now_iso() -> String {
    chrono::Local::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_look_like_pythons_isoformat() {
        let now = now_iso();
        assert!(
            chrono::NaiveDateTime::parse_from_str(&now, "%Y-%m-%dT%H:%M:%S%.6f").is_ok(),
            "{now}"
        );
        assert_eq!(now.len(), "2025-01-03T10:15:30.123456".len());
    }
}
