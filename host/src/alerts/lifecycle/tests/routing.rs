//! Routes (first match, `continue`, none), receivers' own filters, and the resolve
//! that still reaches a receiver after its route stopped matching.

use super::*;
use crate::alerts::matchers::Matchers;

fn route(exact: &[(&str, &str)], sinks: &[&str], continue_matching: bool) -> Route {
    let exact = exact
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Route {
        matchers: Matchers::new(exact, BTreeMap::new()).expect("valid matchers"),
        sinks: sinks.iter().map(|s| (*s).to_owned()).collect(),
        continue_matching,
        group_by: None,
        group_wait: None,
        group_interval: None,
        repeat_interval: None,
    }
}

fn receivers_of(sent: &[Notification]) -> Vec<&str> {
    let mut names: Vec<&str> = sent.iter().map(|n| n.receiver.as_str()).collect();
    names.sort_unstable();
    names
}

const ALL: [&str; 3] = ["chat", "mail", "pager"];

#[test]
fn first_match_wins_unless_continue() {
    let policy = Policy {
        routes: vec![
            route(&[("level", "CRITICAL")], &["pager"], true),
            route(&[("component", "disk")], &["chat"], false),
            route(&[], &["mail"], false),
        ],
        ..Policy::default()
    };
    let mut run = Run::new(policy);
    run.sync(
        0,
        "db-1",
        &[alert("db-1", "disk", AlertLevel::Critical, 97.0)],
    );
    run.sync(
        0,
        "web-1",
        &[alert("web-1", "disk", AlertLevel::Warning, 86.0)],
    );
    run.sync(
        0,
        "app-1",
        &[alert("app-1", "memory", AlertLevel::Warning, 86.0)],
    );
    let sent = run.flush(30, &ALL);
    let to = |host: &str| {
        let theirs: Vec<Notification> = sent
            .iter()
            .filter(|n| n.group_labels == host_labels(host))
            .cloned()
            .collect();
        receivers_of(&theirs).join(",")
    };
    assert_eq!(
        to("db-1"),
        "chat,pager",
        "CRITICAL continues to the disk route"
    );
    assert_eq!(to("web-1"), "chat", "the disk route stops there");
    assert_eq!(to("app-1"), "mail", "the catch-all");
    let pager = sent.iter().find(|n| n.receiver == "pager").expect("paged");
    assert!(
        pager.group_key.starts_with("pager/0/"),
        "{}",
        pager.group_key
    );
}

#[test]
fn without_routes_every_receiver_and_with_unmatched_routes_none() {
    let mut run = Run::new(Policy::default());
    run.sync(
        0,
        "web-1",
        &[alert("web-1", "memory", AlertLevel::Warning, 86.0)],
    );
    assert_eq!(receivers_of(&run.flush(30, &ALL)), ALL);

    let policy = Policy {
        routes: vec![route(&[("host", "db-1")], &["pager", "nobody"], false)],
        ..Policy::default()
    };
    let mut run = Run::new(policy);
    run.sync(
        0,
        "web-1",
        &[alert("web-1", "memory", AlertLevel::Warning, 86.0)],
    );
    run.sync(
        0,
        "db-1",
        &[alert("db-1", "memory", AlertLevel::Warning, 86.0)],
    );
    let sent = run.flush(30, &ALL);
    assert_eq!(
        receivers_of(&sent),
        ["pager"],
        "a sink naming no receiver is empty"
    );
    assert_eq!(sent[0].group_labels, host_labels("db-1"));
}

#[test]
fn a_receiver_gets_only_what_its_own_filter_accepts() {
    let mut run = Run::new(Policy::default());
    run.sync(
        0,
        "web-1",
        &[alert("web-1", "memory", AlertLevel::Warning, 86.0)],
    );
    run.sync(
        0,
        "db-1",
        &[alert("db-1", "disk", AlertLevel::Critical, 97.0)],
    );
    let all = |_: &Alert| true;
    let critical_only = |a: &Alert| a.level == AlertLevel::Critical;
    let receivers = [
        Receiver {
            name: "chat",
            accepts: &all,
        },
        Receiver {
            name: "pager",
            accepts: &critical_only,
        },
    ];
    let sent = run.flush_to(30, &receivers);
    let pager: Vec<&Notification> = sent.iter().filter(|n| n.receiver == "pager").collect();
    assert_eq!(pager.len(), 1);
    assert_eq!(listed(pager[0]), [(fp("db-1", "disk"), AlertState::Firing)]);
    assert_eq!(sent.iter().filter(|n| n.receiver == "chat").count(), 2);
}

#[test]
fn a_resolve_reaches_the_receiver_after_its_route_stopped_matching() {
    let policy = Policy {
        routes: vec![route(&[("tags", "db")], &["pager"], false)],
        ..Policy::default()
    };
    let mut run = Run::new(policy);
    run.lifecycle.set_tags("db-1", &["db".to_owned()]);
    let disk = alert("db-1", "disk", AlertLevel::Critical, 97.0);
    run.sync(0, "db-1", std::slice::from_ref(&disk));
    assert_eq!(receivers_of(&run.flush(30, &ALL)), ["pager"]);
    // The host is re-tagged: the route no longer matches; then the alert clears.
    run.lifecycle.set_tags("db-1", &[]);
    run.sync(40, "db-1", std::slice::from_ref(&disk));
    assert!(run.flush_span(40, 100, 10, &ALL).is_empty());
    run.sync(100, "db-1", &[]);
    assert!(run.flush_span(100, 329, 1, &ALL).is_empty());
    let sent = run.flush(330, &ALL);
    assert_eq!(receivers_of(&sent), ["pager"]);
    assert_eq!(listed(&sent[0]), [(disk.fingerprint, AlertState::Resolved)]);
}

#[test]
fn group_by_splits_groups_and_a_route_overrides_timings() {
    let mut paging = route(&[], &["pager"], false);
    paging.group_by = Some(vec!["component".to_owned()]);
    paging.group_wait = Some(Duration::from_secs(0));
    let policy = Policy {
        routes: vec![paging],
        ..Policy::default()
    };
    let mut run = Run::new(policy);
    run.sync(
        0,
        "web-1",
        &[alert("web-1", "disk", AlertLevel::Warning, 86.0)],
    );
    run.sync(
        0,
        "web-2",
        &[alert("web-2", "disk", AlertLevel::Warning, 86.0)],
    );
    run.sync(
        0,
        "web-2",
        &[
            alert("web-2", "disk", AlertLevel::Warning, 86.0),
            alert("web-2", "memory", AlertLevel::Warning, 86.0),
        ],
    );
    let sent = run.flush(0, &ALL);
    assert_eq!(sent.len(), 2, "one per component, at once: {sent:?}");
    let disk = sent
        .iter()
        .find(|n| n.group_labels.get("component").map(String::as_str) == Some("disk"))
        .expect("a disk group");
    assert_eq!(disk.alerts.len(), 2, "both hosts' disks together");
}
