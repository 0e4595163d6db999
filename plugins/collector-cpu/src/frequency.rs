//! CPU frequencies sysinfo does not report, or not well.
//!
//! The maximum: like the seed's detection, the most precise source first, the kernel's
//! cpufreq limit, then the "@ 3.70GHz" the vendor prints in the model name (virtual
//! machines often have no cpufreq).
//!
//! The current one, on Linux: cpufreq's `scaling_cur_freq` of every CPU, else the
//! `cpu MHz` lines of `/proc/cpuinfo`, read once per collection. sysinfo reads the whole
//! of `/proc/cpuinfo` once per CPU when cpufreq is missing and keeps its first line each
//! time: quadratic in the number of CPUs, on the large virtual machines that have the
//! most of them, and every CPU reported at the first one's speed.

/// The maximum frequency in MHz, if any source knows it.
pub fn max_mhz(brand: &str) -> Option<f64> {
    cpufreq_max_mhz().or_else(|| brand_mhz(brand))
}

fn cpufreq_max_mhz() -> Option<f64> {
    let text =
        std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").ok()?;
    parse_khz(&text)
}

/// The mean current frequency of the machine's CPUs in MHz, 0 when no source tells (the
/// seed's value for unknown). `system` has been refreshed with [`refresh_kind`].
pub fn current_mhz(system: &sysinfo::System) -> f64 {
    #[cfg(target_os = "linux")]
    let mhz = linux_current_mhz(system.cpus().len());
    #[cfg(not(target_os = "linux"))]
    let mhz = mean(
        &system
            .cpus()
            .iter()
            .map(|cpu| cpu.frequency() as f64)
            .collect::<Vec<_>>(),
    );
    mhz.unwrap_or(0.0)
}

/// What the collector asks sysinfo to refresh: usage, and the frequency only where this
/// module does not read it itself.
pub fn refresh_kind() -> sysinfo::CpuRefreshKind {
    let usage = sysinfo::CpuRefreshKind::nothing().with_usage();
    if cfg!(target_os = "linux") {
        usage
    } else {
        usage.with_frequency()
    }
}

/// The mean current frequency of the `cpus` logical CPUs in MHz, `None` when no source
/// tells.
#[cfg(target_os = "linux")]
fn linux_current_mhz(cpus: usize) -> Option<f64> {
    let cpufreq: Vec<f64> = (0..cpus)
        .map_while(|cpu| {
            let path = format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_cur_freq");
            parse_khz(&std::fs::read_to_string(path).ok()?)
        })
        .collect();
    if cpus > 0 && cpufreq.len() == cpus {
        return mean(&cpufreq);
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    mean(&cpuinfo_mhz(&cpuinfo))
}

/// Every CPU's `cpu MHz` (x86) or `clock` (POWER: `3000.000000MHz`) in `/proc/cpuinfo`.
#[cfg(any(target_os = "linux", test))]
fn cpuinfo_mhz(cpuinfo: &str) -> Vec<f64> {
    cpuinfo
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            let key = key.trim();
            (key.eq_ignore_ascii_case("cpu MHz") || key == "clock")
                .then(|| value.trim().trim_end_matches("MHz").parse::<f64>().ok())
                .flatten()
        })
        .filter(|mhz| *mhz > 0.0)
        .collect()
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| (values.iter().sum::<f64>() / values.len() as f64).round())
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
    fn reads_every_cpu_of_cpuinfo() {
        // The kernel's layout (x86: one block per logical CPU), two CPUs at different
        // speeds: the mean of both, not the first one's.
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) \
                   CPU @ 2.30GHz\ncpu MHz\t\t: 2300.000\ncache size\t: 46080 KB\n\n\
                   processor\t: 1\nvendor_id\t: GenuineIntel\ncpu MHz\t\t: 3100.512\n\n";
        assert_eq!(cpuinfo_mhz(x86), [2300.0, 3100.512]);
        assert_eq!(mean(&cpuinfo_mhz(x86)), Some(2700.0));
        let power = "processor\t: 0\ncpu\t\t: POWER9\nclock\t\t: 3800.000000MHz\nrevision\t: 2.2\n";
        assert_eq!(cpuinfo_mhz(power), [3800.0]);
        // ARM has neither (BogoMIPS is not a frequency): unknown.
        let arm = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\n";
        assert_eq!(mean(&cpuinfo_mhz(arm)), None);
    }

    #[test]
    fn the_mean_is_rounded_to_whole_megahertz() {
        assert_eq!(mean(&[]), None);
        assert_eq!(mean(&[2000.0, 3001.0]), Some(2501.0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_machine_has_a_current_frequency_if_it_says_one() {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let said = std::fs::read_to_string("/proc/cpuinfo")
            .is_ok_and(|text| !cpuinfo_mhz(&text).is_empty())
            || std::path::Path::new("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
                .exists();
        assert_eq!(linux_current_mhz(cpus).is_some(), said);
        assert!(linux_current_mhz(cpus).is_none_or(|mhz| mhz > 0.0));
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
