//! Linux's hwmon sysfs tree, read as the kernel documents it
//! (Documentation/hwmon/sysfs-interface.rst): one directory per chip under
//! `/sys/class/hwmon/hwmon*`, holding `name`, `tempN_input`/`_label`/`_max`/`_crit` in
//! millidegrees Celsius and `fanN_input`/`_label` in RPM. Old drivers keep the files in
//! the chip's `device/` subdirectory instead, which libsensors also looks at.
//!
//! The tree is walked once, at start ([`discover`]): labels and thresholds are fixed by
//! the driver, so each tick only reads the `_input` files ([`read`]). A file that cannot
//! be read or does not hold a number is skipped — drivers return EIO or ENODATA for
//! sensors that are absent or asleep — and never fails the whole reading.

use std::fs;
use std::path::{Path, PathBuf};

use monitoring_plugin_api::sections::{Fan, Sensors, Temperature};

/// Where the kernel lists its hwmon chips.
pub const DEFAULT_ROOT: &str = "/sys/class/hwmon";

/// One sensor found at start: what to read each tick and how to name it.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Chip name, from the chip's `name` file.
    pub chip: String,
    /// `tempN_label`/`fanN_label`, or `tempN`/`fanN` without one.
    pub label: String,
    /// The `_input` file read each tick.
    pub input: PathBuf,
    /// Temperatures: `tempN_max` and `tempN_crit`, °C, read at start.
    pub high: Option<f64>,
    /// See `high`.
    pub critical: Option<f64>,
}

/// The sensors of one machine, by kind, sorted by chip then label.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Probes {
    /// Temperature sensors.
    pub temperatures: Vec<Probe>,
    /// Fans.
    pub fans: Vec<Probe>,
}

impl Probes {
    /// Whether no sensor at all was found.
    pub fn is_empty(&self) -> bool {
        self.temperatures.is_empty() && self.fans.is_empty()
    }
}

/// Walks the chips under `root`. A missing or unreadable root is an empty result.
pub fn discover(root: &Path) -> Probes {
    let mut chips: Vec<PathBuf> = match fs::read_dir(root) {
        Ok(entries) => entries.flatten().map(|entry| entry.path()).collect(),
        Err(_) => return Probes::default(),
    };
    chips.sort();
    let mut probes = Probes::default();
    for chip_dir in chips {
        let Some((dir, chip)) = attribute_dir(&chip_dir) else {
            continue;
        };
        discover_chip(&dir, &chip, &mut probes);
    }
    let by_name = |a: &Probe, b: &Probe| (&a.chip, &a.label).cmp(&(&b.chip, &b.label));
    probes.temperatures.sort_by(by_name);
    probes.fans.sort_by(by_name);
    probes
}

/// The directory holding a chip's attributes, and the chip's name.
fn attribute_dir(chip_dir: &Path) -> Option<(PathBuf, String)> {
    [chip_dir.to_path_buf(), chip_dir.join("device")]
        .into_iter()
        .find_map(|dir| {
            let name = read_line(&dir.join("name"))?;
            Some((dir, name))
        })
}

fn discover_chip(dir: &Path, chip: &str, probes: &mut Probes) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        let Some(sensor) = name.strip_suffix("_input") else {
            continue;
        };
        let label = || read_line(&dir.join(format!("{sensor}_label"))).unwrap_or(sensor.into());
        if is_numbered(sensor, "temp") {
            let threshold = |suffix: &str| {
                read_number(&dir.join(format!("{sensor}_{suffix}"))).map(millidegrees)
            };
            probes.temperatures.push(Probe {
                chip: chip.into(),
                label: label(),
                input: dir.join(&name),
                high: threshold("max"),
                critical: threshold("crit"),
            });
        } else if is_numbered(sensor, "fan") {
            probes.fans.push(Probe {
                chip: chip.into(),
                label: label(),
                input: dir.join(&name),
                high: None,
                critical: None,
            });
        }
    }
}

