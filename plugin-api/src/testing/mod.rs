//! Contract checks every plugin's tests run, so each plugin is held to the rules the
//! host relies on, through the same root module, `extern "C"` constructors and JSON the
//! host uses (not only the Rust traits):
//! - [`check_collector`]: builds from `{}`, refuses unknown settings, returns a JSON
//!   object of sections whose numbers are sane (finite, percentages within 0–100,
//!   used ≤ total), and built-in sections that match their schema in [`sections`](crate::sections).
//! - [`check_sink`]: takes an alert, a resolution, a snapshot, an event kind it does not
//!   know and a flush.
//! - [`sample_alert`] and [`sample_snapshot`]: events for other tests to reuse.
//! - [`collect_cost`]: the timing behind each collector's `cost` example.

mod collector;
mod cost;
mod sections;
mod sink;

pub use collector::{check_collector, collector_compliance};
pub use cost::{collect_cost, CollectCost};
pub use sections::check_sections;
pub use sink::{
    check_sink, sample_alert, sample_sections, sample_snapshot, sink_compliance, Delivery,
};
