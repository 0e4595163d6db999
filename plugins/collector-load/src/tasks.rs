//! Runnable and total tasks, which only Linux's `/proc/loadavg` tells and sysinfo does
//! not read: its fourth field is `runnable/total` scheduling entities (proc(5)).

/// `(runnable, total)` from the text of `/proc/loadavg`; `None` when the fourth field
/// is missing or not two counts with `runnable ≤ total`.
#[cfg(any(target_os = "linux", test))]
pub fn parse_loadavg(text: &str) -> Option<(u64, u64)> {
    let field = text.split_ascii_whitespace().nth(3)?;
    let (runnable, total) = field.split_once('/')?;
    let runnable: u64 = runnable.parse().ok()?;
    let total: u64 = total.parse().ok()?;
    (runnable <= total).then_some((runnable, total))
}

/// The live counts, where the OS tells them.
#[cfg(target_os = "linux")]
pub fn read() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    parse_loadavg(&text)
}

/// Elsewhere there is no such file; the section then says 0 for both.
#[cfg(not(target_os = "linux"))]
pub fn read() -> Option<(u64, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn reads_the_recorded_files() {
        // "0.21 0.37 0.39 1/719 19737"
        assert_eq!(
            parse_loadavg(&fixture("node-exporter-loadavg")),
            Some((1, 719))
        );
        // "0.94 1.67 1.45 1/79 11617", then "… 2/79 11665" a second later.
        assert_eq!(parse_loadavg(&fixture("vm-2core-loadavg.1")), Some((1, 79)));
        assert_eq!(parse_loadavg(&fixture("vm-2core-loadavg.2")), Some((2, 79)));
    }

    #[test]
    fn refuses_what_is_not_the_format() {
        assert_eq!(parse_loadavg(""), None);
        assert_eq!(parse_loadavg("0.21 0.37 0.39"), None);
        assert_eq!(parse_loadavg("0.21 0.37 0.39 719 19737"), None);
        assert_eq!(parse_loadavg("0.21 0.37 0.39 x/719 19737"), None);
        assert_eq!(parse_loadavg("0.21 0.37 0.39 -1/719 19737"), None);
        assert_eq!(parse_loadavg("0.21 0.37 0.39 720/719 19737"), None);
    }
}
