//! Where the counters come from: `/proc/net/dev` on Linux, which has every counter of
//! the section; sysinfo's `Networks` elsewhere, which has bytes, packets and errors but
//! no drop counters (reported as 0 there).

use monitoring_plugin_api::PluginError;

use crate::counters::Reading;

/// Reads every interface's counters; kept between calls (sysinfo's `Networks` is
/// refreshed in place).
pub struct Source {
    #[cfg(not(target_os = "linux"))]
    networks: sysinfo::Networks,
}

#[cfg(target_os = "linux")]
impl Source {
    /// The file the kernel keeps the counters in.
    const PROC_NET_DEV: &'static str = "/proc/net/dev";

    /// A source, or `unavailable` when `/proc/net/dev` cannot be read (no procfs).
    pub fn new() -> Result<Self, PluginError> {
        std::fs::metadata(Self::PROC_NET_DEV).map_err(|e| {
            PluginError::unavailable(format_args!("cannot read {}: {e}", Self::PROC_NET_DEV))
        })?;
        Ok(Self {})
    }

    /// Every interface's counters now.
    pub fn read(&mut self) -> Result<Reading, PluginError> {
        let text = std::fs::read_to_string(Self::PROC_NET_DEV).map_err(|e| {
            PluginError::retryable(format_args!("cannot read {}: {e}", Self::PROC_NET_DEV))
        })?;
        crate::proc_net_dev::parse(&text).map_err(PluginError::retryable)
    }
}

#[cfg(not(target_os = "linux"))]
impl Source {
    /// A source, or `unavailable` when the OS gives no network statistics.
    pub fn new() -> Result<Self, PluginError> {
        let networks = sysinfo::Networks::new_with_refreshed_list().map_err(|e| {
            PluginError::unavailable(format_args!("cannot read network statistics: {e}"))
        })?;
        Ok(Self { networks })
    }

    /// Every interface's counters now; drops are 0 (sysinfo does not report them).
    pub fn read(&mut self) -> Result<Reading, PluginError> {
        use crate::counters::Counters;
        self.networks.refresh(true);
        Ok(self
            .networks
            .iter()
            .map(|(name, data)| {
                let counters = Counters {
                    rx_bytes: data.total_received(),
                    rx_packets: data.total_packets_received(),
                    rx_errors: data.total_errors_on_received(),
                    rx_drops: 0,
                    tx_bytes: data.total_transmitted(),
                    tx_packets: data.total_packets_transmitted(),
                    tx_errors: data.total_errors_on_transmitted(),
                    tx_drops: 0,
                };
                (name.to_string_lossy().into_owned(), counters)
            })
            .collect())
    }
}
