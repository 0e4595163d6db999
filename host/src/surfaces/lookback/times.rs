//! The times a history query may name: the snapshots' own format (local time, no
//! offset), RFC 3339, Unix seconds, `now`, or relative to now (`-30m`, `-24h`, `-7d`,
//! `-1y`). All become milliseconds since the Unix epoch; `now` is passed in so the
//! relative forms are tested without a clock.

use chrono::{DateTime, Local, NaiveDateTime};

use crate::pipeline::wire::excerpt;

/// Milliseconds in one unit of a relative time.
fn unit_ms(unit: &str) -> Option<i64> {
    Some(match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "y" => 365 * 86_400_000,
        _ => return None,
    })
}

/// `text` as milliseconds since the epoch, `now_ms` being now; `key` names the
/// parameter in the error.
pub fn parse_time(key: &str, text: &str, now_ms: i64) -> Result<i64, String> {
    let trimmed = text.trim();
    if trimmed == "now" {
        return Ok(now_ms);
    }
    if let Some(relative) = trimmed.strip_prefix('-') {
        let split = relative
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(relative.len());
        let (amount, unit) = relative.split_at(split);
        if let (Ok(amount), Some(unit)) = (amount.parse::<f64>(), unit_ms(unit)) {
            let back_ms = amount * unit as f64;
            // At most a century back: far past any tier, still a sane number.
            if (0.0..=100.0 * 365.0 * 86_400_000.0).contains(&back_ms) {
                return Ok(now_ms - back_ms as i64);
            }
        }
    } else if let Ok(seconds) = trimmed.parse::<f64>() {
        // Unix seconds, as the answers give them; years 1970 to 2200.
        if seconds.is_finite() && (0.0..7.3e9).contains(&seconds) {
            return Ok((seconds * 1000.0) as i64);
        }
    } else if let Ok(at) = parse_since(trimmed) {
        return Ok(at.timestamp_millis());
    }
    Err(format!(
        "`{key}` must be a time: `now`, relative such as `-30m`, `-24h` or `-7d`, Unix seconds, \
         or ISO 8601 such as 2025-01-03T10:15:30 (local) or 2025-01-03T10:15:30Z; got `{}`",
        excerpt(text)
    ))
}

/// An ISO 8601 time: with an offset (`Z`, `+02:00`) it is that instant; without one
/// it is local time, as snapshot timestamps are (the earlier one in a DST fold).
pub fn parse_since(text: &str) -> Result<DateTime<Local>, String> {
    let trimmed = text.trim();
    // An unencoded `+` in a query string arrives as a space.
    let candidates = [trimmed.to_owned(), trimmed.replace(' ', "+")];
    for candidate in &candidates {
        if let Ok(at) = DateTime::parse_from_rfc3339(candidate) {
            return Ok(at.with_timezone(&Local));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            let local = NaiveDateTime::parse_from_str(candidate, format)
                .ok()
                .and_then(|at| at.and_local_timezone(Local).earliest());
            if let Some(at) = local {
                return Ok(at);
            }
        }
    }
    Err(format!(
        "`since` must be an ISO 8601 time such as 2025-01-03T10:15:30 (local time) or \
         2025-01-03T10:15:30Z (encode `+` in an offset as %2B), got `{}`",
        excerpt(text)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_765_085_316_500;

    #[test]
    fn relative_times_count_back_from_now() {
        assert_eq!(parse_time("from", "now", NOW), Ok(NOW));
        assert_eq!(parse_time("from", "-30m", NOW), Ok(NOW - 1_800_000));
        assert_eq!(parse_time("from", "-24h", NOW), Ok(NOW - 86_400_000));
        assert_eq!(parse_time("from", "-7d", NOW), Ok(NOW - 7 * 86_400_000));
        assert_eq!(parse_time("from", "-1.5h", NOW), Ok(NOW - 5_400_000));
    }

    #[test]
    fn absolute_times() {
        assert_eq!(parse_time("to", "1765085316.5", NOW), Ok(1_765_085_316_500));
        assert_eq!(
            parse_time("to", "2025-12-07T05:28:36Z", NOW),
            Ok(1_765_085_316_000)
        );
        assert_eq!(
            parse_time("to", "2025-12-07T06:28:36+01:00", NOW),
            Ok(1_765_085_316_000)
        );
        // The snapshots' own format is local time.
        assert!(parse_time("to", "2025-12-07T05:28:36.399315", NOW).is_ok());
    }

    #[test]
    fn nonsense_is_refused_naming_the_key() {
        for bad in ["", "-", "-3x", "yesterday", "-1e400h", "1e300", "NaN"] {
            let err = parse_time("from", bad, NOW).expect_err(bad);
            assert!(err.starts_with("`from` must be a time"), "{err}");
        }
    }
}
