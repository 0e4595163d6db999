//! `[plugins.notify]`: where the URLs are (an environment variable, a file; never
//! plugins.toml, since Apprise URLs carry tokens), and reading them into targets, each
//! malformed one refused by position without its secrets.

use std::path::PathBuf;

use monitoring_plugin_api::PluginError;
use serde::Deserialize;

use crate::list::{split_list, MAX_URLS};
use crate::services::Target;
use crate::urls::AppriseUrl;

/// The largest `urls_file` read, in bytes.
pub const MAX_FILE: u64 = 1 << 20;

/// Settings of `[plugins.notify]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The NAME of the environment variable holding one or more Apprise URLs,
    /// separated by commas and/or whitespace (e.g. `MONITORING_NOTIFY_URLS`).
    pub urls_env: Option<String>,
    /// A file of Apprise URLs (Apprise's TEXT form: `#` comments, `tag1,tag2=url`
    /// lines); relative paths are relative to the server's working directory.
    pub urls_file: Option<PathBuf>,
    /// Time allowed for connecting and for each whole request, seconds (10).
    pub timeout_secs: f64,
    /// Put before every title, e.g. `[prod]`.
    pub title_prefix: Option<String>,
    /// Refused: URLs carry secrets. Present only to say so instead of "unknown field".
    pub urls: Option<serde::de::IgnoredAny>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            urls_env: None,
            urls_file: None,
            timeout_secs: 10.0,
            title_prefix: None,
            urls: None,
        }
    }
}

/// One configured URL, parsed.
#[derive(Debug, Clone)]
pub struct Configured {
    /// `url #2 (gotify://push.example…)`, for messages.
    pub shown: String,
    /// The service and its settings.
    pub target: Target,
    /// The TEXT config tags (unused for now).
    pub tags: Vec<String>,
}

/// Reads the URLs `config` points at, with `env` for variables and `read` for files
/// (the process's in the sink, the tests' own in tests).
pub fn targets(
    config: &Config,
    env: impl Fn(&str) -> Option<String>,
    read: impl Fn(&std::path::Path) -> std::io::Result<String>,
) -> Result<Vec<Configured>, PluginError> {
    if config.urls.is_some() {
        return Err(PluginError::config(
            "`urls` is not accepted in plugins.toml: Apprise URLs carry secrets; put them in \
             the environment variable named by `urls_env` or the file named by `urls_file`",
        ));
    }
    let mut text = String::new();
    if let Some(name) = &config.urls_env {
        let value = env(name).ok_or_else(|| {
            PluginError::config(format_args!(
                "`urls_env`: the environment variable {name} is not set"
            ))
        })?;
        text.push_str(&value);
        text.push('\n');
    }
    if let Some(path) = &config.urls_file {
        let content = read(path).map_err(|e| {
            PluginError::config(format_args!(
                "`urls_file`: cannot read {}: {e}",
                path.display()
            ))
        })?;
        text.push_str(&content);
    }
    if config.urls_env.is_none() && config.urls_file.is_none() {
        return Err(PluginError::config(
            "no URL: set `urls_env` (the name of an environment variable) or `urls_file`",
        ));
    }
    let listed = split_list(&text);
    if listed.is_empty() {
        return Err(PluginError::config(
            "no URL in `urls_env`/`urls_file` (they hold no Apprise URL)",
        ));
    }
    if listed.len() > MAX_URLS {
        return Err(PluginError::config(format_args!(
            "{} URLs; at most {MAX_URLS} are taken",
            listed.len()
        )));
    }
    listed
        .into_iter()
        .enumerate()
        .map(|(i, listed)| {
            let url =
                AppriseUrl::parse(&listed.url, i + 1, listed.tags).map_err(PluginError::config)?;
            let target = Target::parse(&url).map_err(PluginError::config)?;
            Ok(Configured {
                shown: format!("url #{} ({})", url.position, url.describe()),
                target,
                tags: url.tags,
            })
        })
        .collect()
}

/// Reads a file of at most [`MAX_FILE`] bytes.
pub fn read_bounded(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    let file = std::fs::File::open(path)?;
    file.take(MAX_FILE + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE {
        return Err(std::io::Error::other("larger than 1 MiB"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use monitoring_plugin_api::ErrorKind;

    fn parse(toml_like: &str) -> Config {
        serde_json::from_str(toml_like).unwrap()
    }

    fn load(
        config: &Config,
        env_value: Option<&str>,
        file: Option<&str>,
    ) -> Result<Vec<Configured>, PluginError> {
        let env_value = env_value.map(str::to_owned);
        let file = file.map(str::to_owned);
        targets(
            config,
            |_| env_value.clone(),
            |_| {
                file.clone()
                    .ok_or_else(|| std::io::Error::other("no such file"))
            },
        )
    }

    #[test]
    fn urls_come_from_env_and_file_never_from_the_config() {
        let config = parse(r#"{"urls_env": "U", "urls_file": "f"}"#);
        let found = load(
            &config,
            Some("ntfy://h/a, gotify://g/T"),
            Some("# c\nops=json://j"),
        )
        .unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(found[2].tags, ["ops"]);
        assert_eq!(found[1].shown, "url #2 (gotify://g…)");
        let err = load(&parse(r#"{"urls": ["ntfy://h/t"]}"#), None, None).unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Config));
        assert!(err.message().contains("`urls_env`"), "{err}");
        let err = load(&parse("{}"), None, None).unwrap_err();
        assert!(err.message().starts_with("no URL"), "{err}");
        let err = load(&parse(r#"{"urls_env": "U"}"#), Some("  "), None).unwrap_err();
        assert!(err.message().starts_with("no URL"), "{err}");
        let err = load(&parse(r#"{"urls_env": "U"}"#), None, None).unwrap_err();
        assert!(err.message().contains("U is not set"), "{err}");
        assert!(serde_json::from_str::<Config>(r#"{"url": "x"}"#).is_err());
    }

    #[test]
    fn a_malformed_url_is_named_by_position_without_secrets() {
        let config = parse(r#"{"urls_env": "U"}"#);
        let err = load(&config, Some("ntfy://h/t tgram://SECRET-BOT/1"), None).unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Config));
        assert!(
            err.message()
                .starts_with("url #2 (tgram://…): the bot token"),
            "{err}"
        );
        assert!(!err.message().contains("SECRET"), "{err}");
    }
}
