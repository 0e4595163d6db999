//! `fleetbench`: the two halves of issue 12's benchmark (`bench/fleet.sh` runs them).
//!
//! ```text
//! fleetbench publish --nats nats://127.0.0.1:4222 --hosts 100 --template frame.json [--token T] [--prefix monitoring]
//! fleetbench watch --url ws://127.0.0.1:8765/ws --pid 1234 --clients 100 --duration 20
//! ```
//!
//! `publish` is the synthetic publisher mode: N fake hosts (`synthetic-0001`, …) each
//! publishing a real-sized frame at 2 Hz, their phases spread over the tick as real,
//! unsynchronized hosts would be. The frame is a real `monitoring_data` message
//! (captured from a server) whose `timestamp` is rewritten with the publishing time,
//! so the watcher can measure publisher → gateway client latency.
//!
//! `watch` opens `--clients` WebSocket clients on the gateway, each subscribed to
//! `hosts: ["*"]`, plus one seed client (no `hosts`) that times the gateway's own tick.
//! With `--overview K --single M` (issue 26's mix) it opens instead K overview clients
//! subscribed to `{"hosts":["*"],"detail":"summary"}` (their bytes per second are
//! reported) and M clients each following one host (`synthetic-0001`, …).
//! It reports fleet messages received, the latency (receipt − `timestamp`, on one
//! client, which parses every message), the gap p50/p99/max of the gateway's own tick,
//! and the gateway's CPU % and RSS from /proc over the window.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn number(args: &[String], name: &str, default: u64) -> u64 {
    arg(args, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("publish") => publish(&args).await,
        Some("watch") => watch(&args).await,
        _ => {
            eprintln!("usage: fleetbench publish|watch … (see the file's doc)");
            std::process::exit(2);
        }
    }
}

