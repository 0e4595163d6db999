//! From two readings of every interface's cumulative counters to the `network`
//! section: per-second rates over the time between them, plus totals.
//!
//! An interface that is in the current reading but not the previous one (it just
//! appeared) is listed with its counters and rates of 0: a rate needs two readings, and
//! its real rates start with its second reading. One that is gone from the current
//! reading is no longer listed. A counter that went backwards is handled by
//! [`collector_rates::delta`] (32-bit wrap or reset), so no rate is ever negative.

use std::collections::BTreeMap;
use std::time::Duration;

use collector_rates::{delta, per_second, round1};
use monitoring_plugin_api::sections::{Network, NetworkInterface};

/// One interface's cumulative counters, as the OS reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Received packets dropped.
    pub rx_drops: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Outgoing packets dropped.
    pub tx_drops: u64,
}

/// Every listed interface's counters at one moment, by name.
pub type Reading = BTreeMap<String, Counters>;

/// The section for `current`, with rates over the `elapsed` time since `previous`.
pub fn section(previous: &Reading, current: &Reading, elapsed: Duration) -> Network {
    let interfaces: Vec<NetworkInterface> = current
        .iter()
        .map(|(name, now)| {
            let went_by = previous.get(name).map(|before| went_by(before, now));
            interface(name, now, went_by.as_ref(), elapsed)
        })
        .collect();
    let sum_rate = |rate: fn(&NetworkInterface) -> f64| round1(interfaces.iter().map(rate).sum());
    let sum = |count: fn(&NetworkInterface) -> u64| {
        interfaces.iter().map(count).fold(0u64, u64::saturating_add)
    };
    Network {
        rx_bytes_per_sec: sum_rate(|i| i.rx_bytes_per_sec),
        tx_bytes_per_sec: sum_rate(|i| i.tx_bytes_per_sec),
        rx_bytes: sum(|i| i.rx_bytes),
        tx_bytes: sum(|i| i.tx_bytes),
        interfaces,
    }
}

/// What each counter counted between two readings.
fn went_by(before: &Counters, now: &Counters) -> Counters {
    Counters {
        rx_bytes: delta(before.rx_bytes, now.rx_bytes),
        rx_packets: delta(before.rx_packets, now.rx_packets),
        rx_errors: delta(before.rx_errors, now.rx_errors),
        rx_drops: delta(before.rx_drops, now.rx_drops),
        tx_bytes: delta(before.tx_bytes, now.tx_bytes),
        tx_packets: delta(before.tx_packets, now.tx_packets),
        tx_errors: delta(before.tx_errors, now.tx_errors),
        tx_drops: delta(before.tx_drops, now.tx_drops),
    }
}

