//! The child's side of [`PROBE_FLAG`](crate::plugins::probe::PROBE_FLAG): the server
//! re-run as a probe loads one library as the loader does and prints one [`Reply`]
//! line. Kept apart from `probe` (the parent's side, which the loader uses) so that
//! imports run one way: this child → `loader` → `probe`.

use std::path::Path;

use crate::plugins::loader;
use crate::plugins::probe::Reply;

/// Loads `path` and prints its [`Reply`]. Returns the exit code: 0 loaded, 1 refused.
pub fn run(path: &Path) -> i32 {
    let (reply, code) = match loader::load(path) {
        Ok(library) => (Reply::Loaded(library.metadata), 0),
        Err(error) => (Reply::Refused { error }, 1),
    };
    match serde_json::to_string(&reply) {
        Ok(line) => println!("{line}"),
        // Nothing printed is read as a failed probe: the file is refused.
        Err(_) => return 2,
    }
    code
}
