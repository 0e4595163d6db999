//! What every notification says, whatever the service: a title naming the level, the
//! host and what crossed which threshold, and a body with since when and the dashboard
//! link. Services add their own formatting (priority, colour) from [`Severity`].

use monitoring_plugin_api::{Alert, AlertLevel, AlertState, Notification};

/// Lines of alerts in one body; the rest are counted ("and N more").
pub const MAX_LINES: usize = 20;

/// The overall weight of a notification, which services turn into their priority or
/// colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// At least one CRITICAL alert fires.
    Critical,
    /// Alerts fire, none CRITICAL.
    Warning,
    /// Nothing fires any more.
    Resolved,
}

impl Severity {
    /// Apprise's notification type for it (`failure`, `warning`, `success`).
    pub fn apprise_type(self) -> &'static str {
        match self {
            Severity::Critical => "failure",
            Severity::Warning => "warning",
            Severity::Resolved => "success",
        }
    }
}

/// One notification, rendered.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// One line, e.g. `[CRITICAL] web-1: memory usage 96.2% (threshold 90%)`.
    pub title: String,
    /// Plain text, lines separated by `\n`.
    pub body: String,
    /// Overall weight.
    pub severity: Severity,
    /// The dashboard, when `public_url` is set.
    pub link: Option<&'a str>,
    /// The notification itself, for services that send one event per alert.
    pub notification: &'a Notification,
    /// The name given to alerts that do not say their host (from an older host).
    pub local_host: &'a str,
}

impl<'a> Message<'a> {
    /// Renders `notification`; `title_prefix` goes before the title; `local_host` names
    /// alerts from an older host that did not say theirs.
    pub fn render(
        notification: &'a Notification,
        title_prefix: Option<&str>,
        local_host: &'a str,
    ) -> Self {
        let severity = severity(notification);
        let firing = notification.firing().count();
        let resolved = notification.resolved().count();
        let title = match notification.alerts.as_slice() {
            [only] => alert_title(only, local_host),
            alerts => {
                let hosts = hosts_of(alerts, local_host);
                match (firing, resolved) {
                    (0, n) => format!("[RESOLVED] {n} alerts resolved on {hosts}"),
                    (n, 0) => format!("[{}] {n} alerts firing on {hosts}", severity_word(severity)),
                    (n, r) => format!(
                        "[{}] {n} alerts firing, {r} resolved on {hosts}",
                        severity_word(severity)
                    ),
                }
            }
        };
        let title = match title_prefix {
            Some(prefix) if !prefix.is_empty() => format!("{prefix} {title}"),
            _ => title,
        };
        let mut lines: Vec<String> = match notification.alerts.as_slice() {
            [only] => details(only, local_host),
            alerts => {
                let mut lines: Vec<String> = alerts
                    .iter()
                    .take(MAX_LINES)
                    .map(|a| alert_line(a, local_host))
                    .collect();
                if alerts.len() > MAX_LINES {
                    lines.push(format!("and {} more", alerts.len() - MAX_LINES));
                }
                lines
            }
        };
        let link = notification.public_url.as_deref().filter(|u| !u.is_empty());
        if let Some(link) = link {
            lines.push(format!("Dashboard: {link}"));
        }
        Self {
            title,
            body: lines.join("\n"),
            severity,
            link,
            notification,
            local_host,
        }
    }
}

fn severity(notification: &Notification) -> Severity {
    let mut firing = notification.firing().peekable();
    if firing.peek().is_none() {
        Severity::Resolved
    } else if firing.any(|a| a.level == AlertLevel::Critical) {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::Resolved => "RESOLVED",
    }
}

/// `CRITICAL`, `WARNING` or `RESOLVED` for one alert.
pub fn state_word(alert: &Alert) -> &'static str {
    match (alert.state, alert.level) {
        (AlertState::Resolved, _) => "RESOLVED",
        (AlertState::Firing, AlertLevel::Critical) => "CRITICAL",
        (AlertState::Firing, AlertLevel::Warning) => "WARNING",
    }
}

/// The host an alert is about.
pub fn host_of<'a>(alert: &'a Alert, local_host: &'a str) -> &'a str {
    if alert.host.is_empty() {
        local_host
    } else {
        &alert.host
    }
}

fn hosts_of(alerts: &[Alert], local_host: &str) -> String {
    let mut hosts: Vec<&str> = alerts.iter().map(|a| host_of(a, local_host)).collect();
    hosts.sort_unstable();
    hosts.dedup();
    match hosts.as_slice() {
        [one] => (*one).to_owned(),
        many => format!("{} hosts", many.len()),
    }
}

/// `[CRITICAL] web-1: memory usage 96.2% (threshold 90%)`.
pub fn alert_title(alert: &Alert, local_host: &str) -> String {
    format!(
        "[{}] {}: {}",
        state_word(alert),
        host_of(alert, local_host),
        what_crossed(alert)
    )
}

