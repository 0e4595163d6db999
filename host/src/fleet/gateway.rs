//! The gateway: subscribes to the whole fleet and serves it.
//!
//! Plain subscriptions (`<prefix>.*.data`, `<prefix>.*.alert`), no queue group: every
//! gateway sees every message, so any number of them serve the same fleet behind a
//! load balancer without knowing of each other.
//!
//! Anyone on the bus can publish, so a frame is bounded before it is read: one larger
//! than `[fleet] max_frame_bytes` is refused on its length alone, counted and never
//! stored. An accepted frame is read once ([`crate::fleet::frame`]): only its tile's
//! numbers, or its whole tree when it goes into the history (one frame per host per
//! `[fleet] history_interval`). It updates the [`Hosts`] view and is re-sent, with a
//! `host` field spliced in once, to the sessions that follow that host ([`Feed`]); a
//! session that falls behind lags and skips, it never slows the gateway. Taking in a
//! frame costs O(log hosts), never O(hosts), so a flood of new names cannot delay a
//! real host's frames behind it.
//!
//! Changes of the view (a host new, `stale`, `gone`, back, forgotten) are gathered in a
//! [`Batch`] and go out once per gateway tick, after the sweep that moves silent hosts
//! on, as one `hosts` message holding only what changed: a viewer pays for changes,
//! not for the table times the changes. The whole table goes to a session when it
//! subscribes and when it lagged (it may have missed a difference). The log gets a
//! summary line per period ([`Digest`]), never a line per host.
//!
//! The fleet's alerts reach this server's alert lifecycle (routes, grouping, silences)
//! through the collection loop's inbox as news: after each sweep, the alert set of each
//! host whose set changed (read from its frames, so a lost alert event is never a lost
//! alert), and which hosts went down, came back or were forgotten. The per-event
//! `<prefix>.*.alert` subject is still counted, for other consumers of the bus.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use monitoring_plugin_api::SinkEvent;

use crate::pipeline::relay::FleetNews;
use serde_json::value::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::fleet::batch::Batch;
use crate::fleet::digest::Digest;
use crate::fleet::feed::{Feed, FeedReceiver, FleetEvent, Follow};
use crate::fleet::frame::Published;
use crate::fleet::hosts::{Change, HostInfo, HostState, Hosts};
use crate::fleet::link::Link;
use crate::fleet::messages::{hosts_message, summaries_message};
use crate::fleet::status::FleetStatus;
use crate::fleet::summaries::{Summary, SummaryBook, SummaryChanges};
use crate::shutdown::Shutdown;
use crate::store::Store;

/// How often overviews get the summaries that changed.
const SUMMARY_PERIOD: Duration = Duration::from_secs(1);

/// At most one summary line per period for host changes, and one for refused frames.
const LOG_PERIOD: Duration = Duration::from_secs(10);

/// Where a gateway keeps its hosts' series, and how often one host's frame goes there.
pub struct FleetHistory {
    /// The store, shared with this server's own history.
    pub store: Store,
    /// `[fleet] history_interval`.
    pub every: Duration,
}

/// What the gateway's lock guards: the view and what waits for the next tick.
struct View {
    hosts: Hosts,
    /// Changes for the next `hosts` message.
    batch: Batch,
    /// Host changes for the next summary line.
    changes_log: Digest,
    /// Oversize frames for the next summary line.
    oversize_log: Digest,
}

/// The overviews' side, under a lock of its own: a second's batch of thousands of rows
/// is formed without holding the view, which sessions take for their greetings.
#[derive(Default)]
struct Overviews {
    /// The summary rows last sent to overviews.
    book: SummaryBook,
    /// When they were sent.
    sent: Option<Instant>,
}

impl View {
    fn note(&mut self, change: Change) {
        self.changes_log.note(kind(&change), || describe(&change));
        self.batch.push(change);
    }
}

