//! `GET /health`: the seed's `get_health_report`, served, and the verdict a load
//! balancer or watchdog acts on.
//!
//! # When the server is not healthy (HTTP 503)
//! - `starting`: no snapshot has been published yet.
//! - `unhealthy`, for any of:
//!   - no collector is running (every snapshot would be empty);
//!   - no collector has succeeded within the stale window, [`STALE_TICKS`] intervals
//!     (at least [`MIN_STALE`]): the data clients get is not live;
//!   - the newest snapshot is older than the stale window: the collection loop stalled;
//!   - the server's own RSS keeps growing (see [`crate::accept::service_memory`]): a leak that
//!     a restart cures.
//!
//! Otherwise the status is `ok` (HTTP 200), or `degraded` (still 200: the server serves
//! live data) with a warning for each collector failing, hung or disabled, each plugin
//! refused, each sink that has failed or dropped alerts, and the history store failing
//! to write (a full disk: collection and the stream go on, history waits) or keeping a
//! tier shorter than configured because a size cap cut it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::accept::service_memory::{read_process, ProcessStats, ServiceMemoryMonitor, Trend};
use crate::alerts::sink_runner::SinkStatus;
use crate::fleet::status::{Connection, FleetReport};
use crate::fleet::Fleet;
use crate::live::reload::{ReloadState, ReloadStatus};
use crate::pipeline::bus::Frame;
use crate::pipeline::scripts::Scripts;
use crate::pipeline::wire::StatsSnapshot;
use crate::plugins::identity::Kind;
use crate::plugins::registry::{PluginRecord, PluginState};
use crate::plugins::scheduler::{CollectorState, CollectorStatus};
use crate::store::{self, Store};
use crate::surfaces::status::{Reading, StatusSources, SERVER_VERSION};

/// Intervals without any collector success after which the data counts as stale.
pub const STALE_TICKS: u32 = 10;
/// The shortest stale window, for very short intervals.
pub const MIN_STALE: Duration = Duration::from_secs(5);

/// What `/health` reads: the status every surface reports, and what only the health
/// verdict weighs (the memory trend, the last reload, the fleet link).
pub struct HealthSources {
    /// The reading `get_status` and `/metrics` are made of too.
    pub status: Arc<StatusSources>,
    /// The server's own RSS trend.
    pub memory: ServiceMemoryMonitor,
    /// The last configuration reload.
    pub reload: ReloadStatus,
    /// The fleet link; `None` without `[fleet]`.
    pub fleet: Option<Arc<Fleet>>,
    /// The on-disk history; `None` with `[history] enabled = false`.
    pub store: Option<Store>,
}

/// The verdict, on the wire in lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Live data, nothing wrong (HTTP 200).
    Ok,
    /// Live data, with warnings (HTTP 200).
    Degraded,
    /// No snapshot yet (HTTP 503).
    Starting,
    /// A problem clients would feel (HTTP 503).
    Unhealthy,
}

impl Status {
    /// Whether a load balancer should keep sending traffic.
    pub fn healthy(self) -> bool {
        match self {
            Status::Ok | Status::Degraded => true,
            Status::Starting | Status::Unhealthy => false,
        }
    }
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// The verdict.
    pub status: Status,
    /// Why the status is `unhealthy` or `starting`.
    pub problems: Vec<String>,
    /// What is wrong without making the server unhealthy.
    pub warnings: Vec<String>,
    /// The server itself.
    pub service: Service<'a>,
    /// The newest snapshot.
    pub last_snapshot: Option<LastSnapshot>,
    /// Plugin files by outcome.
    pub plugins: Plugins,
    /// The latest configuration reload: a refused one shows here (and as a warning)
    /// until a good file is loaded.
    pub config_reload: ReloadState,
    /// Each collector's last success and back-off state.
    pub collectors: Vec<CollectorStatus>,
    /// Each sink's delivery counters.
    pub sinks: Vec<SinkStatus>,
    /// WebSocket clients and counters.
    pub clients: Clients,
    /// The server's own resources, as the seed's `ServiceMemoryMonitor`.
    pub memory: Memory,
    /// The fleet link (`[fleet]`): NATS connection, published, dropped, received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetReport>,
    /// The history store: bytes, samples, the last write error, each tier's span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<store::Status>,
    /// Issue 24: each `exec` command's last run and each textfile scrape error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scripts: Option<Scripts>,
}

