//! `--print-config`: the configuration the server would run with, as TOML, defaults
//! filled in and command-line values applied.
//!
//! Only what the file can say is printed: token *sources* (`viewer_token_env`, file
//! paths) appear, the tokens and credentials read from them never do (they are
//! `#[serde(skip)]` in the config structs).

use crate::config::Config;

/// The effective configuration as a `plugins.toml` the server would accept.
pub fn effective(config: &Config) -> Result<String, toml::ser::Error> {
    let mut text = format!(
        "# Effective configuration of {} (defaults filled in, command-line values applied).\n",
        config.display_path()
    );
    text.push_str(&toml::to_string(config)?);
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn defaults_are_printed_and_read_back_the_same() {
        let config = Config::parse("[plugins.disk]\npaths = [\"/\"]\n", Path::new("p.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let text = effective(&config).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains("port = 8765"), "{text}");
        assert!(text.contains("interval = 0.5"), "{text}");
        assert!(text.contains("paths = [\"/\"]"), "{text}");
        let again = Config::parse(&text, Path::new("p.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.server.port, config.server.port);
        assert_eq!(again.monitor.interval, config.monitor.interval);
        assert_eq!(again.history, config.history);
    }

    #[test]
    fn tokens_never_appear() {
        std::env::set_var("PRINT_CONFIG_TEST_TOKEN", "s3cret-token-value-0123456789");
        let config = Config::parse(
            "[access]\nadmin_token_env = \"PRINT_CONFIG_TEST_TOKEN\"\n",
            Path::new("p.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let text = effective(&config).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains("PRINT_CONFIG_TEST_TOKEN"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
