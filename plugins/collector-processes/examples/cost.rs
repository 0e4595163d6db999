//! The cost of one `collect()` on this machine (see `testing::collect_cost`).
//! `cargo run --release -p collector-processes --example cost`

use collector_processes::{Config, ProcessesCollector};
use monitoring_plugin_api::testing::collect_cost;
use monitoring_plugin_api::Collector;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut collector = ProcessesCollector::new(Config::default())?;
    let mut total = 0;
    let cost = collect_cost(&mut collector, |o| total = o.processes.total)?;
    println!("processes: {cost} ({total} processes)");
    Ok(())
}
