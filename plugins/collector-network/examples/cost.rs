//! The cost of one `collect()` on this machine: the median of 200 calls, after a few
//! warm-up calls. Run with `cargo run --release -p collector-network --example cost`.

use std::time::{Duration, Instant};

use collector_network::{Config, NetworkCollector};
use monitoring_plugin_api::Collector;

const CALLS: usize = 200;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut collector = NetworkCollector::new(Config::default())?;
    for _ in 0..5 {
        collector.collect()?;
    }
    let mut times: Vec<Duration> = Vec::with_capacity(CALLS);
    let mut interfaces = 0;
    for _ in 0..CALLS {
        let start = Instant::now();
        let output = collector.collect()?;
        times.push(start.elapsed());
        interfaces = output.network.interfaces.len();
    }
    times.sort_unstable();
    println!(
        "network: median {:?}, p90 {:?} per collect() over {CALLS} calls ({interfaces} interfaces listed)",
        times[CALLS / 2],
        times[CALLS * 9 / 10]
    );
    Ok(())
}
