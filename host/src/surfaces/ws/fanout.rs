//! Delivers each tick to every client: one pass over the clients' outlets per frame
//! published on the bus.
//!
//! The pass runs on its own thread: at 10,000 clients it is 10,000 `write()` calls in a
//! row (tens of milliseconds), which would otherwise hold one of the runtime's workers
//! and delay every session, accept and HTTP request behind it. Each client costs the
//! pass one uncontended lock and one non-blocking write (see [`Outlet::offer`]); a
//! client whose socket is full is handed to its session's task and never makes the
//! pass wait.
//!
//! Keepalive pings go out in the same passes, after every client has its tick, in
//! [`PING_WAVES`] waves per ping interval: each client belongs to one wave, and a wave's
//! clients are pinged in the same pass. Their pongs then come back together and are
//! read in a few wake-ups of the runtime instead of one per client, which on a virtual
//! machine costs more than reading the pong itself; and no wave is larger than a
//! quarter of the clients, so no pass or pong burst is as large as all of them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::limits::Limits;
use super::outlet::{Keepalive, Offered, Outlet};
use super::stats::Stats;
use crate::pipeline::bus::FrameReceiver;
use crate::shutdown::Shutdown;

/// Ping waves per ping interval (see the module doc).
pub const PING_WAVES: u32 = 4;

/// Every connected client's outlet.
#[derive(Debug)]
pub struct Fanout {
    members: Mutex<Members>,
    next_id: AtomicU64,
    /// Where the ping waves are counted from.
    epoch: Instant,
}

/// The clients, and the list a pass walks, made again only after a join or a leave.
///
/// The list is in joining order, which is the order the kernel made their sockets in:
/// walking them that way lets the processor fetch the kernel's per-socket memory ahead
/// of each `write()`, as it does for the floor's `Vec`. In a hash map's order every
/// client's socket is a cache miss, which at 10,000 clients cost a tenth of the pass.
#[derive(Debug, Default)]
struct Members {
    by_id: BTreeMap<u64, Arc<Outlet>>,
    list: Option<Arc<[Arc<Outlet>]>>,
}