/// `memory usage 96.2% (threshold 90%)`.
pub fn what_crossed(alert: &Alert) -> String {
    let (name, unit) = metric_name(alert);
    format!(
        "{name} {}{unit} (threshold {}{unit})",
        number(alert.value),
        number(alert.threshold)
    )
}

/// `memory usage`, `%` for `memory` / `usage_percent`.
fn metric_name(alert: &Alert) -> (String, &'static str) {
    let (metric, unit) = match alert.metric.strip_suffix("_percent") {
        Some(stem) => (stem, "%"),
        None => (alert.metric.as_str(), ""),
    };
    let metric = metric.replace('_', " ");
    let name = if alert.component.is_empty() {
        metric
    } else {
        format!("{} {metric}", alert.component)
    };
    (name, unit)
}

/// At most two decimals, no trailing zeros: `90`, `96.2`.
pub fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// One line of a several-alert body.
fn alert_line(alert: &Alert, local_host: &str) -> String {
    let mut line = format!(
        "{} {}: {}",
        state_word(alert),
        host_of(alert, local_host),
        what_crossed(alert)
    );
    if !alert.starts_at.is_empty() {
        line.push_str(&format!(" since {}", alert.starts_at));
    }
    if alert.state == AlertState::Resolved && !alert.ends_at.is_empty() {
        line.push_str(&format!(", resolved {}", alert.ends_at));
    }
    line
}

/// The body of a one-alert notification, one fact a line.
fn details(alert: &Alert, local_host: &str) -> Vec<String> {
    let (name, unit) = metric_name(alert);
    let mut lines = Vec::new();
    if !alert.message.is_empty() {
        lines.push(alert.message.clone());
    }
    lines.push(format!("Level: {}", state_word(alert)));
    lines.push(format!("Host: {}", host_of(alert, local_host)));
    lines.push(format!(
        "Metric: {name} ({}.{})",
        alert.component, alert.metric
    ));
    lines.push(format!("Value: {}{unit}", number(alert.value)));
    lines.push(format!("Threshold: {}{unit}", number(alert.threshold)));
    let since = if alert.starts_at.is_empty() {
        &alert.timestamp
    } else {
        &alert.starts_at
    };
    lines.push(format!("Since: {since}"));
    if alert.state == AlertState::Resolved && !alert.ends_at.is_empty() {
        lines.push(format!("Resolved: {}", alert.ends_at));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{alert, notification};

    #[test]
    fn one_alert_names_level_host_metric_value_and_threshold() {
        let n = notification(vec![alert(
            "web-1",
            AlertLevel::Critical,
            AlertState::Firing,
        )]);
        let m = Message::render(&n, None, "local");
        assert_eq!(
            m.title,
            "[CRITICAL] web-1: memory usage 96.2% (threshold 90%)"
        );
        assert_eq!(m.severity, Severity::Critical);
        for fact in [
            "Level: CRITICAL",
            "Host: web-1",
            "Value: 96.2%",
            "Threshold: 90%",
            "Since: 2025-01-03T10:15:00Z",
            "Dashboard: https://mon.example/",
        ] {
            assert!(m.body.contains(fact), "{fact} in {}", m.body);
        }
    }

    #[test]
    fn several_alerts_are_summarised_and_capped() {
        let mut alerts = vec![alert("web-1", AlertLevel::Warning, AlertState::Firing); 24];
        alerts.push(alert("web-1", AlertLevel::Critical, AlertState::Resolved));
        let three = notification(alerts[..3].to_vec());
        let m = Message::render(&three, Some("[prod]"), "l");
        assert_eq!(m.title, "[prod] [WARNING] 3 alerts firing on web-1");
        assert_eq!(m.body.lines().count(), 4, "three lines and the link");
        let all = notification(alerts);
        let m = Message::render(&all, None, "l");
        assert_eq!(m.title, "[WARNING] 24 alerts firing, 1 resolved on web-1");
        assert_eq!(
            m.body.lines().filter(|l| l.starts_with("WARNING")).count(),
            20
        );
        assert!(m.body.contains("and 5 more"), "{}", m.body);
    }

    #[test]
    fn resolved_ones_are_marked() {
        let n = notification(vec![alert("", AlertLevel::Critical, AlertState::Resolved)]);
        let m = Message::render(&n, None, "local-host");
        assert_eq!(m.severity, Severity::Resolved);
        assert_eq!(
            m.title,
            "[RESOLVED] local-host: memory usage 96.2% (threshold 90%)"
        );
        assert!(
            m.body.contains("Resolved: 2025-01-03T10:30:00Z"),
            "{}",
            m.body
        );
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(90.0), "90");
        assert_eq!(number(96.25), "96.25");
        assert_eq!(number(0.001), "0");
        assert_eq!(number(-1.5), "-1.5");
    }
}
