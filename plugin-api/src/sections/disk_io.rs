//! The `disk_io` section (plugin `disk-io`, issue 14): per block device throughput,
//! operations and busy time, plus totals over the listed devices.
//!
//! Rates are per second over the collector's own interval between two readings, one
//! decimal; counters are cumulative since boot, as the kernel reports them.

use serde::{Deserialize, Serialize};

use super::network::{check_rate, check_sorted_names};
use super::{check_percent, Section};

/// The `disk_io` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskIo {
    /// The listed block devices, sorted by name.
    pub devices: Vec<DiskIoDevice>,
    /// Sum of the devices' `read_bytes_per_sec`, bytes/s.
    pub read_bytes_per_sec: f64,
    /// Sum of the devices' `write_bytes_per_sec`, bytes/s.
    pub write_bytes_per_sec: f64,
}

/// One block device of [`DiskIo`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskIoDevice {
    /// The kernel's name of the device (`sda`, `nvme0n1`, `vda`).
    pub name: String,
    /// Bytes read per second.
    pub read_bytes_per_sec: f64,
    /// Bytes written per second.
    pub write_bytes_per_sec: f64,
    /// Read operations completed per second.
    pub reads_per_sec: f64,
    /// Write operations completed per second.
    pub writes_per_sec: f64,
    /// Share of the interval the device had I/O in flight, %, one decimal, 0–100.
    pub busy_percent: f64,
    /// Bytes read, cumulative.
    pub read_bytes: u64,
    /// Bytes written, cumulative.
    pub write_bytes: u64,
    /// Read operations completed, cumulative.
    pub reads: u64,
    /// Write operations completed, cumulative.
    pub writes: u64,
    /// Milliseconds the device had I/O in flight, cumulative.
    pub io_time_ms: u64,
}

impl Section for DiskIo {
    const NAME: &'static str = "disk_io";

    fn validate(&self) -> Result<(), String> {
        check_rate("disk_io.read_bytes_per_sec", self.read_bytes_per_sec)?;
        check_rate("disk_io.write_bytes_per_sec", self.write_bytes_per_sec)?;
        check_sorted_names(
            "disk_io.devices",
            self.devices.iter().map(|d| d.name.as_str()),
        )?;
        for (i, device) in self.devices.iter().enumerate() {
            let path = format!("disk_io.devices[{i}]");
            check_rate(
                &format!("{path}.read_bytes_per_sec"),
                device.read_bytes_per_sec,
            )?;
            check_rate(
                &format!("{path}.write_bytes_per_sec"),
                device.write_bytes_per_sec,
            )?;
            check_rate(&format!("{path}.reads_per_sec"), device.reads_per_sec)?;
            check_rate(&format!("{path}.writes_per_sec"), device.writes_per_sec)?;
            check_percent(&format!("{path}.busy_percent"), device.busy_percent)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::keys;
    use super::*;

    fn device(name: &str) -> DiskIoDevice {
        DiskIoDevice {
            name: name.into(),
            ..DiskIoDevice::default()
        }
    }

    #[test]
    fn disk_io_keeps_the_agreed_keys() {
        // The wire contract of issue 14 (see `network_keeps_the_agreed_keys`).
        let disk_io = DiskIo {
            devices: vec![device("sda")],
            ..DiskIo::default()
        };
        assert_eq!(
            keys(&disk_io),
            ["devices", "read_bytes_per_sec", "write_bytes_per_sec"]
        );
        assert_eq!(
            keys(&disk_io.devices[0]),
            [
                "busy_percent",
                "io_time_ms",
                "name",
                "read_bytes",
                "read_bytes_per_sec",
                "reads",
                "reads_per_sec",
                "write_bytes",
                "write_bytes_per_sec",
                "writes",
                "writes_per_sec"
            ]
        );
    }

    #[test]
    fn validation_refuses_bad_percentages_rates_and_disorder() {
        let ok = DiskIo {
            devices: vec![device("nvme0n1"), device("sda")],
            ..DiskIo::default()
        };
        assert_eq!(ok.validate(), Ok(()));

        let mut busy = ok.clone();
        busy.devices[0].busy_percent = 100.1;
        let err = busy.validate().unwrap_err();
        assert!(err.contains("disk_io.devices[0].busy_percent"), "{err}");

        let mut negative = ok.clone();
        negative.devices[1].writes_per_sec = -0.5;
        let err = negative.validate().unwrap_err();
        assert!(err.contains("disk_io.devices[1].writes_per_sec"), "{err}");

        let mut nan = ok.clone();
        nan.read_bytes_per_sec = f64::NAN;
        assert!(nan.validate().is_err());

        let mut repeated = ok.clone();
        repeated.devices[1].name = "nvme0n1".into();
        assert!(repeated.validate().is_err());
    }
}