/// The gateway's shared side: the view and the fan-out.
pub struct Gateway {
    /// A std `Mutex`: held to record one frame, list the hosts or take a tick's
    /// changes, never across an await.
    view: Mutex<View>,
    overviews: Mutex<Overviews>,
    feed: Feed,
    /// `[fleet] max_frame_bytes`.
    max_frame_bytes: usize,
    /// Where every host's series are kept under its name; `None` without history.
    history: Option<FleetHistory>,
    /// This gateway's own `[fleet] host_name`, named in its `hosts` messages so a
    /// page can say which gateway it watches.
    name: Arc<str>,
}

impl Gateway {
    /// A gateway with an empty view, taking frames up to `max_frame_bytes` and keeping
    /// each host's history in `history`.
    pub fn new(
        name: &str,
        stale_after: Duration,
        gone_after: Duration,
        max_frame_bytes: usize,
        history: Option<FleetHistory>,
    ) -> Self {
        Self {
            view: Mutex::new(View {
                hosts: Hosts::new(stale_after, gone_after),
                batch: Batch::default(),
                changes_log: Digest::new(LOG_PERIOD),
                oversize_log: Digest::new(LOG_PERIOD),
            }),
            overviews: Mutex::default(),
            feed: Feed::default(),
            max_frame_bytes,
            history,
            name: Arc::from(name),
        }
    }

    fn view(&self) -> MutexGuard<'_, View> {
        self.view.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every known host, for `/api/hosts`.
    pub fn hosts(&self) -> Vec<HostInfo> {
        self.view().hosts.list(Instant::now())
    }

