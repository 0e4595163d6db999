//! What one `exec` run costs (fork + exec + read + parse), and one daemon reading
//! (a newline on its stdin, a line back, parsed), as medians of many on this machine.
//! `cargo run --release -p collector-exec --example exec_cost`

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use collector_exec::config::{plans, Config, Plan};
use collector_exec::state::judge;
use script_formats::process::{run_once, spawn_daemon, ProcessSlot};

const RUNS: usize = 300;

fn plan(command: serde_json::Value) -> Result<Plan, Box<dyn std::error::Error>> {
    let config: Config = serde_json::from_value(serde_json::json!({ "commands": [command] }))?;
    let mut plans = plans(config).map_err(|e| e.message().to_owned())?;
    plans.pop().ok_or_else(|| "no plan".into())
}

fn spread(mut times: Vec<Duration>) -> String {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    format!(
        "median {:?}, p90 {:?} over {} runs",
        at(0.5),
        at(0.9),
        times.len()
    )
}

fn once_cost(name: &str, command: serde_json::Value) -> Result<(), Box<dyn std::error::Error>> {
    let plan = plan(command)?;
    let slot = ProcessSlot::new();
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let outcome = run_once(&plan.spec, plan.timeout, &slot)?;
        judge(&plan, &outcome)?;
        times.push(start.elapsed());
    }
    println!("exec run, {name}: {}", spread(times));
    Ok(())
}

fn daemon_cost() -> Result<(), Box<dyn std::error::Error>> {
    let plan = plan(serde_json::json!({
        "name": "echo-daemon", "mode": "daemon", "format": "json", "signal": "stdin",
        "command": ["/bin/sh", "-c", "while read -r _; do echo '{\"value\": 42, \"ok\": true}'; done"]
    }))?;
    let slot = ProcessSlot::new();
    let (daemon, pipes) = spawn_daemon(&plan.spec, true, &slot)?;
    let mut stdin = pipes.stdin.ok_or("no stdin")?;
    let mut stdout = BufReader::new(pipes.stdout);
    let mut line = String::new();
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        stdin.write_all(b"\n")?;
        stdin.flush()?;
        line.clear();
        stdout.read_line(&mut line)?;
        script_formats::json::parse(&line)?;
        times.push(start.elapsed());
    }
    drop(stdin);
    daemon.finish(Duration::from_secs(1), &slot);
    println!(
        "daemon reading (stdin signal → json line → parsed): {}",
        spread(times)
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    once_cost(
        "/bin/echo printing one JSON object",
        serde_json::json!({"name": "echo", "format": "json",
            "command": ["/bin/echo", "{\"value\": 42, \"ok\": true}"]}),
    )?;
    once_cost(
        "/bin/sh -c printing 3 Prometheus samples",
        serde_json::json!({"name": "sh", "format": "prometheus", "shell": true,
            "command": "printf '# TYPE a gauge\\na 1\\nb{x=\"y\"} 2\\nc 3\\n'"}),
    )?;
    let check_load = "/usr/lib/nagios/plugins/check_load";
    if std::path::Path::new(check_load).is_file() {
        once_cost(
            "Nagios check_load",
            serde_json::json!({"name": "load", "format": "nagios",
                "command": [check_load, "-w", "5,5,5", "-c", "9,9,9"]}),
        )?;
    }
    daemon_cost()
}
