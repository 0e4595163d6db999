//! `[access]`: where the viewer and admin tokens come from, and which foreign browser
//! origins may connect.
//!
//! Tokens are never written in `plugins.toml` itself: the file names an environment
//! variable or a file that holds each one. They are read once, while the file is
//! loaded, and only their SHA-256 digest is kept ([`TokenDigest`]); the plain text is
//! dropped before [`super::Config::parse`] returns. Presented tokens are digested too
//! and the digests compared in constant time, so neither the comparison's timing nor a
//! memory dump of the running server gives the token away.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shortest token accepted: a guessable token is no protection on a network.
pub const MIN_TOKEN_LEN: usize = 16;

/// Longest token accepted (it travels in a request header).
pub const MAX_TOKEN_LEN: usize = 512;

/// `[access]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    /// Environment variable holding the viewer token (e.g. `MONITORING_VIEWER_TOKEN`).
    /// With a viewer token, the stream and every data route (`/api/*`, `/health`,
    /// `/metrics`) need it (or the admin token). Default: none, viewing is open.
    pub viewer_token_env: Option<String>,
    /// File holding the viewer token (one line; relative to this file). Exclusive with
    /// `viewer_token_env`.
    pub viewer_token_file: Option<PathBuf>,
    /// Environment variable holding the admin token. Only a connection that presented
    /// it may run `set_threshold`, `configure_thresholds` and every later control
    /// command. Default: none, and control commands are refused with `FORBIDDEN`.
    pub admin_token_env: Option<String>,
    /// File holding the admin token (one line; relative to this file). Exclusive with
    /// `admin_token_env`.
    pub admin_token_file: Option<PathBuf>,
    /// Browser origins besides the server's own that may connect, written as
    /// `scheme://host[:port]` (e.g. `"https://grafana.example.com"`). Default: none.
    pub allowed_origins: Vec<String>,
    /// Host names (without port) a loopback-bound server serves besides `localhost`,
    /// `127.x` and `[::1]`: the public name a reverse proxy passes on in `Host`
    /// (e.g. `["monitor.example.com"]`). Any other name is refused 403, which stops
    /// DNS rebinding. Default: none.
    pub allowed_hosts: Vec<String>,
    /// The tokens' digests, read from the sources above by [`AccessConfig::resolve`].
    #[serde(skip)]
    pub tokens: Tokens,
}

/// The configured tokens, as digests.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// The viewer token's digest, when one is configured.
    pub viewer: Option<TokenDigest>,
    /// The admin token's digest, when one is configured.
    pub admin: Option<TokenDigest>,
}

/// The SHA-256 digest of a token: what the server keeps instead of the token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of `token`.
    pub fn of(token: &[u8]) -> Self {
        Self(Sha256::digest(token).into())
    }

    /// Whether `presented` is the token, compared in constant time.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let other = Self::of(presented);
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(…)")
    }
}

impl AccessConfig {
    /// Reads both tokens from their sources (files relative to `base`) and checks
    /// `allowed_origins`; on error, the dotted key and what is wrong.
    pub fn resolve(&mut self, base: Option<&Path>) -> Result<(), (String, String)> {
        let viewer = read_token(
            "viewer",
            self.viewer_token_env.as_deref(),
            self.viewer_token_file.as_deref(),
            base,
        )?;
        let admin = read_token(
            "admin",
            self.admin_token_env.as_deref(),
            self.admin_token_file.as_deref(),
            base,
        )?;
        if viewer.is_some() && viewer == admin {
            return Err((
                "access.admin_token_env".into(),
                "the admin token must differ from the viewer token".into(),
            ));
        }
        self.tokens = Tokens { viewer, admin };
        for (index, host) in self.allowed_hosts.iter_mut().enumerate() {
            let valid = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
            if !valid || host.contains("]:") || (host.contains(':') && !host.starts_with('[')) {
                return Err((
                    format!("access.allowed_hosts[{index}]"),
                    format!("must be a host name without port, such as \"monitor.example.com\", got {host:?}"),
                ));
            }
            *host = host.to_ascii_lowercase();
        }
        for (index, origin) in self.allowed_origins.iter_mut().enumerate() {
            *origin = normalize_origin(origin).ok_or_else(|| {
                (
                    format!("access.allowed_origins[{index}]"),
                    format!(
                        "must be an origin such as \"https://dash.example.com\" or \
                         \"http://10.0.0.5:3000\" (scheme, host, optional port; no path), got {origin:?}"
                    ),
                )
            })?;
        }
        Ok(())
    }
}