/// The seed's `service` block.
#[derive(Debug, Serialize)]
pub struct Service<'a> {
    /// Same as the report's status.
    pub status: Status,
    /// Seconds since start.
    pub uptime_seconds: f64,
    /// The server's version.
    pub version: &'static str,
    /// When it started, ISO 8601.
    pub start_time: &'a str,
    /// Seconds between snapshots.
    pub monitor_interval: f64,
}

/// The newest frame.
#[derive(Debug, Serialize)]
pub struct LastSnapshot {
    /// Tick number, from 1.
    pub seq: u64,
    /// Its timestamp.
    pub timestamp: String,
    /// Seconds since it was taken, by the wall clock.
    pub age_seconds: Option<f64>,
    /// Sections in it.
    pub sections: Vec<String>,
}

/// Plugin files by outcome.
#[derive(Debug, Serialize)]
pub struct Plugins {
    /// Running.
    pub loaded: Vec<PluginRecord>,
    /// Refused, with the reason.
    pub refused: Vec<PluginRecord>,
    /// Disabled in the config or unavailable on this machine, with the reason.
    pub inactive: Vec<PluginRecord>,
    /// Plugin libraries mapped into the process since start: a replaced plugin's old
    /// code stays mapped until exit (abi_stable never unloads).
    pub libraries_mapped: usize,
}

/// WebSocket clients.
#[derive(Debug, Serialize)]
pub struct Clients {
    /// Connected now.
    pub connected: usize,
    /// The most accepted at once.
    pub max: usize,
    /// Every WebSocket counter.
    pub websocket: StatsSnapshot,
}

/// The server's own resources.
#[derive(Debug, Serialize)]
pub struct Memory {
    /// RSS, threads, open files now.
    #[serde(flatten)]
    pub process: ProcessStats,
    /// The RSS trend over the last hour.
    pub trend: Trend,
}

/// Builds the report from one [`Reading`] of `sources` at `now`; the bool says whether
/// the server is healthy (HTTP 200).
pub fn report(sources: &HealthSources, now: Instant) -> (bool, Report<'_>) {
    let mut reading = Reading::of(&sources.status, now);
    let status_sources = reading.sources;
    let interval = Duration::from_secs_f64(status_sources.cadence.seconds().max(0.0));
    let stale = interval.saturating_mul(STALE_TICKS).max(MIN_STALE);
    let trend = sources.memory.trend();
    let last_snapshot = reading.frame.as_deref().map(last_snapshot);

    let mut problems = problems(&reading, stale, last_snapshot.as_ref());
    if let Some(warning) = &trend.warning {
        problems.push(format!("memory: {warning}"));
    }
    let fleet = sources.fleet.as_ref().map(|fleet| fleet.status.report());
    let mut warnings = warnings(&reading, &sources.reload);
    if let Some(warning) = fleet.as_ref().and_then(fleet_warning) {
        warnings.push(warning);
    }
    let scripts = reading.scripts();
    warnings.extend(scripts.iter().flat_map(|s| s.warnings()));
    let history = sources.store.as_ref().map(Store::status);
    if let Some(history) = &history {
        warnings.extend(history_warnings(history));
    }
    let status = match &reading.frame {
        None => {
            problems.insert(0, "no snapshot has been published yet".to_owned());
            Status::Starting
        }
        Some(_) if !problems.is_empty() => Status::Unhealthy,
        Some(_) if !warnings.is_empty() => Status::Degraded,
        Some(_) => Status::Ok,
    };
    let healthy = status.healthy();
    let plugins = std::mem::take(&mut reading.plugins);
    let with_state = |wanted: fn(PluginState) -> bool| -> Vec<PluginRecord> {
        plugins
            .iter()
            .filter(|p| wanted(p.state))
            .cloned()
            .collect()
    };
    let reload = sources.reload.get();
    let report = Report {
        status,
        problems,
        warnings,
        service: Service {
            status,
            uptime_seconds: reading.uptime_seconds(),
            version: SERVER_VERSION,
            start_time: &status_sources.start_time,
            monitor_interval: status_sources.cadence.seconds(),
        },
        last_snapshot,
        plugins: Plugins {
            loaded: with_state(|s| s == PluginState::Running),
            refused: with_state(|s| s == PluginState::Refused),
            inactive: with_state(|s| matches!(s, PluginState::Disabled | PluginState::Unavailable)),
            libraries_mapped: reload.libraries_mapped,
        },
        config_reload: reload,
        clients: Clients {
            connected: reading.websocket.connected,
            max: status_sources.max_clients,
            websocket: reading.websocket,
        },
        collectors: reading.collectors,
        sinks: reading.sinks,
        memory: Memory {
            process: read_process(),
            trend,
        },
        fleet,
        history,
        scripts,
    };
    (healthy, report)
}

