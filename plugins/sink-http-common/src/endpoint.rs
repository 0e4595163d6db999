//! The HTTP sinks' shared settings (`url` or `url_env`, `headers` and `headers_env`)
//! resolved into what a request needs, with every environment variable read once here.
//! Errors name the offending key and variable, never a value: values are secrets.

use std::collections::BTreeMap;

use monitoring_plugin_api::PluginError;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;

use crate::redact::{quote, Redactor};

/// The settings as written in the sink's table.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// `url`: where to POST; empty when `url_env` is used.
    pub url: &'a str,
    /// `url_env`: the NAME of the environment variable holding the URL.
    pub url_env: Option<&'a str>,
    /// `headers`: header name → value.
    pub headers: &'a BTreeMap<String, String>,
    /// `headers_env`: header name → NAME of the environment variable holding its value.
    pub headers_env: &'a BTreeMap<String, String>,
}

/// What a request needs, and what must never be quoted.
pub(crate) struct Resolved {
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) redactor: Redactor,
}

impl Endpoint<'_> {
    /// Reads the variables with `env` and checks everything; errors name the key.
    pub(crate) fn resolve(
        self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved, PluginError> {
        let (url, key) = match (self.url.is_empty(), self.url_env) {
            (false, Some(_)) => {
                return Err(PluginError::config("set `url` or `url_env`, not both"))
            }
            (true, None) => return Err(PluginError::config("`url` (or `url_env`) is required")),
            (false, None) => (self.url.to_owned(), "`url`".to_owned()),
            (true, Some(var)) => (
                read(env, var, "`url_env`")?,
                format!("`url_env` (variable {})", quote(var)),
            ),
        };
        let url = parse_url(&url, &key)?;
        let mut secrets = url_secrets(&url);
        let mut headers = HeaderMap::new();
        for (name, value) in self.headers {
            let key = format!("`headers.{}`", quote(name));
            insert(&mut headers, name, value, &key)?;
            secrets.push(value.clone());
        }
        for (name, var) in self.headers_env {
            let key = format!("`headers_env.{}`", quote(name));
            if self.headers.keys().any(|n| n.eq_ignore_ascii_case(name)) {
                return Err(PluginError::config(format_args!(
                    "{key}: the header is also in `headers`; set it in one place"
                )));
            }
            let value = read(env, var, &key)?;
            insert(
                &mut headers,
                name,
                &value,
                &format!("{key} (variable {})", quote(var)),
            )?;
            secrets.push(value);
        }
        Ok(Resolved {
            url,
            headers,
            redactor: Redactor::new(secrets),
        })
    }
}

/// The value of the variable `var`, which `key` names; unset or empty is a config error.
fn read(env: &dyn Fn(&str) -> Option<String>, var: &str, key: &str) -> Result<String, PluginError> {
    match env(var) {
        Some(value) if !value.trim().is_empty() => Ok(value),
        Some(_) => Err(PluginError::config(format_args!(
            "{key}: environment variable {} is empty",
            quote(var)
        ))),
        None => Err(PluginError::config(format_args!(
            "{key}: environment variable {} is not set",
            quote(var)
        ))),
    }
}

fn insert(headers: &mut HeaderMap, name: &str, value: &str, key: &str) -> Result<(), PluginError> {
    let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        PluginError::config(format_args!(
            "`headers`: \"{}\" is not a valid header name",
            quote(name)
        ))
    })?;
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| PluginError::config(format_args!("{key} is not a valid header value")))?;
    // Keeps tokens out of any debug output of the request.
    value.set_sensitive(true);
    headers.insert(header, value);
    Ok(())
}

/// `key` names where the URL came from; the URL itself is never quoted (it may be the
/// credential, as Slack's is).
fn parse_url(url: &str, key: &str) -> Result<Url, PluginError> {
    let parsed = Url::parse(url)
        .map_err(|e| PluginError::config(format_args!("{key} is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(PluginError::config(format_args!(
            "{key} must be an http:// or https:// URL with a host"
        )));
    }
    Ok(parsed)
}

/// The parts of a URL that may be credentials: user and password, the whole path
/// (Slack's is the secret), path segments that look like tokens (8+ characters with a
/// digit, or 16+), query values and the fragment.
fn url_secrets(url: &Url) -> Vec<String> {
    let mut secrets = vec![url.username().to_owned()];
    secrets.extend(url.password().map(str::to_owned));
    if url.path().len() > 1 {
        secrets.push(url.path().to_owned());
    }
    let token_like = |s: &&str| {
        let n = s.chars().count();
        n >= 16 || (n >= 8 && s.chars().any(|c| c.is_ascii_digit()))
    };
    if let Some(segments) = url.path_segments() {
        secrets.extend(segments.filter(token_like).map(str::to_owned));
    }
    secrets.extend(url.query_pairs().map(|(_, v)| v.into_owned()));
    secrets.extend(url.query().map(str::to_owned));
    secrets.extend(url.fragment().map(str::to_owned));
    secrets
}

#[cfg(test)]
mod tests {
    use super::*;
    use monitoring_plugin_api::ErrorKind;

