//! The fleet link in `/metrics`: the NATS connection's state, what was published,
//! dropped and received, and, on a gateway, how many hosts are up, stale and gone.

use metric_families::{labels, Emit};

use super::builder::Builder;
use crate::fleet::status::Connection;
use crate::fleet::Fleet;

/// Adds the fleet's metrics when `[fleet]` is configured.
pub(super) fn fleet_metrics(b: &mut Builder, fleet: Option<&Fleet>) {
    let Some(fleet) = fleet else {
        return;
    };
    let report = fleet.status.report();
    for (name, current) in [
        ("connecting", Connection::Connecting),
        ("connected", Connection::Connected),
        ("disconnected", Connection::Disconnected),
        ("auth_refused", Connection::AuthRefused),
    ] {
        b.gauge(
            "monitoring_fleet_connection",
            "1 for the NATS connection's current state, 0 for the others",
            None,
            labels(&[("state", name)]),
            f64::from(u8::from(report.connection == current)),
        );
    }
    for (name, help, value) in [
        (
            "monitoring_fleet_connects",
            "Times the NATS connection was made or remade",
            report.connects,
        ),
        (
            "monitoring_fleet_frames_published",
            "Frames published to NATS",
            report.frames_published,
        ),
        (
            "monitoring_fleet_alerts_published",
            "Alert events published to NATS",
            report.alerts_published,
        ),
        (
            "monitoring_fleet_dropped",
            "Frames and alert batches not published: buffer full or NATS away",
            report.dropped,
        ),
        (
            "monitoring_fleet_publish_errors",
            "Publishes the NATS client refused",
            report.publish_errors,
        ),
        (
            "monitoring_fleet_frames_received",
            "Frames received from the fleet (gateway)",
            report.frames_received,
        ),
        (
            "monitoring_fleet_alerts_received",
            "Alert events received from the fleet (gateway)",
            report.alerts_received,
        ),
        (
            "monitoring_fleet_frames_oversize",
            "Fleet frames refused unread for being larger than max_frame_bytes (gateway)",
            report.frames_oversize,
        ),
        (
            "monitoring_fleet_frames_dropped",
            "Fleet messages the NATS client dropped while the gateway was behind (gateway)",
            report.frames_dropped,
        ),
    ] {
        b.counter(name, help, vec![], value);
    }
    if let Some(gateway) = &fleet.gateway {
        let (up, stale, gone) = gateway.counts();
        for (name, count) in [("up", up), ("stale", stale), ("gone", gone)] {
            b.gauge(
                "monitoring_fleet_hosts",
                "Fleet hosts by state (gateway)",
                None,
                labels(&[("state", name)]),
                count as f64,
            );
        }
    }
}
