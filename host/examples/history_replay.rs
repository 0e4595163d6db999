//! Replays recorded snapshots into a history store as fast as it takes them, then
//! measures it: bytes per sample, CPU per tick, query times and open time.
//!
//! ```text
//! cargo run --release -p monitoring-websocket-server --example history_replay -- \
//!     host/tests/fixtures/snapshots-30min.jsonl.gz [hours, default 24] [store folder, default a temp dir]
//! ```
//!
//! The snapshots (gzipped JSON lines of `data` objects) are cycled at 2 Hz with
//! timestamps shifted so the replay ends now. With 0 hours and a folder, only the
//! open and query times of that existing store are measured (a cold process).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use monitoring_plugin_api::Sections;
use monitoring_websocket_server::store::{Limits, Settings, Span, Store};

const TICK_MS: i64 = 500;
const DAY_MS: i64 = 86_400_000;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(recording) = args.next() else {
        bail!("usage: history_replay <snapshots.jsonl.gz> [hours] [store folder]");
    };
    let hours: f64 = args
        .next()
        .map_or(Ok(24.0), |h| h.parse())
        .context("hours must be a number")?;
    let temp = tempfile::tempdir().context("a temporary folder")?;
    let dir = args
        .next()
        .map_or_else(|| temp.path().to_owned(), PathBuf::from);

    let snapshots = read_snapshots(Path::new(&recording))?;
    let ticks = (hours * 3_600_000.0 / TICK_MS as f64) as i64;
    let now_ms = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let start_ms = now_ms - ticks * TICK_MS;
    println!(
        "{} snapshots, replaying {hours} h = {ticks} ticks into {}",
        snapshots.len(),
        dir.display()
    );

    if ticks > 0 {
        replay(&dir, &snapshots, start_ms, ticks)?;
    }
    measure_queries(&dir, now_ms)
}

/// Records `ticks` snapshots from `start_ms` on and prints size and CPU figures.
fn replay(dir: &Path, snapshots: &[Sections], start_ms: i64, ticks: i64) -> anyhow::Result<()> {
    let store = open(dir)?;
    let cpu_before = cpu_seconds();
    let wall = Instant::now();
    for n in 0..ticks {
        let snapshot = &snapshots[n as usize % snapshots.len()];
        store.record("", start_ms + n * TICK_MS, snapshot, &[]);
        if n % 2_000 == 1_999 {
            store.flush();
        }
    }
    store.close();
    let cpu = cpu_seconds() - cpu_before;
    let status = store.status();
    drop(store);
    let samples = status.samples_written as f64;
    let on_disk = file_bytes(dir);
    println!("samples            {samples}");
    println!("ticks dropped      {}", status.ticks_dropped);
    println!("bytes on disk      {on_disk}");
    println!("bytes/sample       {:.3} (file)", on_disk as f64 / samples);
    println!(
        "bytes/sample       {:.3} (tick-tier chunks)",
        status.tiers[0].bytes as f64 / samples
    );
    for tier in &status.tiers {
        println!(
            "  tier {:?}: {} bytes, oldest {:?}",
            tier.tier, tier.bytes, tier.oldest
        );
    }
    println!("replay wall        {:.1} s", wall.elapsed().as_secs_f64());
    println!(
        "CPU per tick       {:.1} µs (whole process: flatten + writer)",
        cpu / ticks as f64 * 1e6
    );
    println!(
        "CPU at 2 Hz        {:.3} % of a core",
        cpu / ticks as f64 * 2.0 * 100.0
    );
    Ok(())
}

/// Open time and query times, cold (first after an open) and warm (median of 10).
fn measure_queries(dir: &Path, now_ms: i64) -> anyhow::Result<()> {
    let opened = Instant::now();
    let store = open(dir)?;
    println!(
        "open               {:.1} ms",
        opened.elapsed().as_secs_f64() * 1e3
    );
    let names: Vec<String> = store
        .series("", "")?
        .into_iter()
        .map(|s| s.name)
        .take(20)
        .collect();
    let one = "memory.percentage";
    let month = Span {
        from_ms: now_ms - 30 * DAY_MS,
        to_ms: now_ms,
    };
    let day = Span {
        from_ms: now_ms - DAY_MS,
        to_ms: now_ms,
    };
    let one_month = |store: &Store| store.query("", one, month, 1000).map(|p| p.points.len());
    let twenty_day = |store: &Store| -> anyhow::Result<usize> {
        let mut points = 0;
        for name in &names {
            points += store.query("", name, day, 1000)?.points.len();
        }
        Ok(points)
    };
    time("1 series x 30 d x 1000 points, cold", || {
        one_month(&store).map_err(Into::into)
    });
    time("1 series x 30 d x 1000 points, warm", || {
        one_month(&store).map_err(Into::into)
    });
    drop(store);
    let store = open(dir)?;
    time("20 series x 24 h x 1000 points, cold", || {
        twenty_day(&store)
    });
    time("20 series x 24 h x 1000 points, warm", || {
        twenty_day(&store)
    });
    store.close();
    Ok(())
}

fn open(dir: &Path) -> anyhow::Result<Store> {
    Store::open(Settings {
        dir: dir.to_owned(),
        limits: Limits::default(),
    })
    .context("opening the store")
}

/// Runs `query` once (cold) or as the median of 10 (warm) and prints the time.
fn time(label: &str, mut query: impl FnMut() -> anyhow::Result<usize>) {
    let runs = if label.ends_with("cold") { 1 } else { 10 };
    let mut times = Vec::with_capacity(runs);
    let mut points = 0;
    for _ in 0..runs {
        let started = Instant::now();
        match query() {
            Ok(n) => points = n,
            Err(error) => {
                println!("{label}: {error:#}");
                return;
            }
        }
        times.push(started.elapsed());
    }
    times.sort();
    let median = times
        .get(times.len() / 2)
        .copied()
        .unwrap_or(Duration::ZERO);
    println!(
        "{label:40} {:.2} ms ({points} points)",
        median.as_secs_f64() * 1e3
    );
}

/// The snapshots of a (possibly still growing, so cut-off) gzipped JSON-lines file.
fn read_snapshots(path: &Path) -> anyhow::Result<Vec<Sections>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let snapshots: Vec<Sections> = BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect();
    if snapshots.is_empty() {
        bail!("no snapshot in {}", path.display());
    }
    Ok(snapshots)
}

fn file_bytes(dir: &Path) -> u64 {
    ["history.db", "history.db-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(dir.join(name)).ok())
        .map(|m| m.len())
        .sum()
}

/// This process's user + system CPU seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we pass; no other memory is touched.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
