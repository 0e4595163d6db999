//! The cost of one `collect()` on this machine (see `testing::collect_cost`).
//! `cargo run --release -p collector-network --example cost`

use collector_network::{Config, NetworkCollector};
use monitoring_plugin_api::testing::collect_cost;
use monitoring_plugin_api::Collector;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut collector = NetworkCollector::new(Config::default())?;
    let mut interfaces = 0;
    let cost = collect_cost(&mut collector, |o| interfaces = o.network.interfaces.len())?;
    println!("network: {cost} ({interfaces} interfaces listed)");
    Ok(())
}
