//! Collector plugin `system`: operating system, host and process facts.
//!
//! Names follow Python's `platform` module as the seed uses it: `os_name` is
//! `platform.system()` ("Linux"), `os_release` the kernel release, `os_version` the
//! kernel's build string, `machine` the hardware type, `platform` the one-line summary
//! of `platform.platform()` (`Linux-6.1.0-18-amd64-x86_64-with-glibc2.36`). Everything
//! but the process count is read once.

mod platform;

use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::System;

/// Settings of `[plugins.system]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `system` section.
    pub system: System,
}

/// Holds the facts that never change while the server runs.
pub struct SystemCollector {
    /// Every field but `processes`, read once.
    unchanging: System,
}

impl Collector for SystemCollector {
    const NAME: &'static str = "system";
    const DESCRIPTION: &'static str =
        "Operating system, architecture, hostname, process count, boot time.";
    type Config = Config;
    type Output = Output;

    fn new(_config: Config) -> Result<Self, PluginError> {
        let unavailable = |e: std::io::Error| PluginError::unavailable(format_args!("{e}"));
        let mut unchanging = platform::identity().map_err(unavailable)?;
        unchanging.boot_time = platform::boot_time().map_err(unavailable)?;
        unchanging.boot_time_seconds = sysinfo_boot_time();
        Ok(Self { unchanging })
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        let processes =
            platform::process_count().map_err(|e| PluginError::retryable(format_args!("{e}")))?;
        Ok(Output {
            system: System {
                processes,
                ..self.unchanging.clone()
            },
        })
    }
}

declare_collector!(SystemCollector);

/// Boot time in Unix seconds, when the OS tells (`node_boot_time_seconds`).
fn sysinfo_boot_time() -> Option<u64> {
    sysinfo::System::boot_time().ok().filter(|s| *s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obeys_the_collector_contract() {
        let sections = monitoring_plugin_api::testing::check_collector::<SystemCollector>();
        let system = &sections["system"];
        // The section is the schema's: every field of it, no other (the schema pins
        // the wire keys).
        let section: System =
            monitoring_plugin_api::serde_json::from_value(system.clone()).expect("the schema");
        assert_eq!(
            &monitoring_plugin_api::serde_json::to_value(&section).expect("serializes"),
            system
        );
        for key in [
            "os_name",
            "os_version",
            "os_release",
            "architecture",
            "platform",
            "machine",
            "processor",
            "hostname",
        ] {
            assert!(system[key].is_string(), "{key} must be a string: {system}");
        }
        assert!(system["processes"].as_u64().is_some_and(|n| n >= 1));
        let boot = system["boot_time"].as_str().expect("boot_time is a string");
        assert!(
            chrono::NaiveDateTime::parse_from_str(boot, "%Y-%m-%dT%H:%M:%S").is_ok(),
            "{boot}"
        );
        if cfg!(target_os = "linux") {
            assert_eq!(system["os_name"], "Linux");
        }
        let platform = system["platform"].as_str().expect("platform is a string");
        let leading = format!(
            "{}-{}-{}",
            system["os_name"].as_str().expect("os_name"),
            system["os_release"].as_str().expect("os_release"),
            system["machine"].as_str().expect("machine"),
        );
        // Python's clean-up may rewrite odd release strings; plain ones pass unchanged.
        if leading
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._+".contains(c))
        {
            assert!(platform.starts_with(&leading), "{platform} vs {leading}");
        }
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(platform.contains("-with-glibc"), "{platform}");
        }
    }

    /// `platform` against the real `platform.platform()` of Python (a missing `python3`
    /// fails the test, naming its install command), where its `uname -p` part is blank:
    /// this plugin leaves that part out (see `python_platform`), so elsewhere the test
    /// is skipped and counted as such.
    #[test]
    #[cfg(unix)]
    fn platform_matches_pythons() {
        let Some(python) = monitoring_test_support::require(monitoring_test_support::Peer::Python3)
        else {
            return;
        };
        let script = "import platform\nprint(platform.processor())\nprint(platform.platform())";
        let out = std::process::Command::new(&python)
            .args(["-c", script])
            .output()
            .expect("python3 runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{} failed: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines = stdout.lines();
        let (processor, expected) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
        if !processor.trim().is_empty() {
            monitoring_test_support::skip(&format!(
                "Python's platform.processor() is {processor:?} here, a part of \
                 platform.platform() this plugin leaves out"
            ));
            return;
        }
        let identity = platform::identity().expect("identity");
        assert_eq!(identity.platform, expected);
    }
}
