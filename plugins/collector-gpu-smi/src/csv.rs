//! The CSV answers of `nvidia-smi --query-gpu=… --format=csv,noheader[,nounits]`: the
//! cheap per-tick query and the rarely run query for names and the driver version.
//!
//! nvidia-smi does not quote its CSV: fields are split on commas, and the one field that
//! could hold a comma (the product name) is asked for last and split off whole. Lines
//! that are not GPU rows (nvidia-smi prints warnings such as a corrupt infoROM on
//! stdout) are skipped.

use crate::value::{mib_as_bytes, number, text};

/// The fields of a tick, in the order [`parse_tick`] expects.
pub const TICK_FIELDS: &str =
    "index,uuid,utilization.gpu,memory.total,memory.used,memory.free,temperature.gpu,power.draw,power.limit";

/// The slow-changing fields, in the order [`parse_static`] expects: the name last.
pub const STATIC_FIELDS: &str = "index,uuid,driver_version,name";

/// One GPU's line of the tick query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickRow {
    /// nvidia-smi index.
    pub index: u32,
    /// `GPU-…`.
    pub uuid: Option<String>,
    /// %.
    pub gpu_usage_percent: Option<f64>,
    /// Bytes.
    pub memory_total: Option<u64>,
    /// Bytes.
    pub memory_used: Option<u64>,
    /// Bytes.
    pub memory_free: Option<u64>,
    /// °C.
    pub temperature: Option<f64>,
    /// W.
    pub power_draw: Option<f64>,
    /// W.
    pub power_limit: Option<f64>,
}

/// One GPU's line of the static query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StaticRow {
    /// nvidia-smi index.
    pub index: u32,
    /// `GPU-…`.
    pub uuid: Option<String>,
    /// Driver version.
    pub driver_version: Option<String>,
    /// Product name.
    pub name: Option<String>,
}

/// Parses the tick query's output. Fails only when non-blank output holds no GPU row.
pub fn parse_tick(output: &str) -> Result<Vec<TickRow>, String> {
    rows(output, 9, |fields| {
        Some(TickRow {
            index: fields[0].parse().ok()?,
            uuid: text(fields[1]).map(str::to_owned),
            gpu_usage_percent: number(fields[2]),
            memory_total: mib_as_bytes(fields[3]),
            memory_used: mib_as_bytes(fields[4]),
            memory_free: mib_as_bytes(fields[5]),
            temperature: number(fields[6]),
            power_draw: number(fields[7]),
            power_limit: number(fields[8]),
        })
    })
}

/// Parses the static query's output. Fails only when non-blank output holds no GPU row.
pub fn parse_static(output: &str) -> Result<Vec<StaticRow>, String> {
    rows(output, 4, |fields| {
        Some(StaticRow {
            index: fields[0].parse().ok()?,
            uuid: text(fields[1]).map(str::to_owned),
            driver_version: text(fields[2]).map(str::to_owned),
            name: text(fields[3]).map(str::to_owned),
        })
    })
}

/// Splits each line into `count` trimmed fields (the last one keeps any commas) and
/// keeps the lines `row` accepts.
fn rows<T>(
    output: &str,
    count: usize,
    row: impl Fn(&[&str]) -> Option<T>,
) -> Result<Vec<T>, String> {
    let parsed: Vec<T> = output
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.splitn(count, ',').map(str::trim).collect();
            (fields.len() == count).then(|| row(&fields)).flatten()
        })
        .collect();
    match output.lines().map(str::trim).find(|line| !line.is_empty()) {
        Some(first) if parsed.is_empty() => Err(format!(
            "no GPU line in nvidia-smi's output, which begins: {first}"
        )),
        _ => Ok(parsed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn tick_rows_with_and_without_readings() {
        // As nvidia-smi prints them with `nounits`; the second GPU as older drivers and
        // the third as newer ones print what they cannot read.
        let output = "0, GPU-19d6d965-2acc-f646-00f8-4c76979aabb4, 65, 10240, 9184, 660, 27, 142.33, 320.00\n\
                      1, GPU-f9ba66fc-a7f5-94c5-da19-019ef2f9c665, 0, 4096, 42, 4054, 39, [Not Supported], [Not Supported]\n\
                      2, GPU-513536b6-7d19-9063-b049-1e69664bb298, [N/A], 81920, 50, 80999, 27, 67.03, 500.00\n";
        let rows = parse_tick(output).expect("parses");
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            TickRow {
                index: 0,
                uuid: Some("GPU-19d6d965-2acc-f646-00f8-4c76979aabb4".into()),
                gpu_usage_percent: Some(65.0),
                memory_total: Some(10240 * MIB),
                memory_used: Some(9184 * MIB),
                memory_free: Some(660 * MIB),
                temperature: Some(27.0),
                power_draw: Some(142.33),
                power_limit: Some(320.0),
            }
        );
        assert_eq!((rows[1].power_draw, rows[1].power_limit), (None, None));
        assert_eq!(rows[1].memory_used, Some(42 * MIB));
        assert_eq!(rows[2].gpu_usage_percent, None);
        assert_eq!(rows[2].index, 2);
    }

    #[test]
    fn units_are_read_when_nounits_is_missing() {
        let rows =
            parse_tick("0, GPU-x, 65 %, 10240 MiB, 9184 MiB, 660 MiB, 27, 142.33 W, 320.00 W")
                .expect("parses");
        assert_eq!(rows[0].gpu_usage_percent, Some(65.0));
        assert_eq!(rows[0].memory_total, Some(10240 * MIB));
        assert_eq!(rows[0].power_draw, Some(142.33));
    }

    #[test]
    fn warnings_are_skipped_but_garbage_is_refused() {
        let output = "WARNING: infoROM is corrupted at gpu 0000:01:00.0\n\
                      0, GPU-a, 1, 2, 1, 1, 30, 10.5, 100\n";
        assert_eq!(parse_tick(output).expect("parses").len(), 1);
        assert_eq!(parse_tick("").expect("no GPU, no row"), vec![]);
        let err = parse_tick("Field \"utilization.gpu\" is not a valid field to query.\n")
            .expect_err("must fail");
        assert!(err.contains("is not a valid field"), "{err}");
        // A row with a field missing is no row.
        assert!(parse_tick("0, GPU-a, 1, 2, 1, 1, 30, 10.5").is_err());
    }

    #[test]
    fn static_rows_keep_commas_in_names() {
        let output =
            "0, GPU-12345678-aaaa-bbbb-cccc-0123456789ab, 590.44.01, NVIDIA GeForce RTX 2070\n\
                      1, GPU-12345678-aaaa-bbbb-cccc-0123456789cd, 590.44.01, Odd, Name\n";
        let rows = parse_static(output).expect("parses");
        assert_eq!(
            rows[0],
            StaticRow {
                index: 0,
                uuid: Some("GPU-12345678-aaaa-bbbb-cccc-0123456789ab".into()),
                driver_version: Some("590.44.01".into()),
                name: Some("NVIDIA GeForce RTX 2070".into()),
            }
        );
        assert_eq!(rows[1].name.as_deref(), Some("Odd, Name"));
        assert_eq!(
            parse_static("0, GPU-a, [N/A], N/A").expect("parses")[0].driver_version,
            None
        );
    }
}
