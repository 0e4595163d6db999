//! The whole of `plugins.toml`: its sections, reading and checking it, and the
//! command-line values that win over it.
//!
//! Each section's own checks live with the section ([`super::bounds`], [`super::tls`],
//! [`super::fleet`], …) and are called from [`Config::parse`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::access::AccessConfig;
use super::alerts::AlertsConfig;
use super::delivery::DeliveryOptions;
use super::error::{parse_error, ConfigError};
use super::fleet::FleetConfig;
use super::history::HistoryConfig;
use super::lines::{line_at, line_of_key};
use super::monitor::MonitorConfig;
use super::plugin_table::{deserialize_plugins, PluginTable};
use super::read;
use super::server::ServerConfig;

/// The whole file.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`: where and how clients connect.
    pub server: ServerConfig,
    /// `[monitor]`: the collection loop.
    pub monitor: MonitorConfig,
    /// `[plugins.<name>]`: one table per plugin.
    #[serde(deserialize_with = "deserialize_plugins")]
    pub plugins: BTreeMap<String, PluginTable>,
    /// `[alerts]`: the cooldown and `[[alerts.rules]]`; the seed's rules when none.
    pub alerts: AlertsConfig,
    /// `[access]`: viewer and admin tokens (from the environment or files), allowed
    /// browser origins. Default: viewing open, control commands refused.
    pub access: AccessConfig,
    /// `[providers]`: for a section several collectors can produce, the collectors in
    /// order of preference (see [`Config::provider_chains`]).
    pub providers: BTreeMap<String, Vec<String>>,
    /// `[fleet]`: the NATS bus this server publishes to and, as a gateway, serves
    /// the whole fleet from. Default: no fleet.
    pub fleet: FleetConfig,
    /// `[history]`: the on-disk store of every series, events and top processes.
    /// Default: on, in `data/` next to this file.
    pub history: HistoryConfig,
    /// Where the file was read from, for error messages and relative paths.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// Command-line values that win over the file, kept to win again after a reload.
    #[serde(skip)]
    pub overrides: Overrides,
}

