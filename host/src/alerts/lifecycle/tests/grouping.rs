//! Grouping, `group_wait`, `group_interval`, `repeat_interval`, resolves, and the
//! issue's flapping rule with the default policy.

use super::*;

const CRIT: AlertLevel = AlertLevel::Critical;
const WARN: AlertLevel = AlertLevel::Warning;

#[test]
fn two_alerts_firing_together_make_one_notification_per_receiver() {
    let mut run = Run::new(Policy::default());
    let memory = alert("web-1", "memory", WARN, 85.0);
    let disk = alert("web-1", "disk", CRIT, 97.0);
    run.sync(0, "web-1", std::slice::from_ref(&memory));
    assert!(run.flush(0, &["chat", "mail"]).is_empty());
    run.sync(10, "web-1", &[memory.clone(), disk.clone()]);
    assert!(
        run.flush_span(10, 29, 1, &["chat", "mail"]).is_empty(),
        "group_wait (30 s) holds the first notification"
    );
    let sent = run.flush(30, &["chat", "mail"]);
    assert_eq!(sent.len(), 2, "{sent:?}");
    for (notification, receiver) in sent.iter().zip(["chat", "mail"]) {
        assert_eq!(notification.receiver, receiver);
        assert_eq!(notification.status, AlertState::Firing);
        assert_eq!(notification.group_labels, host_labels("web-1"));
        assert_eq!(
            listed(notification),
            [
                (disk.fingerprint.clone(), AlertState::Firing),
                (memory.fingerprint.clone(), AlertState::Firing)
            ],
            "most severe first"
        );
        assert_eq!(
            notification.public_url.as_deref(),
            Some("https://mon.example")
        );
        // The seed's format, in local time, as every `timestamp` sinks see.
        let sent_at = "2026-01-02T03:04:35Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .map(|at| crate::timestamp::iso(&at.with_timezone(&chrono::Local)))
            .unwrap_or_default();
        assert_eq!(notification.timestamp, sent_at);
    }
    assert_ne!(sent[0].group_key, sent[1].group_key);
    assert!(
        run.flush_span(31, 329, 1, &["chat", "mail"]).is_empty(),
        "nothing changed: nothing before repeat_interval"
    );
}

#[test]
fn an_unchanged_group_waits_for_repeat_interval_and_keeps_its_key() {
    let policy = Policy {
        repeat_interval: Duration::from_secs(600),
        ..Policy::default()
    };
    let mut run = Run::new(policy);
    let memory = alert("web-1", "memory", WARN, 85.0);
    run.sync(0, "web-1", std::slice::from_ref(&memory));
    let first = run.flush(30, &["chat"]);
    assert_eq!(first.len(), 1);
    // Values move (the engine updates them every tick) but nothing that counts.
    for secs in (40..630).step_by(10) {
        let moved = Alert {
            value: 85.0 + (secs % 7) as f64,
            ..memory.clone()
        };
        run.sync(secs, "web-1", &[moved]);
        assert!(run.flush(secs, &["chat"]).is_empty(), "at {secs} s");
    }
    let repeat = run.flush(630, &["chat"]);
    assert_eq!(repeat.len(), 1, "repeated after repeat_interval");
    assert_eq!(repeat[0].group_key, first[0].group_key);
    assert_eq!(
        listed(&repeat[0]),
        [(memory.fingerprint, AlertState::Firing)]
    );
}

#[test]
fn an_escalation_goes_out_at_the_next_group_interval() {
    let mut run = Run::new(Policy::default());
    let warning = alert("web-1", "memory", WARN, 85.0);
    run.sync(0, "web-1", std::slice::from_ref(&warning));
    assert_eq!(run.flush(30, &["chat"]).len(), 1);
    let critical = Alert {
        level: CRIT,
        value: 95.0,
        ..warning.clone()
    };
    run.sync(100, "web-1", std::slice::from_ref(&critical));
    assert!(run.flush_span(100, 329, 1, &["chat"]).is_empty());
    let sent = run.flush(330, &["chat"]);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].alerts[0].level, CRIT);
    assert_eq!(
        sent[0].alerts[0].starts_at, warning.starts_at,
        "an escalation keeps its episode"
    );
}

#[test]
fn a_resolve_goes_out_once_and_an_unsent_alert_resolves_silently() {
    let mut run = Run::new(Policy::default());
    let memory = alert("web-1", "memory", WARN, 85.0);
    run.sync(0, "web-1", std::slice::from_ref(&memory));
    assert_eq!(run.flush(30, &["chat"]).len(), 1);
    run.sync(40, "web-1", &[]);
    assert!(run.flush_span(40, 329, 1, &["chat"]).is_empty());
    let sent = run.flush(330, &["chat"]);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, AlertState::Resolved);
    let resolved = &sent[0].alerts[0];
    assert_eq!(resolved.state, AlertState::Resolved);
    assert_eq!(resolved.ends_at, "2026-01-02T03:04:45.000Z");
    assert!(run.flush_span(331, 2000, 10, &["chat"]).is_empty(), "once");

    // Fires and clears within group_wait: nothing at all.
    run.sync(3000, "web-1", std::slice::from_ref(&memory));
    run.sync(3010, "web-1", &[]);
    assert!(run.flush_span(3000, 4000, 5, &["chat"]).is_empty());
}

