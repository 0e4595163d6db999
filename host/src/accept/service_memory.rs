//! The server's own health, as the seed's `ServiceMemoryMonitor`: resident memory,
//! threads and open files of this process, and the RSS trend over the last hour with a
//! warning when it keeps growing (a leak).
//!
//! The numbers come from `/proc/self` on Linux; elsewhere they are `null` and the trend
//! says `unavailable`, so `/health` degrades instead of failing. A sampler task reads
//! RSS every [`SAMPLE_EVERY`]; the analysis is a pure function of the samples, tested
//! with made-up series.
//!
//! "Keeps growing" is deliberately strict, so a watchdog acting on `/health` does not
//! restart a server that is merely filling its history after start: the last hour is cut
//! into [`BUCKET`]-long spans, and the warning needs at least [`MIN_BUCKETS`] full spans
//! whose average RSS each exceeds the previous one by more than 1 %, with the fitted
//! growth above [`MIN_GROWTH_PER_HOUR`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::shutdown::Shutdown;

/// How often RSS is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// How far back the trend looks.
pub const WINDOW: Duration = Duration::from_secs(3600);
/// The span whose averages are compared.
pub const BUCKET: Duration = Duration::from_secs(600);
/// Consecutive growing spans needed for a warning.
pub const MIN_BUCKETS: usize = 3;
/// Growth below this is noise, whatever its shape.
pub const MIN_GROWTH_PER_HOUR: f64 = 4.0 * 1024.0 * 1024.0;

/// This process, now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ProcessStats {
    /// Resident set size, bytes.
    pub rss_bytes: Option<u64>,
    /// OS threads.
    pub threads: Option<u64>,
    /// Open file descriptors (sockets included).
    pub open_files: Option<u64>,
}

/// Reads this process's numbers; `None` where the platform does not tell.
pub fn read_process() -> ProcessStats {
    ProcessStats {
        open_files: open_files(),
        ..read_status()
    }
}

/// RSS and threads, from `/proc/self/status` (all the sampler needs: counting the open
/// files is the costly part at 10,000 clients).
fn read_status() -> ProcessStats {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
        };
        ProcessStats {
            rss_bytes: field("VmRSS:").map(|kib| kib * 1024),
            threads: field("Threads:"),
            open_files: None,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        ProcessStats::default()
    }
}

/// Open file descriptors. Linux 6.2 and later give the count as the size of
/// `/proc/self/fd`, one `stat`; older kernels say 0 there, and then the directory is
/// listed (with 10,000 clients that is 10,000 entries made and dropped).
fn open_files() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let size = std::fs::metadata("/proc/self/fd").map_or(0, |meta| meta.len());
        if size > 0 {
            return Some(size);
        }
        std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|dir| dir.count() as u64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Whether the samples allow a trend, on the wire in snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendStatus {
    /// Two samples or more: the growth rate is computed.
    Ok,
    /// Under two samples.
    InsufficientData,
    /// The platform gives no RSS.
    Unavailable,
}

/// What the samples say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// Whether the figures below mean anything yet.
    pub status: TrendStatus,
    /// Samples in the window.
    pub samples: usize,
    /// Time covered by the samples, seconds.
    pub span_seconds: f64,
    /// Mean RSS over the window, bytes.
    pub average_rss_bytes: Option<f64>,
    /// Least-squares RSS growth, bytes per hour (negative when shrinking).
    pub growth_rate_per_hour: Option<f64>,
    /// Whether RSS kept growing, span after span (see the module docs).
    pub growing: bool,
    /// Human-readable warning when `growing`.
    pub warning: Option<String>,
}

/// RSS samples of the last [`WINDOW`].
#[derive(Debug, Default)]
pub struct Samples {
    samples: VecDeque<(Instant, u64)>,
    unavailable: bool,
}

