//! What a WebSocket session is handed: the few handles it reads or acts through, and
//! nothing of the other surfaces. Built once in [`crate::run`]; each upgrade shares it.

use std::sync::Arc;

use crate::accept::admission::Admission;
use crate::alerts::AlertControl;
use crate::fleet::gateway::Gateway;
use crate::fleet::Fleet;
use crate::live::events::PluginEvents;
use crate::live::LiveHandle;
use crate::pipeline::bus::FrameReceiver;
use crate::pipeline::cadence::Cadence;
use crate::shutdown::Shutdown;
use crate::surfaces::access::Access;
use crate::surfaces::lookback::answer::LookbackSources;
use crate::surfaces::silences::Silencing;
use crate::surfaces::status::StatusSources;

use super::fanout::Fanout;
use super::limits::Limits;
use super::stats::Stats;

/// The handles of every WebSocket session.
pub struct SessionContext {
    /// Per-connection policy.
    pub limits: Limits,
    /// Counters the sessions write.
    pub stats: Arc<Stats>,
    /// Tokens and roles: who may connect, who may run control commands.
    pub access: Arc<Access>,
    /// Client slots, in all and per address.
    pub admission: Admission,
    /// Every client's outlet, written to once per tick.
    pub fanout: Arc<Fanout>,
    /// The newest frame: the sections a `subscribe` may name.
    pub frames: FrameReceiver,
    /// The tick a `subscribe` interval is a multiple of.
    pub cadence: Cadence,
    /// What `get_status` reads.
    pub status: Arc<StatusSources>,
    /// Thresholds an admin changes (`set_threshold`, `configure_thresholds`).
    pub alerts: AlertControl,
    /// `plugin_event` messages for every session.
    pub plugin_events: PluginEvents,
    /// The admin's `reload`; `None` where no live task runs (the in-process tests).
    pub live: Option<LiveHandle>,
    /// A gateway's fleet stream; `None` without `[fleet]`.
    pub fleet: Option<Arc<Fleet>>,
    /// The on-disk history, for `query`.
    pub lookback: LookbackSources,
    /// Silences, acknowledgements, the alerts' board and the rules: `silence`,
    /// `unsilence`, `ack`, `get_silences`, `get_rules`, `get_alerts`.
    pub silencing: Silencing,
    /// Server shutdown: every session closes with 1001.
    pub shutdown: Shutdown,
}

impl SessionContext {
    /// A gateway's fleet view; `None` on a server that is not a fleet gateway.
    pub fn gateway(&self) -> Option<&Arc<Gateway>> {
        self.fleet.as_ref().and_then(|fleet| fleet.gateway.as_ref())
    }

    /// The tick, in whole milliseconds.
    pub fn tick_ms(&self) -> u64 {
        (self.cadence.seconds() * 1000.0).round() as u64
    }
}
