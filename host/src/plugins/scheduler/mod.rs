//! Runs the collectors every tick and assembles the snapshot.
//!
//! Plugin code blocks, so each collection runs on the runtime's blocking pool, never on
//! the async runtime itself. The collector travels with its call (the slot holds it
//! only while it is idle), so it is never called twice at once. A tick starts a
//! collection for every collector that is due and idle, waits for
//! the answers until the collect deadline, and publishes what it has: a collector that
//! hangs only loses its own section, for as many ticks as it hangs. A result that
//! arrives after the deadline is used by the next tick.
//!
//! Policy is the host's, as in collectd: a failing collector's interval doubles up to
//! `max_backoff` and is restored on success, and repeated complaints are throttled. The
//! ticker is `tokio::time::interval`, whose deadlines are fixed multiples of the period,
//! so the cadence does not drift however long a tick's work takes.
//!
//! Each collector has its own period, a whole number of ticks (`[plugins.<name>]
//! interval`, host policy, not plugin code): a collector slower than the tick is asked
//! less often and the snapshot carries its latest result in between, so an expensive
//! collector (processes) costs what it is worth without holes in the stream.
//!
//! Time is tokio's, so the tests drive deadlines, late answers, hangs and back-off on
//! a paused clock; a collection running on the blocking pool holds that clock still
//! until it returns, so a test's clock moves only when the test advances it.
//!
//! After every tick the scheduler publishes a [`CollectorStatus`] per collector on a
//! [`StatusBoard`] (last success, failures, back-off, busy/hung), which `/health` and
//! `/metrics` read without touching the scheduler itself.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Local;
use monitoring_plugin_api::{CollectorBox, ErrorKind, PluginError, Sections};
use tokio::sync::mpsc;
// The tokio clock, so tests can pause and advance time through deadlines and back-off.
use tokio::time::Instant;

mod slot;
mod status;
mod worker;

use slot::Slot;
pub use slot::{backoff, Timing};
use status::status_of;
pub use status::{CollectorState, CollectorStatus, StatusBoard};
use worker::{collect, Answer};

/// A collector to start, and how often the host asks it.
pub struct NewCollector {
    /// The plugin's name.
    pub name: String,
    /// The instance.
    pub collector: CollectorBox,
    /// Its `[plugins.<name>] interval`; `None` is every tick.
    pub period: Option<Duration>,
}

