//! The cost of one `collect()` on this machine (see `testing::collect_cost`).
//! `cargo run --release -p collector-load --example cost`

use collector_load::{Config, LoadCollector};
use monitoring_plugin_api::testing::collect_cost;
use monitoring_plugin_api::Collector;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut collector = LoadCollector::new(Config::default())?;
    let cost = collect_cost(&mut collector, |_| {})?;
    println!("load: {cost}");
    Ok(())
}
