//! Runs the collectors every tick and assembles the snapshot.
//!
//! Each collector lives on its own OS thread (plugin code blocks, so it stays off the
//! async runtime) and is driven by one request at a time, so it is never called twice
//! at once. A tick sends a request to every collector that is due and idle, waits for
//! the answers until the collect deadline, and publishes what it has: a collector that
//! hangs only loses its own section, for as many ticks as it hangs. A result that
//! arrives after the deadline is used by the next tick.
//!
//! Policy is the host's, as in collectd: a failing collector's interval doubles up to
//! `max_backoff` and is restored on success, and repeated complaints are throttled. The
//! ticker is `tokio::time::interval`, whose deadlines are fixed multiples of the period,
//! so the cadence does not drift however long a tick's work takes.
//!
//! After every tick the scheduler publishes a [`CollectorStatus`] per collector on a
//! [`StatusBoard`] (last success, failures, back-off, busy/hung), which `/health` and
//! `/metrics` read without touching the scheduler itself.

use std::collections::HashSet;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use abi_stable::std_types::RResult;
use chrono::{DateTime, Local};
use monitoring_plugin_api::{CollectorBox, ErrorKind, PluginError, Sections};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::throttle::Throttle;

/// Timing policy, from `[monitor]`.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Time between ticks.
    pub interval: Duration,
    /// How long a tick waits for collectors.
    pub collect_timeout: Duration,
    /// Longest back-off for a failing collector.
    pub max_backoff: Duration,
}

/// How long a failing collector rests: the interval doubled per consecutive failure,
/// capped.
pub fn backoff(interval: Duration, failures: u32, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
    interval.saturating_mul(factor).min(max).max(interval)
}

/// A collector's answer, tagged with which collector gave it.
struct Answer {
    index: usize,
    result: Result<Sections, PluginError>,
    took: Duration,
}

/// The host's view of one collector.
struct Slot {
    name: String,
    requests: std_mpsc::SyncSender<()>,
    busy_since: Option<Instant>,
    next_due: Instant,
    failures: u32,
    disabled: bool,
    fresh: Option<Sections>,
    complaints: Throttle,
    hang_complaints: Throttle,
    errors: u64,
    last_error: Option<String>,
    last_success: Option<(Instant, DateTime<Local>)>,
}

/// One collector as `/health` shows it, as of the latest tick.
#[derive(Debug, Clone, Serialize)]
pub struct CollectorStatus {
    /// The collector plugin's name.
    pub name: String,
    /// `ok`, `pending` (no answer yet), `failing` (backing off) or `disabled`.
    pub state: &'static str,
    /// Its last successful collection, ISO 8601 local time.
    #[serde(serialize_with = "crate::timestamp::serialize_option")]
    pub last_success: Option<DateTime<Local>>,
    /// The same, for computing its age.
    #[serde(skip)]
    pub last_success_at: Option<Instant>,
    /// Failures since its last success.
    pub consecutive_failures: u32,
    /// Failures since start.
    pub errors_total: u64,
    /// Its latest error, if it ever failed.
    pub last_error: Option<String>,
    /// How long it rests after its latest failure, ms (0 when not failing).
    pub backoff_ms: u64,
    /// Time until it is asked again, ms, as of the latest tick.
    pub next_due_in_ms: u64,
    /// Whether a collection is running now.
    pub busy: bool,
    /// How long the running collection has taken so far, ms.
    pub busy_ms: Option<u64>,
    /// Busy for more than a whole tick past its deadline: it has cost its section at
    /// least one snapshot.
    pub hung: bool,
}

/// The latest [`CollectorStatus`] of every collector. Written once per tick by the
/// collection loop, read by HTTP handlers; an `RwLock` held only to swap or clone the
/// list.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard(Arc<RwLock<Vec<CollectorStatus>>>);

impl StatusBoard {
    /// Every collector, in snapshot order.
    pub fn all(&self) -> Vec<CollectorStatus> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, statuses: Vec<CollectorStatus>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = statuses;
    }
}

/// The collection loop's state.
pub struct Scheduler {
    slots: Vec<Slot>,
    answers: mpsc::UnboundedReceiver<Answer>,
    timing: Timing,
    duplicate_sections_reported: HashSet<String>,
    board: StatusBoard,
}

