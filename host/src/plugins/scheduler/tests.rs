//! The scheduler's policy, in process and on tokio's paused clock.

use super::worker::parse_sections;
use super::*;

#[test]
fn backoff_doubles_and_is_capped() {
    let half = Duration::from_millis(500);
    let cap = Duration::from_secs(60);
    assert_eq!(backoff(half, 0, cap), half);
    assert_eq!(backoff(half, 1, cap), Duration::from_secs(1));
    assert_eq!(backoff(half, 3, cap), Duration::from_secs(4));
    assert_eq!(backoff(half, 10, cap), cap);
    assert_eq!(backoff(half, 400, cap), cap);
}

#[test]
fn sections_must_be_an_object() {
    assert!(parse_sections(r#"{"memory":{"total":1}}"#).is_ok());
    let err = parse_sections("[1,2]").expect_err("an array is refused");
    assert!(err.message().contains("an array"), "{err}");
    assert!(parse_sections("{").is_err());
}

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RString};
use monitoring_plugin_api::{CollectorAbi, CollectorAbi_TO};
use serde_json::json;

const TIMING: Timing = Timing {
    interval: Duration::from_millis(500),
    collect_timeout: Duration::from_millis(250),
    max_backoff: Duration::from_secs(4),
};

/// One scripted collection.
enum Step {
    /// Answer at once.
    Answer(Result<serde_json::Value, PluginError>),
    /// Block until the test sends on (or drops) the gate's other end, then answer.
    After(
        std_mpsc::Receiver<()>,
        Result<serde_json::Value, PluginError>,
    ),
}

/// A collector that plays a script, then answers `{"<name>": {"n": calls}}` forever.
#[derive(Clone)]
struct Scripted {
    name: &'static str,
    steps: Arc<Mutex<VecDeque<Step>>>,
    calls: Arc<AtomicUsize>,
}

impl Scripted {
    fn new(name: &'static str, steps: impl IntoIterator<Item = Step>) -> Self {
        Self {
            name,
            steps: Arc::new(Mutex::new(steps.into_iter().collect())),
            calls: Arc::default(),
        }
    }

    fn boxed(&self) -> NewCollector {
        NewCollector {
            name: self.name.to_owned(),
            collector: CollectorAbi_TO::from_value(self.clone(), TD_Opaque),
            period: None,
        }
    }

    /// Asked every `period` instead of every tick.
    fn every(&self, period: Duration) -> NewCollector {
        NewCollector {
            period: Some(period),
            ..self.boxed()
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl CollectorAbi for Scripted {
    fn collect(&mut self) -> RResult<RString, PluginError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let step = self.steps.lock().expect("script").pop_front();
        let answer = match step {
            None => Ok(json!({ self.name: {"n": n} })),
            Some(Step::Answer(answer)) => answer,
            Some(Step::After(gate, answer)) => {
                let _ = gate.recv();
                answer
            }
        };
        answer.map(|v| RString::from(v.to_string())).into()
    }
}

fn ok(name: &str) -> Result<serde_json::Value, PluginError> {
    Ok(json!({ name: {"ok": true} }))
}

/// Runs one tick on the paused clock. Prompt collections run on the blocking pool,
/// which holds the clock still until they return, so the tick sees their answers at
/// once and then returns.
async fn tick(scheduler: &mut Scheduler) -> Sections {
    scheduler.tick().await
}

/// Runs one tick in which a collector blocks: once `answers` answers have been
/// recorded (the prompt collectors'), the test moves the clock to the deadline, which
/// the blocked collection would otherwise hold still forever.
async fn tick_past_a_blocked_collector(scheduler: &mut Scheduler, answers: usize) -> Sections {
    let recorded = Arc::clone(&scheduler.recorded);
    let target = recorded.load(Ordering::SeqCst) + answers;
    let started = Instant::now();
    let real_deadline = std::time::Instant::now() + Duration::from_secs(10);
    let ticking = scheduler.tick();
    tokio::pin!(ticking);
    loop {
        tokio::select! {
            biased;
            sections = &mut ticking => return sections,
            () = tokio::task::yield_now() => {}
        }
        if recorded.load(Ordering::SeqCst) >= target {
            let deadline = started + TIMING.collect_timeout;
            tokio::time::advance(deadline.saturating_duration_since(Instant::now())).await;
        } else {
            assert!(
                std::time::Instant::now() < real_deadline,
                "the prompt collectors did not answer"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn status(scheduler: &Scheduler, name: &str) -> CollectorStatus {
    scheduler
        .status_board()
        .all()
        .into_iter()
        .find(|s| s.name == name)
        .expect("a status per collector")
}

#[tokio::test(start_paused = true)]
async fn a_prompt_collector_answers_within_the_tick() {
    let cpu = Scripted::new("cpu", []);
    let mut scheduler = Scheduler::start(vec![cpu.boxed()], TIMING);
    let started = Instant::now();
    let sections = tick(&mut scheduler).await;
    assert_eq!(sections["cpu"]["n"], 1);
    assert!(
        started.elapsed() < TIMING.collect_timeout,
        "no wait for the deadline"
    );
    assert_eq!(status(&scheduler, "cpu").state, CollectorState::Ok);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_cuts_a_slow_collector_and_its_late_answer_is_used_next_tick() {
    let (release, gate) = std_mpsc::channel();
    let (_hold_second, second_gate) = std_mpsc::channel::<()>();
    let slow = Scripted::new(
        "slow",
        [
            Step::After(gate, Ok(json!({"slow": {"late": true}}))),
            Step::After(second_gate, ok("slow")),
        ],
    );
    let fast = Scripted::new("fast", []);
    let mut scheduler = Scheduler::start(vec![slow.boxed(), fast.boxed()], TIMING);

    let started = Instant::now();
    let first = tick_past_a_blocked_collector(&mut scheduler, 1).await;
    assert_eq!(
        started.elapsed(),
        TIMING.collect_timeout,
        "the tick waits for the deadline, no longer"
    );
    assert!(first.get("slow").is_none(), "{first:?}");
    assert_eq!(first["fast"]["n"], 1);
    assert!(status(&scheduler, "slow").busy);

    release.send(()).expect("the collector waits on the gate");
    scheduler.take_answer().await;
    tokio::time::advance(TIMING.interval - TIMING.collect_timeout).await;
    // Called again (it is idle now) and slow again: the late answer fills in.
    let second = tick_past_a_blocked_collector(&mut scheduler, 1).await;
    assert_eq!(
        second["slow"],
        json!({"late": true}),
        "the late answer is used"
    );
    assert_eq!(second["fast"]["n"], 2);
    assert_eq!(slow.calls(), 2);
    tokio::time::advance(TIMING.interval - TIMING.collect_timeout).await;
    let third = tick_past_a_blocked_collector(&mut scheduler, 1).await;
    assert!(third.get("slow").is_none(), "an answer is used once");
    assert_eq!(slow.calls(), 2, "not called again while busy");
}

#[tokio::test(start_paused = true)]
async fn a_hung_collector_loses_only_its_own_section_and_is_never_called_twice() {
    let (release, gate) = std_mpsc::channel::<()>();
    let hung = Scripted::new("hung", [Step::After(gate, ok("hung"))]);
    let cpu = Scripted::new("cpu", []);
    let mut scheduler = Scheduler::start(vec![hung.boxed(), cpu.boxed()], TIMING);
    for n in 1..=4 {
        let sections = tick_past_a_blocked_collector(&mut scheduler, 1).await;
        assert_eq!(sections["cpu"]["n"], n, "the others keep their cadence");
        assert!(sections.get("hung").is_none());
        tokio::time::advance(TIMING.interval).await;
    }
    assert_eq!(hung.calls(), 1, "a busy collector is not called again");
    let seen = status(&scheduler, "hung");
    assert!(seen.busy && seen.hung, "{seen:?}");
    drop(release);
    scheduler.take_answer().await;
    let sections = tick(&mut scheduler).await;
    assert_eq!(sections["hung"]["n"], 2, "called again once it returned");
    assert!(!status(&scheduler, "hung").busy);
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_doubling_and_a_success_restores_the_interval() {
    let failing = Scripted::new(
        "flaky",
        (0..3).map(|_| Step::Answer(Err(PluginError::retryable("device busy")))),
    );
    let mut scheduler = Scheduler::start(vec![failing.boxed()], TIMING);
    // Ask every interval and record when the collector was really called.
    let start = Instant::now();
    let mut called_at = Vec::new();
    let mut last_calls = 0;
    for _ in 0..24 {
        let at = Instant::now();
        let sections = tick(&mut scheduler).await;
        if failing.calls() > last_calls {
            last_calls = failing.calls();
            called_at.push((at - start).as_millis() / TIMING.interval.as_millis());
            if last_calls == 4 {
                assert_eq!(sections["flaky"]["n"], 4, "the fourth call succeeds");
            }
        }
        let next = at + TIMING.interval;
        tokio::time::advance(next.saturating_duration_since(Instant::now())).await;
    }
    // Fails at tick 0, rests 2 intervals, fails at 2, rests 4, fails at 6, rests 8
    // (the cap, 4 s), succeeds at 14, then every tick again.
    assert_eq!(called_at[..5], [0, 2, 6, 14, 15], "{called_at:?}");
    let seen = status(&scheduler, "flaky");
    assert_eq!(
        (seen.state, seen.consecutive_failures, seen.errors_total),
        (CollectorState::Ok, 0, 3)
    );
}

#[tokio::test(start_paused = true)]
async fn a_fatal_error_disables_the_collector() {
    let broken = Scripted::new(
        "broken",
        [Step::Answer(Err(PluginError::fatal("no such device")))],
    );
    let mut scheduler = Scheduler::start(vec![broken.boxed()], TIMING);
    for _ in 0..5 {
        tick(&mut scheduler).await;
        tokio::time::advance(TIMING.max_backoff).await;
    }
    assert_eq!(broken.calls(), 1);
    let seen = status(&scheduler, "broken");
    assert_eq!(seen.state, CollectorState::Disabled);
    assert!(seen
        .last_error
        .is_some_and(|e| e.contains("no such device")));
}

#[tokio::test(start_paused = true)]
async fn a_slower_collector_is_asked_every_few_ticks_and_its_result_is_carried() {
    let slow = Scripted::new("processes", []);
    let cpu = Scripted::new("cpu", []);
    // 1.9 s rounds to four ticks of 0.5 s.
    let slow_every = slow.every(Duration::from_millis(1900));
    let mut scheduler = Scheduler::start(vec![slow_every, cpu.boxed()], TIMING);
    let mut seen = Vec::new();
    for _ in 0..9 {
        let sections = tick(&mut scheduler).await;
        seen.push(sections["processes"]["n"].clone());
        assert!(sections.get("cpu").is_some());
        tokio::time::advance(TIMING.interval).await;
    }
    assert_eq!(cpu.calls(), 9, "the tick's own collectors every tick");
    assert_eq!(slow.calls(), 3, "ticks 0, 4 and 8");
    assert_eq!(
        seen,
        [1, 1, 1, 1, 2, 2, 2, 2, 3].map(|n| json!(n)),
        "every snapshot carries the latest result"
    );
}

#[tokio::test(start_paused = true)]
async fn a_carried_result_expires_when_its_collector_stops_answering() {
    let (_hold, gate) = std_mpsc::channel::<()>();
    let slow = Scripted::new(
        "processes",
        [
            Step::Answer(ok("processes")),
            Step::After(gate, ok("processes")),
        ],
    );
    let mut scheduler = Scheduler::start(vec![slow.every(Duration::from_secs(1))], TIMING);
    assert!(tick(&mut scheduler).await.get("processes").is_some());
    tokio::time::advance(TIMING.interval).await;
    assert!(
        tick(&mut scheduler).await.get("processes").is_some(),
        "carried"
    );
    tokio::time::advance(TIMING.interval).await;
    // Asked again and hangs: the old result is still within period + a tick.
    let third = tick_past_a_blocked_collector(&mut scheduler, 0).await;
    assert!(third.get("processes").is_some(), "{third:?}");
    tokio::time::advance(TIMING.interval - TIMING.collect_timeout).await;
    let fourth = tick_past_a_blocked_collector(&mut scheduler, 0).await;
    assert!(fourth.get("processes").is_none(), "expired: {fourth:?}");
}

#[tokio::test(start_paused = true)]
async fn a_fallback_provider_is_asked_only_while_the_preferred_one_fails() {
    let nvml = Scripted::new(
        "gpu-nvml",
        [
            Step::Answer(ok("gpu")),
            Step::Answer(Err(PluginError::retryable("driver gone"))),
            Step::Answer(ok("gpu")),
        ],
    );
    let smi = Scripted::new("gpu-smi", []);
    let mut scheduler = Scheduler::start(vec![nvml.boxed(), smi.boxed()], TIMING);
    scheduler.set_providers(vec![vec!["gpu-nvml".into(), "gpu-smi".into()]]);
    // Tick 1: NVML serves; nvidia-smi stands by.
    assert_eq!(tick(&mut scheduler).await["gpu"], json!({"ok": true}));
    assert_eq!((nvml.calls(), smi.calls()), (1, 0));
    assert_eq!(status(&scheduler, "gpu-smi").state, CollectorState::Standby);
    // Tick 2: NVML fails; the fallback is not asked in the same tick.
    tokio::time::advance(TIMING.interval).await;
    assert!(tick(&mut scheduler).await.get("gpu").is_none());
    assert_eq!((nvml.calls(), smi.calls()), (2, 0));
    // Tick 3: NVML backs off and is failing: nvidia-smi fills in.
    tokio::time::advance(TIMING.interval).await;
    let third = tick(&mut scheduler).await;
    assert_eq!(smi.calls(), 1, "{third:?}");
    assert_eq!(third["gpu-smi"]["n"], 1);
    // Once NVML answers again, nvidia-smi stands by again.
    for _ in 0..4 {
        tokio::time::advance(TIMING.interval).await;
        tick(&mut scheduler).await;
    }
    let asked = smi.calls();
    tokio::time::advance(TIMING.interval).await;
    tick(&mut scheduler).await;
    assert!(nvml.calls() > 3, "NVML asked again after its back-off");
    assert_eq!(smi.calls(), asked, "standing by after NVML recovered");
    assert_eq!(status(&scheduler, "gpu-smi").state, CollectorState::Standby);
}
