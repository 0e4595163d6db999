//! Linux's `/proc/meminfo`, for node_exporter's `node_memory_*_bytes`.

use std::io::Read;

use monitoring_plugin_api::sections::MemInfo;

/// The most of `/proc/meminfo` read (it is ~1.5 kB).
const MAX_BYTES: u64 = 64 * 1024;

/// Reads `/proc/meminfo`; `None` where it cannot be read or lacks `MemTotal`.
pub fn read() -> Option<MemInfo> {
    let mut text = String::new();
    std::fs::File::open("/proc/meminfo")
        .ok()?
        .take(MAX_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    parse(&text)
}

/// The fields of [`MemInfo`] from the file's `Key:   123 kB` lines, in bytes. A field
/// the kernel does not have (`MemAvailable` before 3.14) reads 0; `None` without
/// `MemTotal`.
pub fn parse(text: &str) -> Option<MemInfo> {
    let mut info = MemInfo::default();
    let mut total_seen = false;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let Some(Ok(number)) = words.next().map(str::parse::<u64>) else {
            continue;
        };
        let bytes = match words.next() {
            Some("kB") => number.saturating_mul(1024),
            None => number,
            Some(_) => continue,
        };
        let field = match key {
            "MemTotal" => {
                total_seen = true;
                &mut info.MemTotal
            }
            "MemFree" => &mut info.MemFree,
            "MemAvailable" => &mut info.MemAvailable,
            "Buffers" => &mut info.Buffers,
            "Cached" => &mut info.Cached,
            "SwapTotal" => &mut info.SwapTotal,
            "SwapFree" => &mut info.SwapFree,
            _ => continue,
        };
        *field = bytes;
    }
    total_seen.then_some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_in_bytes() {
        let text = "MemTotal:       16318324 kB\nMemFree:         1048576 kB\n\
                    MemAvailable:    8159162 kB\nBuffers:          102400 kB\n\
                    Cached:          4096000 kB\nSwapCached:            0 kB\n\
                    SwapTotal:       2097148 kB\nSwapFree:        2097148 kB\n\
                    HugePages_Total:       0\n";
        let info = parse(text).unwrap_or_default();
        assert_eq!(info.MemTotal, 16_318_324 * 1024);
        assert_eq!(info.MemFree, 1_048_576 * 1024);
        assert_eq!(info.MemAvailable, 8_159_162 * 1024);
        assert_eq!(info.Buffers, 102_400 * 1024);
        assert_eq!(info.Cached, 4_096_000 * 1024, "not SwapCached");
        assert_eq!(info.SwapFree, 2_097_148 * 1024);
    }

    #[test]
    fn without_memtotal_there_is_nothing() {
        assert_eq!(parse("MemFree: 1 kB\ngarbage\n"), None);
    }
}
