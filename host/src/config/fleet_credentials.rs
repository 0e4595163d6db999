//! The `[fleet]` credentials: each secret is read once, from the environment variable
//! or the file `plugins.toml` names (never from the file itself, like the `[access]`
//! tokens), and kept in a [`FleetSecret`] whose `Debug` prints nothing of it.

use std::path::{Path, PathBuf};

/// A secret read from the environment or a file; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct FleetSecret(String);

impl FleetSecret {
    /// The secret, for the NATS client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for FleetSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FleetSecret(…)")
    }
}

/// How the server authenticates to NATS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials (a bus open on a trusted network, or TLS client auth).
    #[default]
    None,
    /// A token.
    Token(FleetSecret),
    /// A user and password.
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: FleetSecret,
    },
    /// An NKey seed; the server signs NATS' nonce with it.
    NKey(FleetSecret),
}

impl Credentials {
    /// The method's name, for logs and `/health` (never the secret).
    pub fn method(&self) -> &'static str {
        match self {
            Credentials::None => "none",
            Credentials::Token(_) => "token",
            Credentials::UserPassword { .. } => "user_password",
            Credentials::NKey(_) => "nkey",
        }
    }
}

/// One secret from its environment variable or file.
pub(super) fn read_secret(
    what: &str,
    env: &Option<String>,
    file: &Option<PathBuf>,
    base: Option<&Path>,
) -> Result<Option<FleetSecret>, (String, String)> {
    let text = match (env, file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err((
                format!("fleet.{what}_file"),
                format!("set either `{what}_env` or `{what}_file`, not both"),
            ))
        }
        (Some(name), None) => std::env::var(name).map_err(|_| {
            (
                format!("fleet.{what}_env"),
                format!("the environment variable {name:?} is not set (or not UTF-8)"),
            )
        })?,
        (None, Some(path)) => {
            let path = match base {
                Some(base) if path.is_relative() => base.join(path),
                _ => path.clone(),
            };
            std::fs::read_to_string(&path).map_err(|e| {
                (
                    format!("fleet.{what}_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?
        }
    };
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() || secret.len() > 4096 {
        let key = if env.is_some() { "env" } else { "file" };
        return Err((
            format!("fleet.{what}_{key}"),
            "the secret must be 1 to 4096 bytes".into(),
        ));
    }
    Ok(Some(FleetSecret(secret.to_owned())))
}
