//! `GET /metrics`: the latest snapshot and the server's own counters in the Prometheus
//! text format (0.0.4), or OpenMetrics 1.0 when the scraper's `Accept` asks for it.
//!
//! The exposition is written by `prometheus-client` (the official Rust client), never by
//! hand. A fresh registry is built on every scrape from the latest frame and counters:
//! a scrape never triggers a collection, series of a disk or GPU that went away vanish
//! with it instead of going stale, and the collection loop does no metrics work at all.
//! A scrape costs one pass over one snapshot (a few hundred series), which is cheap at
//! any sane scrape interval.
//!
//! The snapshot's series come from `metric-families`, the one mapping from a snapshot to
//! names and labels that the `remote-write` sink uses too (its docs list the names):
//! `system_*` for the core sections, node_exporter's names for the machine sections,
//! `system_<section>_<field>` for third-party ones, and the names a script chose for
//! the sections scripts make (issue 24), written after all of ours so ours win a clash.
//! The server's own numbers are `monitoring_server_*` and the standard `process_*`.

use std::sync::Arc;

use crate::alerts::AlertLog;
use crate::fleet::Fleet;
use crate::surfaces::status::{Reading, StatusSources};

mod builder;
mod fleet;
mod server;
#[cfg(test)]
mod tests;

use builder::Builder;
use metric_families::{core_series, scripted_series};
use server::server_metrics;

/// What a scrape reads: the status every surface reports, the alert log's count and
/// the fleet link.
pub struct MetricsSources {
    /// The reading `get_status` and `/health` are made of too.
    pub status: Arc<StatusSources>,
    /// Notifications fired since start.
    pub alert_log: AlertLog,
    /// The fleet link; `None` without `[fleet]`.
    pub fleet: Option<Arc<Fleet>>,
}

/// The exposition format a scraper gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when `Accept` names it (Prometheus itself asks for it first),
    /// the classic text format otherwise.
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Self::OpenMetrics,
            _ => Self::Prometheus,
        }
    }

    /// The `Content-Type` of the reply.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The exposition of the latest frame and counters of `sources`.
pub fn render(sources: &MetricsSources, format: Format) -> Result<String, std::fmt::Error> {
    let mut builder = Builder::default();
    let reading = Reading::of(&sources.status, std::time::Instant::now());
    if let Some(frame) = &reading.frame {
        core_series(&mut builder, &frame.snapshot.data);
    }
    server_metrics(&mut builder, &reading, &sources.alert_log);
    fleet::fleet_metrics(&mut builder, sources.fleet.as_deref());
    if let Some(frame) = &reading.frame {
        scripted_series(&mut builder, &frame.snapshot.data);
    }
    let mut text = String::new();
    match format {
        Format::Prometheus => {
            prometheus_client::encoding::prometheus_text::encode(&mut text, builder.registry())?;
        }
        Format::OpenMetrics => {
            prometheus_client::encoding::text::encode(&mut text, builder.registry())?;
        }
    }
    Ok(text)
}
