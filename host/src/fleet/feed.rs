//! Who gets which fleet message: the fan-out from a gateway to its sessions.
//!
//! A gateway of 2,000 hosts takes in 4,000 frames a second. Waking every fleet
//! session for each frame, to have most of them throw it away, would cost sessions ×
//! frames; so a frame reaches only the sessions that asked for it:
//! - the `hosts` and `host_summaries` messages, a few a second, go to every fleet
//!   session on one shared channel;
//! - every frame goes to the sessions that follow `["*"]` in full, on another;
//! - a session that follows named hosts has a channel of its own, registered under
//!   each name it follows (and unregistered when the session lets go of it), so a
//!   frame costs one lookup plus one send per session that wants it.
//!
//! Every channel is a `broadcast`: a session that falls behind lags and skips (and is
//! sent the whole table again), it never slows the gateway.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::broadcast::{self, error::RecvError};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Messages waiting for the slowest session on a shared channel before it lags: a few
/// ticks of a large fleet.
const SHARED_CAPACITY: usize = 4096;

/// A session's own channel holds this many frames per host it follows (8 s at 2 Hz),
/// between [`OWN_CAPACITY`]'s bounds.
const FRAMES_PER_HOST: usize = 16;

/// The bounds of a session's own channel, whose slots are allocated up front.
const OWN_CAPACITY: std::ops::RangeInclusive<usize> = 16..=SHARED_CAPACITY;

/// What fleet-watching sessions receive.
#[derive(Debug, Clone)]
pub enum FleetEvent {
    /// A host's `monitoring_data`, with its `host` field.
    Data(Utf8Bytes),
    /// A `hosts` message: what changed in the last tick.
    Hosts(Utf8Bytes),
    /// A `host_summaries` message: the rows that changed in the last second, for
    /// clients that asked for `detail: "summary"`.
    Summaries(Utf8Bytes),
}

/// What a fleet session asked for.
#[derive(Debug, Clone, Copy)]
pub enum Follow<'a> {
    /// The table and the summaries, no frames.
    Summaries,
    /// Every host's frames.
    Everything,
    /// The frames of these hosts.
    Hosts(&'a [String]),
}

/// The sessions following named hosts: their channels by host name.
#[derive(Default)]
struct Followers {
    by_host: HashMap<String, Vec<(u64, broadcast::Sender<Utf8Bytes>)>>,
}

/// The gateway's side of the fan-out.
pub struct Feed {
    views: broadcast::Sender<FleetEvent>,
    everything: broadcast::Sender<Utf8Bytes>,
    followers: Arc<Mutex<Followers>>,
    next_id: AtomicU64,
}

impl Default for Feed {
    fn default() -> Self {
        Self {
            views: broadcast::channel(SHARED_CAPACITY).0,
            everything: broadcast::channel(SHARED_CAPACITY).0,
            followers: Arc::default(),
            next_id: AtomicU64::new(0),
        }
    }
}

fn lock(followers: &Mutex<Followers>) -> MutexGuard<'_, Followers> {
    followers.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Feed {
    /// A receiver for a session that starts following `follow`.
    pub fn subscribe(&self, follow: Follow<'_>) -> FeedReceiver {
        let views = self.views.subscribe();
        let (frames, own) = match follow {
            Follow::Summaries => (None, None),
            Follow::Everything => (Some(self.everything.subscribe()), None),
            Follow::Hosts(hosts) => {
                let capacity = hosts
                    .len()
                    .saturating_mul(FRAMES_PER_HOST)
                    .clamp(*OWN_CAPACITY.start(), *OWN_CAPACITY.end());
                let (sender, receiver) = broadcast::channel(capacity);
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let mut followers = lock(&self.followers);
                for host in hosts {
                    followers
                        .by_host
                        .entry(host.clone())
                        .or_default()
                        .push((id, sender.clone()));
                }
                let own = Registration {
                    id,
                    hosts: hosts.to_vec(),
                    followers: Arc::clone(&self.followers),
                };
                (Some(receiver), Some(own))
            }
        };
        FeedReceiver {
            views,
            frames,
            _own: own,
        }
    }

    /// Hands `host`'s tagged frame to the sessions that follow it.
    pub fn frame(&self, host: &str, text: Utf8Bytes) {
        if self.everything.receiver_count() > 0 {
            // No receiver is not an error: nobody follows every host right now.
            let _ = self.everything.send(text.clone());
        }
        let followers = lock(&self.followers);
        for (_, sender) in followers.by_host.get(host).into_iter().flatten() {
            let _ = sender.send(text.clone());
        }
    }

    /// Hands a `hosts` or `host_summaries` message to every fleet session.
    pub fn view(&self, event: FleetEvent) {
        let _ = self.views.send(event);
    }

    /// How many host names sessions follow, for tests.
    #[cfg(test)]
    pub fn followed(&self) -> usize {
        lock(&self.followers).by_host.len()
    }
}