/// The collection loop's state.
pub struct Scheduler {
    slots: Vec<Slot>,
    /// Unbounded, yet holds at most one answer per collector: a collector is sent no
    /// new call until its answer has been taken.
    answers: mpsc::UnboundedReceiver<Answer>,
    answer_tx: mpsc::UnboundedSender<Answer>,
    timing: Timing,
    duplicate_sections_reported: HashSet<String>,
    board: StatusBoard,
    /// The id the next new slot gets: ids are never reused, so an answer from a slot
    /// replaced or removed meanwhile finds no slot.
    next_slot_id: u64,
    /// Collectors that can produce the same section, in order of preference.
    providers: Vec<Vec<String>>,
    /// Answers recorded so far, for tests that must let every prompt collector answer
    /// before they move the paused clock past a hung one's deadline.
    #[cfg(test)]
    recorded: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Scheduler {
    /// Takes charge of the collectors; nothing runs until the first [`Self::tick`].
    pub fn start(collectors: Vec<NewCollector>, timing: Timing) -> Self {
        let (answer_tx, answers) = mpsc::unbounded_channel();
        let now = Instant::now();
        let mut scheduler = Self {
            slots: Vec::with_capacity(collectors.len()),
            answers,
            answer_tx,
            timing,
            duplicate_sections_reported: HashSet::new(),
            board: StatusBoard::default(),
            next_slot_id: 0,
            providers: Vec::new(),
            #[cfg(test)]
            recorded: std::sync::Arc::default(),
        };
        for new in collectors {
            let slot = scheduler.new_slot(new, now);
            scheduler.slots.push(slot);
        }
        scheduler.publish_status(now);
        scheduler
    }

    /// An idle slot for `new`, due at once, with the next id and its period in whole
    /// ticks.
    fn new_slot(&mut self, new: NewCollector, now: Instant) -> Slot {
        let interval = self.timing.interval;
        let period = whole_ticks(new.period.unwrap_or(interval), interval);
        let slot = Slot::new(self.next_slot_id, new.name, new.collector, period, now);
        self.next_slot_id += 1;
        slot
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

    /// Starts `new` in the slot of a running collector of that name (which is dropped,
    /// or, if it is busy now, when its call returns), else last.
    pub fn insert(&mut self, new: NewCollector) {
        let now = Instant::now();
        let slot = self.new_slot(new, now);
        match self.slots.iter().position(|s| s.name == slot.name) {
            Some(index) => self.slots[index] = slot,
            None => self.slots.push(slot),
        }
        self.publish_status(now);
    }

    /// Stops the collector `name`; says whether one ran. Its instance is dropped now,
    /// or when a call that has it returns.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.slots.len();
        self.slots.retain(|s| s.name != name);
        let removed = self.slots.len() != before;
        if removed {
            self.publish_status(Instant::now());
        }
        removed
    }

    /// A new time between ticks; periods stay whole numbers of the new tick.
    pub fn set_interval(&mut self, interval: Duration) {
        let old = self.timing.interval;
        self.timing.interval = interval;
        for slot in &mut self.slots {
            let ticks = (slot.period.as_secs_f64() / old.as_secs_f64().max(1e-9)).round();
            slot.period = whole_ticks(interval.mul_f64(ticks.max(1.0)), interval);
        }
    }

    /// Sets the provider chains: in each, a collector is asked only while every one
    /// before it is absent, disabled or failing (policy in the host: the fallback
    /// plugin need not know about the one it stands in for).
    pub fn set_providers(&mut self, chains: Vec<Vec<String>>) {
        self.providers = chains;
    }

    /// Marks the collectors that stand aside this tick.
    fn choose_providers(&mut self) {
        let serving = |slot: &Slot| !slot.disabled && slot.failures == 0;
        let mut aside: HashSet<&str> = HashSet::new();
        for chain in &self.providers {
            let first_serving = chain.iter().position(|name| {
                self.slots
                    .iter()
                    .any(|slot| slot.name == *name && serving(slot))
            });
            if let Some(first) = first_serving {
                aside.extend(chain[first + 1..].iter().map(String::as_str));
            }
        }
        for slot in &mut self.slots {
            slot.standby = aside.contains(slot.name.as_str());
            if slot.standby {
                slot.latest = None;
                slot.fresh = None;
            }
        }
    }

    /// Whether every collector asked has answered at least once (or failed): the
    /// snapshot is as complete as this machine makes it.
    pub fn all_answered(&self) -> bool {
        self.slots.iter().all(|slot| {
            slot.standby || slot.disabled || slot.failures > 0 || slot.last_success.is_some()
        })
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
        self.choose_providers();
        let mut outstanding: HashSet<u64> = HashSet::new();
        for slot in &mut self.slots {
            if dispatch(slot, started, &self.answer_tx) {
                outstanding.insert(slot.id);
            }
        }
        // Published now too, so `/health` sees who is busy while the tick waits.
        self.publish_status(started);
        let deadline = started + self.timing.collect_timeout;
        while !outstanding.is_empty() {
            tokio::select! {
                answer = self.answers.recv() => match answer {
                    Some(answer) => {
                        outstanding.remove(&answer.slot);
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

    /// Waits for the next answer and records it: lets a test see a late answer land
    /// without sleeping.
    #[cfg(test)]
    async fn take_answer(&mut self) {
        if let Some(answer) = self.answers.recv().await {
            self.record(answer, Instant::now());
        }
    }

    fn record(&mut self, answer: Answer, now: Instant) {
        #[cfg(test)]
        self.recorded
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let timing = self.timing;
        let Some(slot) = self.slots.iter_mut().find(|s| s.id == answer.slot) else {
            // Its slot was replaced or removed while it ran: the old instance goes.
            return;
        };
        let started = slot.busy_since.take().unwrap_or(now);
        slot.collector = Some(answer.collector);
        match answer.result {
            Ok(sections) => {
                if slot.failures > 0 {
                    tracing::info!(plugin = %slot.name, failures = slot.failures, "Collector recovered.");
                    slot.complaints.reset();
                }
                slot.failures = 0;
                // Due again one period after this collection started, less half a
                // tick so that tick-to-tick jitter never costs a whole period.
                slot.next_due = started + slot.period.saturating_sub(timing.interval / 2);
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
        let (now, interval) = (Instant::now(), self.timing.interval);
        for slot in &mut self.slots {
            let Some(sections) = take_current(slot, now, interval) else {
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

/// `period` as a whole number of ticks (rounded, at least one).
fn whole_ticks(period: Duration, tick: Duration) -> Duration {
    if tick.is_zero() {
        return period;
    }
    let ticks = (period.as_secs_f64() / tick.as_secs_f64()).round().max(1.0);
    tick.saturating_mul(ticks.min(f64::from(u32::MAX)) as u32)
}

/// The sections `slot` contributes to this tick: its fresh answer, or, for a collector
/// asked less often than every tick, its latest answer while that is not older than
/// its period (plus a tick of grace). A collector on the tick's own period shows only
/// fresh answers, so a hung one loses its section at once.
fn take_current(slot: &mut Slot, now: Instant, interval: Duration) -> Option<Sections> {
    let fresh = slot.fresh.take();
    if slot.period <= interval {
        slot.latest = None;
        return fresh;
    }
    if let Some(sections) = fresh {
        slot.latest = Some((sections.clone(), now));
        return Some(sections);
    }
    match &slot.latest {
        Some((sections, at)) if now.saturating_duration_since(*at) < slot.period + interval => {
            Some(sections.clone())
        }
        _ => {
            slot.latest = None;
            None
        }
    }
}

/// Starts a collection if the collector is due and idle; says whether it did.
fn dispatch(slot: &mut Slot, now: Instant, answers: &mpsc::UnboundedSender<Answer>) -> bool {
    if slot.disabled || slot.standby || now < slot.next_due {
        return false;
    }
    if let Some(since) = slot.busy_since {
        if let Some(skipped) = slot.hang_complaints.allow(now.into_std()) {
            tracing::warn!(plugin = %slot.name, busy_ms = now.duration_since(since).as_millis() as u64, skipped, "Collector has not returned; skipping it this tick.");
        }
        return false;
    }
    let Some(collector) = slot.collector.take() else {
        return false;
    };
    let answers = answers.clone();
    let id = slot.id;
    // Detached: a collection that never returns keeps one pool thread, nothing else.
    drop(tokio::task::spawn_blocking(move || {
        let _ = answers.send(collect(id, collector));
    }));
    slot.busy_since = Some(now);
    true
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
            if let Some(skipped) = slot.complaints.allow(now.into_std()) {
                tracing::info!(plugin = %slot.name, reason = %error.message(), retry_in_ms = rest.as_millis() as u64, skipped, "Collector unavailable.");
            }
        }
        _ => {
            if let Some(skipped) = slot.complaints.allow(now.into_std()) {
                tracing::warn!(plugin = %slot.name, error = %error, failures = slot.failures, retry_in_ms = rest.as_millis() as u64, skipped, "Collector failed; backing off.");
            }
        }
    }
}

#[cfg(test)]
mod tests;
