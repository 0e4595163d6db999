//! `attack-ws`: issue 20's WebSocket frame floods against a server on this host, for
//! `bench/security.sh` and by hand.
//!
//! ```text
//! attack-ws --port N --mode continuation|ping --connections C --seconds S [--reconnect] [--pid P]
//! ```
//!
//! Prints one line per connection (frames sent, the server's close code, when it
//! closed), and with `--pid` the CPU the server process used during the attack.

#[path = "../attacks/ws.rs"]
mod attack;

use std::time::{Duration, Instant};

use attack::Mode;

struct Args {
    port: u16,
    mode: Mode,
    connections: usize,
    seconds: f64,
    reconnect: bool,
    pid: Option<u32>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        mode: Mode::Continuation,
        connections: 2,
        seconds: 5.0,
        reconnect: false,
        pid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--mode" => args.mode = value()?.parse()?,
            "--connections" => {
                args.connections = value()?
                    .parse()
                    .map_err(|e| format!("--connections: {e}"))?
            }
            "--seconds" => {
                args.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?
            }
            "--pid" => args.pid = Some(value()?.parse().map_err(|e| format!("--pid: {e}"))?),
            "--reconnect" => args.reconnect = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.port == 0 {
        return Err("--port is required".into());
    }
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        return Err("--seconds must be in (0, 600]".into());
    }
    if args.connections == 0 || args.connections > 1000 {
        return Err("--connections must be in 1..=1000".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    let args = match parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!(
                "attack-ws: {e}\nusage: attack-ws --port N --mode continuation|ping \
                 --connections C --seconds S [--reconnect] [--pid P]"
            );
            std::process::exit(2);
        }
    };
    let cpu_before = args.pid.map(attack::cpu_time);
    let started = Instant::now();
    let outcomes = attack::run(
        args.port,
        args.mode,
        args.connections,
        Duration::from_secs_f64(args.seconds),
        args.reconnect,
    )
    .await;
    let wall = started.elapsed();
    let mut frames = 0u64;
    for outcome in &outcomes {
        match outcome {
            Ok(o) => {
                frames += o.frames;
                println!(
                    "connection: frames={} pongs={} close_code={} reason={:?} closed_after_ms={}",
                    o.frames,
                    o.pongs,
                    o.close_code.map_or("none".into(), |c| c.to_string()),
                    o.close_reason,
                    o.closed_after
                        .map_or("never".into(), |d| d.as_millis().to_string()),
                );
            }
            Err(e) => println!("connection: failed: {e}"),
        }
    }
    println!(
        "total: mode={:?} connections={} frames={frames} wall_s={:.2}",
        args.mode,
        outcomes.len(),
        wall.as_secs_f64()
    );
    if let (Some(pid), Some(Ok(before))) = (args.pid, cpu_before) {
        match attack::cpu_time(pid) {
            Ok(after) => {
                let used = after.saturating_sub(before).as_secs_f64();
                println!(
                    "server cpu: {used:.2} s over {:.2} s = {:.0} % of one core",
                    wall.as_secs_f64(),
                    100.0 * used / wall.as_secs_f64()
                );
            }
            Err(e) => println!("server cpu: cannot read /proc/{pid}/stat: {e}"),
        }
    }
}