    /// (up, stale, gone), for `/metrics`.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.view().hosts.counts()
    }

    /// A receiver for a session that starts following `follow`.
    pub fn subscribe(&self, follow: Follow<'_>) -> FeedReceiver {
        self.feed.subscribe(follow)
    }

    /// The whole table as a `hosts` message (`full: true`), for a session that
    /// starts watching or lagged.
    pub fn table(&self) -> Utf8Bytes {
        let list = self.view().hosts.list(Instant::now());
        hosts_message(&self.name, &list, &[], true)
    }

    /// Every host's summary row as last sent (`full: true`), for an overview that
    /// starts watching or lagged: the batches that follow are differences from it.
    pub fn summaries_table(&self) -> Utf8Bytes {
        let rows = self
            .overviews
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .book
            .all();
        summaries_message(&self.name, true, &rows, &[])
    }

    /// What a session that starts watching gets first: the whole table and the newest
    /// frame of each host it wants.
    pub fn greeting(&self, wanted: impl Fn(&str) -> bool) -> Vec<Utf8Bytes> {
        let (list, latest) = {
            let view = self.view();
            (view.hosts.list(Instant::now()), view.hosts.latest(wanted))
        };
        let mut texts = vec![hosts_message(&self.name, &list, &[], true)];
        texts.extend(latest);
        texts
    }

    /// Takes in one published frame of `host`, reading it once: as a whole tree
    /// when it goes into the history (one frame per host per `history_interval`),
    /// else only the numbers of its tile.
    pub fn on_frame(&self, host: &str, payload: &[u8], status: &FleetStatus) {
        if payload.len() > self.max_frame_bytes {
            FleetStatus::bump(&status.frames_oversize);
            let mut view = self.view();
            view.hosts.refuse(host);
            view.oversize_log
                .note("refused", || format!("{host} ({} bytes)", payload.len()));
            return;
        }
        let now = Instant::now();
        let history = self
            .history
            .as_ref()
            .filter(|history| self.view().hosts.history_due(host, now, history.every));
        let Ok(text) = std::str::from_utf8(payload) else {
            FleetStatus::bump(&status.malformed);
            return;
        };
        let read = match history {
            Some(_) => serde_json::from_str::<Published<Value>>(text).map(|mut published| {
                let summary = Summary::of(&published.data);
                let kept = match std::mem::take(&mut published.data) {
                    Value::Object(sections) => Some((sections, published.alerts.clone())),
                    _ => None,
                };
                (published.with_data(summary), kept)
            }),
            None => serde_json::from_str::<Published<Summary>>(text).map(|lean| (lean, None)),
        };
        let (Ok((published, kept)), Some(tagged)) = (read, tag_with_host(text, host)) else {
            FleetStatus::bump(&status.malformed);
            return;
        };
        FleetStatus::bump(&status.frames_received);
        let tagged = Utf8Bytes::from(tagged);
        let (accepted, kept) = {
            let mut view = self.view();
            let change = view
                .hosts
                .record(host, published, tagged.clone(), now, kept.is_some());
            let accepted = view.hosts.follows(host);
            if let Some(change) = change {
                view.note(change);
            }
            (accepted, kept)
        };
        if let (true, Some(history), Some((sections, alerts))) = (accepted, &self.history, kept) {
            // The gateway's clock, not the host's: a host's timestamp has no offset.
            let at_ms = chrono::Utc::now().timestamp_millis();
            history.store.record(host, at_ms, &sections, &alerts);
        }
        self.feed.frame(host, tagged);
    }

    /// The gateway's tick: moves silent hosts on, tells sessions what changed since
    /// the last tick in one message, and logs the summaries that are due.
    pub fn sweep(&self, now: Instant) -> Vec<FleetNews> {
        let summaries_due = {
            let mut overviews = self
                .overviews
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due = overviews
                .sent
                .is_none_or(|sent| now.saturating_duration_since(sent) >= SUMMARY_PERIOD);
            if due {
                overviews.sent = Some(now);
            }
            due
        };
        let (changes, infos, changes_line, oversize_line, mut news, rows) = {
            let mut view = self.view();
            let rows = summaries_due.then(|| view.hosts.summaries());
            for change in view.hosts.sweep(now) {
                view.note(change);
            }
            let news = view.hosts.news();
            let changes = view.batch.take();
            let infos: Vec<HostInfo> = changes
                .iter()
                .filter_map(|change| view.hosts.info(&change.host, now))
                .collect();
            (
                changes,
                infos,
                view.changes_log.due(now),
                view.oversize_log.due(now),
                news,
                rows,
            )
        };
        let summaries = rows.map_or_else(SummaryChanges::default, |rows| {
            self.overviews
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .book
                .changes(rows)
        });
        news.extend(changes.iter().filter_map(down_news));
        if let Some(line) = changes_line {
            tracing::info!(changes = line.total, counts = %line.counts, examples = %line.examples, "Fleet hosts changed state.");
        }
        if let Some(line) = oversize_line {
            tracing::warn!(refused = line.total, max_frame_bytes = self.max_frame_bytes, examples = %line.examples, "Fleet frames over max_frame_bytes were refused unread.");
        }
        if !changes.is_empty() {
            self.feed.view(FleetEvent::Hosts(hosts_message(
                &self.name, &infos, &changes, false,
            )));
        }
        if !summaries.is_empty() {
            self.feed.view(FleetEvent::Summaries(summaries_message(
                &self.name,
                false,
                &summaries.changed,
                &summaries.forgotten,
            )));
        }
        news
    }

    /// `host`'s news did not fit in the inbox: the next sweep reports it again.
    pub fn unreport(&self, host: &str) {
        self.view().hosts.unreport(host);
    }
}

/// What a host's change of state tells the lifecycle: stale or gone is down, up again
/// is back, forgotten is forgotten; a new host is no news.
fn down_news(change: &Change) -> Option<FleetNews> {
    let host = change.host.clone();
    match (change.from, change.to) {
        (_, None) => Some(FleetNews::Forgotten { host }),
        (Some(HostState::Up), Some(HostState::Stale | HostState::Gone)) => {
            Some(FleetNews::Down { host, down: true })
        }
        (Some(HostState::Stale | HostState::Gone), Some(HostState::Up)) => {
            Some(FleetNews::Down { host, down: false })
        }
        _ => None,
    }
}

