//! The cost of one `collect()` in this build: median and 90th percentile over 200
//! calls. `cargo run --release -p collector-load --example cost`
use std::time::{Duration, Instant};

use collector_load::{Config, LoadCollector};
use monitoring_plugin_api::Collector;

fn main() -> Result<(), String> {
    let mut collector = LoadCollector::new(Config::default()).map_err(|e| e.to_string())?;
    let mut times: Vec<Duration> = (0..200)
        .map(|_| {
            let start = Instant::now();
            let result = collector.collect();
            let elapsed = start.elapsed();
            result.map(|_| elapsed).map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    times.sort_unstable();
    println!(
        "load: median {:?}, p90 {:?} over {} calls",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times.len()
    );
    Ok(())
}
