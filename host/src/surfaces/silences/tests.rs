//! The handlers' work without HTTP: acknowledging what the board says fires, the
//! rules' one serialisation, the body's bound.

use monitoring_plugin_api::{Alert, AlertLevel, AlertState};
use serde_json::json;

use super::*;
use crate::alerts::lifecycle::{AlertView, AlertsView};
use crate::alerts::rules::RuleSet;

fn silencing() -> Silencing {
    Silencing {
        silences: Silences::default(),
        board: Board::default(),
        rules: AlertControl::new(RuleSet::default()),
        grouping: Grouping::from_policy(&Default::default()),
    }
}

fn firing(fingerprint: &str) -> AlertView {
    AlertView {
        alert: Alert {
            component: "disk".into(),
            level: AlertLevel::Critical,
            host: "web-1".into(),
            fingerprint: fingerprint.into(),
            starts_at: "2026-03-02T09:55:00".into(),
            state: AlertState::Firing,
            ..Alert::default()
        },
        silenced_by: Vec::new(),
        acked: None,
        inhibited_by: None,
    }
}

#[tokio::test]
async fn an_ack_needs_an_alert_the_board_says_fires() {
    let silencing = silencing();
    let refused = acknowledge(&silencing, "fp1", String::new(), "admin".into()).await;
    assert!(matches!(refused, Err(Refused::NotFound(_))), "{refused:?}");
    silencing.board.publish(AlertsView {
        firing: vec![firing("fp1")],
        resolved: Vec::new(),
    });
    let ack = acknowledge(
        &silencing,
        "fp1",
        "on it".into(),
        "admin (127.0.0.1)".into(),
    )
    .await
    .expect("acknowledged");
    assert_eq!(ack.starts_at, "2026-03-02T09:55:00");
    assert_eq!(ack.by, "admin (127.0.0.1)");
    assert_eq!(
        silencing.silences.acked(&firing("fp1").alert),
        Some(ack),
        "kept for that episode"
    );
}

#[test]
fn the_rules_show_their_current_thresholds_and_the_grouping() {
    let silencing = silencing();
    silencing
        .rules
        .set_threshold("memory", AlertLevel::Warning, 42.0)
        .expect("changed");
    let body = serde_json::to_value(rules_body(&silencing.rules.rules(), &silencing.grouping))
        .expect("JSON");
    let memory = body["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["metric"] == "memory.percentage"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(memory["warning"], 42.0, "{body}");
    assert_eq!(memory["direction"], "above");
    assert_eq!(memory["labels"], json!({}));
    let free = body["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["direction"] == "below"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(free["metric"], "disk.free", "{body}");
    assert_eq!(body["group_by"], json!(["host"]));
    assert_eq!(body["repeat_interval"], 300.0);
}

#[tokio::test]
async fn a_body_is_bounded_and_an_object() {
    let chunks = |parts: Vec<&'static [u8]>| {
        futures_util::stream::iter(parts.into_iter().map(Ok::<_, warp::Error>))
    };
    let fields = read_object(chunks(vec![b"{\"comment\":", b"\"x\"}"]), false)
        .await
        .unwrap_or_default();
    assert_eq!(fields.get("comment"), Some(&json!("x")));
    assert!(
        read_object(chunks(vec![b""]), true).await.is_ok(),
        "empty allowed"
    );
    let status = |reply: Result<_, Response>| reply.err().map(|r| r.status());
    assert_eq!(
        status(read_object(chunks(vec![b""]), false).await),
        Some(StatusCode::BAD_REQUEST)
    );
    assert_eq!(
        status(read_object(chunks(vec![b"[1]"]), false).await),
        Some(StatusCode::BAD_REQUEST)
    );
    let big: &'static [u8] = Box::leak(vec![b' '; MAX_BODY_BYTES].into_boxed_slice());
    assert_eq!(
        status(read_object(chunks(vec![b"{}", big]), false).await),
        Some(StatusCode::PAYLOAD_TOO_LARGE)
    );
}