impl Scheduler {
    /// Starts one worker thread per collector.
    pub fn start(collectors: Vec<(String, CollectorBox)>, timing: Timing) -> std::io::Result<Self> {
        let (answer_tx, answers) = mpsc::unbounded_channel();
        let mut slots = Vec::with_capacity(collectors.len());
        let now = Instant::now();
        for (index, (name, collector)) in collectors.into_iter().enumerate() {
            // Capacity 1: the scheduler only sends while the worker is idle.
            let (requests, request_rx) = std_mpsc::sync_channel(1);
            let answer_tx = answer_tx.clone();
            std::thread::Builder::new()
                .name(format!("collector-{name}"))
                .spawn(move || work(index, collector, &request_rx, &answer_tx))?;
            slots.push(Slot {
                name,
                requests,
                busy_since: None,
                next_due: now,
                failures: 0,
                disabled: false,
                fresh: None,
                complaints: Throttle::new(Duration::from_secs(60)),
                hang_complaints: Throttle::new(Duration::from_secs(60)),
                errors: 0,
                last_error: None,
                last_success: None,
            });
        }
        let scheduler = Self {
            slots,
            answers,
            timing,
            duplicate_sections_reported: HashSet::new(),
            board: StatusBoard::default(),
        };
        scheduler.publish_status(now);
        Ok(scheduler)
    }

    /// The handle on every collector's status, updated after each tick.
    pub fn status_board(&self) -> StatusBoard {
        self.board.clone()
    }

    fn publish_status(&self, now: Instant) {
        let timing = self.timing;
        let statuses = self
            .slots
            .iter()
            .map(|slot| status_of(slot, now, timing))
            .collect();
        self.board.set(statuses);
    }