/// A session's hold on its own channel: dropped with the session (or its previous
/// subscription), it takes the channel off every host it was registered under.
struct Registration {
    id: u64,
    hosts: Vec<String>,
    followers: Arc<Mutex<Followers>>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut followers = lock(&self.followers);
        for host in &self.hosts {
            if let Some(list) = followers.by_host.get_mut(host) {
                list.retain(|(id, _)| *id != self.id);
                if list.is_empty() {
                    followers.by_host.remove(host);
                }
            }
        }
    }
}

/// A session's side of the fan-out.
pub struct FeedReceiver {
    views: broadcast::Receiver<FleetEvent>,
    frames: Option<broadcast::Receiver<Utf8Bytes>>,
    _own: Option<Registration>,
}

impl FeedReceiver {
    /// The next message for this session: a view change first when both are ready.
    /// Cancel-safe, as `broadcast::Receiver::recv` is.
    pub async fn recv(&mut self) -> Result<FleetEvent, RecvError> {
        match &mut self.frames {
            None => self.views.recv().await,
            Some(frames) => tokio::select! {
                biased;
                event = self.views.recv() => event,
                frame = frames.recv() => frame.map(FleetEvent::Data),
            },
        }
    }

    /// The next message if one is ready, for tests.
    #[cfg(test)]
    pub fn try_recv(&mut self) -> Result<FleetEvent, broadcast::error::TryRecvError> {
        match self.views.try_recv() {
            Err(broadcast::error::TryRecvError::Empty) => match &mut self.frames {
                Some(frames) => frames.try_recv().map(FleetEvent::Data),
                None => Err(broadcast::error::TryRecvError::Empty),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    fn data(receiver: &mut FeedReceiver) -> Vec<String> {
        let mut texts = Vec::new();
        while let Ok(event) = receiver.try_recv() {
            if let FleetEvent::Data(text) = event {
                texts.push(text.as_str().to_owned());
            }
        }
        texts
    }

    #[test]
    fn a_frame_reaches_only_the_sessions_that_follow_its_host() {
        let feed = Feed::default();
        let web = names(&["web-1"]);
        let both = names(&["db-1", "web-1"]);
        let (mut one, mut two) = (
            feed.subscribe(Follow::Hosts(&web)),
            feed.subscribe(Follow::Hosts(&both)),
        );
        let mut all = feed.subscribe(Follow::Everything);
        let mut overview = feed.subscribe(Follow::Summaries);
        feed.frame("web-1", "w".into());
        feed.frame("db-1", "d".into());
        feed.frame("cache-1", "c".into());
        feed.view(FleetEvent::Hosts("h".into()));
        assert_eq!(data(&mut one), ["w"]);
        assert_eq!(data(&mut two), ["w", "d"]);
        assert_eq!(data(&mut all), ["w", "d", "c"]);
        assert!(matches!(overview.try_recv(), Ok(FleetEvent::Hosts(_))));
        assert!(overview.try_recv().is_err(), "no frame for an overview");
    }

    #[test]
    fn a_session_that_lets_go_is_unregistered() {
        let feed = Feed::default();
        let hosts = names(&["a", "b"]);
        let first = feed.subscribe(Follow::Hosts(&hosts));
        let second = feed.subscribe(Follow::Hosts(&hosts[..1]));
        assert_eq!(feed.followed(), 2);
        drop(first);
        assert_eq!(feed.followed(), 1, "b had only the first");
        drop(second);
        assert_eq!(feed.followed(), 0);
        feed.frame("a", "x".into());
    }

    #[test]
    fn a_session_that_falls_behind_lags_and_never_blocks() {
        let feed = Feed::default();
        let hosts = names(&["a"]);
        let mut slow = feed.subscribe(Follow::Hosts(&hosts));
        for _ in 0..1000 {
            feed.frame("a", "x".into());
        }
        assert!(matches!(
            slow.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }
}
