//! A hwmon tree in the kernel's sysfs layout (millidegrees Celsius, RPM), for the
//! sensors plugin's `root` setting: the sensors section on a machine without sensors.

use std::path::Path;

/// Writes a two-socket machine whose two `coretemp` chips both say `Core 0` (45 °C and
/// 47 °C, high 80 °C, critical 100 °C), and a board with one fan at 1200 RPM.
pub fn two_sockets_and_a_fan(root: &Path) {
    let chips: [(&str, &[(&str, &str)]); 3] = [
        (
            "hwmon0",
            &[
                ("name", "coretemp"),
                ("temp1_input", "45000"),
                ("temp1_label", "Core 0"),
                ("temp1_max", "80000"),
                ("temp1_crit", "100000"),
            ],
        ),
        (
            "hwmon1",
            &[
                ("name", "coretemp"),
                ("temp1_input", "47000"),
                ("temp1_label", "Core 0"),
                ("temp1_max", "80000"),
                ("temp1_crit", "100000"),
            ],
        ),
        ("hwmon2", &[("name", "nct6775"), ("fan1_input", "1200")]),
    ];
    for (chip, files) in chips {
        let dir = root.join(chip);
        std::fs::create_dir_all(&dir).expect("chip folder");
        for (name, content) in files {
            std::fs::write(dir.join(name), format!("{content}\n")).expect("sysfs file");
        }
    }
}

/// `[plugins.sensors]` reading the tree at `root`.
pub fn sensors_config(root: &Path) -> String {
    format!(
        "[plugins.sensors]\nroot = {:?}\n",
        root.display().to_string()
    )
}