impl Samples {
    /// Adds a sample taken at `now` (`None`: the platform gives no RSS).
    pub fn push(&mut self, now: Instant, rss: Option<u64>) {
        let Some(rss) = rss else {
            self.unavailable = true;
            return;
        };
        self.samples.push_back((now, rss));
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > WINDOW)
        {
            self.samples.pop_front();
        }
    }

    /// The trend of the samples held.
    pub fn trend(&self) -> Trend {
        let mut trend = Trend {
            status: TrendStatus::Ok,
            samples: self.samples.len(),
            span_seconds: 0.0,
            average_rss_bytes: None,
            growth_rate_per_hour: None,
            growing: false,
            warning: None,
        };
        let (Some(&(first, _)), Some(&(last, _))) = (self.samples.front(), self.samples.back())
        else {
            trend.status = if self.unavailable {
                TrendStatus::Unavailable
            } else {
                TrendStatus::InsufficientData
            };
            return trend;
        };
        let n = self.samples.len() as f64;
        let hours = |at: Instant| at.saturating_duration_since(first).as_secs_f64() / 3600.0;
        let mean_x = self.samples.iter().map(|(at, _)| hours(*at)).sum::<f64>() / n;
        let mean_y = self.samples.iter().map(|(_, rss)| *rss as f64).sum::<f64>() / n;
        trend.span_seconds = last.saturating_duration_since(first).as_secs_f64();
        trend.average_rss_bytes = Some(mean_y);
        if self.samples.len() < 2 {
            trend.status = TrendStatus::InsufficientData;
            return trend;
        }
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (at, rss) in &self.samples {
            let dx = hours(*at) - mean_x;
            sxy += dx * (*rss as f64 - mean_y);
            sxx += dx * dx;
        }
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        trend.growth_rate_per_hour = Some(slope);
        let buckets = self.bucket_means(last);
        let rising = buckets.windows(2).all(|pair| pair[1] > pair[0] * 1.01);
        if buckets.len() >= MIN_BUCKETS && rising && slope > MIN_GROWTH_PER_HOUR {
            trend.growing = true;
            trend.warning = Some(format!(
                "RSS grew in each of the last {} ten-minute spans, at {:.1} MiB/hour",
                buckets.len(),
                slope / (1024.0 * 1024.0)
            ));
        }
        trend
    }

    /// Mean RSS of each full [`BUCKET`] ending at `last`, oldest first.
    fn bucket_means(&self, last: Instant) -> Vec<f64> {
        let mut sums: Vec<(f64, u32)> = Vec::new();
        for (at, rss) in &self.samples {
            let age = last.saturating_duration_since(*at).as_secs_f64();
            let index = (age / BUCKET.as_secs_f64()) as usize;
            if sums.len() <= index {
                sums.resize(index + 1, (0.0, 0));
            }
            sums[index].0 += *rss as f64;
            sums[index].1 += 1;
        }
        let oldest = self.samples.front().map_or(last, |(at, _)| *at);
        let full =
            (last.saturating_duration_since(oldest).as_secs_f64() / BUCKET.as_secs_f64()) as usize;
        sums.truncate(full);
        sums.iter()
            .rev()
            .filter(|(_, count)| *count > 0)
            .map(|(sum, count)| sum / f64::from(*count))
            .collect()
    }
}

/// The monitor: a cloneable handle on the samples.
#[derive(Debug, Clone, Default)]
pub struct ServiceMemoryMonitor(Arc<Mutex<Samples>>);

impl ServiceMemoryMonitor {
    /// The trend now.
    pub fn trend(&self) -> Trend {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .trend()
    }

    /// Samples RSS every [`SAMPLE_EVERY`] until shutdown.
    pub fn spawn_sampler(&self, mut shutdown: Shutdown) -> tokio::task::JoinHandle<()> {
        let samples = Arc::clone(&self.0);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SAMPLE_EVERY);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut trims = TrimPace::default();
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = shutdown.wait() => break,
                }
                // Freed memory back first, so the sample is what is in use.
                if trims.due() {
                    let started = Instant::now();
                    crate::allocator::trim();
                    trims.took(started.elapsed());
                }
                let rss = read_status().rss_bytes;
                samples
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Instant::now(), rss);
            }
        })
    }
}

/// A trim longer than this makes the next one wait twice as many samples.
const TRIM_BUDGET: Duration = Duration::from_millis(2);

/// Most samples between two trims: ten minutes at [`SAMPLE_EVERY`].
const MAX_SAMPLES_PER_TRIM: u32 = 60;

/// How often to trim: every sample while trimming is cheap, less often while it is
/// not. A trim holds malloc's locks while it walks the heap, and every thread that
/// allocates waits: on a fleet gateway whose heap churns with thousands of hosts'
/// frames it took 15 to 19 ms, and the server's own tick reached its clients that
/// much late every ten seconds (BENCHMARKS.md). Such a heap trims at most every ten
/// minutes; a small one, as before, every sample.
#[derive(Debug)]
struct TrimPace {
    every: u32,
    waited: u32,
}

