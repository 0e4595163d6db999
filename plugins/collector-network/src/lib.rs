//! Collector plugin `network`: the snapshot's `network` section, traffic per interface.
//!
//! Rates are computed here from the OS's cumulative counters between this plugin's own
//! calls, over the time a monotonic clock measured between them. `new()` takes a first
//! reading and waits [`PRIMING`] so the first `collect()` already has real rates; no
//! `collect()` ever sleeps. See [`counters`] for interfaces that appear or disappear
//! and for counters that wrap or reset.
//!
//! On Linux the counters come from `/proc/net/dev` (sysinfo has no drop counters);
//! elsewhere from sysinfo, with drops reported as 0.

mod counters;
// Read on Linux only, but a pure parser, tested everywhere.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod proc_net_dev;
mod source;

use std::time::{Duration, Instant};

use collector_rates::{Baseline, NameList};
use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::Network;

use counters::Reading;
use source::Source;

/// How long `new()` waits after its first reading, so the first rates cover a real
/// interval (like `cpu`'s priming).
pub const PRIMING: Duration = Duration::from_millis(150);

/// Settings of `[plugins.network]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Interfaces to list: exact names or `prefix*`; empty lists every interface.
    pub include: Vec<String>,
    /// Interfaces never listed, even when `include` names them: exact names or
    /// `prefix*`. Default `["lo"]` (loopback traffic is the machine talking to itself).
    pub exclude: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            include: Vec::new(),
            exclude: vec!["lo".to_owned()],
        }
    }
}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `network` section.
    pub network: Network,
}

/// Which interfaces are listed: those `include` matches (every one when it is empty)
/// that `exclude` does not.
#[derive(Debug, Clone)]
struct Selection {
    include: NameList,
    exclude: NameList,
}

impl Selection {
    fn from_config(config: &Config) -> Result<Self, PluginError> {
        let list = |setting, entries: &[String]| {
            NameList::parse(setting, entries).map_err(PluginError::config)
        };
        Ok(Self {
            include: list("include", &config.include)?,
            exclude: list("exclude", &config.exclude)?,
        })
    }

    fn lists(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.matches(name)) && !self.exclude.matches(name)
    }

    /// Keeps only the listed interfaces of a reading.
    fn keep(&self, mut reading: Reading) -> Reading {
        reading.retain(|name, _| self.lists(name));
        reading
    }
}

/// Keeps the previous reading and its time between calls.
pub struct NetworkCollector {
    source: Source,
    selection: Selection,
    previous: Baseline<Reading>,
}

impl NetworkCollector {
    /// The listed interfaces' counters now, with the time they were read.
    fn read(&mut self) -> Result<(Reading, Instant), PluginError> {
        let reading = self.source.read()?;
        Ok((self.selection.keep(reading), Instant::now()))
    }
}

impl Collector for NetworkCollector {
    const NAME: &'static str = "network";
    const DESCRIPTION: &'static str =
        "Network traffic per interface: bytes, packets, errors and drops per second, and totals.";
    type Config = Config;
    type Output = Output;

    fn new(config: Config) -> Result<Self, PluginError> {
        let selection = Selection::from_config(&config)?;
        let mut collector = Self {
            source: Source::new()?,
            selection,
            previous: Baseline::new(Reading::new(), Instant::now()),
        };
        let (first, at) = collector.read()?;
        collector.previous = Baseline::new(first, at);
        std::thread::sleep(PRIMING);
        Ok(collector)
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        let (current, now) = self.read()?;
        let network = self.previous.advance(current, now, counters::section);
        Ok(Output { network })
    }
}

declare_collector!(NetworkCollector);

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(include: &[&str], exclude: &[&str]) -> Selection {
        let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        Selection::from_config(&Config {
            include: owned(include),
            exclude: owned(exclude),
        })
        .expect("valid lists")
    }

    #[test]
    fn obeys_the_collector_contract() {
        let sections = monitoring_plugin_api::testing::check_collector::<NetworkCollector>();
        let network = &sections["network"];
        let interfaces = network["interfaces"]
            .as_array()
            .expect("interfaces is an array");
        assert!(
            interfaces.iter().all(|i| i["name"] != "lo"),
            "lo is excluded by default: {network}"
        );
        // The totals are the sums over the listed interfaces.
        let sum = |key: &str| {
            interfaces
                .iter()
                .map(|i| i[key].as_u64().expect("a counter"))
                .sum::<u64>()
        };
        assert_eq!(network["rx_bytes"].as_u64(), Some(sum("rx_bytes")));
        assert_eq!(network["tx_bytes"].as_u64(), Some(sum("tx_bytes")));
    }

    #[test]
    fn loopback_is_listed_when_not_excluded_and_shows_its_traffic() {
        let mut collector = NetworkCollector::new(Config {
            include: vec!["lo".into()],
            exclude: Vec::new(),
        })
        .expect("builds");
        let before = collector.collect().expect("collects").network;
        assert_eq!(before.interfaces.len(), 1, "{before:?}");
        assert_eq!(before.interfaces[0].name, "lo");
        // 4 MiB through a loopback socket: lo's cumulative rx bytes grow by at least
        // that much, and the rate over this interval is above zero.
        send_over_loopback(4 << 20);
        let after = collector.collect().expect("collects").network;
        let (lo_before, lo_after) = (&before.interfaces[0], &after.interfaces[0]);
        assert!(
            lo_after.rx_bytes - lo_before.rx_bytes >= 4 << 20,
            "{lo_before:?} → {lo_after:?}"
        );
        assert!(lo_after.rx_bytes_per_sec > 0.0, "{lo_after:?}");
        assert_eq!(after.rx_bytes, lo_after.rx_bytes);
    }

    /// Sends `bytes` from one loopback socket to another and waits until all arrived.
    fn send_over_loopback(bytes: usize) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        let sender = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(address).expect("connect");
            stream.write_all(&vec![7u8; bytes]).expect("send");
        });
        let (mut stream, _) = listener.accept().expect("accept");
        let mut received = Vec::with_capacity(bytes);
        stream.read_to_end(&mut received).expect("receive");
        sender.join().expect("sender thread");
        assert_eq!(received.len(), bytes);
    }

    #[test]
    fn include_and_exclude_select_by_name_or_prefix() {
        let default = Selection::from_config(&Config::default()).expect("defaults are valid");
        assert!(default.lists("eth0") && default.lists("wlan0"));
        assert!(!default.lists("lo"));
        let only_wired = selection(&["eth*", "en*"], &[]);
        assert!(only_wired.lists("eth0") && only_wired.lists("enp3s0"));
        assert!(!only_wired.lists("wlan0") && !only_wired.lists("lo"));
        // Exclude wins over include.
        let no_veth = selection(&["*"], &["veth*", "lo"]);
        assert!(no_veth.lists("docker0"));
        assert!(!no_veth.lists("veth4B09XN") && !no_veth.lists("lo"));
    }

    #[test]
    fn a_bad_pattern_is_a_config_error_naming_the_setting() {
        let err = NetworkCollector::new(Config {
            include: vec!["e*h0".into()],
            exclude: Vec::new(),
        })
        .err()
        .expect("refused");
        assert_eq!(err.kind(), Some(monitoring_plugin_api::ErrorKind::Config));
        assert!(err.message().contains("`include`"), "{err}");
    }
}