#[test]
fn a_new_episode_starts_after_a_resolve() {
    let mut run = Run::new(Policy::default());
    let memory = alert("web-1", "memory", WARN, 85.0);
    run.sync(0, "web-1", std::slice::from_ref(&memory));
    run.sync(10, "web-1", &[]);
    let again = Alert {
        starts_at: "2026-01-02T03:04:25.000Z".into(),
        ..memory.clone()
    };
    run.sync(20, "web-1", std::slice::from_ref(&again));
    let view = run.board.view();
    assert_eq!(view.firing.len(), 1);
    assert_eq!(view.firing[0].alert.starts_at, again.starts_at);
    assert_eq!(view.resolved.len(), 1);
    assert_eq!(view.resolved[0].alert.starts_at, memory.starts_at);
    assert_eq!(view.resolved[0].alert.ends_at, "2026-01-02T03:04:15.000Z");
}

/// The rule: a metric flapping across its threshold 20 times in 10 minutes
/// (a fire/resolve cycle every 30 s, reported through `sync` every 5 s tick) gives at
/// most 2 notifications per receiver with the default policy, and after it stops the
/// last firing sent gets its resolve.
#[test]
fn flapping_twenty_times_in_ten_minutes_sends_at_most_two_per_receiver() {
    for phase in [0, 5, 10, 15, 20, 25] {
        let mut run = Run::new(Policy::default());
        let receivers = ["chat", "mail"];
        let mut sent = Vec::new();
        let (mut fires, mut was_firing) = (0, false);
        for secs in (0..600).step_by(5) {
            // Above the threshold for the first 15 s of each 30 s cycle.
            let firing = (secs + phase) % 30 < 15;
            fires += usize::from(firing && !was_firing);
            was_firing = firing;
            let active = if firing {
                vec![Alert {
                    starts_at: format!("episode-{}", (secs + phase) / 30),
                    ..alert("web-1", "cpu", WARN, 91.0)
                }]
            } else {
                Vec::new()
            };
            run.sync(secs, "web-1", &active);
            sent.extend(run.flush(secs, &receivers));
        }
        assert!(fires >= 20, "it flapped {fires} times");
        for receiver in receivers {
            let count = sent.iter().filter(|n| n.receiver == receiver).count();
            assert!(
                (1..=2).contains(&count),
                "phase {phase}: {count} to {receiver}"
            );
        }
        // It stops, below the threshold, for good.
        run.sync(600, "web-1", &[]);
        sent.extend(run.flush_span(600, 1800, 5, &receivers));
        for receiver in receivers {
            let theirs: Vec<&Notification> =
                sent.iter().filter(|n| n.receiver == receiver).collect();
            let last = theirs.last().expect("at least one");
            assert_eq!(
                listed(last),
                [(fp("web-1", "cpu"), AlertState::Resolved)],
                "phase {phase}: the last word is the resolve"
            );
            assert!(theirs.len() <= 3, "phase {phase}: {}", theirs.len());
        }
    }
}

#[test]
fn a_new_episode_listed_firing_folds_the_old_episodes_resolve() {
    let mut run = Run::new(Policy::default());
    let first = alert("web-1", "memory", WARN, 85.0);
    run.sync(0, "web-1", std::slice::from_ref(&first));
    assert_eq!(run.flush(30, &["chat"]).len(), 1);
    run.sync(40, "web-1", &[]);
    let second = Alert {
        starts_at: "2026-01-02T03:04:55.000Z".into(),
        ..first.clone()
    };
    run.sync(50, "web-1", std::slice::from_ref(&second));
    let sent = run.flush(330, &["chat"]);
    assert_eq!(
        listed(&sent[0]),
        [(first.fingerprint.clone(), AlertState::Firing)],
        "one alert per fingerprint: the receiver's last word is firing"
    );
    assert_eq!(sent[0].alerts[0].starts_at, second.starts_at);
    run.sync(400, "web-1", &[]);
    let sent = run.flush(630, &["chat"]);
    assert_eq!(
        listed(&sent[0]),
        [(first.fingerprint, AlertState::Resolved)]
    );
}

#[test]
fn a_flush_with_nothing_new_is_skipped_until_a_timer_or_the_refresh() {
    let mut run = Run::new(Policy::default());
    let memory = alert("web-1", "memory", WARN, 85.0);
    run.sync(0, "web-1", std::slice::from_ref(&memory));
    assert_eq!(run.flush(30, &["chat"]).len(), 1);
    // A new value is no change: the next flushes skip forming the groups, so the
    // view keeps the old value until the refresh.
    let higher = Alert {
        value: 87.5,
        ..memory.clone()
    };
    let (now, wall) = run.at(31);
    run.lifecycle
        .sync("web-1", std::slice::from_ref(&higher), now, wall);
    assert!(run.flush(32, &["chat"]).is_empty());
    assert_eq!(run.board.view().firing[0].alert.value, 85.0, "skipped");
    assert!(run.flush(36, &["chat"]).is_empty());
    assert_eq!(run.board.view().firing[0].alert.value, 87.5, "refreshed");
    // A receiver added is news: its group forms at once, and its alert has waited
    // more than group_wait already.
    let sent = run.flush(37, &["chat", "mail"]);
    assert_eq!(sent.len(), 1, "mail's first");
    assert_eq!(sent[0].receiver, "mail");
    assert!(run.flush(38, &["chat", "mail"]).is_empty());
    // The repeat timers still fire though nothing changed.
    let repeats = run.flush(330, &["chat", "mail"]);
    assert_eq!(repeats.len(), 1, "chat's repeat: {repeats:?}");
    assert_eq!(repeats[0].receiver, "chat");
    assert_eq!(run.flush(337, &["chat", "mail"]).len(), 1, "mail's repeat");
}
