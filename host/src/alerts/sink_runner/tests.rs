//! The runner against in-process fake sinks: scripted results, a gate that hangs the
//! sink until released, and a log of every call.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RStr};
use monitoring_plugin_api::{
    Alert, AlertLevel, AlertState, Notification, PluginError, SinkAbi, SinkAbi_TO, SinkBox,
};
use serde_json::json;

use super::*;

/// What a fake sink saw, and what it will answer.
#[derive(Default)]
struct Script {
    /// Every call: the event's `event` field (or `flush`) and when.
    calls: Vec<(String, Instant)>,
    /// Answers to `deliver`, in order; `Ok` once empty.
    answers: VecDeque<Result<(), PluginError>>,
}

#[derive(Clone, Default)]
struct Fake {
    script: Arc<Mutex<Script>>,
    /// While `true`, `deliver` blocks (a hung server).
    gate: Arc<(Mutex<bool>, Condvar)>,
}

impl Fake {
    fn sink(&self) -> SinkBox {
        SinkAbi_TO::from_value(self.clone(), TD_Opaque)
    }

    fn answer(&self, answers: impl IntoIterator<Item = Result<(), PluginError>>) {
        self.script.lock().expect("script").answers.extend(answers);
    }

    fn calls(&self) -> Vec<String> {
        let script = self.script.lock().expect("script");
        script.calls.iter().map(|(what, _)| what.clone()).collect()
    }

    fn call_times(&self) -> Vec<Instant> {
        let script = self.script.lock().expect("script");
        script.calls.iter().map(|(_, at)| *at).collect()
    }

    fn hang(&self, hung: bool) {
        let (lock, cvar) = &*self.gate;
        *lock.lock().expect("gate") = hung;
        cvar.notify_all();
    }
}

impl SinkAbi for Fake {
    fn deliver(&mut self, event: RStr<'_>) -> RResult<(), PluginError> {
        let value: serde_json::Value = serde_json::from_str(event.as_str()).expect("JSON event");
        let kind = value["event"].as_str().unwrap_or("?").to_owned();
        self.script
            .lock()
            .expect("script")
            .calls
            .push((kind, Instant::now()));
        let (lock, cvar) = &*self.gate;
        let mut hung = lock.lock().expect("gate");
        while *hung {
            hung = cvar.wait(hung).expect("gate");
        }
        drop(hung);
        let answer = self.script.lock().expect("script").answers.pop_front();
        answer.unwrap_or(Ok(())).into()
    }

    fn flush(&mut self) -> RResult<(), PluginError> {
        self.script
            .lock()
            .expect("script")
            .calls
            .push(("flush".into(), Instant::now()));
        RResult::ROk(())
    }
}

const FAST: Backoff = Backoff {
    first: Duration::from_millis(1),
    max: Duration::from_millis(200),
};

fn alert(component: &str, level: AlertLevel) -> Alert {
    Alert {
        timestamp: "2025-01-03T10:15:30.123456".into(),
        component: component.into(),
        metric: "usage_percent".into(),
        value: 85.5,
        threshold: 80.0,
        level,
        message: "High memory usage: 85.5% (threshold: 80.0%)".into(),
        ..Default::default()
    }
}

/// One notification of `alerts` for `receiver`.
fn note(receiver: &str, alerts: Vec<Alert>) -> Notification {
    Notification {
        status: AlertState::Firing,
        receiver: receiver.into(),
        group_key: format!("{receiver}/0/host=web-1"),
        group_labels: Default::default(),
        alerts,
        public_url: None,
        timestamp: "2025-01-03T10:15:30.123456".into(),
    }
}

/// A tick's snapshot event, as the pipeline serializes it.
fn snapshot() -> Option<Arc<str>> {
    let event = json!({"event": "snapshot", "timestamp": "2025-01-03T10:15:30.123456",
                       "data": {"memory": {"percentage": 50.0}}});
    Some(Arc::from(event.to_string()))
}

/// Hands every sink one memory WARNING, as the collection loop would.
fn fire_memory_warning(runner: &SinkRunner) {
    let notes: Vec<_> = runner
        .names()
        .iter()
        .map(|name| note(name, vec![alert("memory", AlertLevel::Warning)]))
        .collect();
    runner.dispatch(&notes, snapshot());
}

