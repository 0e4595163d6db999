//! Maximum CPU frequency, which sysinfo does not report. Like the seed's detection it
//! tries the most precise source first: the kernel's cpufreq limit, then the "@ 3.70GHz"
//! the vendor prints in the model name (virtual machines often have no cpufreq).

/// The maximum frequency in MHz, if any source knows it.
pub fn max_mhz(brand: &str) -> Option<f64> {
    cpufreq_max_mhz().or_else(|| brand_mhz(brand))
}

fn cpufreq_max_mhz() -> Option<f64> {
    let text =
        std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").ok()?;
    parse_khz(&text)
}

/// Parses sysfs's kHz value into MHz.
fn parse_khz(text: &str) -> Option<f64> {
    let khz: f64 = text.trim().parse().ok()?;
    (khz > 0.0).then(|| (khz / 1000.0).round())
}

/// Reads `… @ 2.20GHz` (or `MHz`) at the end of a model name.
fn brand_mhz(brand: &str) -> Option<f64> {
    let (_, tail) = brand.rsplit_once('@')?;
    let tail = tail.trim();
    let (number, scale) = if let Some(n) = tail.strip_suffix("GHz") {
        (n, 1000.0)
    } else {
        (tail.strip_suffix("MHz")?, 1.0)
    };
    let value: f64 = number.trim().parse().ok()?;
    (value > 0.0).then(|| (value * scale).round())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sysfs_khz() {
        assert_eq!(parse_khz("3700000\n"), Some(3700.0));
        assert_eq!(parse_khz("0"), None);
        assert_eq!(parse_khz("garbage"), None);
    }

    #[test]
    fn parses_brand_strings() {
        assert_eq!(
            brand_mhz("Intel(R) Xeon(R) CPU E5-2650 v4 @ 2.20GHz"),
            Some(2200.0)
        );
        assert_eq!(brand_mhz("Some CPU @ 1800MHz"), Some(1800.0));
        assert_eq!(brand_mhz("AMD EPYC 7B13"), None);
    }
}
