//! `[fleet]`: the NATS bus that joins many servers into one fleet (issue 12).
//!
//! With `nats_url` set, the server publishes every tick's frame and every alert event
//! to subjects that name it (`<subject_prefix>.<host_name>.data` / `.alert`); with
//! `gateway = true` it also subscribes to the whole fleet and serves it. Without
//! `nats_url` nothing here runs and the server is the single-host server it always was.
//!
//! Credentials, like the `[access]` tokens, are never written in `plugins.toml`: the
//! file names an environment variable or a file holding each secret. They are read
//! once while the file is loaded and kept in [`FleetSecret`], whose `Debug` prints
//! nothing of them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::fleet_credentials::read_secret;
pub use super::fleet_credentials::{Credentials, FleetSecret};
use super::lines::line_of_key;

/// The longest host name accepted (it is one subject token and a JSON field).
pub const MAX_HOST_NAME: usize = 64;

/// Most `[fleet] tags` a host carries.
pub const MAX_TAGS: usize = 16;

/// The bounds of `max_frame_bytes`: a real frame is a few kB; NATS's own default
/// payload limit is 1 MiB.
pub const FRAME_BYTES_RANGE: std::ops::RangeInclusive<usize> = 1024..=1_048_576;

/// `[fleet]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetConfig {
    /// The NATS server, `nats://host:4222` or `tls://host:4222` (TLS required, checked
    /// with the system's roots through rustls); several, comma-separated, for a
    /// cluster. Default: none, the server is not part of a fleet.
    pub nats_url: Option<String>,
    /// The name this server publishes under: one subject token, so letters, digits,
    /// `-` and `_` only. Default: the machine's host name, up to its first dot, other
    /// characters replaced by `-`.
    pub host_name: Option<String>,
    /// The first subject token of every fleet subject. Default `monitoring`.
    pub subject_prefix: String,
    /// Tags that travel with this host's frames (`["db", "eu"]`), which alert routes
    /// and silences match as `tags`. Default none.
    pub tags: Vec<String>,
    /// The group this host belongs to (`"eu-west"`, `"payments"`), shown and filtered
    /// by in a gateway's overview, next to its tags: one name, up to 64 letters,
    /// digits, `-`, `_` or `.`. Default none.
    pub group: Option<String>,
    /// Also subscribe to the whole fleet and serve it (`/api/hosts`, `hosts` in
    /// `subscribe`, the fleet's alerts to this server's sinks). Default false.
    pub gateway: bool,
    /// Publish this server's own frames and alerts. Default true; a gateway that
    /// only serves viewers may turn it off.
    pub publish: bool,
    /// A host whose last frame is this many of *this* server's intervals old is shown
    /// `stale`. Default 6 (3 s at the default 0.5 s).
    pub stale_after: u32,
    /// Seconds after which a silent host is shown `gone`; it is forgotten after twice
    /// that. Default 300.
    pub gone_after: f64,
    /// Frames and alert batches waiting for the publisher; past it they are dropped
    /// and counted, the tick never waits. Default 16.
    pub publish_buffer: usize,
    /// Seconds between two frames this server publishes to the bus (issue 26): a
    /// multiple of its own interval (rounded to the nearest), so a large fleet may
    /// publish at 1 Hz while each server still collects and serves its own clients at
    /// 2 Hz. Keep a gateway's stale window (`stale_after` × its interval) above twice
    /// this. 0.1 to 60; default: every tick.
    pub publish_interval: Option<f64>,
    /// Seconds between two frames of one host that a gateway keeps in its history
    /// (issue 26): every host's own server keeps each of its ticks, so a gateway's
    /// per-host history may be coarser, and storing 2,000 hosts at 2 Hz would take a
    /// core of its own. 0.1 to 3600; default 5.
    pub history_interval: f64,
    /// The largest fleet frame a gateway takes in, in bytes. A larger one is refused
    /// before it is read, counted (`frames_oversize` in `/health`, per host in
    /// `/api/hosts`, `monitoring_fleet_frames_oversize_total`) and never stored or
    /// forwarded, so a gateway keeps at most this much per host. Default 65536 (a
    /// real frame is 1 to 5 kB; this leaves room for many cores, disks and GPUs);
    /// 1024 to 1048576.
    pub max_frame_bytes: usize,
    /// Environment variable holding the NATS token. Exclusive with the other methods.
    pub token_env: Option<String>,
    /// File holding the NATS token (one line; relative to this file).
    pub token_file: Option<PathBuf>,
    /// The NATS user name (not a secret); with `password_env` or `password_file`.
    pub user: Option<String>,
    /// Environment variable holding the NATS password.
    pub password_env: Option<String>,
    /// File holding the NATS password (one line; relative to this file).
    pub password_file: Option<PathBuf>,
    /// Environment variable holding an NKey seed (`SU…`).
    pub nkey_seed_env: Option<String>,
    /// File holding an NKey seed (one line; relative to this file).
    pub nkey_seed_file: Option<PathBuf>,
    /// How the server authenticates, read by [`FleetConfig::resolve`].
    #[serde(skip)]
    pub credentials: Credentials,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            nats_url: None,
            host_name: None,
            subject_prefix: "monitoring".into(),
            tags: Vec::new(),
            group: None,
            gateway: false,
            publish: true,
            stale_after: 6,
            gone_after: 300.0,
            publish_buffer: 16,
            publish_interval: None,
            history_interval: 5.0,
            max_frame_bytes: 65_536,
            token_env: None,
            token_file: None,
            user: None,
            password_env: None,
            password_file: None,
            nkey_seed_env: None,
            nkey_seed_file: None,
            credentials: Credentials::None,
        }
    }
}

