//! The `network` section (plugin `network`, issue 14): per-interface traffic rates and
//! the cumulative counters they come from, plus totals over the listed interfaces.
//!
//! Rates are per second over the collector's own interval between two readings, one
//! decimal; counters are what the OS reports since boot (or since the interface
//! appeared), so a client or Prometheus can compute its own rates over any window.

use serde::{Deserialize, Serialize};

use super::{check_finite, Section};

/// The `network` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// The listed interfaces, sorted by name.
    pub interfaces: Vec<NetworkInterface>,
    /// Sum of the interfaces' `rx_bytes_per_sec`, bytes/s.
    pub rx_bytes_per_sec: f64,
    /// Sum of the interfaces' `tx_bytes_per_sec`, bytes/s.
    pub tx_bytes_per_sec: f64,
    /// Sum of the interfaces' `rx_bytes`, bytes.
    pub rx_bytes: u64,
    /// Sum of the interfaces' `tx_bytes`, bytes.
    pub tx_bytes: u64,
}

/// One interface of [`Network`]. Rates are per second, one decimal; counters are
/// cumulative.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkInterface {
    /// The interface's name as the OS spells it (`eth0`, `wlan0`, `lo`).
    pub name: String,
    /// Bytes received per second.
    pub rx_bytes_per_sec: f64,
    /// Bytes sent per second.
    pub tx_bytes_per_sec: f64,
    /// Packets received per second.
    pub rx_packets_per_sec: f64,
    /// Packets sent per second.
    pub tx_packets_per_sec: f64,
    /// Receive errors per second.
    pub rx_errors_per_sec: f64,
    /// Transmit errors per second.
    pub tx_errors_per_sec: f64,
    /// Received packets dropped per second.
    pub rx_drops_per_sec: f64,
    /// Outgoing packets dropped per second.
    pub tx_drops_per_sec: f64,
    /// Bytes received, cumulative.
    pub rx_bytes: u64,
    /// Bytes sent, cumulative.
    pub tx_bytes: u64,
    /// Packets received, cumulative.
    pub rx_packets: u64,
    /// Packets sent, cumulative.
    pub tx_packets: u64,
    /// Receive errors, cumulative.
    pub rx_errors: u64,
    /// Transmit errors, cumulative.
    pub tx_errors: u64,
    /// Received packets dropped, cumulative.
    pub rx_drops: u64,
    /// Outgoing packets dropped, cumulative.
    pub tx_drops: u64,
}

impl NetworkInterface {
    /// Every rate with its field name, for validation.
    fn rates(&self) -> [(&'static str, f64); 8] {
        [
            ("rx_bytes_per_sec", self.rx_bytes_per_sec),
            ("tx_bytes_per_sec", self.tx_bytes_per_sec),
            ("rx_packets_per_sec", self.rx_packets_per_sec),
            ("tx_packets_per_sec", self.tx_packets_per_sec),
            ("rx_errors_per_sec", self.rx_errors_per_sec),
            ("tx_errors_per_sec", self.tx_errors_per_sec),
            ("rx_drops_per_sec", self.rx_drops_per_sec),
            ("tx_drops_per_sec", self.tx_drops_per_sec),
        ]
    }
}

impl Section for Network {
    const NAME: &'static str = "network";

    fn validate(&self) -> Result<(), String> {
        check_rate("network.rx_bytes_per_sec", self.rx_bytes_per_sec)?;
        check_rate("network.tx_bytes_per_sec", self.tx_bytes_per_sec)?;
        check_sorted_names(
            "network.interfaces",
            self.interfaces.iter().map(|i| i.name.as_str()),
        )?;
        for (i, interface) in self.interfaces.iter().enumerate() {
            for (field, value) in interface.rates() {
                check_rate(&format!("network.interfaces[{i}].{field}"), value)?;
            }
        }
        Ok(())
    }
}

/// Checks that a per-second rate is finite and not negative: a counter that went
/// backwards (wrapped or reset) must never show up as a negative rate.
pub(super) fn check_rate(path: &str, value: f64) -> Result<(), String> {
    check_finite(path, value)?;
    if value < 0.0 {
        return Err(format!("{path} = {value} is a negative rate"));
    }
    Ok(())
}

/// Checks that the entries of an array are sorted by name, each name once: clients and
/// the dashboard rely on a stable order from tick to tick.
pub(super) fn check_sorted_names<'a>(
    path: &str,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), String> {
    let mut previous: Option<&str> = None;
    for (i, name) in names.enumerate() {
        if previous.is_some_and(|p| p >= name) {
            return Err(format!(
                "{path}[{i}].name = {name:?} is out of order or repeated (sorted by name)"
            ));
        }
        previous = Some(name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::keys;
    use super::*;

    fn interface(name: &str) -> NetworkInterface {
        NetworkInterface {
            name: name.into(),
            ..NetworkInterface::default()
        }
    }

    #[test]
    fn network_keeps_the_agreed_keys() {
        // The wire contract of issue 14: a key added, renamed or dropped is a change of
        // the schema every client, rule and Prometheus series is built on.
        let network = Network {
            interfaces: vec![interface("eth0")],
            ..Network::default()
        };
        assert_eq!(
            keys(&network),
            [
                "interfaces",
                "rx_bytes",
                "rx_bytes_per_sec",
                "tx_bytes",
                "tx_bytes_per_sec"
            ]
        );
        assert_eq!(
            keys(&network.interfaces[0]),
            [
                "name",
                "rx_bytes",
                "rx_bytes_per_sec",
                "rx_drops",
                "rx_drops_per_sec",
                "rx_errors",
                "rx_errors_per_sec",
                "rx_packets",
                "rx_packets_per_sec",
                "tx_bytes",
                "tx_bytes_per_sec",
                "tx_drops",
                "tx_drops_per_sec",
                "tx_errors",
                "tx_errors_per_sec",
                "tx_packets",
                "tx_packets_per_sec"
            ]
        );
    }

    #[test]
    fn validation_refuses_negative_or_non_finite_rates_and_disorder() {
        let ok = Network {
            interfaces: vec![interface("eth0"), interface("wlan0")],
            ..Network::default()
        };
        assert_eq!(ok.validate(), Ok(()));

        let mut negative = ok.clone();
        negative.interfaces[1].rx_drops_per_sec = -1.0;
        let err = negative.validate().unwrap_err();
        assert!(
            err.contains("network.interfaces[1].rx_drops_per_sec"),
            "{err}"
        );

        let mut infinite = ok.clone();
        infinite.tx_bytes_per_sec = f64::INFINITY;
        assert!(infinite.validate().is_err());

        let mut unsorted = ok.clone();
        unsorted.interfaces.reverse();
        let err = unsorted.validate().unwrap_err();
        assert!(err.contains("network.interfaces[1].name"), "{err}");
    }
}
