//! One value as nvidia-smi prints it, in CSV or XML: a number with or without its unit,
//! or one of the tool's ways of saying "no reading" — all of which become `None`.

/// Unit suffixes nvidia-smi prints after numbers (absent with `--format=…,nounits`).
const UNITS: [&str; 5] = ["MiB", "MHz", "W", "C", "%"];

/// Bytes in the MiB nvidia-smi reports memory in.
const MIB: f64 = 1024.0 * 1024.0;

/// Text, or `None` for `N/A`, `[N/A]`, `[Not Supported]`, `Requested functionality has
/// been deprecated`, other bracketed notes, and empty fields.
pub fn text(raw: &str) -> Option<&str> {
    let raw = raw.trim();
    let missing = raw.is_empty()
        || raw.eq_ignore_ascii_case("N/A")
        || (raw.starts_with('[') && raw.ends_with(']'))
        || raw.starts_with("Requested functionality has been deprecated");
    (!missing).then_some(raw)
}

/// A finite number, its unit suffix (if any) dropped; `None` for anything else.
pub fn number(raw: &str) -> Option<f64> {
    let raw = text(raw)?;
    let digits = UNITS
        .iter()
        .find_map(|unit| raw.strip_suffix(unit))
        .unwrap_or(raw);
    let value: f64 = digits.trim().parse().ok()?;
    value.is_finite().then_some(value)
}

/// A MiB count as bytes.
pub fn mib_as_bytes(raw: &str) -> Option<u64> {
    let mib = number(raw)?;
    // `as` saturates; a negative size is garbage, not zero.
    (mib >= 0.0).then(|| (mib * MIB).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_reading_is_none() {
        for raw in [
            "N/A",
            "[N/A]",
            "[Not Supported]",
            "[Unknown Error]",
            "Requested functionality has been deprecated",
            "",
            "  ",
        ] {
            assert_eq!(text(raw), None, "{raw:?}");
            assert_eq!(number(raw), None, "{raw:?}");
            assert_eq!(mib_as_bytes(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn numbers_with_and_without_units() {
        assert_eq!(number("65 %"), Some(65.0));
        assert_eq!(number("65"), Some(65.0));
        assert_eq!(number(" 142.33 W"), Some(142.33));
        assert_eq!(number("27 C"), Some(27.0));
        assert_eq!(number("1275 MHz"), Some(1275.0));
        assert_eq!(number("10240 MiB"), Some(10240.0));
        assert_eq!(number("P0"), None);
        assert_eq!(number("Enabled"), None);
        assert_eq!(number("NaN"), None);
        assert_eq!(number("inf"), None);
    }

    #[test]
    fn memory_in_bytes() {
        assert_eq!(mib_as_bytes("10240 MiB"), Some(10_737_418_240));
        assert_eq!(mib_as_bytes("9184"), Some(9184 * 1024 * 1024));
        assert_eq!(mib_as_bytes("0 MiB"), Some(0));
        assert_eq!(mib_as_bytes("-1"), None);
    }

    #[test]
    fn text_is_trimmed() {
        assert_eq!(
            text("  NVIDIA GeForce RTX 3080 \n"),
            Some("NVIDIA GeForce RTX 3080")
        );
    }
}
