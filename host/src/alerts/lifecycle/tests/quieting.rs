//! Silences and acknowledgements, through the `Quieting` seam (the real store is
//! another module's): what they keep quiet, and what they must not.

use super::*;

#[test]
fn a_silenced_alert_is_not_notified_but_its_sent_firing_still_resolves() {
    let mut run = Run::new(Policy::default());
    let memory = alert("web-1", "memory", AlertLevel::Warning, 85.0);
    let disk = alert("web-1", "disk", AlertLevel::Warning, 86.0);
    run.quiet
        .silenced
        .lock()
        .expect("lock")
        .insert(disk.fingerprint.clone());
    run.sync(0, "web-1", &[memory.clone(), disk.clone()]);
    let sent = run.flush(30, &["chat"]);
    assert_eq!(
        listed(&sent[0]),
        [(memory.fingerprint.clone(), AlertState::Firing)]
    );
    let view = run.board.view();
    let silenced = view
        .firing
        .iter()
        .find(|v| v.alert.fingerprint == disk.fingerprint)
        .expect("shown");
    assert_eq!(silenced.silenced_by, ["silence-1"]);

    // Now memory is silenced after its firing was sent; then it resolves.
    run.quiet
        .silenced
        .lock()
        .expect("lock")
        .insert(memory.fingerprint.clone());
    run.sync(100, "web-1", std::slice::from_ref(&disk));
    let sent = run.flush(330, &["chat"]);
    assert_eq!(
        listed(&sent[0]),
        [(memory.fingerprint, AlertState::Resolved)]
    );
    // The silenced disk alert resolving sends nothing: it was never sent.
    run.sync(400, "web-1", &[]);
    assert!(run.flush_span(400, 2000, 10, &["chat"]).is_empty());
}

#[test]
fn an_acknowledged_alert_is_not_repeated_but_listed_when_its_group_changes() {
    let mut run = Run::new(Policy::default());
    let memory = alert("web-1", "memory", AlertLevel::Warning, 85.0);
    run.sync(0, "web-1", std::slice::from_ref(&memory));
    assert_eq!(run.flush(30, &["chat"]).len(), 1);
    run.quiet
        .acked
        .lock()
        .expect("lock")
        .insert(memory.fingerprint.clone());
    assert!(
        run.flush_span(31, 1000, 10, &["chat"]).is_empty(),
        "no repeats of an acknowledged alert"
    );
    assert!(run.board.view().firing[0].acked.is_some());
    let disk = alert("web-1", "disk", AlertLevel::Warning, 86.0);
    run.sync(1000, "web-1", &[memory.clone(), disk.clone()]);
    let sent = run.flush(1000, &["chat"]);
    assert_eq!(
        listed(&sent[0]),
        [
            (memory.fingerprint.clone(), AlertState::Firing),
            (disk.fingerprint.clone(), AlertState::Firing)
        ],
        "a change lists the whole group"
    );
    let repeat = run.flush(1300, &["chat"]);
    assert_eq!(
        listed(&repeat[0]),
        [(disk.fingerprint, AlertState::Firing)],
        "repeat without the acked one"
    );
    run.sync(1310, "web-1", &[]);
    assert!(run
        .quiet
        .resolved
        .lock()
        .expect("lock")
        .contains(&memory.fingerprint));
}