fn start(fakes: &[(&str, &Fake, DeliveryOptions)]) -> SinkRunner {
    start_wanting(fakes, true)
}

fn start_wanting(fakes: &[(&str, &Fake, DeliveryOptions)], wants_snapshots: bool) -> SinkRunner {
    let sinks = fakes
        .iter()
        .map(|(name, fake, options)| SinkSpec {
            name: (*name).to_owned(),
            sink: fake.sink(),
            options: options.clone(),
            wants_snapshots,
            // Named `new…` takes notifications whole; the others are 1.1 sinks.
            takes_notifications: name.starts_with("new"),
        })
        .collect();
    SinkRunner::start(sinks, FAST).expect("threads start")
}

/// Waits (polling, bounded) for a condition the worker threads will make true.
fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn stats(runner: &SinkRunner) -> SinkStatus {
    runner.stats().all().remove(0)
}

#[test]
fn delivers_alerts_then_the_snapshot_and_flushes_at_shutdown() {
    let fake = Fake::default();
    let runner = start(&[("fake", &fake, DeliveryOptions::default())]);
    fire_memory_warning(&runner);
    wait_for("two calls", || fake.calls().len() == 2);
    assert_eq!(fake.calls(), ["alert", "snapshot"]);
    let s = stats(&runner);
    assert_eq!(
        (s.handled, s.failed, s.retried, s.dropped, s.queued),
        (1, 0, 0, 0, 0)
    );
    assert_eq!(s.snapshots_delivered, 1);
    runner.shutdown(Duration::from_secs(5));
    assert_eq!(fake.calls().last().map(String::as_str), Some("flush"));
}

#[test]
fn a_sink_that_wants_no_snapshots_gets_alerts_only() {
    let fake = Fake::default();
    let runner = start_wanting(&[("fake", &fake, DeliveryOptions::default())], false);
    assert!(!runner.wants_snapshots());
    fire_memory_warning(&runner);
    fire_memory_warning(&runner);
    wait_for("two alerts", || fake.calls().len() == 2);
    runner.shutdown(Duration::from_secs(5));
    assert_eq!(fake.calls(), ["alert", "alert", "flush"]);
    let runner = start(&[("fake", &Fake::default(), DeliveryOptions::default())]);
    assert!(runner.wants_snapshots());
    runner.shutdown(Duration::from_secs(5));
}

#[test]
fn retryable_failures_are_retried_with_backoff() {
    let fake = Fake::default();
    fake.answer([
        Err(PluginError::retryable("connection refused")),
        Err(PluginError::retryable("timeout")),
    ]);
    let runner = start(&[("fake", &fake, DeliveryOptions::default())]);
    fire_memory_warning(&runner);
    wait_for("handled", || stats(&runner).handled == 1);
    let s = stats(&runner);
    assert_eq!((s.handled, s.failed, s.retried), (1, 0, 2));
    let times = fake.call_times();
    assert!(
        times[2] - times[1] >= Duration::from_millis(2),
        "the second wait doubles"
    );
    runner.shutdown(Duration::from_secs(5));
}

#[test]
fn retry_after_is_honoured() {
    let fake = Fake::default();
    fake.answer([Err(
        PluginError::retryable("429").with_retry_after(Duration::from_millis(80))
    )]);
    let runner = start(&[("fake", &fake, DeliveryOptions::default())]);
    fire_memory_warning(&runner);
    wait_for("handled", || stats(&runner).handled == 1);
    let times = fake.call_times();
    assert!(times[1] - times[0] >= Duration::from_millis(80));
    runner.shutdown(Duration::from_secs(5));
}

#[test]
fn fatal_failures_and_exhausted_retries_count_as_failed() {
    let fatal = Fake::default();
    fatal.answer([Err(PluginError::fatal("HTTP 400"))]);
    let flaky = Fake::default();
    flaky.answer((0..10).map(|_| Err(PluginError::retryable("HTTP 503"))));
    let two_retries = DeliveryOptions {
        max_retries: 2,
        ..DeliveryOptions::default()
    };
    let runner = start(&[
        ("fatal", &fatal, DeliveryOptions::default()),
        ("flaky", &flaky, two_retries),
    ]);
    fire_memory_warning(&runner);
    wait_for("both failed", || {
        runner.stats().all().iter().all(|s| s.failed == 1)
    });
    let all = runner.stats().all();
    assert_eq!(
        (all[0].retried, all[0].handled),
        (0, 0),
        "fatal is not retried"
    );
    assert_eq!((all[1].retried, all[1].handled), (2, 0));
    assert_eq!(flaky.calls().iter().filter(|c| *c == "alert").count(), 3);
    runner.shutdown(Duration::from_secs(5));
}

