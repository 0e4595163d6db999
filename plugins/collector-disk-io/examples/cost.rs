//! The cost of one `collect()` on this machine (see `testing::collect_cost`).
//! `cargo run --release -p collector-disk-io --example cost`

use collector_disk_io::{Config, DiskIoCollector};
use monitoring_plugin_api::testing::collect_cost;
use monitoring_plugin_api::Collector;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut collector = DiskIoCollector::new(Config::default())?;
    let mut devices = 0;
    let cost = collect_cost(&mut collector, |o| devices = o.disk_io.devices.len())?;
    println!("disk-io: {cost} ({devices} devices listed)");
    Ok(())
}
