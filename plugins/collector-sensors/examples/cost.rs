//! The cost of one `collect()` on this machine (see `testing::collect_cost`).
//! `cargo run --release -p collector-sensors --example cost [HWMON_ROOT]`: a machine
//! without sensors needs a recorded or fake hwmon tree as the argument.

use collector_sensors::{Config, SensorsCollector};
use monitoring_plugin_api::testing::collect_cost;
use monitoring_plugin_api::Collector;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut collector = SensorsCollector::new(Config {
        root: std::env::args_os().nth(1).map(Into::into),
    })?;
    let cost = collect_cost(&mut collector, |_| {})?;
    println!("sensors: {cost}");
    Ok(())
}