impl Default for TrimPace {
    fn default() -> Self {
        Self {
            every: 1,
            waited: 0,
        }
    }
}

impl TrimPace {
    /// Whether this sample trims first.
    fn due(&mut self) -> bool {
        self.waited += 1;
        if self.waited < self.every {
            return false;
        }
        self.waited = 0;
        true
    }

    /// How long the trim took, which sets when the next one is.
    fn took(&mut self, spent: Duration) {
        self.every = if spent > TRIM_BUDGET {
            (self.every * 2).min(MAX_SAMPLES_PER_TRIM)
        } else {
            1
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_costly_trim_waits_longer_and_a_cheap_one_comes_back_to_every_sample() {
        let mut pace = TrimPace::default();
        assert!(pace.due() && pace.due(), "cheap by default: every sample");
        pace.took(Duration::from_millis(19));
        assert!(!pace.due() && pace.due(), "then every second sample");
        pace.took(Duration::from_millis(19));
        assert_eq!((0..4).filter(|_| pace.due()).count(), 1, "every fourth");
        for _ in 0..10 {
            pace.took(Duration::from_millis(19));
        }
        assert_eq!(
            pace.every, MAX_SAMPLES_PER_TRIM,
            "at most every ten minutes"
        );
        pace.took(Duration::from_micros(30));
        assert!(pace.due(), "cheap again: every sample");
    }

    const MIB: u64 = 1024 * 1024;

    /// One sample every 10 s for `minutes`, RSS from `rss(minute)`.
    fn series(minutes: u64, rss: impl Fn(f64) -> u64) -> Samples {
        let start = Instant::now();
        let mut samples = Samples::default();
        for tick in 0..=(minutes * 6) {
            let minute = tick as f64 / 6.0;
            samples.push(start + Duration::from_secs(tick * 10), Some(rss(minute)));
        }
        samples
    }

    #[test]
    fn steady_growth_for_half_an_hour_warns() {
        let trend = series(40, |m| 100 * MIB + (m * 0.5 * MIB as f64) as u64).trend();
        assert!(trend.growing, "{trend:?}");
        let rate = trend.growth_rate_per_hour.unwrap_or_default() / MIB as f64;
        assert!((rate - 30.0).abs() < 1.0, "about 30 MiB/hour, got {rate}");
        assert!(trend.warning.is_some_and(|w| w.contains("MiB/hour")));
    }

    #[test]
    fn filling_up_after_start_then_flat_does_not_warn() {
        // History fills in its first ~8 minutes, then memory is flat.
        let trend = series(60, |m| 100 * MIB + (m.min(8.0) * 3.0 * MIB as f64) as u64).trend();
        assert!(!trend.growing, "{trend:?}");
        assert!(trend.growth_rate_per_hour.unwrap_or_default() > 0.0);
    }

    #[test]
    fn short_or_flat_series_do_not_warn() {
        assert!(
            !series(15, |m| 100 * MIB + (m * MIB as f64) as u64)
                .trend()
                .growing
        );
        assert!(!series(60, |_| 100 * MIB).trend().growing);
        let empty = Samples::default().trend();
        assert_eq!(empty.status, TrendStatus::InsufficientData);
        let mut none = Samples::default();
        none.push(Instant::now(), None);
        assert_eq!(none.trend().status, TrendStatus::Unavailable);
    }

    #[test]
    fn old_samples_leave_the_window() {
        let samples = series(90, |_| 100 * MIB);
        let trend = samples.trend();
        assert_eq!(trend.samples, 361, "one hour of 10 s samples, both ends");
        assert!((trend.span_seconds - 3600.0).abs() < 1.0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let stats = read_process();
        assert!(stats.rss_bytes.is_some_and(|rss| rss > 0));
        assert!(stats.threads.is_some_and(|n| n >= 1));
        assert!(stats.open_files.is_some_and(|n| n >= 1));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn counts_the_files_this_process_opens() {
        // Other tests open files at the same time: a count that follows ours closely
        // enough is the check (the stat size and the listing must both be counts).
        let before = open_files().unwrap_or_default();
        let files: Vec<std::fs::File> = (0..200)
            .map(|_| std::fs::File::open("/proc/self/status").expect("opens"))
            .collect();
        let during = open_files().unwrap_or_default();
        drop(files);
        assert!(
            during >= before + 150 && during <= before + 250,
            "{before} then {during} open files"
        );
    }
}
