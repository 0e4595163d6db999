//! `plugins.toml`: server settings, the monitor loop, and one table per plugin.
//!
//! Every value has the seed's default, so a missing file or an empty one runs the
//! server as the seed would. Errors name the file, the line and the key: toml's own
//! messages already carry line and key for syntax and unknown-key errors, and plugin
//! tables keep their spans so a plugin's complaint about its settings can be pointed
//! back at the line that caused it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use access::AccessConfig;
use alerts::AlertsConfig;
use fleet::FleetConfig;

pub mod access;
pub mod alerts;
mod bounds;
pub mod delivery;
pub mod fleet;
mod plugin_table;
pub mod read;
pub mod tls;

pub use bounds::{ConnectionLimits, HISTORY_FRAME_BUDGET, HISTORY_TTL, MAX_HISTORY_BYTES};
use delivery::DeliveryOptions;
pub use plugin_table::PluginTable;
use plugin_table::{deserialize_plugins, line_at};

/// The whole file.
#[derive(Debug, Default, Deserialize)]
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

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Interface to listen on. Default `0.0.0.0`.
    pub host: String,
    /// TCP port for WebSocket and HTTP. Default 8765.
    pub port: u16,
    /// Simultaneous WebSocket clients; more are closed with 1008. Default 1000.
    pub max_clients: usize,
    /// Seconds a send to one client may take before that client is dropped. Default 1.0.
    pub send_timeout: f64,
    /// Seconds a new connection may take to send its request header. Default 10.
    pub handshake_timeout: f64,
    /// Seconds between WebSocket pings to each client. Default 20.
    pub ping_interval: f64,
    /// Seconds a client may stay silent after a ping before it is closed. Default 20.
    pub ping_timeout: f64,
    /// Largest message a client may send, bytes; larger ones close with 1009. Default 65536.
    pub max_message_size: usize,
    /// Control messages per second a client may send on average. Default 20.
    pub rate_limit: f64,
    /// Control messages a client may send in a burst. Default 40.
    pub rate_burst: f64,
    /// WebSocket clients one address (an IPv6 /64) may hold at once; more are closed
    /// with 1008. 0 lifts the limit (a reverse proxy on this host). Default 100.
    pub max_clients_per_ip: usize,
    /// Open TCP connections (HTTP and WebSocket); more are closed at once. Default
    /// twice `max_clients`, so a client over `max_clients` still hears its 1008.
    pub max_connections: Option<usize>,
    /// Open TCP connections from one address (an IPv6 /64). Default twice
    /// `max_clients_per_ip`; unlimited when that is 0.
    pub max_connections_per_ip: Option<usize>,
    /// PEM file of the certificate chain, leaf first, relative to this file. With
    /// `tls_key`, every connection on the port is TLS (`https://`, `wss://`); both are
    /// re-read on SIGHUP. Default: none (plain HTTP and WebSocket).
    pub tls_cert: Option<PathBuf>,
    /// PEM file of the certificate's private key (PKCS#8, PKCS#1 or SEC1), relative to
    /// this file. Default: none.
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: 8765,
            max_clients: 1000,
            send_timeout: 1.0,
            handshake_timeout: 10.0,
            ping_interval: 20.0,
            ping_timeout: 20.0,
            max_message_size: 64 * 1024,
            rate_limit: 20.0,
            rate_burst: 40.0,
            max_clients_per_ip: 100,
            max_connections: None,
            max_connections_per_ip: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// `[monitor]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorConfig {
    /// Seconds between snapshots. Default 0.5.
    pub interval: f64,
    /// Snapshots kept in memory. Default 1000.
    pub history_size: usize,
    /// Folder scanned for plugin libraries; relative to this file. Default `plugins`.
    pub plugins_dir: PathBuf,
    /// Seconds a tick waits for collectors before sending what it has. Default 0.25.
    pub collect_timeout: f64,
    /// Longest back-off, in seconds, for a collector that keeps failing. Default 60.
    pub max_backoff: f64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            interval: 0.5,
            history_size: 1000,
            plugins_dir: PathBuf::from("plugins"),
            collect_timeout: 0.25,
            max_backoff: 60.0,
        }
    }
}

