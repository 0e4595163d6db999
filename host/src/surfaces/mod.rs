//! Read-only views of what the pipeline produced: the WebSocket stream ([`ws`]), the
//! HTTP routes ([`http`]: dashboard, JSON API, `/health`, `/metrics`), served by the
//! accept loop of [`crate::accept`], which knows none of them.
//!
//! Surfaces sit at the end of the data path: they import the pipeline, the alerts and
//! the plugin records, and nothing upstream imports them. The only writes a surface
//! makes are the admin commands that go through [`crate::alerts::AlertControl`] and
//! the silences and acknowledgements ([`silences`]).
//!
//! There is no shared server state: [`crate::run`] hands each surface the few handles
//! it reads ([`ws::context::SessionContext`], [`api::ApiSources`],
//! [`health::HealthSources`], [`metrics::MetricsSources`]); the one reading that
//! `get_status`, `/health` and `/metrics` share is [`status`], and every JSON reply
//! and error is shaped by [`reply`].

pub mod access;
pub mod api;
pub mod dashboard;
pub mod health;
pub mod history_reply;
pub mod http;
pub mod lookback;
pub mod metrics;
pub mod reply;
pub mod silences;
pub mod status;
pub mod ws;
