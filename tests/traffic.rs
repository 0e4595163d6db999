//! Known traffic through the real binary with the real `network` and `disk-io` plugin
//! libraries: bytes sent over a loopback socket and a file written and synced must show
//! up in the stream as the matching rates within a few ticks.
//!
//! "Matching" is checked two ways, both loose enough for a machine other processes also
//! use (they can only add traffic): the cumulative counter grew by at least what was
//! sent, and the rates the plugin reported, times the time between the messages that
//! carried them, add up to what the counter grew by. A rate in the wrong unit, a rate
//! over the wrong interval or a rate of 0 fails the second; a transfer the plugin never
//! saw fails the first.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use monitoring_test_support::{connect, next_of_type, parse_timestamp, Client, Server, Setup};
use serde_json::Value;

const SECOND: Duration = Duration::from_secs(1);

/// The two plugins, with `lo` listed (it is excluded by default).
const CONFIG: &str = "\n[plugins.network]\ninclude = [\"lo\"]\nexclude = []\n\n[plugins.disk-io]\n";

/// How long the traffic may take to show in full: a few ticks of 0.5 s.
const WITHIN: Duration = Duration::from_secs(5);

fn start() -> Server {
    Server::start(Setup {
        plugins: &["collector-network", "collector-disk-io"],
        config: CONFIG,
        extra_files: &[],
    })
}

/// One reading of a counter and its rate, as a message carried it.
#[derive(Debug, Clone, Copy)]
struct Point {
    /// The message's timestamp, seconds since the first point.
    at: f64,
    /// The cumulative counter, bytes.
    total: u64,
    /// The rate reported with it, bytes/s.
    rate: f64,
}

/// Picks one counter and its rate out of a `monitoring_data` message, when it is there.
type Pick = dyn Fn(&Value) -> Option<(u64, f64)>;

/// Ticks a counter may be missing from before the test gives up on it.
const PATIENCE: usize = 10;

/// The next message carrying the counter.
async fn next_point(ws: &mut Client, pick: &Pick, origin: chrono::NaiveDateTime) -> Point {
    for _ in 0..PATIENCE {
        let (message, _) = next_of_type(ws, "monitoring_data", 3 * SECOND)
            .await
            .expect("a tick");
        if let Some((total, rate)) = pick(&message["data"]) {
            let at = parse_timestamp(&message["timestamp"]) - origin;
            return Point {
                at: at.num_microseconds().expect("a short test") as f64 / 1e6,
                total,
                rate,
            };
        }
    }
    panic!("the counter is in none of {PATIENCE} ticks");
}

/// Runs `traffic` (which returns the bytes it caused) between ticks and reads the
/// stream until the counter has grown by that much; returns the readings from the last
/// one before the traffic on, and the bytes caused.
async fn watch(
    ws: &mut Client,
    pick: &Pick,
    traffic: impl FnOnce() -> u64 + Send + 'static,
) -> (Vec<Point>, u64) {
    let (first, _) = next_of_type(ws, "monitoring_data", 3 * SECOND)
        .await
        .expect("a first tick");
    let origin = parse_timestamp(&first["timestamp"]);
    let before = next_point(ws, pick, origin).await;
    let caused = tokio::task::spawn_blocking(traffic)
        .await
        .expect("the traffic ran");
    let mut points = vec![before];
    let deadline = Instant::now() + WITHIN;
    while points.last().map(|p| p.total.saturating_sub(before.total)) < Some(caused) {
        assert!(
            Instant::now() < deadline,
            "{caused} bytes did not show within {WITHIN:?}: {points:?}"
        );
        points.push(next_point(ws, pick, origin).await);
    }
    (points, caused)
}