/// A file that could not be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The path names something other than a regular file (a device, a FIFO, a
    /// folder), which is never read.
    #[error("{path}: cannot read: it is {what}, not a regular file")]
    NotAFile {
        /// The path as given.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// The file is larger than [`read::MAX_CONFIG_BYTES`].
    #[error("{path}: cannot read: larger than {cap} bytes, the most a configuration file may be")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap, bytes.
        cap: u64,
    },
    /// Syntax error, unknown key, wrong type; toml's message names line and key.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, with line, column and key.
        message: String,
    },
    /// A value that parses but makes no sense.
    #[error("{path}: {at}`{key}`: {message}", at = line_prefix(.line))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where, 1-based; 0 when the value came from a default or the command line.
        line: usize,
        /// The dotted key, e.g. `monitor.interval`.
        key: String,
        /// What is wrong.
        message: String,
    },
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
        config.check_fleet(text, path)?;
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

    /// Compiles `[alerts]` once to refuse bad rules at start, naming line and key.
    fn check_alerts(&self, text: &str) -> Result<(), ConfigError> {
        self.alerts.compile().map(drop).map_err(|(index, error)| {
            let (line, key) = match index {
                Some(index) => (
                    self.alerts
                        .rules
                        .get(index)
                        .map_or(0, |rule| line_at(text, rule.span().start)),
                    format!("alerts.rules[{index}].{}", error.key),
                ),
                None => (
                    line_of_key(text, "alerts.cooldown"),
                    "alerts.cooldown".to_owned(),
                ),
            };
            ConfigError::Invalid {
                path: self.source.clone().unwrap_or_default(),
                line,
                key,
                message: error.message,
            }
        })
    }

    /// The monitor interval.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.monitor.interval)
    }
}

/// Best-effort line of a dotted key such as `monitor.interval`: the `interval = `
/// line inside the `[monitor]` table. 0 when the key is not written in the file.
/// toml's error, named by file, line and dotted key when it points at a `key = value`
/// line (a wrong type, a value out of range: toml says only the line and the bare
/// key), else as toml words it (a syntax error).
fn parse_error(text: &str, path: &Path, error: &toml::de::Error) -> ConfigError {
    let whole = || ConfigError::Parse {
        path: path.to_owned(),
        message: error.to_string().trim_end().to_owned(),
    };
    let Some(span) = error.span() else {
        return whole();
    };
    let line = line_at(text, span.start);
    let Some(key) = dotted_key_at(text, line) else {
        return whole();
    };
    ConfigError::Invalid {
        path: path.to_owned(),
        line,
        key,
        message: error.message().trim_end().to_owned(),
    }
}

/// `table.key` for the `key = value` on 1-based `line`, from the nearest table
/// header above it.
fn dotted_key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let own = lines.get(line.checked_sub(1)?)?.trim();
    let (key, _) = own.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || own.starts_with('[') || own.starts_with('#') {
        return None;
    }
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|header| {
            header
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned()
        });
    Some(match table {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key.to_owned(),
    })
}

/// "line N: " for a line in the file, nothing for 0 (a default or a command-line value).
fn line_prefix(line: &usize) -> String {
    match *line {
        0 => String::new(),
        line => format!("line {line}: "),
    }
}

/// The 1-based line where the file writes `dotted` (`table.key`): `key = ` inside
/// `[table]`, `table.key = ` outside any table, or `key = ` in an inline
/// `table = { … }`; quotes around key parts are allowed. 0 when it is not written.
fn line_of_key(text: &str, dotted: &str) -> usize {
    let Some((table, key)) = dotted.rsplit_once('.') else {
        return 0;
    };
    let unquote = |part: &str| {
        part.trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_owned()
    };
    let dotted_of = |left: &str| left.split('.').map(unquote).collect::<Vec<_>>().join(".");
    let mut current = String::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            current = dotted_of(trimmed.trim_matches(|c| c == '[' || c == ']'));
            continue;
        }
        let Some((left, right)) = trimmed.split_once('=') else {
            continue;
        };
        let written = match current.as_str() {
            "" => dotted_of(left),
            table => format!("{table}.{}", dotted_of(left)),
        };
        if written == dotted {
            return index + 1;
        }
        // `table = { key = value, … }` on one line.
        let inline = right.trim_start();
        if written == table && inline.starts_with('{') {
            let listed = inline
                .trim_matches(|c| c == '{' || c == '}')
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .any(|(name, _)| dotted_of(name) == key);
            if listed {
                return index + 1;
            }
        }
    }
    0
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
        assert_eq!(rules.cooldown, Duration::from_secs(300));
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
