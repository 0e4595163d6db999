//! One reading of the server's state at an instant, the single source of both the
//! WebSocket `get_status` answer and the `/health` report, so the two cannot drift
//! apart: each counter, list and GPU fact is read here once, and the two surfaces only
//! shape it.

use std::sync::Arc;
use std::time::Instant;

use monitoring_plugin_api::sections::{Gpu, Section};
use monitoring_plugin_api::Alert;

use crate::alerts::sink_runner::{SinkStats, SinkStatus};
use crate::alerts::AlertControl;
use crate::pipeline::bus::{Frame, FrameReceiver};
use crate::pipeline::cadence::Cadence;
use crate::pipeline::scripts::Scripts;
use crate::pipeline::wire::{StatsSnapshot, Status};
use crate::plugins::registry::{PluginBoard, PluginRecord};
use crate::plugins::scheduler::{CollectorStatus, StatusBoard};
use crate::surfaces::ws::stats::Stats;

/// The server version reported to clients.
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a reading reads: the handles of the parts whose state `get_status`, `/health`
/// and `/metrics` report. Built once in [`crate::run`] and shared by those three.
pub struct StatusSources {
    /// When the server started, ISO 8601.
    pub start_time: String,
    /// When the server started, for uptime.
    pub started: Instant,
    /// Seconds between snapshots (changes on a reload).
    pub cadence: Cadence,
    /// The most WebSocket clients at once.
    pub max_clients: usize,
    /// The WebSocket counters.
    pub stats: Arc<Stats>,
    /// The newest frame.
    pub frames: FrameReceiver,
    /// Each collector's status as of the latest tick.
    pub collectors: StatusBoard,
    /// Every plugin file and what became of it.
    pub plugins: PluginBoard,
    /// Per-sink delivery counters.
    pub sinks: SinkStats,
    /// The alerts active now.
    pub alerts: AlertControl,
}

/// The server's state as of [`Reading::now`].
pub struct Reading<'a> {
    /// What was read.
    pub sources: &'a StatusSources,
    /// When.
    pub now: Instant,
    /// The newest frame, if any.
    pub frame: Option<Arc<Frame>>,
    /// Every collector's latest status.
    pub collectors: Vec<CollectorStatus>,
    /// Every sink's counters.
    pub sinks: Vec<SinkStatus>,
    /// WebSocket counters.
    pub websocket: StatsSnapshot,
    /// Alerts active in the latest tick.
    pub active_alerts: Vec<Alert>,
    /// Every plugin file and what became of it.
    pub plugins: Vec<PluginRecord>,
}

/// What the newest snapshot says of the GPUs (the seed's `is_gpu_available()` and
/// `get_gpu_count()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuSummary {
    /// GPUs seen; 0 without a `gpu` section.
    pub count: usize,
    /// `nvml` or `nvidia-smi`, when a GPU section is there.
    pub backend: Option<String>,
}

impl<'a> Reading<'a> {
    /// Reads `sources` at `now`.
    pub fn of(sources: &'a StatusSources, now: Instant) -> Self {
        Self {
            sources,
            now,
            frame: sources.frames.borrow().clone(),
            collectors: sources.collectors.all(),
            plugins: sources.plugins.all(),
            sinks: sources.sinks.all(),
            websocket: sources.stats.snapshot(),
            active_alerts: sources.alerts.active_alerts(),
        }
    }

    /// Seconds since the server started.
    pub fn uptime_seconds(&self) -> f64 {
        self.now
            .saturating_duration_since(self.sources.started)
            .as_secs_f64()
    }

    /// Every plugin file and what became of it.
    pub fn plugins(&self) -> &[PluginRecord] {
        &self.plugins
    }

    /// The GPUs in the newest snapshot, read through the `gpu` schema.
    pub fn gpu(&self) -> Option<GpuSummary> {
        let frame = self.frame.as_deref()?;
        match Gpu::from_sections(&frame.snapshot.data)? {
            Ok(gpu) => Some(GpuSummary {
                count: gpu.count(),
                backend: Some(gpu.backend),
            }),
            // A `gpu` section off its schema still says a GPU is there.
            Err(_) => Some(GpuSummary {
                count: 0,
                backend: None,
            }),
        }
    }

    /// The script collectors' status in the newest snapshot (issue 24).
    pub fn scripts(&self) -> Option<Scripts> {
        Scripts::of(&self.frame.as_deref()?.snapshot.data)
    }

    /// The `status` message a `get_status` command is answered with.
    pub fn into_status(self) -> Status<'a> {
        let gpu = self.gpu();
        let scripts = self.scripts();
        Status {
            // Counted by admission's slots, so never above max_clients.
            connected_clients: self.websocket.connected,
            server_start_time: &self.sources.start_time,
            server_version: SERVER_VERSION,
            uptime_seconds: self.uptime_seconds(),
            monitor_interval: self.sources.cadence.seconds(),
            max_clients: self.sources.max_clients,
            gpu_available: gpu.is_some(),
            gpu_count: gpu.as_ref().map_or(0, |g| g.count as u64),
            gpu_backend: gpu.and_then(|g| g.backend),
            websocket: self.websocket,
            plugins: self.plugins,
            sinks: self.sinks,
            active_alerts: self.active_alerts,
            scripts,
            message: "Server is running",
        }
    }
}
