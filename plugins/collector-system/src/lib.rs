//! Collector plugin `system`: operating system, host and process facts.
//!
//! Names follow Python's `platform` module as the seed uses it: `os_name` is
//! `platform.system()` ("Linux"), `os_release` the kernel release, `os_version` the
//! kernel's build string, `machine` the hardware type, `platform` the one-line summary
//! of `platform.platform()` (`Linux-6.1.0-18-amd64-x86_64-with-glibc2.36`). Identity
//! fields are read once; only the process count changes per tick.

mod platform;

use monitoring_plugin_api::prelude::*;
use monitoring_plugin_api::sections::System;

pub use platform::Identity;

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
    identity: Identity,
    boot_time: String,
}

impl Collector for SystemCollector {
    const NAME: &'static str = "system";
    const DESCRIPTION: &'static str =
        "Operating system, architecture, hostname, process count, boot time.";
    type Config = Config;
    type Output = Output;

    fn new(_config: Config) -> Result<Self, PluginError> {
        let identity =
            platform::identity().map_err(|e| PluginError::unavailable(format_args!("{e}")))?;
        let boot_time =
            platform::boot_time().map_err(|e| PluginError::unavailable(format_args!("{e}")))?;
        Ok(Self {
            identity,
            boot_time,
        })
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        let processes =
            platform::process_count().map_err(|e| PluginError::retryable(format_args!("{e}")))?;
        let Identity {
            os_name,
            os_version,
            os_release,
            architecture,
            platform,
            machine,
            processor,
            hostname,
        } = self.identity.clone();
        Ok(Output {
            system: System {
                os_name,
                os_version,
                os_release,
                architecture,
                platform,
                machine,
                processor,
                hostname,
                processes,
                boot_time: self.boot_time.clone(),
            },
        })
    }
}

declare_collector!(SystemCollector);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obeys_the_collector_contract() {
        let sections = monitoring_plugin_api::testing::check_collector::<SystemCollector>();
        let system = &sections["system"];
        let mut keys: Vec<&str> = system
            .as_object()
            .expect("system is an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "architecture",
                "boot_time",
                "hostname",
                "machine",
                "os_name",
                "os_release",
                "os_version",
                "platform",
                "processes",
                "processor"
            ],
            "the wire keys of `system`"
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
