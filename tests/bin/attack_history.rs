//! `attack-history`: issue 20 item 1's attack on `/api/history`, against a running
//! server on 127.0.0.1, reporting the server's peak RSS and CPU (`bench/security.sh`
//! runs it against the old and the new server).
//!
//! ```text
//! attack-history --port N --seconds S [--pid P] [--readers 200] [--slow 200]
//!                [--addresses 3] [--count 1000]
//! ```

#[path = "../attacks/history.rs"]
mod attack;

use std::time::Duration;

fn usage(problem: &str) -> ! {
    eprintln!(
        "attack-history: {problem}\nusage: attack-history --port N --seconds S [--pid P] \
         [--readers N] [--slow N per address] [--addresses N] [--count N]"
    );
    std::process::exit(2);
}

fn main() {
    let mut knobs = attack::Knobs {
        port: 0,
        duration: Duration::from_secs(10),
        readers: 200,
        slow_per_address: 200,
        addresses: 3,
        count: 1000,
        pid: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else {
            usage(&format!("{flag} needs a value"));
        };
        let number = |value: &str| -> u64 {
            value
                .parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {value}")))
        };
        match flag.as_str() {
            "--port" => knobs.port = number(&value) as u16,
            "--seconds" => knobs.duration = Duration::from_secs(number(&value)),
            "--pid" => knobs.pid = Some(number(&value) as u32),
            "--readers" => knobs.readers = number(&value) as usize,
            "--slow" => knobs.slow_per_address = number(&value) as usize,
            "--addresses" => knobs.addresses = number(&value).clamp(1, 250) as u8,
            "--count" => knobs.count = number(&value) as usize,
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    if knobs.port == 0 {
        usage("--port is required");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| usage(&format!("cannot start a runtime: {e}")));
    let outcome = runtime.block_on(attack::run(knobs.clone()));
    println!(
        "attack-history: {} s, {} readers, {} slow × {} addresses, count={}",
        knobs.duration.as_secs(),
        knobs.readers,
        knobs.slow_per_address,
        knobs.addresses,
        knobs.count
    );
    println!(
        "replies: {} ok ({:.1} MB read), {} busy (503), {} failed",
        outcome.replies_ok,
        outcome.bytes_read as f64 / 1e6,
        outcome.replies_busy,
        outcome.failures
    );
    println!(
        "slow readers: {} opened, {} cut by the server, {} still served, {} refused",
        outcome.slow_opened, outcome.slow_cut, outcome.slow_alive, outcome.slow_refused
    );
    if knobs.pid.is_some() {
        println!(
            "server: peak RSS {:.1} MB (VmHWM {:.1} MB), CPU {:.1} s",
            outcome.peak_rss_kib as f64 / 1024.0,
            outcome.hwm_kib as f64 / 1024.0,
            outcome.cpu_seconds
        );
    }
}
