//! Library (not a plugin) shared by the `network` and `disk-io` collectors: per-second
//! rates from the kernel's cumulative counters (against a [`Baseline`]), and the `include`/`exclude` name lists
//! of their settings. Both collectors must treat a counter that went backwards, and a
//! pattern like `veth*`, the same way, so the rule is written once, here.

mod baseline;
mod counter;
mod names;

pub use baseline::Baseline;
pub use counter::{delta, per_second, round1};
pub use names::{NameList, NamePattern, PatternError};