/// Local time as the seed writes it.
fn now_stamp() -> String {
    chrono::Local::now()
        .naive_local()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

async fn publish(args: &[String]) {
    let url = arg(args, "--nats").unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let hosts = number(args, "--hosts", 10) as usize;
    let prefix = arg(args, "--prefix").unwrap_or_else(|| "monitoring".into());
    let template = arg(args, "--template").expect("--template frame.json");
    let template = std::fs::read_to_string(&template).expect("read the template");
    let mut frame: serde_json::Value = serde_json::from_str(&template).expect("a JSON frame");
    // Split once around five markers (the timestamp, CPU, memory and network rates):
    // each publish is then a few copies, no serializing. Every host's CPU and network
    // rates move every frame and its memory every few seconds, as a real machine's
    // do, so overviews get the changes a real fleet makes.
    const MARKERS: [&str; 5] = ["@@timestamp@@", "@@cpu@@", "@@memory@@", "@@rx@@", "@@tx@@"];
    frame["timestamp"] = serde_json::Value::String(MARKERS[0].into());
    frame["data"]["processor"]["usage_percent"] = serde_json::Value::String(MARKERS[1].into());
    frame["data"]["memory"]["percentage"] = serde_json::Value::String(MARKERS[2].into());
    frame["data"]["network"]["rx_bytes_per_sec"] = serde_json::Value::String(MARKERS[3].into());
    frame["data"]["network"]["tx_bytes_per_sec"] = serde_json::Value::String(MARKERS[4].into());
    let text = frame.to_string();
    // The markers in the order they appear (a map's keys are sorted), each replaced
    // with its value in that order when publishing.
    let mut found: Vec<(usize, usize, usize)> = MARKERS
        .iter()
        .enumerate()
        .map(|(which, marker)| {
            let quoted = format!("\"{marker}\"");
            let at = text.find(&quoted).expect("the marker");
            (at, at + quoted.len(), which)
        })
        .collect();
    found.sort_unstable();
    let mut pieces: Vec<String> = Vec::new();
    let mut from = 0;
    for (start, end, _) in &found {
        pieces.push(text[from..*start].to_owned());
        from = *end;
    }
    pieces.push(text[from..].to_owned());
    let order: Vec<usize> = found.iter().map(|(_, _, which)| *which).collect();
    let mut options = async_nats::ConnectOptions::new().client_capacity(65_536);
    if let Some(token) = arg(args, "--token") {
        options = options.token(token);
    }
    let client = options
        .connect(url.as_str())
        .await
        .expect("connect to NATS");
    let subjects: Vec<String> = (1..=hosts)
        .map(|i| format!("{prefix}.synthetic-{i:04}.data"))
        .collect();
    eprintln!(
        "publishing {hosts} hosts × 2 Hz, {} bytes per frame",
        text.len()
    );
    // 50 slots of 10 ms per 500 ms tick; host i publishes in slot i % 50.
    const SLOTS: usize = 50;
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    let mut slot = 0usize;
    let mut round = 0u64;
    loop {
        ticker.tick().await;
        let stamp = now_stamp();
        for (index, subject) in subjects.iter().enumerate().skip(slot).step_by(SLOTS) {
            let seed = index as u64 * 7919 + round * 104_729;
            let cpu = (seed % 1000) as f64 / 10.0;
            let memory = 20.0 + ((index as u64 * 31 + round / 8) % 600) as f64 / 10.0;
            let (rx, tx) = (seed % 2_000_000, seed % 300_000);
            let values = [
                format!("\"{stamp}\""),
                cpu.to_string(),
                memory.to_string(),
                rx.to_string(),
                tx.to_string(),
            ];
            let mut payload = String::with_capacity(text.len() + 64);
            for (piece, which) in pieces.iter().zip(&order) {
                payload.push_str(piece);
                payload.push_str(&values[*which]);
            }
            payload.push_str(pieces.last().map_or("", String::as_str));
            let payload = bytes::Bytes::from(payload);
            if client.publish(subject.clone(), payload).await.is_err() {
                eprintln!("publish failed");
            }
        }
        slot = (slot + 1) % SLOTS;
        if slot == 0 {
            round += 1;
        }
    }
}

/// (utime + stime in seconds, RSS in MiB) of `pid`.
fn proc_usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the `)`: field 0 is state; utime and stime are 11 and 12.
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    (cpu, rss_kib / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn watch(args: &[String]) {
    let url = arg(args, "--url").expect("--url ws://…/ws");
    let pid = number(args, "--pid", 0) as u32;
    let clients = number(args, "--clients", 100) as usize;
    let duration = Duration::from_secs(number(args, "--duration", 20));
    let warmup = Duration::from_secs(3);
    let start = Instant::now() + warmup;
    let end = start + duration;

    let overview = number(args, "--overview", 0) as usize;
    let single = number(args, "--single", 0) as usize;
    let mix = overview + single > 0;
    let subscriptions: Vec<String> = if mix {
        (0..single)
            .map(|i| {
                format!(
                    r#"{{"type":"subscribe","hosts":["synthetic-{:04}"]}}"#,
                    i + 1
                )
            })
            .collect()
    } else {
        vec![r#"{"type":"subscribe","hosts":["*"]}"#.to_owned(); clients]
    };
    let overview_bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut overview_tasks = Vec::new();
    for _ in 0..overview {
        let (url, counted) = (url.clone(), overview_bytes.clone());
        overview_tasks.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(&url)
                .await
                .expect("connect to the gateway");
            ws.send(Message::text(
                r#"{"type":"subscribe","hosts":["*"],"detail":"summary"}"#,
            ))
            .await
            .expect("subscribe");
            while let Ok(Some(Ok(message))) = tokio::time::timeout_at(end.into(), ws.next()).await {
                if Instant::now() >= start {
                    let size = message.len() as u64;
                    counted.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    let mut fleet_tasks = Vec::new();
    for (index, subscription) in subscriptions.into_iter().enumerate() {
        let url = url.clone();
        fleet_tasks.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(&url)
                .await
                .expect("connect to the gateway");
            ws.send(Message::text(subscription))
                .await
                .expect("subscribe");
            let (mut received, mut latencies) = (0u64, Vec::new());
            while let Ok(Some(Ok(message))) = tokio::time::timeout_at(end.into(), ws.next()).await {
                let Message::Text(text) = message else {
                    continue;
                };
                if Instant::now() < start || !text.as_str().starts_with("{\"host\"") {
                    continue;
                }
                received += 1;
                if index == 0 {
                    let value: serde_json::Value =
                        serde_json::from_str(text.as_str()).unwrap_or_default();
                    let sent = value["timestamp"].as_str().and_then(|t| {
                        chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.6f").ok()
                    });
                    if let Some(sent) = sent {
                        let now = chrono::Local::now().naive_local();
                        latencies
                            .push((now - sent).num_microseconds().unwrap_or(0) as f64 / 1000.0);
                    }
                }
            }
            (received, latencies)
        }));
    }
    // The seed client times the gateway's own ticks on a thread (and runtime) of its
    // own: on the generators' one core, a task among the overview clients' would wait
    // behind their reading of each second's batch and time this process, not the
    // gateway.
    let own_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let own = std::thread::spawn(move || {
        own_runtime.block_on(async move {
            let url = url.clone();
            let (mut ws, _) = tokio_tungstenite::connect_async(&url)
                .await
                .expect("connect to the gateway");
            let (mut last, mut gaps) = (None::<Instant>, Vec::new());
            // The same gaps by the snapshots' own timestamps: the tick itself, without
            // the delivery (and this generator's own scheduling).
            let (mut last_taken, mut taken_gaps) = (None::<chrono::NaiveDateTime>, Vec::new());
            while let Ok(Some(Ok(message))) = tokio::time::timeout_at(end.into(), ws.next()).await {
                let Message::Text(text) = message else {
                    continue;
                };
                if !text.as_str().contains("\"type\":\"monitoring_data\"") {
                    continue;
                }
                let now = Instant::now();
                if let Some(last) = last.filter(|_| now >= start) {
                    gaps.push((now - last).as_secs_f64() * 1000.0);
                }
                last = Some(now);
                let taken = serde_json::from_str::<serde_json::Value>(text.as_str())
                    .ok()
                    .and_then(|value| {
                        chrono::NaiveDateTime::parse_from_str(
                            value["timestamp"].as_str()?,
                            "%Y-%m-%dT%H:%M:%S%.6f",
                        )
                        .ok()
                    });
                if let (Some(taken), Some(before)) = (taken, last_taken.filter(|_| now >= start)) {
                    taken_gaps
                        .push((taken - before).num_microseconds().unwrap_or(0) as f64 / 1000.0);
                }
                last_taken = taken.or(last_taken);
            }
            (gaps, taken_gaps)
        })
    });
    tokio::time::sleep_until(start.into()).await;
    let (cpu_before, _) = proc_usage(pid);
    tokio::time::sleep_until(end.into()).await;
    let (cpu_after, rss) = proc_usage(pid);
    let mut received = 0;
    let mut latencies = Vec::new();
    for task in fleet_tasks {
        if let Ok((count, mut l)) = task.await {
            received += count;
            latencies.append(&mut l);
        }
    }
    for task in overview_tasks {
        let _ = task.await;
    }
    let (mut gaps, mut taken_gaps) = own.join().unwrap_or_default();
    taken_gaps.sort_by(f64::total_cmp);
    latencies.sort_by(f64::total_cmp);
    gaps.sort_by(f64::total_cmp);
    let seconds = duration.as_secs_f64();
    let clients = if mix {
        format!("{overview}+{single}")
    } else {
        clients.to_string()
    };
    println!(
        "clients={clients} overview_client_bytes_per_s={:.0} fleet_msgs_per_s={:.0} latency_ms_p50={:.1} latency_ms_p99={:.1} \
         own_gap_ms_p50={:.1} own_gap_ms_p99={:.1} own_gap_ms_max={:.1} tick_gap_ms_p99={:.1} cpu_percent={:.1} rss_mib={:.1}",
        overview_bytes.load(std::sync::atomic::Ordering::Relaxed) as f64 / seconds / overview.max(1) as f64,
        received as f64 / seconds,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&gaps, 0.5),
        percentile(&gaps, 0.99),
        gaps.last().copied().unwrap_or(f64::NAN),
        percentile(&taken_gaps, 0.99),
        (cpu_after - cpu_before) / seconds * 100.0,
        rss,
    );
}
