//! What the alert lifecycle costs the collection loop, on a gateway's worst day: the
//! alerts of `HOSTS` hosts (three each, so a group per host and receiver) in the book,
//! `RECEIVERS` sinks, and every tick a sync of this server's own alerts and a flush.
//!
//! Prints, for each phase, the median and 90th percentile of one call over many, in
//! microseconds: the flush of a quiet tick (nothing due), a flush where one host's
//! group changed, and the sync of one host's news. Run in release:
//! `cargo run --release -p monitoring-websocket-server --example lifecycle_cost`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use monitoring_plugin_api::{Alert, AlertLevel};
use monitoring_websocket_server::alerts::lifecycle::{
    fingerprint, Board, Lifecycle, Policy, Receiver,
};
use monitoring_websocket_server::alerts::silences::Silences;

const HOSTS: usize = 2_000;
const RECEIVERS: usize = 7;
const ROUNDS: usize = 200;

fn alerts(host: &str, level: AlertLevel) -> Vec<Alert> {
    [
        "memory_usage_percent",
        "disk_usage_percent",
        "cpu_usage_percent",
    ]
    .iter()
    .map(|rule| Alert {
        timestamp: "2026-12-07T10:00:00.000000".into(),
        component: rule.split('_').next().unwrap_or("x").into(),
        metric: "usage_percent".into(),
        value: 91.0,
        threshold: 90.0,
        level,
        message: format!("High {rule} on {host}"),
        host: host.into(),
        labels: [("alertname".to_owned(), (*rule).to_owned())].into(),
        starts_at: "2026-12-07T09:00:00.000Z".into(),
        fingerprint: fingerprint(rule, host, ""),
        ..Alert::default()
    })
    .collect()
}

/// (median, p90) in microseconds.
fn spread(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.9))
}

fn main() {
    // Changes go out a second after they happen; repeats only after an hour.
    let policy = Policy {
        group_wait: Duration::ZERO,
        group_interval: Duration::from_secs(1),
        repeat_interval: Duration::from_secs(3600),
        ..Policy::default()
    };
    let mut lifecycle = Lifecycle::new(policy, Silences::default(), Board::default());
    let names: Vec<String> = (0..RECEIVERS).map(|i| format!("sink-{i}")).collect();
    let accept = |_: &Alert| true;
    let receivers: Vec<Receiver<'_>> = names
        .iter()
        .map(|name| Receiver {
            name,
            accepts: &accept,
        })
        .collect();
    let start = Instant::now();
    let wall0: DateTime<Utc> = Utc::now();
    let mut clock = 0.0_f64;
    let mut tick = |step: f64| {
        clock += step;
        (
            start + Duration::from_secs_f64(clock),
            wall0 + chrono::Duration::milliseconds((clock * 1000.0) as i64),
        )
    };
    let hosts: Vec<String> = (0..HOSTS).map(|i| format!("web-{i}")).collect();
    let (now, wall) = tick(0.0);
    for host in &hosts {
        lifecycle.sync(host, &alerts(host, AlertLevel::Warning), now, wall);
    }
    let began = Instant::now();
    let first = lifecycle.flush(now, wall, &receivers, None);
    println!(
        "book: {HOSTS} hosts x 3 alerts, {RECEIVERS} receivers; the first flush sends {} \
         notifications in {:.1} ms",
        first.len(),
        began.elapsed().as_secs_f64() * 1e3
    );

    let own = alerts("gateway", AlertLevel::Warning);
    let mut quiet = Vec::with_capacity(ROUNDS);
    let mut news = Vec::with_capacity(ROUNDS);
    let mut changed = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        // A quiet tick: this server's own sync and a flush with nothing due.
        let (now, wall) = tick(0.5);
        let began = Instant::now();
        lifecycle.sync("gateway", &own, now, wall);
        lifecycle.flush(now, wall, &receivers, None);
        quiet.push(began.elapsed());
        // One more host escalates (news); a second later its groups are due.
        let host = &hosts[round % HOSTS];
        let level = AlertLevel::Critical;
        let (now, wall) = tick(0.5);
        let began = Instant::now();
        lifecycle.sync(host, &alerts(host, level), now, wall);
        news.push(began.elapsed());
        let (now, wall) = tick(1.0);
        let began = Instant::now();
        let due = lifecycle.flush(now, wall, &receivers, None);
        changed.push(began.elapsed());
        assert!(!due.is_empty(), "a changed group is sent");
    }
    for (name, samples) in [
        ("quiet tick (own sync + flush)", quiet),
        ("one host's news (sync)", news),
        ("flush sending one group", changed),
    ] {
        let (median, p90) = spread(samples);
        println!("{name:32} median {median:9.1} µs   p90 {p90:9.1} µs");
    }
    // Every group repeats at once, an hour on.
    let (now, wall) = tick(3600.0);
    let began = Instant::now();
    let storm = lifecycle.flush(now, wall, &receivers, None);
    println!(
        "repeat of every group at once: {} notifications in {:.1} ms",
        storm.len(),
        began.elapsed().as_secs_f64() * 1e3
    );
}