    /// Names of the collectors, in snapshot order.
    pub fn collector_names(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.name.clone()).collect()
    }

    /// Runs one tick: dispatch, wait up to the deadline, assemble.
    pub async fn tick(&mut self) -> Sections {
        let started = Instant::now();
        while let Ok(answer) = self.answers.try_recv() {
            self.record(answer, started);
        }
        let mut outstanding: HashSet<usize> = HashSet::new();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if dispatch(slot, started) {
                outstanding.insert(index);
            }
        }
        // Published now too, so `/health` sees who is busy while the tick waits.
        self.publish_status(started);
        let deadline = tokio::time::Instant::from_std(started + self.timing.collect_timeout);
        while !outstanding.is_empty() {
            tokio::select! {
                answer = self.answers.recv() => match answer {
                    Some(answer) => {
                        outstanding.remove(&answer.index);
                        self.record(answer, Instant::now());
                    }
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        self.publish_status(Instant::now());
        let snapshot = self.assemble();
        tracing::trace!(
            took_us = started.elapsed().as_micros() as u64,
            "Tick collected."
        );
        snapshot
    }

    fn record(&mut self, answer: Answer, now: Instant) {
        let timing = self.timing;
        let slot = &mut self.slots[answer.index];
        slot.busy_since = None;
        match answer.result {
            Ok(sections) => {
                if slot.failures > 0 {
                    tracing::info!(plugin = %slot.name, failures = slot.failures, "Collector recovered.");
                    slot.complaints.reset();
                }
                slot.failures = 0;
                slot.next_due = now;
                slot.last_success = Some((now, Local::now()));
                slot.fresh = Some(sections);
                if answer.took > timing.collect_timeout {
                    tracing::debug!(plugin = %slot.name, took_ms = answer.took.as_millis() as u64, "Collector answered after the deadline.");
                }
            }
            Err(error) => fail(slot, &error, now, timing),
        }
    }

    fn assemble(&mut self) -> Sections {
        let mut data = Sections::new();
        for slot in &mut self.slots {
            let Some(sections) = slot.fresh.take() else {
                continue;
            };
            for (section, value) in sections {
                if data.contains_key(&section) {
                    if self
                        .duplicate_sections_reported
                        .insert(format!("{}/{section}", slot.name))
                    {
                        tracing::warn!(plugin = %slot.name, section = %section, "Section already produced by another collector; ignoring this one.");
                    }
                    continue;
                }
                data.insert(section, value);
            }
        }
        data
    }
}

/// Sends a request if the collector is due and idle; says whether it did.
fn dispatch(slot: &mut Slot, now: Instant) -> bool {
    if slot.disabled || now < slot.next_due {
        return false;
    }
    if let Some(since) = slot.busy_since {
        if let Some(skipped) = slot.hang_complaints.allow(now) {
            tracing::warn!(plugin = %slot.name, busy_ms = now.duration_since(since).as_millis() as u64, skipped, "Collector has not returned; skipping it this tick.");
        }
        return false;
    }
    match slot.requests.try_send(()) {
        Ok(()) => {
            slot.busy_since = Some(now);
            true
        }
        Err(_) => {
            tracing::error!(plugin = %slot.name, "Collector thread is gone; disabling it.");
            slot.disabled = true;
            false
        }
    }
}

/// What `/health` shows of one slot at `now`.
fn status_of(slot: &Slot, now: Instant, timing: Timing) -> CollectorStatus {
    let busy_for = slot
        .busy_since
        .map(|since| now.saturating_duration_since(since));
    let state = if slot.disabled {
        "disabled"
    } else if slot.failures > 0 {
        "failing"
    } else if slot.last_success.is_none() {
        "pending"
    } else {
        "ok"
    };
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    CollectorStatus {
        name: slot.name.clone(),
        state,
        last_success: slot.last_success.map(|(_, at)| at),
        last_success_at: slot.last_success.as_ref().map(|(at, _)| *at),
        consecutive_failures: slot.failures,
        errors_total: slot.errors,
        last_error: slot.last_error.clone(),
        backoff_ms: if slot.failures > 0 {
            millis(backoff(timing.interval, slot.failures, timing.max_backoff))
        } else {
            0
        },
        next_due_in_ms: millis(slot.next_due.saturating_duration_since(now)),
        busy: busy_for.is_some(),
        busy_ms: busy_for.map(millis),
        hung: busy_for.is_some_and(|busy| busy > timing.collect_timeout + timing.interval),
    }
}

fn fail(slot: &mut Slot, error: &PluginError, now: Instant, timing: Timing) {
    slot.failures = slot.failures.saturating_add(1);
    slot.errors = slot.errors.saturating_add(1);
    slot.last_error = Some(error.to_string());
    let rest = backoff(timing.interval, slot.failures, timing.max_backoff);
    slot.next_due = now + rest;
    match error.kind() {
        Some(ErrorKind::Fatal | ErrorKind::Config) => {
            tracing::error!(plugin = %slot.name, error = %error, "Collector failed for good; disabling it.");
            slot.disabled = true;
        }
        Some(ErrorKind::Unavailable) => {
            if let Some(skipped) = slot.complaints.allow(now) {
                tracing::info!(plugin = %slot.name, reason = %error.message(), retry_in_ms = rest.as_millis() as u64, skipped, "Collector unavailable.");
            }
        }
        _ => {
            if let Some(skipped) = slot.complaints.allow(now) {
                tracing::warn!(plugin = %slot.name, error = %error, failures = slot.failures, retry_in_ms = rest.as_millis() as u64, skipped, "Collector failed; backing off.");
            }
        }
    }
}

/// A worker thread: one collection per request, until the scheduler goes away.
fn work(
    index: usize,
    mut collector: CollectorBox,
    requests: &std_mpsc::Receiver<()>,
    answers: &mpsc::UnboundedSender<Answer>,
) {
    while requests.recv().is_ok() {
        let started = Instant::now();
        let result = match collector.collect() {
            RResult::ROk(json) => parse_sections(json.as_str()),
            RResult::RErr(error) => Err(error),
        };
        if answers
            .send(Answer {
                index,
                result,
                took: started.elapsed(),
            })
            .is_err()
        {
            break;
        }
    }
}

/// A collector's JSON must be an object of sections.
fn parse_sections(json: &str) -> Result<Sections, PluginError> {
    match serde_json::from_str(json) {
        Ok(serde_json::Value::Object(sections)) => Ok(sections),
        Ok(other) => Err(PluginError::fatal(format_args!(
            "returned {} instead of a JSON object of sections",
            json_kind(&other)
        ))),
        Err(e) => Err(PluginError::fatal(format_args!(
            "returned invalid JSON: {e}"
        ))),
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
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
}
