//! Read-only views of what the pipeline produced: the WebSocket stream ([`ws`]), the
//! HTTP routes ([`http`]: dashboard, JSON API, `/health`, `/metrics`), served by the
//! accept loop of [`crate::accept`], which knows none of them.
//!
//! Surfaces sit at the end of the data path: they import the pipeline, the alerts and
//! the plugin records, and nothing upstream imports them. The only writes a surface
//! makes are the admin commands that go through [`crate::alerts::AlertControl`].

pub mod access;
pub mod api;
pub mod dashboard;
pub mod health;
pub mod history_reply;
pub mod http;
pub mod metrics;
pub mod state;
pub mod status;
pub mod ws;