impl FleetConfig {
    /// Whether the server joins a fleet at all.
    pub fn enabled(&self) -> bool {
        self.nats_url.is_some()
    }

    /// The name this server publishes under (checked by [`FleetConfig::resolve`]).
    pub fn host(&self) -> String {
        self.host_name
            .clone()
            .unwrap_or_else(|| default_host_name(&gethostname::gethostname().to_string_lossy()))
    }

    /// How long without a frame makes a host `stale`, for a server ticking every
    /// `interval`.
    pub fn stale_window(&self, interval: Duration) -> Duration {
        interval * self.stale_after
    }

    /// How many of this server's frames make one published frame: `publish_interval`
    /// over `interval`, rounded, at least 1.
    pub fn publish_every(&self, interval: Duration) -> u64 {
        self.publish_interval.map_or(1, |seconds| {
            let ratio = seconds / interval.as_secs_f64().max(0.001);
            (ratio.round() as u64).max(1)
        })
    }

    /// How often a gateway keeps one host's frame in its history.
    pub fn history_every(&self) -> Duration {
        Duration::from_secs_f64(self.history_interval)
    }

    /// How long without a frame makes a host `gone`.
    pub fn gone_window(&self) -> Duration {
        Duration::from_secs_f64(self.gone_after)
    }

