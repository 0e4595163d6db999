//! Where a fleet host stands, in its own module: the view ([`super::hosts`]) builds
//! the overview rows ([`super::summaries`]) and both name the state, so the rows need
//! not import the view (the layout rule forbids the circle).

use serde::Serialize;

/// Where a host stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HostState {
    /// Frames arrive.
    Up,
    /// No frame for the stale window.
    Stale,
    /// No frame for the gone window.
    Gone,
}
