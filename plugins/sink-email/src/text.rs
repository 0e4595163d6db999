//! Subject and body of an alert email: the subject says at a glance what, how bad and
//! where (`[CRITICAL] memory usage 96.2% on web-1`); the plain-text body lists every
//! field of the alert.

use monitoring_plugin_api::{Alert, AlertLevel, SinkEvent};

/// Subject and body of the email for an event, `None` for events this sink ignores.
pub fn compose(event: &SinkEvent, host: &str) -> Option<(String, String)> {
    match event {
        SinkEvent::Alert { alert } => Some(alert_email(alert, host)),
        SinkEvent::Resolved { alert, resolved_at } => {
            Some(resolved_email(alert, resolved_at, host))
        }
        _ => None,
    }
}

fn alert_email(alert: &Alert, host: &str) -> (String, String) {
    let level = level_name(alert.level);
    let subject = format!(
        "[{level}] {} {} on {host}",
        what(alert),
        with_unit(alert, alert.value)
    );
    let body = format!(
        "{level} alert on {host}\n\n{}\n\n{}",
        alert.message,
        fields(alert, host, None)
    );
    (subject, body)
}

fn resolved_email(alert: &Alert, resolved_at: &str, host: &str) -> (String, String) {
    let level = level_name(alert.level);
    let value = with_unit(alert, alert.value);
    let subject = format!(
        "[RESOLVED] {} back to normal on {host} (was {level} {value})",
        what(alert)
    );
    let body = format!(
        "RESOLVED on {host}: {} is back to normal.\n\nLast alert: {}\n\n{}",
        what(alert),
        alert.message,
        fields(alert, host, Some(resolved_at))
    );
    (subject, body)
}

fn fields(alert: &Alert, host: &str, resolved_at: Option<&str>) -> String {
    let mut text = format!(
        "Component:   {}\nMetric:      {}\nValue:       {}\nThreshold:   {}\nLevel:       {}\nRaised at:   {}\nHost:        {host}\n",
        alert.component,
        alert.metric,
        with_unit(alert, alert.value),
        with_unit(alert, alert.threshold),
        level_name(alert.level),
        alert.timestamp,
    );
    if let Some(resolved_at) = resolved_at {
        text.push_str(&format!("Resolved at: {resolved_at}\n"));
    }
    text
}

/// `memory usage` from component `memory` and metric `usage_percent`.
fn what(alert: &Alert) -> String {
    let metric = alert
        .metric
        .trim_end_matches("_percentage")
        .trim_end_matches("_percent");
    format!("{} {}", alert.component, metric.replace('_', " "))
}

/// `96.2%` for percentage metrics, the bare number otherwise.
fn with_unit(alert: &Alert, value: f64) -> String {
    if alert.metric.contains("percent") {
        format!("{value:.1}%")
    } else {
        format!("{value}")
    }
}

fn level_name(level: AlertLevel) -> &'static str {
    match level {
        AlertLevel::Warning => "WARNING",
        AlertLevel::Critical => "CRITICAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(metric: &str, value: f64) -> Alert {
        Alert {
            timestamp: "2025-01-03T10:15:30.123456".into(),
            component: "gpu".into(),
            metric: metric.into(),
            value,
            threshold: 80.0,
            level: AlertLevel::Warning,
            message: "High gpu reading".into(),
            ..Default::default()
        }
    }

    #[test]
    fn subjects_read_at_a_glance() {
        let (subject, _) = compose(
            &SinkEvent::Alert {
                alert: alert("usage_percent", 85.0),
            },
            "h",
        )
        .unwrap();
        assert_eq!(subject, "[WARNING] gpu usage 85.0% on h");
        let (subject, _) = compose(
            &SinkEvent::Alert {
                alert: alert("temperature", 85.5),
            },
            "h",
        )
        .unwrap();
        assert_eq!(subject, "[WARNING] gpu temperature 85.5 on h");
        let resolved = SinkEvent::Resolved {
            alert: alert("memory_percentage", 81.0),
            resolved_at: "t".into(),
        };
        let (subject, body) = compose(&resolved, "h").unwrap();
        assert_eq!(
            subject,
            "[RESOLVED] gpu memory back to normal on h (was WARNING 81.0%)"
        );
        assert!(body.ends_with("Resolved at: t\n"), "{body}");
        let snapshot = SinkEvent::Snapshot {
            timestamp: "t".into(),
            data: Default::default(),
        };
        assert!(compose(&snapshot, "h").is_none());
    }
}
