//! Sample alerts and notifications for the unit tests.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use monitoring_plugin_api::{Alert, AlertLevel, AlertState, Notification};

use crate::message::Message;
use crate::services::{Request, Target};
use crate::urls::AppriseUrl;

/// Memory at 96.2 % over 90 % on `host`.
pub fn alert(host: &str, level: AlertLevel, state: AlertState) -> Alert {
    Alert {
        timestamp: "2025-01-03T10:15:30Z".into(),
        component: "memory".into(),
        metric: "usage_percent".into(),
        value: 96.2,
        threshold: 90.0,
        level,
        message: "Critical memory usage: 96.2% (threshold: 90.0%)".into(),
        host: host.into(),
        labels: BTreeMap::new(),
        starts_at: "2025-01-03T10:15:00Z".into(),
        fingerprint: "0123456789abcdef".into(),
        state,
        ends_at: if state == AlertState::Resolved {
            "2025-01-03T10:30:00Z".into()
        } else {
            String::new()
        },
    }
}

/// A notification of `alerts` with a dashboard link.
pub fn notification(alerts: Vec<Alert>) -> Notification {
    let status = if alerts.iter().any(|a| a.state == AlertState::Firing) {
        AlertState::Firing
    } else {
        AlertState::Resolved
    };
    Notification {
        status,
        receiver: "notify".into(),
        group_key: "{}:{host=\"web-1\"}".into(),
        group_labels: BTreeMap::new(),
        alerts,
        public_url: Some("https://mon.example/".into()),
        timestamp: "2025-01-03T10:16:00Z".into(),
    }
}

/// One firing alert of `level` on web-1.
pub fn firing(level: AlertLevel) -> Notification {
    notification(vec![alert("web-1", level, AlertState::Firing)])
}

/// One resolved alert on web-1.
pub fn resolved() -> Notification {
    notification(vec![alert(
        "web-1",
        AlertLevel::Critical,
        AlertState::Resolved,
    )])
}

/// The target `url` names; panics when it does not parse.
pub fn target(url: &str) -> Target {
    Target::parse(&AppriseUrl::parse(url, 1, vec![]).unwrap()).unwrap()
}

/// The error text for `url`.
pub fn refusal(url: &str) -> String {
    match AppriseUrl::parse(url, 1, vec![]).and_then(|u| Target::parse(&u)) {
        Ok(_) => panic!("{url} parsed"),
        Err(e) => e.to_string(),
    }
}

/// The requests for `notification` to `url`.
pub fn requests(url: &str, notification: &Notification) -> Vec<Request> {
    target(url).requests(&Message::render(notification, None, "local"))
}

/// The JSON body of a request.
pub fn json(request: &Request) -> serde_json::Value {
    match &request.body {
        crate::services::Body::Json(v) => v.clone(),
        other => panic!("not JSON: {other:?}"),
    }
}

/// A header's value.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