/// Lowercases an origin and drops a trailing `/`; `None` when it is not
/// `http(s)://host[:port]`.
pub fn normalize_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))?;
    let valid = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    valid.then_some(origin)
}

/// One role's token from its environment variable or file, digested.
fn read_token(
    role: &str,
    env: Option<&str>,
    file: Option<&Path>,
    base: Option<&Path>,
) -> Result<Option<TokenDigest>, (String, String)> {
    let env_key = format!("access.{role}_token_env");
    let file_key = format!("access.{role}_token_file");
    let (key, token) = match (env, file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err((
                file_key,
                format!("set either `{role}_token_env` or `{role}_token_file`, not both"),
            ))
        }
        (Some(name), None) => {
            let token = std::env::var(name).map_err(|_| {
                (
                    env_key.clone(),
                    format!("the environment variable {name:?} is not set (or not UTF-8)"),
                )
            })?;
            (env_key, token)
        }
        (None, Some(path)) => {
            let path = match base {
                Some(base) if path.is_relative() => base.join(path),
                _ => path.to_owned(),
            };
            let token = std::fs::read_to_string(&path).map_err(|e| {
                (
                    file_key.clone(),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            (file_key, token)
        }
    };
    // A file usually ends with a newline; nothing else is trimmed.
    let token = token.trim_end_matches(['\n', '\r']);
    check_token(token).map_err(|message| (key, message))?;
    Ok(Some(TokenDigest::of(token.as_bytes())))
}

/// A token must fit in a header and be long enough not to be guessed.
fn check_token(token: &str) -> Result<(), String> {
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the token must be printable ASCII without spaces".into());
    }
    if token.len() < MIN_TOKEN_LEN || token.len() > MAX_TOKEN_LEN {
        return Err(format!(
            "the token must be {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} characters long \
             (e.g. `openssl rand -hex 32`), got {}",
            token.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_matches_only_its_token() {
        let digest = TokenDigest::of(b"correct horse battery staple");
        assert!(digest.matches(b"correct horse battery staple"));
        assert!(!digest.matches(b"correct horse battery stapl"));
        assert!(!digest.matches(b""));
        assert_eq!(
            format!("{digest:?}"),
            "TokenDigest(…)",
            "nothing leaks in logs"
        );
    }

    #[test]
    fn tokens_come_from_files_and_are_checked() {
        let dir = std::env::temp_dir().join(format!("access-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        std::fs::write(dir.join("viewer"), "0123456789abcdef0123\n").expect("write");
        std::fs::write(dir.join("short"), "abc\n").expect("write");
        let mut config = AccessConfig {
            viewer_token_file: Some("viewer".into()),
            ..AccessConfig::default()
        };
        config.resolve(Some(&dir)).expect("valid");
        let viewer = config.tokens.viewer.as_ref().expect("read");
        assert!(viewer.matches(b"0123456789abcdef0123"), "newline trimmed");
        let mut short = AccessConfig {
            admin_token_file: Some("short".into()),
            ..AccessConfig::default()
        };
        let (key, message) = short.resolve(Some(&dir)).expect_err("too short");
        assert_eq!(key, "access.admin_token_file");
        assert!(message.contains("16 to 512"), "{message}");
        let mut missing = AccessConfig {
            admin_token_env: Some("MONITORING_TEST_SURELY_UNSET_VARIABLE".into()),
            ..AccessConfig::default()
        };
        let (key, _) = missing.resolve(None).expect_err("unset");
        assert_eq!(key, "access.admin_token_env");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn origins_are_normalized_or_refused() {
        assert_eq!(
            normalize_origin("HTTPS://Dash.Example.com/").as_deref(),
            Some("https://dash.example.com")
        );
        assert_eq!(
            normalize_origin("http://[::1]:8080").as_deref(),
            Some("http://[::1]:8080")
        );
        for bad in [
            "*",
            "dash.example.com",
            "https://",
            "https://a/b",
            "ftp://a",
        ] {
            assert_eq!(normalize_origin(bad), None, "{bad}");
        }
    }
}
