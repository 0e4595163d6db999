//! `host_down`: fired and resolved by the fleet, inhibiting the host's own alerts;
//! `forget_host`; and the view.

use super::*;

#[test]
fn a_down_host_inhibits_its_alerts_and_its_resolve_goes_out() {
    let mut run = Run::new(Policy::default());
    let memory = alert("web-1", "memory", AlertLevel::Warning, 85.0);
    run.sync(0, "web-1", std::slice::from_ref(&memory));
    assert_eq!(run.flush(30, &["chat"]).len(), 1);
    run.host_state(60, "web-1", true);
    // The engine's sync of other hosts, or of this one, does not resolve host_down.
    run.sync(70, "web-1", std::slice::from_ref(&memory));
    let down = fingerprint(HOST_DOWN, "web-1", "");
    let view = run.board.view();
    assert_eq!(view.firing.len(), 2);
    assert_eq!(view.firing[0].alert.fingerprint, down, "CRITICAL first");
    assert_eq!(
        view.firing[0].alert.message,
        "Host web-1 stopped publishing"
    );
    assert_eq!(
        view.firing[0]
            .alert
            .labels
            .get("alertname")
            .map(String::as_str),
        Some(HOST_DOWN)
    );
    assert_eq!(view.firing[0].inhibited_by, None);
    assert_eq!(
        view.firing[1].inhibited_by.as_deref(),
        Some("host web-1 is down")
    );

    assert!(run.flush_span(60, 329, 1, &["chat"]).is_empty());
    let sent = run.flush(330, &["chat"]);
    assert_eq!(
        listed(&sent[0]),
        [(down.clone(), AlertState::Firing)],
        "inhibited: not listed"
    );
    assert!(
        run.flush_span(331, 629, 1, &["chat"]).is_empty(),
        "inhibited: not repeated"
    );

    run.host_state(640, "web-1", false);
    let sent = run.flush(640, &["chat"]);
    assert_eq!(
        listed(&sent[0]),
        [
            (memory.fingerprint.clone(), AlertState::Firing),
            (down, AlertState::Resolved)
        ]
    );
    assert_eq!(run.board.view().firing[0].inhibited_by, None);
}

#[test]
fn forgetting_a_host_resolves_all_its_alerts() {
    let mut run = Run::new(Policy::default());
    run.sync(
        0,
        "web-1",
        &[alert("web-1", "memory", AlertLevel::Warning, 85.0)],
    );
    run.sync(
        0,
        "web-2",
        &[alert("web-2", "memory", AlertLevel::Warning, 85.0)],
    );
    run.host_state(0, "web-1", true);
    assert_eq!(run.flush(30, &["chat"]).len(), 2);
    let (now, wall) = run.at(40);
    run.lifecycle.forget_host("web-1", now, wall);
    run.lifecycle.publish(wall);
    let view = run.board.view();
    assert_eq!(view.firing.len(), 1);
    assert_eq!(view.firing[0].alert.host, "web-2");
    assert_eq!(view.resolved.len(), 2);
    let sent = run.flush(330, &["chat"]);
    let web1 = sent
        .iter()
        .find(|n| n.group_labels == host_labels("web-1"))
        .expect("web-1's resolves");
    assert_eq!(web1.status, AlertState::Resolved);
    assert_eq!(
        listed(web1),
        [(fingerprint(HOST_DOWN, "web-1", ""), AlertState::Resolved)],
        "the inhibited alert was never sent, so its resolve is not either"
    );
    assert_eq!(
        run.quiet.resolved.lock().expect("lock").len(),
        2,
        "acknowledgements are told"
    );
}

#[test]
fn the_view_is_most_severe_then_oldest_and_keeps_so_many_resolved() {
    let mut run = Run::new(Policy::default());
    let older = Alert {
        starts_at: "2026-01-01T00:00:00.000Z".into(),
        ..alert("web-1", "memory", AlertLevel::Warning, 85.0)
    };
    let newer = alert("web-1", "cpu", AlertLevel::Warning, 95.0);
    let critical = alert("web-1", "disk", AlertLevel::Critical, 99.0);
    run.sync(
        0,
        "web-1",
        &[newer.clone(), critical.clone(), older.clone()],
    );
    let order: Vec<String> = run
        .board
        .view()
        .firing
        .iter()
        .map(|v| v.alert.fingerprint.clone())
        .collect();
    assert_eq!(
        order,
        [critical.fingerprint, older.fingerprint, newer.fingerprint]
    );
    for host in 0..RESOLVED_KEPT + 5 {
        let host = format!("h-{host}");
        run.sync(10, &host, &[alert(&host, "cpu", AlertLevel::Warning, 95.0)]);
        run.sync(20, &host, &[]);
    }
    let view = run.board.view();
    assert_eq!(view.resolved.len(), RESOLVED_KEPT);
    assert_eq!(
        view.resolved[0].alert.host,
        format!("h-{}", RESOLVED_KEPT + 4),
        "newest first"
    );
}

#[test]
fn the_book_and_the_groups_are_bounded() {
    let mut run = Run::new(Policy::default());
    let many: Vec<Alert> = (0..MAX_ALERTS + 3)
        .map(|i| Alert {
            fingerprint: format!("{i:016x}"),
            ..alert("big", "cpu", AlertLevel::Warning, 95.0)
        })
        .collect();
    run.sync(0, "big", &many);
    assert_eq!(run.board.view().firing.len(), MAX_ALERTS);
    assert_eq!(run.lifecycle.dropped(), 3);
    run.sync(1, "big", &[]);

    let mut run = Run::new(Policy {
        group_by: vec!["alertname".to_owned()],
        ..Policy::default()
    });
    let groups: Vec<Alert> = (0..MAX_GROUPS + 2)
        .map(|i| {
            let mut one = alert("big", "cpu", AlertLevel::Warning, 95.0);
            one.fingerprint = format!("{i:016x}");
            one.labels.insert("alertname".into(), format!("rule-{i}"));
            one
        })
        .collect();
    run.sync(0, "big", &groups);
    let sent = run.flush(30, &["chat"]);
    assert_eq!(sent.len(), MAX_GROUPS);
    assert_eq!(run.lifecycle.dropped(), 2);
}
