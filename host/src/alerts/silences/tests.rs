//! The book's rules with moved time, and keeping: a file and the history store round
//! trip, an unreadable record is named, a failed write changes nothing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use monitoring_plugin_api::{Alert, AlertLevel, AlertState};

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0)
        .single()
        .unwrap_or_default()
}

fn disk_alert(host: &str) -> Alert {
    Alert {
        component: "disk".into(),
        metric: "usage_percent".into(),
        level: AlertLevel::Critical,
        host: host.into(),
        fingerprint: format!("{host}-fp"),
        starts_at: "2026-03-02T09:55:00".into(),
        state: AlertState::Firing,
        ..Alert::default()
    }
}

fn request(exact: &[(&str, &str)], duration: &str) -> SilenceRequest {
    SilenceRequest {
        matchers: exact
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        duration: Some(duration.to_owned()),
        comment: "disk swap".into(),
        ..SilenceRequest::default()
    }
}

fn invalid(silences: &Silences, request: SilenceRequest) -> String {
    match silences.add(request, "admin", t0()) {
        Err(Refused::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn a_silence_is_pending_then_active_then_expired_then_swept() {
    let silences = Silences::default();
    let starts = t0() + Duration::minutes(10);
    let id = silences
        .add(
            SilenceRequest {
                starts_at: Some("2026-03-02T10:10:00Z".into()),
                ..request(&[("component", "disk"), ("host", "web-1")], "2h")
            },
            "admin 127.0.0.1",
            t0(),
        )
        .expect("added");
    assert_eq!(id.len(), 16);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    let state = |at| silences.list(at).first().map(|view| view.state);
    let alert = disk_alert("web-1");
    assert_eq!(state(t0()), Some("pending"));
    assert!(silences.silencing(&alert, &[], t0()).is_empty());
    assert_eq!(state(starts), Some("active"));
    assert_eq!(silences.silencing(&alert, &[], starts), vec![id.clone()]);
    assert!(silences
        .silencing(&disk_alert("web-2"), &[], starts)
        .is_empty());
    let ends = starts + Duration::hours(2);
    assert_eq!(state(ends), Some("expired"));
    assert!(silences.silencing(&alert, &[], ends).is_empty());
    assert_eq!(
        state(ends + EXPIRED_KEPT - Duration::seconds(1)),
        Some("expired")
    );
    assert_eq!(state(ends + EXPIRED_KEPT), None, "no longer listed");
    let view = &silences.list(starts)[0];
    assert_eq!(view.starts_at, "2026-03-02T10:10:00Z");
    assert_eq!(view.ends_at, "2026-03-02T12:10:00Z");
    assert_eq!(view.created_by, "admin 127.0.0.1");
    assert_eq!(view.comment, "disk swap");
}

#[test]
fn expiring_ends_it_now_and_an_unknown_id_is_not_found() {
    let silences = Silences::default();
    let id = silences
        .add(request(&[("host", "web-1")], "1d"), "admin", t0())
        .expect("added");
    let later = t0() + Duration::minutes(5);
    silences.expire(&id, later).expect("expired");
    let view = &silences.list(later)[0];
    assert_eq!(
        (view.state, view.ends_at.as_str()),
        ("expired", "2026-03-02T10:05:00Z")
    );
    assert!(silences
        .silencing(&disk_alert("web-1"), &[], later)
        .is_empty());
    assert!(matches!(
        silences.expire("0123456789abcdef", later),
        Err(Refused::NotFound(_))
    ));
}

#[test]
fn active_silences_are_listed_first() {
    let silences = Silences::default();
    let later = silences
        .add(
            SilenceRequest {
                starts_at: Some("2026-03-02T11:00:00Z".into()),
                ..request(&[("host", "a")], "1h")
            },
            "admin",
            t0(),
        )
        .expect("pending");
    let now = silences
        .add(request(&[("host", "b")], "1h"), "admin", t0())
        .expect("active");
    let ids: Vec<String> = silences.list(t0()).into_iter().map(|v| v.id).collect();
    assert_eq!(ids, vec![now, later]);
}

#[test]
fn bad_requests_name_their_field() {
    let silences = Silences::default();
    let cases: Vec<(SilenceRequest, &str)> = vec![
        (request(&[], "2h"), "`matchers`"),
        (request(&[("host", "web-1")], "2 hours"), "`duration`"),
        (request(&[("host", "web-1")], "400d"), "`ends_at`"),
        (request(&[("host", "web-1")], "999999999w"), "`duration`"),
        (
            SilenceRequest {
                matchers_regex: [("host".to_owned(), "web-(".to_owned())].into(),
                ..request(&[], "2h")
            },
            "`matchers_regex.host`",
        ),
        (
            request(&[("", "x")], "2h"),
            "`matchers`: a matcher needs a name",
        ),
        (
            SilenceRequest {
                ends_at: Some("2026-03-02T12:00:00Z".into()),
                ..request(&[("host", "web-1")], "2h")
            },
            "not both",
        ),
        (
            SilenceRequest {
                duration: None,
                ..request(&[("host", "web-1")], "2h")
            },
            "`duration`",
        ),
        (
            SilenceRequest {
                duration: None,
                ends_at: Some("2026-03-02T09:00:00Z".into()),
                ..request(&[("host", "web-1")], "2h")
            },
            "`ends_at`",
        ),
        (
            SilenceRequest {
                starts_at: Some("tomorrow".into()),
                ..request(&[("host", "web-1")], "2h")
            },
            "`starts_at`",
        ),
        (
            SilenceRequest {
                comment: "x".repeat(MAX_COMMENT_BYTES + 1),
                ..request(&[("host", "web-1")], "2h")
            },
            "`comment`",
        ),
    ];
    for (request, field) in cases {
        let message = invalid(&silences, request);
        assert!(message.contains(field), "{field}: {message}");
    }
    assert!(silences.list(t0()).is_empty());
}

#[test]
fn at_most_max_silences_are_kept() {
    let silences = Silences::default();
    for n in 0..MAX_SILENCES {
        silences
            .add(request(&[("host", &format!("h{n}"))], "1h"), "admin", t0())
            .expect("room");
    }
    assert!(matches!(
        silences.add(request(&[("host", "one-more")], "1h"), "admin", t0()),
        Err(Refused::Full(_))
    ));
    // A day after they all expired, they are swept and there is room again.
    let later = t0() + Duration::hours(1) + EXPIRED_KEPT;
    silences
        .add(request(&[("host", "one-more")], "1h"), "admin", later)
        .expect("swept");
    assert_eq!(silences.list(later).len(), 1);
}

#[test]
fn an_ack_holds_for_its_episode_only() {
    let silences = Silences::default();
    let alert = disk_alert("web-1");
    let ack = silences
        .ack(&alert, "admin", "on it", t0())
        .expect("acknowledged");
    assert_eq!(ack.fingerprint, "web-1-fp");
    assert_eq!(ack.starts_at, alert.starts_at);
    assert_eq!(silences.acked(&alert), Some(ack));
    let next_episode = Alert {
        starts_at: "2026-03-02T11:00:00".into(),
        ..alert.clone()
    };
    assert_eq!(silences.acked(&next_episode), None);
    assert_eq!(silences.acked(&disk_alert("web-2")), None);
    silences.resolved("web-1-fp");
    assert_eq!(silences.acked(&alert), None);
    let resolved = Alert {
        state: AlertState::Resolved,
        ..alert
    };
    assert!(matches!(
        silences.ack(&resolved, "admin", "", t0()),
        Err(Refused::NotFound(_))
    ));
}

#[test]
fn a_file_keeps_silences_and_acks_across_an_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data").join("alerts-state.json");
    let silences = Silences::open(Memory::File(path.clone())).expect("nothing yet");
    let id = silences
        .add(
            SilenceRequest {
                matchers_regex: [("host".to_owned(), "web-\\d+".to_owned())].into(),
                ..request(&[("component", "disk")], "2h")
            },
            "admin",
            t0(),
        )
        .expect("added");
    let ack = silences
        .ack(&disk_alert("db-1"), "admin", "on it", t0())
        .expect("acknowledged");
    let text = std::fs::read_to_string(&path).expect("written");
    let document: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(document["version"], 1);
    assert!(
        !path.with_extension("json.tmp").exists(),
        "renamed into place"
    );

    let reopened = Silences::open(Memory::File(path)).expect("read back");
    let listed = reopened.list(t0());
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(
        reopened.silencing(&disk_alert("web-7"), &[], t0()),
        vec![id],
        "the regex is compiled again"
    );
    assert_eq!(reopened.acked(&disk_alert("db-1")), Some(ack));
}

#[test]
fn the_history_store_keeps_them_across_an_open() {
    use crate::store::{Limits, Settings, Store};
    // `Store` is a `Keeper` through the server's root (lib.rs).
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = || Settings {
        dir: dir.path().to_owned(),
        limits: Limits::default(),
    };
    let store = Store::open(settings()).expect("store");
    let silences = Silences::open(Memory::Store(Arc::new(store))).expect("empty");
    let id = silences
        .add(request(&[("host", "web-1")], "2h"), "admin", t0())
        .expect("added");
    drop(silences);
    let store = Store::open(settings()).expect("reopened");
    let silences = Silences::open(Memory::Store(Arc::new(store))).expect("read");
    assert_eq!(silences.list(t0()).first().map(|v| v.id.clone()), Some(id));
}

#[test]
fn an_unreadable_record_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("alerts-state.json");
    for text in [
        "not json",
        r#"{"version":2,"silences":[],"acks":[]}"#,
        r#"{"version":1,"silences":[{"id":"x","matchers":{},"matchers_regex":{"host":"("},"starts_at":"2026-03-02T10:00:00Z","ends_at":"2026-03-02T11:00:00Z","created_by":"a","comment":"","created_at":"2026-03-02T10:00:00Z"}],"acks":[]}"#,
    ] {
        std::fs::write(&path, text).expect("written");
        let error = Silences::open(Memory::File(path.clone()))
            .err()
            .unwrap_or_default();
        assert!(error.contains("alerts-state.json"), "{error}");
    }
}

/// A keeper whose disk can be made to fail.
#[derive(Default)]
struct Flaky {
    failing: AtomicBool,
    kept: std::sync::Mutex<BTreeMap<String, String>>,
}

impl Keeper for Flaky {
    fn put(&self, key: &str, value: &str) -> Result<(), String> {
        if self.failing.load(Ordering::Relaxed) {
            return Err("disk full".into());
        }
        self.kept
            .lock()
            .map_err(|e| e.to_string())?
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }
    fn get(&self, key: &str) -> Result<Option<String>, String> {
        Ok(self
            .kept
            .lock()
            .map_err(|e| e.to_string())?
            .get(key)
            .cloned())
    }
    fn place(&self) -> String {
        "flaky".into()
    }
}

#[test]
fn a_change_that_cannot_be_kept_changes_nothing() {
    let keeper = Arc::new(Flaky::default());
    let silences = Silences::open(Memory::Store(keeper.clone())).expect("empty");
    let id = silences
        .add(request(&[("host", "web-1")], "2h"), "admin", t0())
        .expect("kept");
    keeper.failing.store(true, Ordering::Relaxed);
    assert!(matches!(
        silences.add(request(&[("host", "web-2")], "2h"), "admin", t0()),
        Err(Refused::Unsaved(_))
    ));
    assert!(matches!(
        silences.expire(&id, t0()),
        Err(Refused::Unsaved(_))
    ));
    assert!(matches!(
        silences.ack(&disk_alert("web-1"), "admin", "", t0()),
        Err(Refused::Unsaved(_))
    ));
    let listed = silences.list(t0());
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, "active");
    assert_eq!(silences.acked(&disk_alert("web-1")), None);
    keeper.failing.store(false, Ordering::Relaxed);
    let reopened = Silences::open(Memory::Store(keeper)).expect("read");
    assert_eq!(reopened.list(t0()).len(), 1);
}