/// Asserts that the rates add up to the counter's growth, and that the peak rate is at
/// least `min_peak` bytes/s.
fn assert_rates_match(points: &[Point], min_peak: f64) {
    let (first, last) = (points[0], points[points.len() - 1]);
    let grew = last.total.saturating_sub(first.total) as f64;
    // Each rate covers the time since the plugin's previous reading, which the ticks'
    // timestamps approximate to within the collection's jitter.
    let integral: f64 = points
        .windows(2)
        .map(|pair| pair[1].rate * (pair[1].at - pair[0].at))
        .sum();
    assert!(
        (0.6 * grew..=1.5 * grew).contains(&integral),
        "rates add up to {integral:.0} bytes, the counter grew by {grew:.0}: {points:?}"
    );
    let peak = points.iter().map(|p| p.rate).fold(0.0, f64::max);
    assert!(
        peak >= min_peak,
        "peak rate {peak:.0} bytes/s, expected at least {min_peak:.0}: {points:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_traffic_shows_as_lo_receive_rate() {
    let server = start();
    let mut ws = connect(&server.url("/")).await;
    let lo: Box<Pick> = Box::new(|data| {
        let interfaces = data["network"]["interfaces"].as_array()?;
        let lo = interfaces.iter().find(|i| i["name"] == "lo")?;
        Some((lo["rx_bytes"].as_u64()?, lo["rx_bytes_per_sec"].as_f64()?))
    });
    let (points, sent) = watch(&mut ws, &*lo, || send_over_loopback(64 << 20)).await;
    // 64 MiB within the few ticks it took to show: at least that over the whole window.
    // The plugin's own readings lie up to a collection's jitter off the ticks' stamps,
    // so its window can be a few milliseconds longer than the stamps say: allow 10 %.
    let window = points[points.len() - 1].at - points[0].at;
    assert_rates_match(&points, 0.9 * sent as f64 / window);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_synced_file_shows_as_its_disks_write_rate() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    // The disk under the target folder (not a tmpfs /tmp); when it cannot be told (an
    // overlay or btrfs has no block device of its own), the totals over every listed
    // disk carry the write all the same.
    let device = block_device_of(dir.path());
    let server = start();
    let mut ws = connect(&server.url("/")).await;
    let disk: Box<Pick> = match device {
        Some(name) => Box::new(move |data| {
            let devices = data["disk_io"]["devices"].as_array()?;
            let device = devices.iter().find(|d| d["name"] == name.as_str())?;
            Some((
                device["write_bytes"].as_u64()?,
                device["write_bytes_per_sec"].as_f64()?,
            ))
        }),
        None => Box::new(|data| {
            let devices = data["disk_io"]["devices"].as_array()?;
            let written = devices
                .iter()
                .filter_map(|d| d["write_bytes"].as_u64())
                .sum();
            Some((written, data["disk_io"]["write_bytes_per_sec"].as_f64()?))
        }),
    };
    let path = dir.path().join("written");
    let (points, _) = watch(&mut ws, &*disk, move || write_and_sync(&path, 64 << 20)).await;
    // Generous: 64 MiB written within a few ticks is well above 8 MiB/s at its peak.
    assert_rates_match(&points, f64::from(8 << 20));
}

/// Sends `bytes` from one loopback socket to another, waits until all arrived, and
/// returns how many did.
fn send_over_loopback(bytes: usize) -> u64 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let sender = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        let chunk = vec![0x5au8; 1 << 20];
        for _ in 0..bytes / chunk.len() {
            stream.write_all(&chunk).expect("send");
        }
    });
    let (mut stream, _) = listener.accept().expect("accept");
    let mut buffer = vec![0u8; 1 << 20];
    let mut received = 0u64;
    loop {
        let n = stream.read(&mut buffer).expect("receive");
        if n == 0 {
            break;
        }
        received += n as u64;
    }
    sender.join().expect("sender thread");
    assert_eq!(received, bytes as u64);
    received
}

/// Writes `bytes` to a new file at `path` and syncs it to its disk; returns the bytes.
fn write_and_sync(path: &Path, bytes: usize) -> u64 {
    let mut file = std::fs::File::create(path).expect("create");
    let chunk = vec![0xa5u8; 1 << 20];
    for _ in 0..bytes / chunk.len() {
        file.write_all(&chunk).expect("write");
    }
    file.sync_all().expect("fsync");
    bytes as u64
}

/// The whole block device (as /proc/diskstats names it) holding `path`'s filesystem:
/// its device number leads to `/sys/dev/block/MAJOR:MINOR`, which is the disk itself
/// or a partition of it (then the disk is its parent folder). `None` for a filesystem
/// with no block device of its own (overlay, btrfs subvolumes, tmpfs).
fn block_device_of(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(path).expect("stat").dev();
    let (major, minor) = (rustix::fs::major(dev), rustix::fs::minor(dev));
    let sys = std::fs::canonicalize(format!("/sys/dev/block/{major}:{minor}")).ok()?;
    let whole = if sys.join("partition").exists() {
        sys.parent()?.to_owned()
    } else {
        sys
    };
    let name = whole.file_name()?.to_str()?.replace('!', "/");
    Some(name)
}
