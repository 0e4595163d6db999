//! Runs issue 20's fleet attacks against a NATS bus, for `bench/security.sh`:
//!
//! ```text
//! attack-fleet --nats nats://127.0.0.1:4222 --mode names|big [--hosts N] [--seconds S]
//!              [--bytes B] [--token T] [--prefix monitoring]
//! ```
//!
//! `names`: each round publishes N tiny frames under N new host names (default 5000);
//! `big`: each round publishes one frame of B bytes (default 1,000,000) from each of N
//! hosts (default 300). A round starts every second for S seconds (default 0: one
//! round). The token may also come from `MONITORING_ATTACK_NATS_TOKEN`.

#[path = "../attacks/fleet.rs"]
mod attack;

use std::time::{Duration, Instant};

fn value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .map(String::as_str)
}

fn number(args: &[String], name: &str, default: usize) -> usize {
    match value(args, name) {
        None => default,
        Some(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("{name} wants a whole number, got {text:?}");
            std::process::exit(2)
        }),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(mode)) = (value(&args, "--nats"), value(&args, "--mode")) else {
        eprintln!("usage: attack-fleet --nats URL --mode names|big [--hosts N] [--seconds S] [--bytes B] [--token T] [--prefix P]");
        std::process::exit(2)
    };
    let big = match mode {
        "names" => false,
        "big" => true,
        other => {
            eprintln!("--mode is names or big, got {other:?}");
            std::process::exit(2)
        }
    };
    let hosts = number(&args, "--hosts", if big { 300 } else { 5000 });
    let bytes = number(&args, "--bytes", 1_000_000);
    let seconds = number(&args, "--seconds", 0);
    let prefix = value(&args, "--prefix").unwrap_or("monitoring");
    let token = value(&args, "--token")
        .map(str::to_owned)
        .or_else(|| std::env::var("MONITORING_ATTACK_NATS_TOKEN").ok());
    let client = match attack::connect(url, token.as_deref()).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    };
    let start = Instant::now();
    let mut round = 0;
    loop {
        let sent = if big {
            attack::big(&client, prefix, hosts, bytes).await
        } else {
            attack::names(&client, prefix, round, hosts).await
        };
        match sent {
            Ok(sent) => println!(
                "round {round}: {} messages, {} bytes in {:.3} s",
                sent.messages,
                sent.bytes,
                sent.elapsed.as_secs_f64()
            ),
            Err(e) => {
                eprintln!("round {round}: {e}");
                std::process::exit(1)
            }
        }
        round += 1;
        let next = Duration::from_secs(round as u64);
        if next >= Duration::from_secs(seconds as u64) {
            break;
        }
        tokio::time::sleep(next.saturating_sub(start.elapsed())).await;
    }
}
