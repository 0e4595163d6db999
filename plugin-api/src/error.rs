//! The one error type that crosses the boundary, classified so the host can apply its
//! policy (back off, retry, disable, report) without parsing messages.

use std::fmt;

use abi_stable::{
    std_types::{ROption, RString},
    StableAbi,
};

/// How the host should treat a failure. Non-exhaustive across the ABI.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[sabi(kind(WithNonExhaustive(size = [u8; 8], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The plugin's settings are wrong; nothing will work until they are fixed.
    Config,
    /// What the plugin needs is absent here (no GPU, no binary): a normal state.
    Unavailable,
    /// A transient failure; the same call may succeed later (timeouts, refused
    /// connections, SMTP 4xx, HTTP 5xx/429).
    Retryable,
    /// This call failed for good and retrying it won't help (SMTP 5xx, HTTP 4xx).
    Fatal,
    /// The plugin panicked; the panic was caught at the boundary.
    Panicked,
}

/// A classified, FFI-safe plugin error.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PluginError {
    /// How the host should treat it.
    pub kind: ErrorKind_NE,
    /// What went wrong, lowercase, with context.
    pub message: RString,
    /// For retryable errors: the earliest retry the remote asked for (`Retry-After`).
    pub retry_after_ms: ROption<u64>,
}

impl PluginError {
    /// An error of the given kind.
    pub fn new(kind: ErrorKind, message: impl fmt::Display) -> Self {
        Self {
            kind: ErrorKind_NE::new(kind),
            message: RString::from(message.to_string()),
            retry_after_ms: ROption::RNone,
        }
    }

    /// Bad settings.
    pub fn config(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Not available on this machine.
    pub fn unavailable(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// Transient; try again later.
    pub fn retryable(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Retryable, message)
    }

    /// Failed for good.
    pub fn fatal(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Fatal, message)
    }

    /// Asks the host to wait at least this long before retrying.
    pub fn with_retry_after(mut self, delay: std::time::Duration) -> Self {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.retry_after_ms = ROption::RSome(millis);
        self
    }

    /// The kind, or `None` when a newer plugin used a kind this host does not know.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.kind.as_enum().ok().copied()
    }

    /// The message.
    pub fn message(&self) -> &str {
        self.message.as_str()
    }

    /// Converts a caught panic payload into an error.
    pub(crate) fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        Self::new(ErrorKind::Panicked, format_args!("plugin panicked: {what}"))
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind() {
            Some(ErrorKind::Config) => "config error",
            Some(ErrorKind::Unavailable) => "unavailable",
            Some(ErrorKind::Retryable) => "retryable error",
            Some(ErrorKind::Fatal) => "fatal error",
            Some(ErrorKind::Panicked) => "panic",
            _ => "error",
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for PluginError {}

/// Runs plugin code, turning a panic into [`ErrorKind::Panicked`].
pub(crate) fn guard<T>(call: impl FnOnce() -> Result<T, PluginError>) -> Result<T, PluginError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
        Ok(result) => result,
        Err(payload) => Err(PluginError::from_panic(payload.as_ref())),
    }
}

/// Parses a plugin's settings, naming the offending key in the error.
pub(crate) fn parse_config<C: serde::de::DeserializeOwned>(json: &str) -> Result<C, PluginError> {
    serde_json::from_str(json).map_err(|e| {
        // serde_json ends its messages with a position in the JSON the host built from
        // the TOML table; that position means nothing to the user, so drop it.
        let text = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = text.strip_suffix(&position).unwrap_or(&text);
        PluginError::config(format_args!("invalid settings: {message}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_panics_into_errors() {
        let err = guard::<()>(|| panic!("boom")).unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Panicked));
        assert!(err.message().contains("boom"), "{err}");
    }

    #[test]
    fn config_errors_name_the_key_without_json_positions() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Settings {
            #[allow(dead_code)]
            paths: Vec<String>,
        }
        let err = parse_config::<Settings>(r#"{"bogus":1}"#).unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Config));
        assert_eq!(
            err.message(),
            "invalid settings: unknown field `bogus`, expected `paths`"
        );
    }

    #[test]
    fn retry_after_is_kept() {
        let err = PluginError::retryable("429").with_retry_after(std::time::Duration::from_secs(3));
        assert_eq!(err.retry_after_ms, ROption::RSome(3000));
        assert_eq!(err.to_string(), "retryable error: 429");
    }
}
