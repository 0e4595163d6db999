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
//! Snapshot metrics are named `system_*` after the seed's Prometheus example, in base
//! units (bytes, hertz, seconds, celsius, watts) with percentages as `_percent`; per-core
//! series carry `cpu`, disks `path`, GPUs `gpu_id`. Sections from third-party collectors
//! are flattened: `system_<section>_<field>`, array elements labelled `index`. The
//! machine sections of issue 14 (network, disk I/O, load, sensors) take node_exporter's
//! names instead (`node_network_receive_bytes_total{device}`, …; see `machine.rs`). The
//! server's own numbers are `monitoring_server_*` and the standard `process_*`.

use std::sync::Arc;

use crate::alerts::AlertLog;
use crate::fleet::Fleet;
use crate::surfaces::status::{Reading, StatusSources};

mod builder;
mod fleet;
mod generic;
mod machine;
mod server;
mod snapshot;

use builder::Builder;
#[cfg(test)]
use generic::{generic, sanitize};
use server::server_metrics;
use snapshot::snapshot_metrics;

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
        snapshot_metrics(&mut builder, frame);
    }
    server_metrics(&mut builder, &reading, &sources.alert_log);
    fleet::fleet_metrics(&mut builder, sources.fleet.as_deref());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_format() {
        assert_eq!(Format::from_accept(None), Format::Prometheus);
        assert_eq!(Format::from_accept(Some("text/plain")), Format::Prometheus);
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize("fan-speed.rpm"), "fan_speed_rpm");
        assert_eq!(sanitize("3d"), "_3d");
    }

    #[test]
    fn third_party_sections_are_flattened_with_index_labels() {
        let mut b = Builder::default();
        let value =
            serde_json::json!({"fans": [{"rpm": 1200}, {"rpm": 900}], "ok": true, "temp": 40.5});
        generic(&mut b, "system_sensors", &value, &[], 0);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, b.registry())
            .expect("encodes");
        assert!(
            text.contains("system_sensors_fans_rpm{index=\"1\"} 900"),
            "{text}"
        );
        assert!(text.contains("system_sensors_temp 40.5"), "{text}");
        assert!(!text.contains("_ok"), "{text}");
    }
}
