//! Files → running plugin instances: find and check libraries ([`loader`]) from private
//! copies that no one can overwrite under the server ([`staging`]), each first
//! opened in a child process that may crash in the server's stead ([`probe`], the
//! child's side in [`probe_child`]), name what a plugin is ([`identity`]), build
//! collectors and sinks from their `plugins.toml` tables and record what became of
//! every file ([`registry`]), and run the collectors under the host's deadlines and
//! back-off ([`scheduler`]).
//!
//! This is the first stage of the data path; it imports nothing downstream of it.

pub mod identity;
pub mod loader;
pub mod probe;
pub mod probe_child;
pub mod registry;
pub mod scheduler;
pub mod staging;