#[test]
fn a_retry_after_beyond_the_limit_gives_the_alert_up() {
    let fake = Fake::default();
    fake.answer([Err(
        PluginError::retryable("429").with_retry_after(Duration::from_secs(3600))
    )]);
    let runner = start(&[("fake", &fake, DeliveryOptions::default())]);
    fire_memory_warning(&runner);
    wait_for("failed", || stats(&runner).failed == 1);
    runner.shutdown(Duration::from_secs(5));
}

#[test]
fn a_hung_sink_delays_neither_dispatch_nor_the_others() {
    let hung = Fake::default();
    let healthy = Fake::default();
    let small = DeliveryOptions {
        queue_size: 3,
        ..DeliveryOptions::default()
    };
    let runner = start(&[
        ("hung", &hung, small),
        ("healthy", &healthy, DeliveryOptions::default()),
    ]);
    hung.hang(true);
    fire_memory_warning(&runner);
    wait_for("the hung sink to be stuck in deliver", || {
        hung.calls().len() == 1
    });
    let started = Instant::now();
    for _ in 0..9 {
        fire_memory_warning(&runner);
    }
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "dispatch never waits"
    );
    wait_for("the healthy sink", || runner.stats().all()[1].handled == 10);
    let s = stats(&runner);
    assert_eq!(
        (s.handled, s.queued, s.dropped),
        (0, 3, 6),
        "oldest dropped"
    );
    assert_eq!(s.snapshots_skipped, 9, "one snapshot slot, overwritten");
    let started = Instant::now();
    runner.shutdown(Duration::from_millis(100));
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "shutdown gave up after its deadline: {took:?}"
    );
    hung.hang(false);
}

#[test]
fn shutdown_drains_the_queue_in_time() {
    let slow = Fake::default();
    slow.answer([Err(PluginError::retryable("busy"))]);
    let runner = start(&[("slow", &slow, DeliveryOptions::default())]);
    let alerts: Vec<_> = (0..5)
        .map(|_| alert("disk", AlertLevel::Critical))
        .collect();
    runner.dispatch(&[note("slow", alerts)], snapshot());
    let stats = runner.stats();
    runner.shutdown(Duration::from_secs(5));
    let s = stats.all().remove(0);
    assert_eq!((s.handled, s.dropped, s.queued), (5, 0, 0));
    assert_eq!(slow.calls().last().map(String::as_str), Some("flush"));
}

#[test]
fn each_receiver_gets_its_notifications_whole_or_one_alert_at_a_time() {
    let old = Fake::default();
    let new = Fake::default();
    let runner = start(&[
        ("old", &old, DeliveryOptions::default()),
        ("new", &new, DeliveryOptions::default()),
    ]);
    let mut cleared = alert("memory", AlertLevel::Critical);
    cleared.state = AlertState::Resolved;
    let both = vec![alert("disk", AlertLevel::Critical), cleared];
    let notes = [
        note("old", both.clone()),
        note("new", both),
        note("nobody", vec![alert("cpu", AlertLevel::Warning)]),
    ];
    runner.dispatch(&notes, snapshot());
    let stats = runner.stats();
    runner.shutdown(Duration::from_secs(5));
    let handled: Vec<u64> = stats.all().iter().map(|s| s.handled).collect();
    assert_eq!(handled, [2, 1]);
    assert_eq!(old.calls(), ["alert", "resolved", "snapshot", "flush"]);
    assert_eq!(new.calls(), ["notification", "snapshot", "flush"]);
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let backoff = Backoff::default();
    let delays: Vec<u64> = (0..8).map(|r| backoff.delay(r).as_secs()).collect();
    assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
    assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(60));
}