/// The store's trouble: a write error (the disk is full: collection and the stream
/// go on, writes resume when space returns) and tiers a size cap keeps shorter than
/// configured.
fn history_warnings(history: &store::Status) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(error) = &history.write_error {
        warnings.push(format!(
            "history: cannot write ({error}); collection and the stream go on, {} ticks \
             dropped so far, retrying",
            history.ticks_dropped
        ));
    }
    for tier in history.tiers.iter().filter(|tier| tier.cut_short) {
        warnings.push(format!(
            "history: the {} tier holds less time than configured: a size cap removed its \
             oldest data (raise [history] max_size_mb or the tier's own cap)",
            tier.tier.name()
        ));
    }
    warnings
}

/// The fleet link's trouble, if any: it degrades the server (its own clients are
/// served all the same) but never makes it unhealthy.
fn fleet_warning(fleet: &FleetReport) -> Option<String> {
    let why = fleet
        .last_error
        .as_deref()
        .unwrap_or("no error reported yet");
    match fleet.connection {
        Connection::Connected => None,
        Connection::AuthRefused => Some(format!(
            "fleet: NATS refused this server's credentials (authorization violation, auth: {}); nothing is published",
            fleet.auth
        )),
        Connection::Connecting | Connection::Disconnected => Some(format!(
            "fleet: not connected to NATS at {} ({why}); reconnecting",
            fleet.url
        )),
    }
}

fn last_snapshot(frame: &Frame) -> LastSnapshot {
    LastSnapshot {
        seq: frame.seq,
        timestamp: frame.timestamp.clone(),
        age_seconds: Some(frame.snapshot.age(chrono::Local::now()).as_secs_f64()),
        sections: frame.snapshot.data.keys().cloned().collect(),
    }
}

/// What makes the server unhealthy: nothing collects, or the data is not live.
fn problems(reading: &Reading<'_>, stale: Duration, last: Option<&LastSnapshot>) -> Vec<String> {
    let mut problems = Vec::new();
    let running = reading
        .plugins()
        .iter()
        .filter(|p| p.kind == Kind::Collector && p.state == PluginState::Running);
    if running.count() == 0 {
        problems.push("no collector is running: snapshots are empty".to_owned());
    }
    let collectors = &reading.collectors;
    let newest_success = collectors.iter().filter_map(|c| c.last_success_at).max();
    let now = reading.now;
    let started_long_ago = now.saturating_duration_since(reading.sources.started) > stale;
    if !collectors.is_empty() && started_long_ago {
        let fresh = newest_success.is_some_and(|at| now.saturating_duration_since(at) <= stale);
        if !fresh {
            problems.push(format!(
                "no collector has succeeded in the last {:.1} s ({STALE_TICKS} intervals)",
                stale.as_secs_f64()
            ));
        }
    }
    if let Some(age) = last.and_then(|s| s.age_seconds) {
        if age > stale.as_secs_f64() {
            problems.push(format!(
                "the newest snapshot is {age:.1} s old: the collection loop has stalled"
            ));
        }
    }
    problems
}

/// What is wrong without making the server unhealthy.
fn warnings(reading: &Reading<'_>, reload: &ReloadStatus) -> Vec<String> {
    let mut warnings = Vec::new();
    for c in &reading.collectors {
        if c.hung {
            warnings.push(format!(
                "collector `{}` is hung (busy for {} ms)",
                c.name,
                c.busy_ms.unwrap_or(0)
            ));
        } else if c.state == CollectorState::Failing {
            let error = c.last_error.as_deref().unwrap_or("unknown error");
            warnings.push(format!(
                "collector `{}` failed {} times in a row ({error}); retrying in {} ms",
                c.name, c.consecutive_failures, c.backoff_ms
            ));
        } else if c.state == CollectorState::Disabled {
            warnings.push(format!(
                "collector `{}` is disabled after a fatal error",
                c.name
            ));
        }
    }
    if let Some(error) = reload.get().error {
        warnings.push(format!(
            "configuration reload refused, the previous configuration runs on: {error}"
        ));
    }
    for p in reading
        .plugins()
        .iter()
        .filter(|p| p.state == PluginState::Refused)
    {
        let reason = p.reason.as_deref().unwrap_or("no reason given");
        warnings.push(format!("plugin `{}` was refused: {reason}", p.name));
    }
    for s in &reading.sinks {
        if s.failed > 0 || s.dropped > 0 {
            warnings.push(format!(
                "sink `{}` failed {} and dropped {} alerts",
                s.name, s.failed, s.dropped
            ));
        }
    }
    warnings
}
