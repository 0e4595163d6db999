//! The `Authorization` header from the settings: HTTP basic (`username` with
//! `password_env` or `password_file`) or a bearer token (`bearer_token_env` or
//! `bearer_token_file`), as Prometheus' own `remote_write` takes them. Secrets come
//! only from an environment variable or a file, never from plugins.toml; errors name
//! the key, the variable or the path, never a value.

use std::path::Path;

use base64::Engine;
use monitoring_plugin_api::PluginError;
use sink_http_common::quote;

/// The authentication keys of `[plugins.remote-write]`.
#[derive(Debug, Default, Clone)]
pub struct Auth<'a> {
    /// `username`.
    pub username: Option<&'a str>,
    /// `password_env`.
    pub password_env: Option<&'a str>,
    /// `password_file`.
    pub password_file: Option<&'a Path>,
    /// `bearer_token_env`.
    pub bearer_token_env: Option<&'a str>,
    /// `bearer_token_file`.
    pub bearer_token_file: Option<&'a Path>,
}

impl Auth<'_> {
    /// The header value (`Basic …` or `Bearer …`), or `None` without authentication.
    pub fn header(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<String>, PluginError> {
        let password = secret(
            ("password_env", self.password_env),
            ("password_file", self.password_file),
            env,
        )?;
        let bearer = secret(
            ("bearer_token_env", self.bearer_token_env),
            ("bearer_token_file", self.bearer_token_file),
            env,
        )?;
        match (self.username, password, bearer) {
            (None, None, None) => Ok(None),
            (Some(_), _, Some(_)) | (None, Some(_), Some(_)) => Err(PluginError::config(
                "set basic auth (`username`) or a bearer token, not both",
            )),
            (None, None, Some(token)) => Ok(Some(format!("Bearer {token}"))),
            (Some(user), Some(password), None) => {
                if user.contains(':') {
                    return Err(PluginError::config("`username` must not contain `:`"));
                }
                let pair =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Ok(Some(format!("Basic {pair}")))
            }
            (Some(_), None, None) => Err(PluginError::config(
                "`username` needs `password_env` or `password_file`",
            )),
            (None, Some(_), None) => Err(PluginError::config(
                "`password_env`/`password_file` need `username`",
            )),
        }
    }
}

/// The secret of one (env, file) pair of keys: at most one may be set.
fn secret(
    (env_key, var): (&str, Option<&str>),
    (file_key, path): (&str, Option<&Path>),
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, PluginError> {
    let value = match (var, path) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(PluginError::config(format_args!(
                "set `{env_key}` or `{file_key}`, not both"
            )))
        }
        (Some(var), None) => env(var).ok_or_else(|| {
            PluginError::config(format_args!(
                "`{env_key}`: environment variable {} is not set",
                quote(var)
            ))
        })?,
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
            PluginError::config(format_args!(
                "`{file_key}`: cannot read {}: {e}",
                quote(&path.display().to_string())
            ))
        })?,
    };
    // Files and variables usually end in a newline that is no part of the secret.
    let value = value.trim_end_matches(['\r', '\n']).to_owned();
    if value.trim().is_empty() {
        return Err(PluginError::config(format_args!(
            "`{}` names an empty secret",
            if var.is_some() { env_key } else { file_key }
        )));
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use monitoring_plugin_api::ErrorKind;

    fn vars(name: &str) -> Option<String> {
        match name {
            "PW" => Some("s3cret\n".into()),
            "TOKEN" => Some("tok-123".into()),
            "EMPTY" => Some("\n".into()),
            _ => None,
        }
    }

    fn error(auth: Auth<'_>) -> String {
        let err = auth.header(&vars).expect_err("refused");
        assert_eq!(err.kind(), Some(ErrorKind::Config), "{err}");
        assert!(!err.message().contains("s3cret"), "{err}");
        err.message().to_owned()
    }

    #[test]
    fn basic_and_bearer_headers() {
        let basic = Auth {
            username: Some("alice"),
            password_env: Some("PW"),
            ..Auth::default()
        };
        // base64("alice:s3cret")
        assert_eq!(
            basic.header(&vars).unwrap().as_deref(),
            Some("Basic YWxpY2U6czNjcmV0")
        );
        let bearer = Auth {
            bearer_token_env: Some("TOKEN"),
            ..Auth::default()
        };
        assert_eq!(
            bearer.header(&vars).unwrap().as_deref(),
            Some("Bearer tok-123")
        );
        let dir = std::env::temp_dir().join(format!("rw-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        let from_file = Auth {
            bearer_token_file: Some(&file),
            ..Auth::default()
        };
        assert_eq!(
            from_file.header(&vars).unwrap().as_deref(),
            Some("Bearer from-file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(Auth::default().header(&vars).unwrap(), None);
    }

    #[test]
    fn wrong_combinations_name_their_keys() {
        let both = error(Auth {
            username: Some("a"),
            password_env: Some("PW"),
            bearer_token_env: Some("TOKEN"),
            ..Auth::default()
        });
        assert!(both.contains("not both"), "{both}");
        let lonely = error(Auth {
            username: Some("a"),
            ..Auth::default()
        });
        assert!(lonely.contains("`password_env`"), "{lonely}");
        let unset = error(Auth {
            bearer_token_env: Some("NOPE"),
            ..Auth::default()
        });
        assert_eq!(
            unset,
            "`bearer_token_env`: environment variable NOPE is not set"
        );
        let empty = error(Auth {
            bearer_token_env: Some("EMPTY"),
            ..Auth::default()
        });
        assert!(empty.contains("empty"), "{empty}");
        let missing = error(Auth {
            bearer_token_file: Some(Path::new("/nonexistent/token")),
            ..Auth::default()
        });
        assert!(missing.contains("`bearer_token_file`"), "{missing}");
        let two_sources = error(Auth {
            username: Some("a"),
            password_env: Some("PW"),
            password_file: Some(Path::new("/x")),
            ..Auth::default()
        });
        assert!(two_sources.contains("not both"), "{two_sources}");
    }
}