/// A change's kind in a summary line.
fn kind(change: &Change) -> &'static str {
    match (change.from, change.to) {
        (None, _) => "new",
        (_, None) => "forgotten",
        (_, Some(HostState::Up)) => "back up",
        (_, Some(HostState::Stale)) => "stale",
        (_, Some(HostState::Gone)) => "gone",
    }
}

/// `web-1 up→stale`.
fn describe(change: &Change) -> String {
    let name = |state: Option<HostState>| match state {
        None => "unknown",
        Some(HostState::Up) => "up",
        Some(HostState::Stale) => "stale",
        Some(HostState::Gone) => "gone",
    };
    format!("{} {}→{}", change.host, name(change.from), name(change.to))
}

/// `{"type":"monitoring_data",…}` as `{"host":"web-1","type":"monitoring_data",…}`:
/// one splice, the publisher's bytes otherwise untouched.
pub fn tag_with_host(text: &str, host: &str) -> Option<String> {
    let rest = text.trim_start().strip_prefix('{')?;
    let name = serde_json::to_string(host).ok()?;
    let mut tagged = String::with_capacity(text.len() + name.len() + 8);
    tagged.push_str("{\"host\":");
    tagged.push_str(&name);
    if !rest.trim_start().starts_with('}') {
        tagged.push(',');
    }
    tagged.push_str(rest);
    Some(tagged)
}

/// Runs the gateway's subscriptions and sweep until `shutdown`.
pub async fn run(
    link: Link,
    gateway: Arc<Gateway>,
    interval: Duration,
    lifecycle: mpsc::Sender<FleetNews>,
    mut shutdown: Shutdown,
) {
    let Link {
        client,
        subjects,
        status,
        ..
    } = link;
    let (mut frames, mut alerts) = match (
        client.subscribe(subjects.all_data()).await,
        client.subscribe(subjects.all_alerts()).await,
    ) {
        (Ok(frames), Ok(alerts)) => (frames, alerts),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(error = %error, "The gateway cannot subscribe to the fleet.");
            status.set_error(format!("cannot subscribe to the fleet: {error}"));
            return;
        }
    };
    tracing::info!(subjects = %subjects.all_data(), "Serving the fleet as a gateway.");
    let mut sweep = tokio::time::interval(interval);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            Some(message) = frames.next() => {
                if let Some(host) = subjects.host_of(&message.subject) {
                    gateway.on_frame(host, &message.payload, &status);
                }
            }
            Some(message) = alerts.next() => {
                if subjects.host_of(&message.subject).is_none() {
                    continue;
                }
                match serde_json::from_slice::<SinkEvent>(&message.payload) {
                    Ok(_) => FleetStatus::bump(&status.alerts_received),
                    Err(_) => FleetStatus::bump(&status.malformed),
                }
            }
            _ = sweep.tick() => {
                for news in gateway.sweep(Instant::now()) {
                    deliver(&lifecycle, &gateway, news, &status.host);
                }
            }
            () = shutdown.wait() => break,
        }
    }
}

/// Hands one piece of news to the lifecycle, never waiting; this server's own alerts
/// (heard back from the bus) are its loop's business. A host's alert set that does not
/// fit is reported again on the next sweep.
fn deliver(lifecycle: &mpsc::Sender<FleetNews>, gateway: &Gateway, news: FleetNews, own: &str) {
    let host = match &news {
        FleetNews::Alerts { host, .. }
        | FleetNews::Down { host, .. }
        | FleetNews::Forgotten { host } => host.clone(),
    };
    if host == own {
        return;
    }
    let retried = matches!(news, FleetNews::Alerts { .. });
    if lifecycle.try_send(news).is_err() {
        if retried {
            gateway.unreport(&host);
        } else {
            tracing::warn!(
                host,
                "The alert lifecycle's inbox is full; a host's up/down change was dropped."
            );
        }
    }
}

#[cfg(test)]
#[path = "gateway_tests.rs"]
mod tests;