/// Values given on the command line (`--host`, `--port`, `--plugins-dir`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--host`.
    pub host: Option<String>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--plugins-dir`, absolute.
    pub plugins_dir: Option<PathBuf>,
}

impl Config {
    /// Reads and checks a file: a regular file (or a symlink to one) of at most
    /// [`read::MAX_CONFIG_BYTES`], opened without blocking (see [`read`]).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read::read_text(path)?;
        Self::parse(&text, path)
    }

    /// Parses and checks file contents; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| parse_error(text, path, &e))?;
        for table in config.plugins.values_mut() {
            table.resolve_lines(text);
        }
        config.alerts.lines = config
            .alerts
            .rules
            .iter()
            .map(|rule| line_at(text, rule.span().start))
            .collect();
        config.source = Some(path.to_owned());
        config.read_delivery_options()?;
        config.check_alerts(text)?;
        config.validate(text)?;
        config.check_bounds(text)?;
        config.check_tls(text)?;
        config.fleet.check(text, path)?;
        config.history.check(text, path)?;
        config
            .access
            .resolve(path.parent())
            .map_err(|(key, message)| ConfigError::Invalid {
                path: path.to_owned(),
                // `access.allowed_origins[2]` is written on the `allowed_origins` line.
                line: line_of_key(text, key.split('[').next().unwrap_or_default()),
                key,
                message,
            })?;
        Ok(config)
    }

    /// Which collectors provide a section, in order of preference: the next is asked
    /// only while every one before it is unavailable or failing. The file's
    /// `[providers]` entries over the default `gpu = ["gpu-nvml", "gpu-smi"]` (the
    /// seed's order: NVML, then nvidia-smi); `gpu = []` turns the policy off for `gpu`.
    pub fn provider_chains(&self) -> Vec<Vec<String>> {
        let mut chains: BTreeMap<String, Vec<String>> = BTreeMap::new();
        chains.insert("gpu".into(), vec!["gpu-nvml".into(), "gpu-smi".into()]);
        for (section, chain) in &self.providers {
            chains.insert(section.clone(), chain.clone());
        }
        chains
            .into_values()
            .filter(|chain| chain.len() > 1)
            .collect()
    }

    /// Applies command-line values over the file's and remembers them.
    pub fn apply_overrides(&mut self, overrides: Overrides) {
        if let Some(host) = &overrides.host {
            self.server.host = host.clone();
        }
        if let Some(port) = overrides.port {
            self.server.port = port;
        }
        if let Some(dir) = &overrides.plugins_dir {
            self.monitor.plugins_dir = dir.clone();
        }
        self.overrides = overrides;
    }

    /// The folder holding plugin libraries, relative paths taken from the config file's
    /// folder so the server can be started from anywhere.
    pub fn plugins_dir(&self) -> PathBuf {
        let dir = &self.monitor.plugins_dir;
        match self.source.as_deref().and_then(Path::parent) {
            Some(base) if dir.is_relative() => base.join(dir),
            _ => dir.clone(),
        }
    }

    /// The history store's folder, a relative one taken from the config file's folder.
    pub fn history_dir(&self) -> PathBuf {
        self.history
            .dir_from(self.source.as_deref().and_then(Path::parent))
    }

    /// The settings table of a plugin (an empty one when the file has none).
    pub fn plugin(&self, name: &str) -> PluginTable {
        self.plugins.get(name).cloned().unwrap_or_default()
    }

    /// The path shown in messages.
    pub fn display_path(&self) -> String {
        self.source
            .as_deref()
            .map_or_else(|| "(defaults)".to_owned(), |p| p.display().to_string())
    }

    fn validate(&self, text: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            path: self.source.clone().unwrap_or_default(),
            line: line_of_key(text, key),
            key: key.to_owned(),
            message: message.to_owned(),
        };
        let seconds = |key: &str, value: f64, min: f64| {
            if value.is_finite() && value >= min && value <= 86_400.0 {
                Ok(())
            } else {
                Err(invalid(
                    key,
                    &format!("must be a number of seconds between {min} and 86400, got {value}"),
                ))
            }
        };
        seconds("monitor.interval", self.monitor.interval, 0.01)?;
        seconds(
            "monitor.collect_timeout",
            self.monitor.collect_timeout,
            0.001,
        )?;
        seconds("monitor.max_backoff", self.monitor.max_backoff, 0.01)?;
        seconds("server.send_timeout", self.server.send_timeout, 0.001)?;
        seconds(
            "server.handshake_timeout",
            self.server.handshake_timeout,
            0.001,
        )?;
        seconds("server.ping_interval", self.server.ping_interval, 0.01)?;
        seconds("server.ping_timeout", self.server.ping_timeout, 0.01)?;
        if !(self.server.rate_limit.is_finite() && self.server.rate_limit > 0.0) {
            return Err(invalid(
                "server.rate_limit",
                "must be a positive number of messages per second",
            ));
        }
        if !(self.server.rate_burst.is_finite() && self.server.rate_burst >= 1.0) {
            return Err(invalid("server.rate_burst", "must be at least 1"));
        }
        if let Some(url) = &self.server.public_url {
            let web = ["http://", "https://"]
                .iter()
                .any(|scheme| url.len() > scheme.len() && url.starts_with(scheme));
            if !web || url.len() > 512 || url.chars().any(char::is_whitespace) {
                return Err(invalid(
                    "server.public_url",
                    "must be an http:// or https:// address of at most 512 characters, without spaces",
                ));
            }
        }
        if self.server.max_message_size < 1024 {
            return Err(invalid(
                "server.max_message_size",
                "must be at least 1024 bytes",
            ));
        }
        if self.monitor.collect_timeout >= self.monitor.interval {
            return Err(self.timeout_not_shorter(text));
        }
        if self.server.max_clients == 0 {
            return Err(invalid("server.max_clients", "must be at least 1"));
        }
        if self.monitor.history_size == 0 {
            return Err(invalid("monitor.history_size", "must be at least 1"));
        }
        Ok(())
    }

    /// `collect_timeout` not shorter than `interval`, blamed on the one the file
    /// writes: a file setting only `interval = 0.2` is wrong on that line, not on the
    /// `collect_timeout` it never mentions (whose default, 0.25 s, is what clashes).
    fn timeout_not_shorter(&self, text: &str) -> ConfigError {
        let path = self.source.clone().unwrap_or_default();
        let (interval, timeout) = (self.monitor.interval, self.monitor.collect_timeout);
        let timeout_line = line_of_key(text, "monitor.collect_timeout");
        let interval_line = line_of_key(text, "monitor.interval");
        if timeout_line == 0 && interval_line != 0 {
            return ConfigError::Invalid {
                path,
                line: interval_line,
                key: "monitor.interval".to_owned(),
                message: format!(
                    "must be longer than `monitor.collect_timeout` ({timeout} s, its default); \
                     set `collect_timeout` below {interval} too"
                ),
            };
        }
        let given = if interval_line == 0 {
            format!("{interval} s, its default")
        } else {
            format!("{interval} s")
        };
        ConfigError::Invalid {
            path,
            line: timeout_line,
            key: "monitor.collect_timeout".to_owned(),
            message: format!("must be shorter than `monitor.interval` ({given}), got {timeout}"),
        }
    }

    /// Reads each plugin's host keys, naming the line and key of a bad one.
    fn read_delivery_options(&mut self) -> Result<(), ConfigError> {
        let path = self.source.clone().unwrap_or_default();
        for (name, table) in &mut self.plugins {
            table.delivery = DeliveryOptions::from_settings(&table.host_settings).map_err(
                |(key, message)| ConfigError::Invalid {
                    path: path.clone(),
                    line: table.key_lines.get(&key).copied().unwrap_or(table.line),
                    key: format!("plugins.{name}.{key}"),
                    message,
                },
            )?;
        }
        Ok(())
    }

    /// Compiles `[alerts]` once (rules, grouping, routes) to refuse a bad key at start,
    /// naming line and key (see [`AlertsConfig::check`]).
    fn check_alerts(&self, text: &str) -> Result<(), ConfigError> {
        let path = self.source.clone().unwrap_or_default();
        self.alerts.check(text, &path)
    }

    /// The monitor interval.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.monitor.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("plugins.toml"))
    }

    #[test]
    fn a_wrong_type_names_file_line_and_dotted_key() {
        let err = parse("[server]\nport = 1\n\n[monitor]\ninterval = \"fast\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("plugins.toml: line 5: `monitor.interval`: "),
            "{err}"
        );
        let syntax = parse("[monitor\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(syntax.contains("line 1"), "{syntax}");
    }

    #[test]
    fn empty_file_gives_the_seed_defaults() {
        let config = parse("").expect("empty file is valid");
        assert_eq!(config.server.host, "0.0.0.0");
        assert_eq!(config.server.port, 8765);
        assert_eq!(config.server.max_clients, 1000);
        assert_eq!(config.server.send_timeout, 1.0);
        assert_eq!(config.monitor.interval, 0.5);
        assert_eq!(config.monitor.history_size, 1000);
        assert!(config.plugins.is_empty());
    }

    #[test]
    fn shipped_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins.toml");
        let config = Config::load(&path).expect("the shipped plugins.toml loads");
        assert_eq!(config.server.port, 8765);
        assert_eq!(config.monitor.interval, 0.5);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = parse("[server]\nport = 8765\nprot = 1\n")
            .expect_err("unknown key refused")
            .to_string();
        assert!(err.starts_with("plugins.toml: "), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("prot"), "{err}");
    }

    #[test]
    fn malformed_file_names_file_and_line() {
        let err = parse("[monitor]\ninterval = 0.5\nhistory_size = = 3\n")
            .expect_err("refused")
            .to_string();
        assert!(err.starts_with("plugins.toml: "), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = parse("[server]\nport = \"eighty\"\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("line 2") && err.contains("port"), "{err}");
    }

    #[test]
    fn invalid_values_name_line_and_key() {
        let err = parse("[monitor]\n\ninterval = -1.0\n")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("line 3") && err.contains("monitor.interval"),
            "{err}"
        );
        let err = parse("[monitor]\ninterval = 0.5\ncollect_timeout = 0.6\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("monitor.collect_timeout"), "{err}");
    }

    #[test]
    fn plugin_tables_keep_settings_and_lines() {
        let config = parse("[plugins.disk]\npaths = [\"/\", \"/tmp\"]\n\n[plugins.email]\nenabled = true\nsmtp_port = 25\n")
            .expect("valid");
        let disk = config.plugin("disk");
        assert_eq!(disk.enabled, None);
        assert_eq!(disk.settings_json(), r#"{"paths":["/","/tmp"]}"#);
        assert_eq!(disk.line, 1);
        let email = config.plugin("email");
        assert_eq!(email.enabled, Some(true));
        assert_eq!(
            email.line_for_message("invalid settings: unknown field `smtp_port`"),
            6
        );
        assert_eq!(email.line_for_message("something else"), 4);
        assert_eq!(config.plugin("absent").settings_json(), "{}");
    }

    #[test]
    fn enabled_must_be_a_boolean() {
        let err = parse("[plugins.cpu]\nenabled = \"yes\"\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("plugins.cpu.enabled"), "{err}");
    }

    #[test]
    fn sink_delivery_keys_are_the_hosts() {
        let config = parse(
            "[plugins.email]\nenabled = true\nsmtp_host = \"mx\"\nmin_level = \"CRITICAL\"\n\
             components = [\"memory\"]\nactive_hours = { start = 22, end = 6, timezone = \"Europe/Paris\" }\n\
             queue_size = 10\nmax_retries = 2\n",
        )
        .expect("valid");
        let email = config.plugin("email");
        assert_eq!(
            email.settings_json(),
            r#"{"smtp_host":"mx"}"#,
            "the plugin never sees them"
        );
        let delivery = &email.delivery;
        assert_eq!(
            delivery.min_level,
            Some(monitoring_plugin_api::AlertLevel::Critical)
        );
        assert_eq!(delivery.components, Some(vec!["memory".to_owned()]));
        assert_eq!((delivery.queue_size, delivery.max_retries), (10, 2));
        assert!(delivery.active_hours.is_some());
        assert_eq!(config.plugin("absent").delivery, Default::default());
    }

    #[test]
    fn bad_delivery_keys_name_file_line_and_key() {
        let err = parse("[plugins.slack]\nenabled = true\n\nmin_level = \"INFO\"\n")
            .expect_err("refused")
            .to_string();
        assert!(
            err.starts_with("plugins.toml: line 4: `plugins.slack.min_level`"),
            "{err}"
        );
        let err = parse(
            "[plugins.slack]\nactive_hours = { start = 9, end = 18, timezone = \"Nowhere\" }\n",
        )
        .expect_err("refused")
        .to_string();
        assert!(
            err.contains("line 2") && err.contains("unknown time zone"),
            "{err}"
        );
    }

    #[test]
    fn alert_rules_default_to_the_seeds() {
        let config = parse("").expect("valid");
        let rules = config.alerts.compile().expect("valid");
        assert_eq!(rules.rules.len(), 3);
        let config = parse("[alerts]\ncooldown = 60.0\n\n[[alerts.rules]]\nmetric = \"processor.usage_percent\"\nwarning = 90.0\nfor = 30.0\n")
            .expect("valid");
        let rules = config.alerts.compile().expect("valid");
        assert_eq!(
            rules.rules.len(),
            1,
            "rules in the file replace the defaults"
        );
        assert_eq!(rules.rules[0].hold, Duration::from_secs(30));
    }

    #[test]
    fn bad_alert_rules_name_line_and_key() {
        let err = parse("[alerts]\n\n[[alerts.rules]]\nmetric = \"memory.percentage\"\nwarning = 1.0\n\n[[alerts.rules]]\nmetric = \"memory.percentage\"\nwarning = 95.0\ncritical = 90.0\n")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("line 7") && err.contains("alerts.rules[1].warning"),
            "{err}"
        );
        let err = parse("[alerts]\ncooldown = -5.0\n")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("alerts.cooldown"),
            "{err}"
        );
        let err = parse("[[alerts.rules]]\nmetric = \"memory.percentage\"\nwarnign = 1.0\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("warnign"), "{err}");
    }

    #[test]
    fn plugins_dir_is_relative_to_the_file() {
        let config = Config::parse("", Path::new("/etc/monitoring/plugins.toml")).expect("valid");
        assert_eq!(config.plugins_dir(), Path::new("/etc/monitoring/plugins"));
    }

    #[test]
    fn a_collect_timeout_clash_points_at_the_line_the_file_writes() {
        let err = |text: &str| parse(text).err().map(|e| e.to_string()).unwrap_or_default();
        // Only `interval` written: the clash is with the default timeout (0.25 s).
        let only_interval = err("[server]\nport = 1\n[monitor]\ninterval = 0.2\n");
        assert!(
            only_interval.starts_with("plugins.toml: line 4: `monitor.interval`: ")
                && only_interval.contains("0.25"),
            "{only_interval}"
        );
        let only_timeout = err("[monitor]\n\ncollect_timeout = 0.9\n");
        assert!(
            only_timeout.starts_with("plugins.toml: line 3: `monitor.collect_timeout`: "),
            "{only_timeout}"
        );
        let both = err("[monitor]\ninterval = 1.0\ncollect_timeout = 2.0\n");
        assert!(
            both.starts_with("plugins.toml: line 3: `monitor.collect_timeout`: "),
            "{both}"
        );
        let dotted = err("monitor.collect_timeout = 0.9\n");
        assert!(
            dotted.contains("line 1: `monitor.collect_timeout`"),
            "{dotted}"
        );
        let inline = err("monitor = { interval = 0.1 }\n");
        assert!(inline.contains("line 1: `monitor.interval`"), "{inline}");
        assert!(!err("monitor.interval = 0.1\n").contains("line 0"));
    }
}
