//! The Slack incoming-webhook message for an alert event: a one-line `text` with the
//! level's emoji for notifications, and an attachment in the level's colour with one
//! field per alert field (<https://api.slack.com/reference/messaging/attachments>).

use chrono::{DateTime, Local, NaiveDateTime, TimeZone};
use monitoring_plugin_api::{Alert, AlertLevel, SinkEvent};
use serde::Serialize;

/// The whole request body.
#[derive(Debug, Serialize)]
pub struct Message<'a> {
    /// Overrides the webhook's channel, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<&'a str>,
    /// Display name of the poster.
    pub username: &'a str,
    /// Avatar emoji, e.g. `:bar_chart:`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_emoji: Option<&'a str>,
    /// The notification line.
    pub text: String,
    /// One attachment with the details.
    pub attachments: [Attachment; 1],
}

/// The coloured block under the text.
#[derive(Debug, Serialize)]
pub struct Attachment {
    /// `warning`, `danger` or `good`.
    pub color: &'static str,
    /// Bold first line.
    pub title: String,
    /// The alert's message.
    pub text: String,
    /// Alert fields as a table.
    pub fields: Vec<Field>,
    /// Unix time of the event, shown by Slack in the reader's time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts: Option<i64>,
}

/// One cell of the attachment's table.
#[derive(Debug, Serialize)]
pub struct Field {
    /// Label.
    pub title: &'static str,
    /// Value.
    pub value: String,
    /// Half width (two per row).
    pub short: bool,
}

/// Who posts, as configured.
#[derive(Debug, Clone, Copy)]
pub struct Poster<'a> {
    /// Channel override.
    pub channel: Option<&'a str>,
    /// Display name.
    pub username: &'a str,
    /// Avatar emoji.
    pub icon_emoji: Option<&'a str>,
    /// This machine's name, so a shared channel says where it happened.
    pub host: &'a str,
}

/// The message for an alert event, `None` for events this sink ignores (snapshots).
pub fn message<'a>(event: &SinkEvent, poster: Poster<'a>) -> Option<Message<'a>> {
    let (alert, resolved_at) = match event {
        SinkEvent::Alert { alert } => (alert, None),
        SinkEvent::Resolved { alert, resolved_at } => (alert, Some(resolved_at.as_str())),
        _ => return None,
    };
    let level = level_name(alert.level);
    let (emoji, label, color) = match (resolved_at, alert.level) {
        (Some(_), _) => ("✅", "RESOLVED", "good"),
        (None, AlertLevel::Warning) => ("⚠️", level, "warning"),
        (None, AlertLevel::Critical) => ("🚨", level, "danger"),
    };
    let what = format!("{} {}", alert.component, alert.metric.replace('_', " "));
    let (text, title) = match resolved_at {
        None => (
            format!("{emoji} *{label}* on {}: {}", poster.host, alert.message),
            format!("{level}: {what} at {}", with_unit(alert, alert.value)),
        ),
        Some(_) => (
            format!(
                "{emoji} *{label}* on {}: {what} is back to normal",
                poster.host
            ),
            format!(
                "Resolved: {what} (was {level} at {})",
                with_unit(alert, alert.value)
            ),
        ),
    };
    let mut fields = vec![
        field("Component", alert.component.clone()),
        field("Metric", alert.metric.clone()),
        field("Value", with_unit(alert, alert.value)),
        field("Threshold", with_unit(alert, alert.threshold)),
        field("Level", level.to_owned()),
        field("Host", poster.host.to_owned()),
        field("Raised at", alert.timestamp.clone()),
    ];
    if let Some(resolved_at) = resolved_at {
        fields.push(field("Resolved at", resolved_at.to_owned()));
    }
    Some(Message {
        channel: poster.channel,
        username: poster.username,
        icon_emoji: poster.icon_emoji,
        text,
        attachments: [Attachment {
            color,
            title,
            text: alert.message.clone(),
            fields,
            ts: unix_time(resolved_at.unwrap_or(&alert.timestamp)),
        }],
    })
}

fn field(title: &'static str, value: String) -> Field {
    Field {
        title,
        value,
        short: true,
    }
}

fn level_name(level: AlertLevel) -> &'static str {
    match level {
        AlertLevel::Warning => "WARNING",
        AlertLevel::Critical => "CRITICAL",
    }
}

/// `96.2%` for percentage metrics, the bare number otherwise.
fn with_unit(alert: &Alert, value: f64) -> String {
    if alert.metric.contains("percent") {
        format!("{value:.1}%")
    } else {
        format!("{value}")
    }
}

/// Seconds since the epoch of an ISO 8601 time; one without an offset (the seed's
/// `2025-01-03T10:15:30.123456`) is local time.
pub fn unix_time(iso: &str) -> Option<i64> {
    if let Ok(at) = DateTime::parse_from_rfc3339(iso) {
        return Some(at.timestamp());
    }
    let naive = NaiveDateTime::parse_from_str(iso, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|at| at.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_and_without_offset() {
        assert_eq!(unix_time("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(unix_time("1970-01-01T01:01:00+01:00"), Some(60));
        let local = Local
            .with_ymd_and_hms(2025, 1, 3, 10, 15, 30)
            .unwrap()
            .timestamp();
        assert_eq!(unix_time("2025-01-03T10:15:30.123456"), Some(local));
        assert_eq!(unix_time("yesterday"), None);
    }
}