/// `temp1`, `fan12`: the kind followed by a sensor number.
fn is_numbered(sensor: &str, kind: &str) -> bool {
    sensor
        .strip_prefix(kind)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// One tick: every probe whose `_input` reads as a number.
pub fn read(probes: &Probes) -> Sensors {
    let temperatures = probes
        .temperatures
        .iter()
        .filter_map(|probe| {
            Some(Temperature {
                celsius: millidegrees(read_number(&probe.input)?),
                chip: probe.chip.clone(),
                label: probe.label.clone(),
                high: probe.high,
                critical: probe.critical,
            })
        })
        .collect();
    let fans = probes
        .fans
        .iter()
        .filter_map(|probe| {
            let rpm = read_number(&probe.input)?;
            Some(Fan {
                chip: probe.chip.clone(),
                label: probe.label.clone(),
                rpm: u64::try_from(rpm).ok()? as f64,
            })
        })
        .collect();
    Sensors { temperatures, fans }
}

/// Millidegrees to °C with one decimal.
fn millidegrees(value: i64) -> f64 {
    (value as f64 / 100.0).round() / 10.0
}

/// The trimmed first line of a small sysfs file; `None` when unreadable or blank.
fn read_line(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

/// A sysfs integer; `None` when unreadable or not an integer.
fn read_number(path: &Path) -> Option<i64> {
    read_line(path)?.parse().ok()
}

#[cfg(test)]
pub(crate) mod fake {
    //! Builds hwmon trees in temporary directories, as the kernel lays them out.
    use std::fs;
    use std::path::Path;

    /// Writes `files` (name, content) into `root/<chip_dir>`.
    pub fn chip(root: &Path, chip_dir: &str, files: &[(&str, &str)]) {
        let dir = root.join(chip_dir);
        fs::create_dir_all(&dir).expect("chip directory");
        for (name, content) in files {
            fs::write(dir.join(name), format!("{content}\n")).expect("sysfs file");
        }
    }

    /// An Intel `coretemp` chip: labelled, with max and crit, as on a desktop.
    pub fn coretemp(root: &Path) {
        chip(
            root,
            "hwmon2",
            &[
                ("name", "coretemp"),
                ("temp1_input", "45000"),
                ("temp1_label", "Package id 0"),
                ("temp1_max", "80000"),
                ("temp1_crit", "100000"),
                ("temp2_input", "43500"),
                ("temp2_label", "Core 0"),
                ("temp2_max", "80000"),
                ("temp2_crit", "100000"),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{chip, coretemp};
    use super::*;

    fn temperature(
        chip: &str,
        label: &str,
        celsius: f64,
        high: Option<f64>,
        critical: Option<f64>,
    ) -> Temperature {
        Temperature {
            chip: chip.into(),
            label: label.into(),
            celsius,
            high,
            critical,
        }
    }

    #[test]
    fn a_labelled_chip_with_thresholds() {
        let root = tempfile::tempdir().expect("temp dir");
        coretemp(root.path());
        let sensors = read(&discover(root.path()));
        assert_eq!(
            sensors.temperatures,
            [
                temperature("coretemp", "Core 0", 43.5, Some(80.0), Some(100.0)),
                temperature("coretemp", "Package id 0", 45.0, Some(80.0), Some(100.0)),
            ]
        );
        assert!(sensors.fans.is_empty());
    }

    #[test]
    fn an_unlabelled_chip_a_fan_and_garbage() {
        let root = tempfile::tempdir().expect("temp dir");
        // An ACPI zone: no label, no thresholds, a negative reading.
        chip(
            root.path(),
            "hwmon0",
            &[("name", "acpitz"), ("temp1_input", "-5500")],
        );
        // A Super-I/O chip: two fans (one labelled), a sensor returning garbage, one
        // whose input is empty (what a read error looks like once cat'ed), and files
        // that only look like sensors.
        chip(
            root.path(),
            "hwmon1",
            &[
                ("name", "nct6775"),
                ("fan1_input", "1200"),
                ("fan2_input", "834"),
                ("fan2_label", "CPU fan"),
                ("fan3_input", "-1"),
                ("temp1_input", "not a number"),
                ("temp2_input", ""),
                ("temp3_input", "38000"),
                ("temp3_crit", "garbage"),
                ("tempx_input", "1000"),
                ("in0_input", "1200"),
            ],
        );
        // An old driver: attributes under device/.
        chip(
            root.path(),
            "hwmon3/device",
            &[("name", "w83627hf"), ("temp1_input", "30000")],
        );
        // A directory that is not a chip at all.
        fs::create_dir_all(root.path().join("hwmon4")).expect("dir");
        let sensors = read(&discover(root.path()));
        assert_eq!(
            sensors.temperatures,
            [
                temperature("acpitz", "temp1", -5.5, None, None),
                temperature("nct6775", "temp3", 38.0, None, None),
                temperature("w83627hf", "temp1", 30.0, None, None),
            ]
        );
        let fans: Vec<(&str, &str, f64)> = sensors
            .fans
            .iter()
            .map(|f| (f.chip.as_str(), f.label.as_str(), f.rpm))
            .collect();
        assert_eq!(
            fans,
            [("nct6775", "CPU fan", 834.0), ("nct6775", "fan1", 1200.0)]
        );
    }

    #[test]
    fn a_value_that_turns_to_garbage_is_skipped_on_that_tick() {
        let root = tempfile::tempdir().expect("temp dir");
        coretemp(root.path());
        let probes = discover(root.path());
        fs::write(root.path().join("hwmon2/temp1_input"), "oops\n").expect("write");
        fs::write(root.path().join("hwmon2/temp2_input"), "51250\n").expect("write");
        let sensors = read(&probes);
        assert_eq!(
            sensors.temperatures,
            [temperature(
                "coretemp",
                "Core 0",
                51.3,
                Some(80.0),
                Some(100.0)
            )]
        );
    }

    #[test]
    fn an_empty_or_missing_tree_has_no_sensor() {
        let root = tempfile::tempdir().expect("temp dir");
        assert!(discover(root.path()).is_empty());
        assert!(discover(&root.path().join("absent")).is_empty());
        chip(root.path(), "hwmon0", &[("name", "acpitz")]);
        assert!(discover(root.path()).is_empty());
    }

    #[test]
    fn millidegrees_round_to_one_decimal() {
        assert_eq!(millidegrees(45000), 45.0);
        assert_eq!(millidegrees(51250), 51.3);
        assert_eq!(millidegrees(-5500), -5.5);
    }
}