    fn resolve(
        url: &str,
        url_env: Option<&str>,
        headers: &[(&str, &str)],
        headers_env: &[(&str, &str)],
        vars: &[(&str, &str)],
    ) -> Result<Resolved, PluginError> {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let (headers, headers_env, vars) = (map(headers), map(headers_env), map(vars));
        Endpoint {
            url,
            url_env,
            headers: &headers,
            headers_env: &headers_env,
        }
        .resolve(&|name| vars.get(name).cloned())
    }

    fn config_error(result: Result<Resolved, PluginError>) -> String {
        let Err(err) = result else { panic!("accepted") };
        assert_eq!(err.kind(), Some(ErrorKind::Config), "{err}");
        err.message().to_owned()
    }

    #[test]
    fn the_url_comes_from_the_named_variable() {
        let ok = resolve(
            "",
            Some("HOOK_URL"),
            &[],
            &[],
            &[("HOOK_URL", "https://h/T0/B0/abcdefgh1")],
        );
        assert_eq!(ok.unwrap().url.as_str(), "https://h/T0/B0/abcdefgh1");
        let unset = config_error(resolve("", Some("HOOK_URL"), &[], &[], &[]));
        assert_eq!(unset, "`url_env`: environment variable HOOK_URL is not set");
        let empty = config_error(resolve(
            "",
            Some("HOOK_URL"),
            &[],
            &[],
            &[("HOOK_URL", " ")],
        ));
        assert!(empty.contains("HOOK_URL is empty"), "{empty}");
        let bad = config_error(resolve(
            "",
            Some("V"),
            &[],
            &[],
            &[("V", "ftp://h/s3cret-path")],
        ));
        assert!(bad.starts_with("`url_env` (variable V)"), "{bad}");
        assert!(!bad.contains("s3cret"), "{bad}");
        let both = config_error(resolve(
            "http://h/",
            Some("V"),
            &[],
            &[],
            &[("V", "http://h/")],
        ));
        assert!(both.contains("`url` or `url_env`"), "{both}");
        assert!(config_error(resolve("", None, &[], &[], &[])).contains("`url`"));
    }

    #[test]
    fn header_values_come_from_named_variables_and_are_never_quoted() {
        let vars = [("WEBHOOK_TOKEN", "Bearer from-env-42")];
        let ok = resolve(
            "http://h/",
            None,
            &[],
            &[("Authorization", "WEBHOOK_TOKEN")],
            &vars,
        )
        .unwrap();
        assert_eq!(ok.headers["authorization"], "Bearer from-env-42");
        assert!(ok.headers["authorization"].is_sensitive());
        assert_eq!(ok.redactor.redact("x from-env-42 y"), "x [redacted] y");

        let unset = config_error(resolve(
            "http://h/",
            None,
            &[],
            &[("Authorization", "NOPE")],
            &[],
        ));
        assert_eq!(
            unset,
            "`headers_env.Authorization`: environment variable NOPE is not set"
        );
        let bad = config_error(resolve(
            "http://h/",
            None,
            &[],
            &[("X-Token", "T")],
            &[("T", "line\nbreak-s3cret")],
        ));
        assert_eq!(
            bad,
            "`headers_env.X-Token` (variable T) is not a valid header value"
        );
        let twice = config_error(resolve(
            "http://h/",
            None,
            &[("authorization", "a")],
            &[("Authorization", "T")],
            &[("T", "b")],
        ));
        assert!(twice.contains("also in `headers`"), "{twice}");
    }

    #[test]
    fn bad_settings_name_their_key() {
        assert!(config_error(resolve("not a url", None, &[], &[], &[])).contains("`url`"));
        assert!(
            config_error(resolve("ftp://example.com/x", None, &[], &[], &[])).contains("`url`")
        );
        let name = config_error(resolve("http://h/x", None, &[("bad name", "v")], &[], &[]));
        assert!(name.contains("`headers`"), "{name}");
        let value = config_error(resolve(
            "http://h/x",
            None,
            &[("X-Token", "a\nb")],
            &[],
            &[],
        ));
        assert!(value.contains("`headers.X-Token`"), "{value}");
        let long = "n".repeat(5000);
        let name = config_error(resolve(
            "http://h/x",
            None,
            &[(&format!("{long} x"), "v")],
            &[],
            &[],
        ));
        assert!(
            name.len() < 300,
            "an operator's long input is quoted short: {name}"
        );
    }

    #[test]
    fn url_credentials_are_secrets() {
        let url = Url::parse("https://user:pa55word@hooks.example.com/services/T0AB12CD/B0XY/abcdefghijklmnopqrstuvwx?sig=q1w2e3&v=1#frag").unwrap();
        let secrets = url_secrets(&url);
        for secret in [
            "user",
            "pa55word",
            "T0AB12CD",
            "abcdefghijklmnopqrstuvwx",
            "q1w2e3",
            "frag",
        ] {
            assert!(
                secrets.iter().any(|s| s == secret),
                "{secret} in {secrets:?}"
            );
        }
        assert!(!secrets.iter().any(|s| s == "services"), "{secrets:?}");
        assert!(
            !secrets.iter().any(|s| s == "hooks.example.com"),
            "{secrets:?}"
        );
    }
}