/// One interface's entry; `went_by` is `None` on its first reading (rates 0).
fn interface(
    name: &str,
    now: &Counters,
    went_by: Option<&Counters>,
    elapsed: Duration,
) -> NetworkInterface {
    let rate = |count: fn(&Counters) -> u64| went_by.map_or(0.0, |d| per_second(count(d), elapsed));
    NetworkInterface {
        name: name.to_owned(),
        rx_bytes_per_sec: rate(|c| c.rx_bytes),
        tx_bytes_per_sec: rate(|c| c.tx_bytes),
        rx_packets_per_sec: rate(|c| c.rx_packets),
        tx_packets_per_sec: rate(|c| c.tx_packets),
        rx_errors_per_sec: rate(|c| c.rx_errors),
        tx_errors_per_sec: rate(|c| c.tx_errors),
        rx_drops_per_sec: rate(|c| c.rx_drops),
        tx_drops_per_sec: rate(|c| c.tx_drops),
        rx_bytes: now.rx_bytes,
        tx_bytes: now.tx_bytes,
        rx_packets: now.rx_packets,
        tx_packets: now.tx_packets,
        rx_errors: now.rx_errors,
        tx_errors: now.tx_errors,
        rx_drops: now.rx_drops,
        tx_drops: now.tx_drops,
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::sections::Section;

    use super::*;
    use crate::proc_net_dev::parse;

    const VM_1: &str = include_str!("../tests/fixtures/vm-2core/net-dev.1");
    const VM_2: &str = include_str!("../tests/fixtures/vm-2core/net-dev.2");

    /// `uptime.2 - uptime.1` = 5923.50 - 5922.07 s: the time between the two readings.
    const VM_ELAPSED: Duration = Duration::from_millis(1_430);

    fn reading(text: &str) -> Reading {
        parse(text).expect("a recorded /proc/net/dev parses")
    }

    fn find<'a>(network: &'a Network, name: &str) -> &'a NetworkInterface {
        network
            .interfaces
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("{name} listed in {network:?}"))
    }

    #[test]
    fn the_vm_pair_shows_the_32_mib_loopback_transfer() {
        let network = section(&reading(VM_1), &reading(VM_2), VM_ELAPSED);
        let lo = find(&network, "lo");
        // lo rx bytes: 3_382_844_669 - 3_349_254_965 = 33_589_704 ≥ 32 MiB (33_554_432).
        assert!(lo.rx_bytes - 3_349_254_965 >= 32 << 20);
        // 33_589_704 / 1.43 = 23_489_303.496… → 23_489_303.5 bytes/s; lo sends what it
        // receives.
        assert_eq!(lo.rx_bytes_per_sec, 23_489_303.5);
        assert_eq!(lo.tx_bytes_per_sec, 23_489_303.5);
        // packets: 8_245_279 - 8_244_601 = 678; 678 / 1.43 = 474.12… → 474.1.
        assert_eq!(lo.rx_packets_per_sec, 474.1);
        assert_eq!(lo.rx_bytes, 3_382_844_669);
        // eth0 did not move.
        let eth0 = find(&network, "eth0");
        assert_eq!((eth0.rx_bytes_per_sec, eth0.tx_bytes_per_sec), (0.0, 0.0));
        assert_eq!(eth0.rx_bytes, 416_934_439);
        // Totals over the four interfaces (ifb0, ifb1 are all zeros).
        assert_eq!(network.rx_bytes_per_sec, 23_489_303.5);
        assert_eq!(network.rx_bytes, 3_382_844_669 + 416_934_439);
        assert_eq!(network.tx_bytes, 3_382_844_669 + 972_992);
        let names: Vec<&str> = network.interfaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["eth0", "ifb0", "ifb1", "lo"], "sorted by name");
        assert_eq!(network.validate(), Ok(()));
    }

    #[test]
    fn a_wrapped_counter_counts_across_the_wrap() {
        // eth0's rx bytes at 4_294_967_000 (296 short of 2^32), then 3_704 after the
        // wrap: 4_000 bytes went by in 2 s = 2_000 bytes/s.
        let mut before = reading(VM_1);
        let mut after = reading(VM_1);
        before.get_mut("eth0").expect("eth0").rx_bytes = 4_294_967_000;
        after.get_mut("eth0").expect("eth0").rx_bytes = 3_704;
        let network = section(&before, &after, Duration::from_secs(2));
        assert_eq!(find(&network, "eth0").rx_bytes_per_sec, 2_000.0);
        assert_eq!(network.validate(), Ok(()));
    }

    #[test]
    fn a_reset_counter_never_gives_a_negative_or_giant_rate() {
        // A counter past 32 bits (node_exporter's eth0 rx bytes, 68_210_035_552) falls to
        // 1_000 after a driver reload: a reset, so nothing is counted this interval.
        let mut before = reading(VM_1);
        let mut after = reading(VM_1);
        before.get_mut("eth0").expect("eth0").rx_bytes = 68_210_035_552;
        after.get_mut("eth0").expect("eth0").rx_bytes = 1_000;
        let network = section(&before, &after, Duration::from_secs(1));
        let eth0 = find(&network, "eth0");
        assert_eq!((eth0.rx_bytes_per_sec, eth0.rx_bytes), (0.0, 1_000));
        // lo going from the second reading back to the first: a fall of 33_589_704
        // from 3_382_844_669 (fits 32 bits) would be a wrap of 2^32 - 33_589_704 ≈
        // 4.26e9, more than half the range: a reset, not a 4 GB/s spike.
        let network = section(&reading(VM_2), &reading(VM_1), Duration::from_secs(1));
        let lo = find(&network, "lo");
        assert_eq!((lo.rx_bytes_per_sec, lo.tx_packets_per_sec), (0.0, 0.0));
        assert_eq!(network.validate(), Ok(()));
    }

    #[test]
    fn an_interface_that_appears_starts_at_zero_and_one_that_leaves_is_dropped() {
        let mut before = reading(VM_1);
        before.remove("eth0");
        before.insert("tun0".into(), Counters::default());
        let network = section(&before, &reading(VM_2), VM_ELAPSED);
        // eth0 appeared: listed with its counters, rates 0 until its second reading.
        let eth0 = find(&network, "eth0");
        assert_eq!(eth0.rx_bytes, 416_934_439);
        assert_eq!(eth0.rx_bytes_per_sec, 0.0);
        // tun0 left: gone.
        assert!(network.interfaces.iter().all(|i| i.name != "tun0"));
        // lo still has its rate.
        assert_eq!(find(&network, "lo").rx_bytes_per_sec, 23_489_303.5);
    }
}
