//! Parses `/proc/net/dev`: two header lines, then one line per interface,
//! `name: <8 receive counters> <8 transmit counters>`.
//!
//! The name is everything before the *last* colon: an alias such as `ibr10:30` keeps
//! its own colon, and a large counter may follow the colon without a space
//! (`eth0:68210035552 …`). Pure over text, so it is tested on recorded files.

use std::collections::BTreeMap;

use crate::counters::Counters;

/// Counters in the file's column order: receive bytes, packets, errs, drop, fifo,
/// frame, compressed, multicast; then transmit bytes, packets, errs, drop, fifo,
/// colls, carrier, compressed.
const COLUMNS: usize = 16;

/// A line of the file that does not have the documented shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("/proc/net/dev line {line}: {problem}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub problem: String,
}

/// Every interface's counters, by name (so sorted by name).
pub fn parse(text: &str) -> Result<BTreeMap<String, Counters>, ParseError> {
    let mut interfaces = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let error = |problem: String| ParseError {
            line: index + 1,
            problem,
        };
        // The two header lines are the only ones without a colon.
        let Some((name, numbers)) = line.rsplit_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(error("no interface name before the colon".into()));
        }
        let values = numbers
            .split_whitespace()
            .map(str::parse::<u64>)
            .collect::<Result<Vec<u64>, _>>()
            .map_err(|e| error(format!("interface {name}: {e}")))?;
        if values.len() < COLUMNS {
            return Err(error(format!(
                "interface {name}: {} counters, expected {COLUMNS}",
                values.len()
            )));
        }
        let counters = Counters {
            rx_bytes: values[0],
            rx_packets: values[1],
            rx_errors: values[2],
            rx_drops: values[3],
            tx_bytes: values[8],
            tx_packets: values[9],
            tx_errors: values[10],
            tx_drops: values[11],
        };
        interfaces.insert(name.to_owned(), counters);
    }
    Ok(interfaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE_EXPORTER: &str = include_str!("../tests/fixtures/node-exporter/net-dev");
    const VM_1: &str = include_str!("../tests/fixtures/vm-2core/net-dev.1");

    #[test]
    fn reads_every_interface_of_node_exporters_file() {
        let interfaces = parse(NODE_EXPORTER).expect("parses");
        let names: Vec<&str> = interfaces.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "docker0",
                "eth0",
                "ibr10:30",
                "lo",
                "lxcbr0",
                "tun0",
                "veth4B09XN",
                "wlan0"
            ]
        );
        // `  eth0:68210035552 520993275    0 … 9315587528 43451486 …`: no space after
        // the colon, and counters past 32 bits.
        assert_eq!(
            interfaces["eth0"],
            Counters {
                rx_bytes: 68_210_035_552,
                rx_packets: 520_993_275,
                rx_errors: 0,
                rx_drops: 0,
                tx_bytes: 9_315_587_528,
                tx_packets: 43_451_486,
                tx_errors: 0,
                tx_drops: 0,
            }
        );
        // `veth4B09XN:     648       8 … 1943284   10640 …`
        let veth = &interfaces["veth4B09XN"];
        assert_eq!((veth.rx_bytes, veth.rx_packets), (648, 8));
        assert_eq!((veth.tx_bytes, veth.tx_packets), (1_943_284, 10_640));
    }

    #[test]
    fn an_interface_name_keeps_its_own_colon() {
        // `ibr10:30:       0       0 …`: the name is before the last colon.
        let interfaces = parse(NODE_EXPORTER).expect("parses");
        assert_eq!(interfaces["ibr10:30"], Counters::default());
        assert!(!interfaces.contains_key("ibr10"));
    }

    #[test]
    fn reads_this_projects_vm() {
        let interfaces = parse(VM_1).expect("parses");
        // `    lo: 3349254965 8244601    0    0 … 3349254965 8244601 …`
        assert_eq!(interfaces["lo"].rx_bytes, 3_349_254_965);
        assert_eq!(interfaces["lo"].tx_packets, 8_244_601);
        // `  eth0: 416934439   16208 … 972992   10674 …`
        assert_eq!(interfaces["eth0"].rx_bytes, 416_934_439);
        assert_eq!(interfaces["eth0"].tx_bytes, 972_992);
        assert_eq!(interfaces.len(), 4);
    }

    #[test]
    fn drops_and_errors_come_from_their_columns() {
        // Columns: rx bytes packets errs drop fifo frame compressed multicast,
        //          tx bytes packets errs drop fifo colls carrier compressed.
        let text = "h1\nh2\n  eth9: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
        let eth9 = parse(text).expect("parses")["eth9"];
        assert_eq!((eth9.rx_errors, eth9.rx_drops), (3, 4));
        assert_eq!((eth9.tx_bytes, eth9.tx_errors, eth9.tx_drops), (9, 11, 12));
    }

    #[test]
    fn a_short_or_garbled_line_is_an_error_naming_it() {
        let short = parse("h1\nh2\n  eth0: 1 2 3\n").unwrap_err();
        assert_eq!(short.line, 3);
        assert!(short.problem.contains("3 counters"), "{short}");
        let garbled = parse("h1\nh2\n  eth0: 1 2 x 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
        assert!(garbled.is_err());
        assert!(parse(": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16").is_err());
    }
}
