//! Parses `/proc/diskstats`: `major minor name` and then 11 counters (kernels before
//! 4.18), 15 (4.18+: discards) or 17 (5.5+: flushes). Only the first 11 are read, and
//! their meaning is the same in all three layouts
//! (Documentation/admin-guide/iostats.rst). Pure over text, so it is tested on
//! recorded files.

use std::collections::BTreeMap;

/// Sectors in /proc/diskstats are always 512 bytes, whatever the device's own sector
/// size (the kernel converts; see iostats.rst).
pub const SECTOR_BYTES: u64 = 512;

/// The fewest counters a line has (the pre-4.18 layout).
const MIN_COUNTERS: usize = 11;

/// One device's cumulative counters, as read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Reads completed (field 1).
    pub reads: u64,
    /// Sectors read (field 3), 512 bytes each.
    pub sectors_read: u64,
    /// Writes completed (field 5).
    pub writes: u64,
    /// Sectors written (field 7), 512 bytes each.
    pub sectors_written: u64,
    /// Milliseconds spent doing I/O (field 10, `io_ticks`).
    pub io_time_ms: u64,
}

/// A line of the file that does not have the documented shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("/proc/diskstats line {line}: {problem}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub problem: String,
}

/// Every device's counters, by name (so sorted by name).
pub fn parse(text: &str) -> Result<BTreeMap<String, Counters>, ParseError> {
    let mut devices = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let error = |problem: String| ParseError {
            line: index + 1,
            problem,
        };
        let mut fields = line.split_whitespace();
        let (Some(_major), Some(_minor), Some(name)) =
            (fields.next(), fields.next(), fields.next())
        else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(error("fewer than three fields before the counters".into()));
        };
        let values = fields
            .map(str::parse::<u64>)
            .collect::<Result<Vec<u64>, _>>()
            .map_err(|e| error(format!("device {name}: {e}")))?;
        if values.len() < MIN_COUNTERS {
            return Err(error(format!(
                "device {name}: {} counters, expected at least {MIN_COUNTERS}",
                values.len()
            )));
        }
        let counters = Counters {
            reads: values[0],
            sectors_read: values[2],
            writes: values[4],
            sectors_written: values[6],
            io_time_ms: values[9],
        };
        devices.insert(name.to_owned(), counters);
    }
    Ok(devices)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE_EXPORTER: &str = include_str!("../tests/fixtures/node-exporter/diskstats");
    const VM_1: &str = include_str!("../tests/fixtures/vm-2core/diskstats.1");

    #[test]
    fn reads_11_field_lines() {
        // `8 0 sda 25354637 34367663 1003346126 18492372 28444756 11134226 505697032
        //  63877960 0 9653880 82621804`
        let devices = parse(NODE_EXPORTER).expect("parses");
        assert_eq!(
            devices["sda"],
            Counters {
                reads: 25_354_637,
                sectors_read: 1_003_346_126,
                writes: 28_444_756,
                sectors_written: 505_697_032,
                io_time_ms: 9_653_880,
            }
        );
        // Partitions and virtual devices are in the file too; filtering is not the
        // parser's job.
        assert!(devices.contains_key("sda1") && devices.contains_key("dm-0"));
        assert!(devices.contains_key("nvme0n1p1") && devices.contains_key("ram0"));
    }

    #[test]
    fn reads_15_field_lines() {
        // `8 0 sdb 326552 841 9657779 84 41822 2895 1972905 5007 0 60730 67070 68851 0
        //  1925173784 11130`: the four discard counters follow and are not read.
        let devices = parse(NODE_EXPORTER).expect("parses");
        assert_eq!(
            devices["sdb"],
            Counters {
                reads: 326_552,
                sectors_read: 9_657_779,
                writes: 41_822,
                sectors_written: 1_972_905,
                io_time_ms: 60_730,
            }
        );
    }

    #[test]
    fn reads_17_field_lines() {
        // `8 0 sdc 126552 141 1657779 14 11822 1895 172905 1007 0 10730 17070 18851 0
        //  125173784 11130 1555 1944`: discards and then two flush counters.
        let devices = parse(NODE_EXPORTER).expect("parses");
        assert_eq!(
            devices["sdc"],
            Counters {
                reads: 126_552,
                sectors_read: 1_657_779,
                writes: 11_822,
                sectors_written: 172_905,
                io_time_ms: 10_730,
            }
        );
        // This project's VM (Linux 6.18) writes 17 fields too.
        // `254 0 vda 471652 21309 17813922 1716055 95636 97759 36883736 425320 0 115716 …`
        let vda = parse(VM_1).expect("parses")["vda"];
        assert_eq!((vda.reads, vda.sectors_read), (471_652, 17_813_922));
        assert_eq!((vda.writes, vda.sectors_written), (95_636, 36_883_736));
        assert_eq!(vda.io_time_ms, 115_716);
    }

    #[test]
    fn a_short_or_garbled_line_is_an_error_naming_it() {
        let short = parse("   8 0 sda 1 2 3 4\n").unwrap_err();
        assert_eq!(short.line, 1);
        assert!(short.problem.contains("4 counters"), "{short}");
        assert!(parse("8 0 sda 1 2 3 4 5 6 7 8 9 x 11\n").is_err());
        assert!(parse("8 0\n").is_err());
        assert_eq!(parse("\n").expect("blank lines are skipped").len(), 0);
    }
}