impl Default for Fanout {
    fn default() -> Self {
        Self {
            members: Mutex::default(),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl Fanout {
    /// Adds a client to every pass from the next tick on, until the guard is dropped;
    /// it is pinged every `ping_interval`, first between half and one and a half
    /// intervals from now.
    pub fn join(&self, outlet: Arc<Outlet>, ping_interval: Duration) -> Joined<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        outlet.start_pings(first_ping(self.epoch, Instant::now(), ping_interval, id));
        let mut members = self.lock();
        members.by_id.insert(id, Arc::clone(&outlet));
        members.list = None;
        drop(members);
        Joined {
            fanout: self,
            id,
            outlet,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Members> {
        self.members.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The clients for a pass, which does not hold the lock clients join by.
    fn list(&self) -> Arc<[Arc<Outlet>]> {
        let mut members = self.lock();
        if let Some(list) = &members.list {
            return Arc::clone(list);
        }
        let list: Arc<[Arc<Outlet>]> = members.by_id.values().cloned().collect();
        members.list = Some(Arc::clone(&list));
        list
    }
}

/// A client in the fan-out; leaving it takes the client out.
#[derive(Debug)]
pub struct Joined<'a> {
    fanout: &'a Fanout,
    id: u64,
    outlet: Arc<Outlet>,
}

impl Joined<'_> {
    /// Takes the client out (no frame is written to it after this returns) and gives
    /// the number of frames its session finished that were not counted yet.
    pub fn leave(self) -> u64 {
        // `Drop` removes the entry; retiring here stops a pass that copied it already.
        self.outlet.retire()
    }
}

impl Drop for Joined<'_> {
    fn drop(&mut self) {
        self.outlet.retire();
        let mut members = self.fanout.lock();
        members.by_id.remove(&self.id);
        members.list = None;
    }
}

/// Longest time between two passes: without a tick for this long (a long
/// `monitor.interval`), a pass runs for the keepalive alone.
const KEEPALIVE_SWEEP: Duration = Duration::from_secs(1);

/// What a pass reads and counts.
pub struct FanoutParts {
    /// The frames published on the bus.
    pub frames: FrameReceiver,
    /// The clients to write to.
    pub fanout: Arc<Fanout>,
    /// The keepalive's interval and timeout.
    pub limits: Limits,
    /// Frames sent and skipped are added here.
    pub stats: Arc<Stats>,
    /// Ends the passes.
    pub shutdown: Shutdown,
}

/// Runs the fan-out on a thread of its own until the bus closes or the server shuts
/// down.
pub fn spawn(parts: FanoutParts) -> std::io::Result<std::thread::JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name("fanout".into())
        .spawn(move || runtime.block_on(run(parts)))
}

/// One pass per frame published on the bus (and one per [`KEEPALIVE_SWEEP`] without),
/// until the bus closes or the server shuts down.
pub async fn run(parts: FanoutParts) {
    let FanoutParts {
        mut frames,
        fanout,
        limits,
        stats,
        mut shutdown,
    } = parts;
    frames.mark_unchanged();
    let mut pings = Vec::new();
    loop {
        let frame = tokio::select! {
            changed = frames.changed() => match changed {
                Ok(()) => frames.borrow_and_update().clone(),
                Err(_) => return,
            },
            () = tokio::time::sleep(KEEPALIVE_SWEEP) => None,
            () = shutdown.wait() => return,
        };
        let keepalive = Keepalive {
            now: Instant::now(),
            interval: limits.ping_interval,
            timeout: limits.ping_timeout,
        };
        let outlets = fanout.list();
        let mut total = Offered::default();
        for outlet in outlets.iter() {
            let offered = outlet.offer(frame.as_deref(), keepalive.now);
            total.sent += offered.sent;
            total.skipped += offered.skipped;
            if offered.ping_due {
                pings.push(Arc::clone(outlet));
            }
        }
        drop(outlets);
        for outlet in pings.drain(..) {
            outlet.keep_alive(&keepalive);
        }
        stats.frames_sent.fetch_add(total.sent, Ordering::Relaxed);
        stats
            .frames_skipped
            .fetch_add(total.skipped, Ordering::Relaxed);
    }
}

/// The first ping of client number `id`, joining at `now`: at the first instant of its
/// wave (`id` modulo [`PING_WAVES`]; a wave's instants are `epoch` plus its share of the
/// interval plus whole intervals) that is at least half an interval away.
fn first_ping(epoch: Instant, now: Instant, interval: Duration, id: u64) -> Instant {
    let wave = (id % u64::from(PING_WAVES)) as u32;
    let start = epoch + interval / PING_WAVES * wave;
    let earliest = now + interval / 2;
    let wait = earliest.saturating_duration_since(start);
    let period = interval.as_nanos().max(1);
    let periods = wait.as_nanos().div_ceil(period);
    start + interval * u32::try_from(periods).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_pings_fall_in_waves_between_half_and_one_and_a_half_intervals() {
        let interval = Duration::from_secs(20);
        let epoch = Instant::now();
        let mut waves = [0usize; PING_WAVES as usize];
        for id in 0..1000u64 {
            // Clients joining over ten minutes, at uneven times.
            let now = epoch + Duration::from_millis(id * 613 % 600_000);
            let first = first_ping(epoch, now, interval, id);
            let wait = first - now;
            assert!(wait >= interval / 2 && wait < interval * 3 / 2, "{wait:?}");
            let phase = (first - epoch).as_millis() % interval.as_millis();
            let wave = phase / (interval / PING_WAVES).as_millis();
            assert_eq!(phase % (interval / PING_WAVES).as_millis(), 0, "on a wave");
            assert_eq!(wave as u64, id % u64::from(PING_WAVES));
            waves[wave as usize] += 1;
        }
        assert!(waves.iter().all(|&n| n == 250), "{waves:?}");
    }
}