    /// Checks the values and reads the credentials (files relative to `base`); on
    /// error, the dotted key and what is wrong.
    pub fn resolve(&mut self, base: Option<&Path>) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| Err((format!("fleet.{key}"), message));
        if let Some(url) = &self.nats_url {
            let valid = url.split(',').map(str::trim).all(|one| {
                ["nats://", "tls://"]
                    .iter()
                    .any(|scheme| one.len() > scheme.len() && one.starts_with(scheme))
            });
            if !valid {
                return err(
                    "nats_url",
                    format!("must be `nats://host:port` or `tls://host:port` (comma-separated for a cluster), got {url:?}"),
                );
            }
        }
        if let Some(name) = &self.host_name {
            if !is_subject_token(name) {
                return err(
                    "host_name",
                    format!("must be 1 to {MAX_HOST_NAME} letters, digits, `-` or `_` (it is a NATS subject token), got {name:?}"),
                );
            }
        }
        if self.tags.len() > MAX_TAGS {
            return err(
                "tags",
                format!("at most {MAX_TAGS} tags, got {}", self.tags.len()),
            );
        }
        if let Some(tag) = self.tags.iter().find(|tag| !is_subject_token(tag)) {
            return err(
                "tags",
                format!("each tag must be 1 to {MAX_HOST_NAME} letters, digits, `-` or `_`, got {tag:?}"),
            );
        }
        if let Some(group) = self.group.as_deref().filter(|group| !is_group_name(group)) {
            return err(
                "group",
                format!(
                    "must be 1 to {MAX_HOST_NAME} letters, digits, `-`, `_` or `.`, got {group:?}"
                ),
            );
        }
        if !self.subject_prefix.split('.').all(is_subject_token) {
            return err(
                "subject_prefix",
                format!(
                    "must be dot-separated tokens of letters, digits, `-` or `_`, got {:?}",
                    self.subject_prefix
                ),
            );
        }
        if self.stale_after == 0 {
            return err("stale_after", "must be at least 1 interval".into());
        }
        if !(self.gone_after.is_finite() && self.gone_after >= 1.0 && self.gone_after <= 86_400.0) {
            return err(
                "gone_after",
                format!(
                    "must be a number of seconds between 1 and 86400, got {}",
                    self.gone_after
                ),
            );
        }
        if let Some(seconds) = self
            .publish_interval
            .filter(|seconds| !(0.1..=60.0).contains(seconds))
        {
            return err(
                "publish_interval",
                format!("must be between 0.1 and 60 seconds, got {seconds}"),
            );
        }
        if !(0.1..=3600.0).contains(&self.history_interval) {
            return err(
                "history_interval",
                format!(
                    "must be between 0.1 and 3600 seconds, got {}",
                    self.history_interval
                ),
            );
        }
        if self.publish_buffer == 0 || self.publish_buffer > 4096 {
            return err("publish_buffer", "must be between 1 and 4096".into());
        }
        if !FRAME_BYTES_RANGE.contains(&self.max_frame_bytes) {
            return err(
                "max_frame_bytes",
                format!(
                    "must be between {} and {} bytes, got {}",
                    FRAME_BYTES_RANGE.start(),
                    FRAME_BYTES_RANGE.end(),
                    self.max_frame_bytes
                ),
            );
        }
        self.credentials = self.read_credentials(base)?;
        Ok(())
    }

    fn read_credentials(&self, base: Option<&Path>) -> Result<Credentials, (String, String)> {
        let token = read_secret("token", &self.token_env, &self.token_file, base)?;
        let password = read_secret("password", &self.password_env, &self.password_file, base)?;
        let seed = read_secret("nkey_seed", &self.nkey_seed_env, &self.nkey_seed_file, base)?;
        let methods = [token.is_some(), password.is_some(), seed.is_some()];
        if methods.iter().filter(|set| **set).count() > 1 {
            return Err((
                "fleet.token_env".into(),
                "choose one of token, user/password and NKey seed".into(),
            ));
        }
        if password.is_some() != self.user.is_some() {
            return Err((
                "fleet.user".into(),
                "`user` and `password_env`/`password_file` go together".into(),
            ));
        }
        Ok(match (token, password, seed) {
            (Some(token), _, _) => Credentials::Token(token),
            (_, Some(password), _) => Credentials::UserPassword {
                user: self.user.clone().unwrap_or_default(),
                password,
            },
            (_, _, Some(seed)) => Credentials::NKey(seed),
            _ => Credentials::None,
        })
    }
}

/// Whether `token` is a safe NATS subject token: no `.`, wildcard or space.
pub fn is_subject_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_HOST_NAME
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether `group` is a group name a gateway shows: a subject token that may also
/// hold dots (`eu.west`); the same check applies to what arrives on the bus.
pub fn is_group_name(group: &str) -> bool {
    !group.is_empty()
        && group.len() <= MAX_HOST_NAME
        && group
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// A machine's host name as a subject token: up to the first dot, anything else
/// replaced by `-`; `unknown-host` when nothing is left.
pub fn default_host_name(machine: &str) -> String {
    let short = machine.split('.').next().unwrap_or_default();
    let name: String = short
        .chars()
        .take(MAX_HOST_NAME)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "unknown-host".into()
    } else {
        name
    }
}

