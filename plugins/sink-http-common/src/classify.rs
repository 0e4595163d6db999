//! HTTP status codes and `Retry-After` values to the host's error kinds; pure
//! functions, so every row of the table in the crate docs is unit-tested.

use std::time::{Duration, SystemTime};

use monitoring_plugin_api::PluginError;

/// The error for a non-2xx `status`; `what` says which request and answer.
pub fn classify_status(status: u16, retry_after: Option<Duration>, what: &str) -> PluginError {
    match status {
        // Too Many Requests, Service Unavailable: the server says when to come back.
        429 | 503 => match retry_after {
            Some(delay) => PluginError::retryable(what).with_retry_after(delay),
            None => PluginError::retryable(what),
        },
        // Request Timeout: the server gave up on a slow request; the same one may pass.
        408 => PluginError::retryable(what),
        500..=599 => PluginError::retryable(what),
        300..=399 => PluginError::fatal(format_args!(
            "{what} (redirects are not followed; set `url` to the final address)"
        )),
        _ => PluginError::fatal(what),
    }
}

/// A `Retry-After` value, either delay-seconds or an HTTP-date (RFC 9110 §10.2.3),
/// as a delay from `now`. A date in the past means "now"; garbage means no hint.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use monitoring_plugin_api::abi_stable::std_types::ROption;
    use monitoring_plugin_api::ErrorKind;

    #[test]
    fn statuses_are_classified() {
        let kind = |status| classify_status(status, None, "x").kind();
        for retryable in [500, 502, 503, 504, 429, 408] {
            assert_eq!(kind(retryable), Some(ErrorKind::Retryable), "{retryable}");
        }
        for fatal in [400, 401, 403, 404, 410, 301, 302] {
            assert_eq!(kind(fatal), Some(ErrorKind::Fatal), "{fatal}");
        }
        let limited = classify_status(429, Some(Duration::from_secs(7)), "x");
        assert_eq!(limited.retry_after_ms, ROption::RSome(7000));
        assert_eq!(
            classify_status(500, Some(Duration::from_secs(7)), "x").retry_after_ms,
            ROption::RNone
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:29:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
