//! The server's own series: `monitoring_server_*` counters and gauges, and the standard
//! `process_*` ones.

use std::time::Instant;

use metric_families::{labels, Emit, Unit};
use monitoring_plugin_api::AlertLevel;

use super::builder::Builder;
use crate::accept::service_memory::read_process;
use crate::alerts::sink_runner::SinkStatus;
use crate::alerts::AlertLog;
use crate::plugins::scheduler::CollectorStatus;
use crate::surfaces::status::{Reading, SERVER_VERSION};

/// The server's own series, from one [`Reading`] (the one `/health` and `get_status`
/// are made of), and the notifications `alert_log` counted.
pub(super) fn server_metrics(b: &mut Builder, reading: &Reading<'_>, alert_log: &AlertLog) {
    b.info(
        "monitoring_server_build",
        "The server's version; always 1",
        labels(&[("version", SERVER_VERSION)]),
    );
    websocket_metrics(b, reading, alert_log);
    alert_metrics(b, reading);
    if let Some(frame) = &reading.frame {
        let seconds = frame.snapshot.taken_at.timestamp_micros() as f64 / 1e6;
        let help = "When the latest snapshot was taken, Unix time";
        b.gauge(
            "monitoring_server_last_snapshot_timestamp",
            help,
            Some(Unit::Seconds),
            vec![],
            seconds,
        );
    }
    for collector in &reading.collectors {
        collector_metrics(b, collector, reading.now);
    }
    for sink in &reading.sinks {
        sink_metrics(b, sink);
    }
    process_metrics(b, reading.sources.started);
}

/// Clients and what the sessions did.
fn websocket_metrics(b: &mut Builder, reading: &Reading<'_>, alert_log: &AlertLog) {
    let stats = &reading.websocket;
    b.gauge(
        "monitoring_server_connected_clients",
        "WebSocket clients connected now",
        None,
        vec![],
        stats.connected as f64,
    );
    let broadcasts = reading.frame.as_ref().map_or(0, |f| f.seq);
    for (name, help, value) in [
        (
            "monitoring_server_broadcasts",
            "Snapshots published to clients (ticks)",
            broadcasts,
        ),
        (
            "monitoring_server_connections",
            "WebSocket connections accepted",
            stats.connections_total,
        ),
        (
            "monitoring_server_refused_at_capacity",
            "Connections refused because the server was full",
            stats.refused_at_capacity,
        ),
        (
            "monitoring_server_frames_sent",
            "monitoring_data messages sent",
            stats.frames_sent,
        ),
        (
            "monitoring_server_frames_skipped",
            "Ticks clients missed while busy with an older one",
            stats.frames_skipped,
        ),
        (
            "monitoring_server_slow_disconnects",
            "Clients dropped because a send took too long",
            stats.slow_disconnects,
        ),
        (
            "monitoring_server_rate_limited",
            "Control messages refused by the rate limiter",
            stats.rate_limited,
        ),
        (
            "monitoring_server_ping_timeouts",
            "Clients closed for not answering pings",
            stats.ping_timeouts,
        ),
        (
            "monitoring_server_alerts_fired",
            "Alert notifications sent to the sinks",
            alert_log.fired_total(),
        ),
    ] {
        b.counter(name, help, vec![], value);
    }
}

/// Alerts active now, by level.
fn alert_metrics(b: &mut Builder, reading: &Reading<'_>) {
    for (level, name) in [
        (AlertLevel::Warning, "WARNING"),
        (AlertLevel::Critical, "CRITICAL"),
    ] {
        let count = reading
            .active_alerts
            .iter()
            .filter(|a| a.level == level)
            .count();
        b.gauge(
            "monitoring_server_alerts_active",
            "Alerts active in the latest snapshot",
            None,
            labels(&[("level", name)]),
            count as f64,
        );
    }
}

/// One collector's health.
fn collector_metrics(b: &mut Builder, collector: &CollectorStatus, now: Instant) {
    let at = || labels(&[("collector", &collector.name)]);
    b.counter(
        "monitoring_server_collector_errors",
        "Failed collections",
        at(),
        collector.errors_total,
    );
    b.gauge(
        "monitoring_server_collector_consecutive_failures",
        "Failures since the collector's last success",
        None,
        at(),
        f64::from(collector.consecutive_failures),
    );
    if let Some(at_success) = collector.last_success_at {
        let age = now.saturating_duration_since(at_success).as_secs_f64();
        let help = "Time since the collector last succeeded";
        b.gauge(
            "monitoring_server_collector_last_success_age",
            help,
            Some(Unit::Seconds),
            at(),
            age,
        );
    }
    let help = "Whether the collector has not returned for more than a tick past its deadline";
    b.gauge(
        "monitoring_server_collector_hung",
        help,
        None,
        at(),
        f64::from(u8::from(collector.hung)),
    );
}

/// One sink's delivery counters.
fn sink_metrics(b: &mut Builder, sink: &SinkStatus) {
    let at = || labels(&[("sink", &sink.name)]);
    for (name, help, value) in [
        (
            "monitoring_server_sink_handled",
            "Alerts and resolutions the sink delivered",
            sink.handled,
        ),
        (
            "monitoring_server_sink_failed",
            "Alerts and resolutions the sink gave up on",
            sink.failed,
        ),
        (
            "monitoring_server_sink_retried",
            "Retries after retryable sink failures",
            sink.retried,
        ),
        (
            "monitoring_server_sink_dropped",
            "Alerts and resolutions dropped from a full queue",
            sink.dropped,
        ),
    ] {
        b.counter(name, help, at(), value);
    }
    let help = "Alerts and resolutions waiting for the sink";
    b.gauge(
        "monitoring_server_sink_queued",
        help,
        None,
        at(),
        sink.queued as f64,
    );
}

/// The standard `process_*` series, as every Prometheus client exports them.
fn process_metrics(b: &mut Builder, started: Instant) {
    let process = read_process();
    b.bytes(
        "process_resident_memory",
        "Resident memory size",
        vec![],
        process.rss_bytes.map(|v| v as f64),
    );
    if let Some(fds) = process.open_files {
        b.gauge(
            "process_open_fds",
            "Open file descriptors",
            None,
            vec![],
            fds as f64,
        );
    }
    if let Some(threads) = process.threads {
        b.gauge(
            "process_threads",
            "OS threads",
            None,
            vec![],
            threads as f64,
        );
    }
    let uptime = started.elapsed().as_secs_f64();
    let start = chrono::Utc::now().timestamp_micros() as f64 / 1e6 - uptime;
    let help = "When the process started, Unix time";
    b.gauge(
        "process_start_time",
        help,
        Some(Unit::Seconds),
        vec![],
        start,
    );
}