impl FleetConfig {
    /// Checks `[fleet]` and reads its credentials, naming file, line and key.
    pub(super) fn check(&mut self, text: &str, path: &Path) -> Result<(), ConfigError> {
        self.resolve(path.parent())
            .map_err(|(key, message)| ConfigError::Invalid {
                path: path.to_owned(),
                line: line_of_key(text, &key),
                key,
                message,
            })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn publish_interval_is_a_bounded_multiple_of_the_tick() {
        let tick = Duration::from_millis(500);
        let mut config = FleetConfig::default();
        assert_eq!(config.publish_every(tick), 1);
        config.publish_interval = Some(1.0);
        assert_eq!(config.publish_every(tick), 2);
        config.publish_interval = Some(0.1);
        assert_eq!(config.publish_every(tick), 1, "never faster than the tick");
        config.publish_interval = Some(0.0);
        let refused = config.resolve(None).expect_err("0 s");
        assert_eq!(refused.0, "fleet.publish_interval");
    }

    #[test]
    fn history_interval_is_bounded() {
        let mut config = FleetConfig::default();
        assert_eq!(config.history_every(), Duration::from_secs(5));
        config.history_interval = 0.0;
        let refused = config.resolve(None).expect_err("0 s");
        assert_eq!(refused.0, "fleet.history_interval");
        config.history_interval = f64::NAN;
        assert!(config.resolve(None).is_err(), "NaN");
    }

    use super::*;
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("plugins.toml"))
    }

    #[test]
    fn no_fleet_by_default() {
        let config = parse("").expect("valid");
        assert!(!config.fleet.enabled());
        assert_eq!(config.fleet.subject_prefix, "monitoring");
        assert_eq!(config.fleet.credentials, Credentials::None);
        assert_eq!(
            config.fleet.stale_window(Duration::from_millis(500)),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn a_token_comes_from_a_file_and_never_shows() {
        let dir = tempfile::tempdir().expect("scratch");
        std::fs::write(dir.path().join("nats.token"), "s3cret-token\n").expect("write");
        let config = Config::parse(
            "[fleet]\nnats_url = \"tls://bus:4222\"\nhost_name = \"web-1\"\ntoken_file = \"nats.token\"\ngateway = true\n",
            &dir.path().join("plugins.toml"),
        )
        .expect("valid");
        assert_eq!(config.fleet.host(), "web-1");
        assert!(config.fleet.gateway);
        let Credentials::Token(token) = &config.fleet.credentials else {
            panic!("a token: {:?}", config.fleet.credentials);
        };
        assert_eq!(token.expose(), "s3cret-token", "newline trimmed");
        assert!(!format!("{config:?}").contains("s3cret"), "never in Debug");
    }

    #[test]
    fn bad_values_name_line_and_key() {
        let err = parse("[fleet]\nnats_url = \"http://bus\"\n")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("fleet.nats_url"),
            "{err}"
        );
        let err = parse("[fleet]\nnats_url = \"nats://bus:4222\"\n\nhost_name = \"web.1\"\n")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("line 4") && err.contains("fleet.host_name"),
            "{err}"
        );
        let err = parse("[fleet]\ntoken_env = \"MONITORING_TEST_SURELY_UNSET_NATS\"\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("fleet.token_env"), "{err}");
        let err = parse("[fleet]\nstale_after = 0\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("fleet.stale_after"), "{err}");
        let err = parse("[fleet]\nsubject_prefix = \"a.*\"\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("fleet.subject_prefix"), "{err}");
        let err = parse("[fleet]\nmax_frame_bytes = 100\n")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("fleet.max_frame_bytes"),
            "{err}"
        );
        assert_eq!(parse("").expect("valid").fleet.max_frame_bytes, 65_536);
        let err = parse("[fleet]\nnats_urll = \"nats://bus\"\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("nats_urll"), "{err}");
    }

    #[test]
    fn a_user_needs_a_password() {
        let err = parse("[fleet]\nuser = \"alice\"\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("fleet.user"), "{err}");
    }

    #[test]
    fn the_default_host_name_is_one_subject_token() {
        assert_eq!(default_host_name("web-1.example.com"), "web-1");
        assert_eq!(default_host_name("my box"), "my-box");
        assert_eq!(default_host_name(""), "unknown-host");
        assert!(is_subject_token(&default_host_name("ä*>")));
    }
}
