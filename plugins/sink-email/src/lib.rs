//! Sink plugin `email`: each alert and resolution as a plain-text email over SMTP, the
//! seed's `EmailAlertHandler`, with STARTTLS or implicit TLS (rustls) and optional auth.
//!
//! The password never appears in plugins.toml: `password_env` names the environment
//! variable holding it, read once at start; it is never logged or put in a message.
//! Nor is it sent over a connection without TLS (`security = "none"`) unless the
//! operator sets `allow_plaintext_password = true`, and then a warning says so at start.
//! Errors quote at most a short, redacted prefix of the server's answers.
//! One `deliver` is one SMTP session; SMTP 5xx answers are fatal, 4xx answers,
//! refused connections and timeouts retryable, and the host decides when to retry.

mod text;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use monitoring_plugin_api::prelude::*;
use sink_http_common::{quote, Redactor};

pub use text::compose;

/// How the connection is protected.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte, "SMTPS" (port 465).
    Tls,
    /// No encryption at all: only for a relay on localhost or a trusted network. With a
    /// password it also needs `allow_plaintext_password = true`.
    None,
}

impl Security {
    fn default_port(self) -> u16 {
        match self {
            Self::Starttls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// Settings of `[plugins.email]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The SMTP server's host name (required); TLS certificates are checked against it.
    pub smtp_host: String,
    /// The SMTP port: 587 with `starttls`, 465 with `tls`, 25 with `none` when unset.
    pub smtp_port: Option<u16>,
    /// `"starttls"` (default), `"tls"` (implicit TLS) or `"none"`.
    pub security: Security,
    /// Login for SMTP AUTH; needs `password_env`.
    pub username: Option<String>,
    /// The NAME of the environment variable holding the password (never the password).
    pub password_env: Option<String>,
    /// RISKY: lets the password go over a connection without TLS (`security = "none"`),
    /// readable by anyone on the network path. Only for a relay on localhost; a warning
    /// is printed at start. Off by default, and then such a setting is refused.
    pub allow_plaintext_password: bool,
    /// Sender address, e.g. `"Monitoring <monitoring@example.com>"` (required).
    pub from: String,
    /// Recipient addresses (at least one).
    pub to: Vec<String>,
    /// Time allowed for each SMTP step, seconds (10).
    pub timeout_secs: f64,
    /// A PEM file of CA certificates to trust besides the public roots: for a server
    /// whose certificate comes from a private CA. Unused with `security = "none"`.
    pub ca_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            smtp_host: String::new(),
            smtp_port: None,
            security: Security::default(),
            username: None,
            password_env: None,
            allow_plaintext_password: false,
            from: String::new(),
            to: Vec::new(),
            timeout_secs: 10.0,
            ca_file: None,
        }
    }
}

/// Sends alert emails through one SMTP server.
pub struct EmailSink {
    /// Holds the credentials; deliberately not `Debug`.
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// `host:port`, for messages.
    server: String,
    /// Hides the login in what is quoted of the server's answers.
    redactor: Redactor,
    /// The password goes over a connection without TLS (allowed by the operator).
    plaintext_password: bool,
    /// This machine's name, for subjects.
    host: String,
}

impl EmailSink {
    /// Builds the sink, looking the password up with `env` (the process environment in
    /// [`Sink::new`]; tests pass their own, so no test mutates the environment).
    pub fn with_env(
        config: Config,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, PluginError> {
        if config.smtp_host.trim().is_empty() {
            return Err(PluginError::config("`smtp_host` is required"));
        }
        let from: Mailbox = config.from.parse().map_err(|e| {
            PluginError::config(format_args!(
                "`from` is not an email address (\"{}\"): {e}",
                quote(&config.from)
            ))
        })?;
        if config.to.is_empty() {
            return Err(PluginError::config("`to` needs at least one recipient"));
        }
        let to = config
            .to
            .iter()
            .enumerate()
            .map(|(i, address)| {
                address.parse().map_err(|e| {
                    PluginError::config(format_args!(
                        "`to[{i}]` is not an email address (\"{}\"): {e}",
                        quote(address)
                    ))
                })
            })
            .collect::<Result<Vec<Mailbox>, _>>()?;
        let timeout = Duration::try_from_secs_f64(config.timeout_secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                PluginError::config(format_args!(
                    "`timeout_secs` must be a positive number, got {}",
                    config.timeout_secs
                ))
            })?;
        let credentials = credentials(
            config.username.as_deref(),
            config.password_env.as_deref(),
            env,
        )?;
        let plaintext_password = credentials.is_some() && config.security == Security::None;
        if plaintext_password && !config.allow_plaintext_password {
            return Err(PluginError::config(
                "`security = \"none\"` would send the SMTP password in clear: use \"starttls\" \
                 or \"tls\", or set `allow_plaintext_password = true` to accept the risk",
            ));
        }
        let redactor = Redactor::new(
            credentials
                .iter()
                .flat_map(|(user, password)| [user.clone(), password.clone()]),
        );

        let host = config.smtp_host.trim();
        let builder = match config.security {
            Security::Starttls => SmtpTransport::starttls_relay(host),
            Security::Tls => SmtpTransport::relay(host),
            Security::None => Ok(SmtpTransport::builder_dangerous(host)),
        }
        .map_err(|e| {
            PluginError::config(format_args!(
                "`smtp_host` \"{}\" cannot be used for TLS: {e}",
                quote(host)
            ))
        })?;
        let port = config.smtp_port.unwrap_or(config.security.default_port());
        let mut builder = builder.port(port).timeout(Some(timeout));
        if let Some(path) = &config.ca_file {
            let parameters = tls_trusting(host, path)?;
            builder = match config.security {
                Security::Starttls => builder.tls(Tls::Required(parameters)),
                Security::Tls => builder.tls(Tls::Wrapper(parameters)),
                Security::None => builder,
            };
        }
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            to,
            server: format!("{}:{port}", quote(host)),
            redactor,
            plaintext_password,
            host: hostname::get()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown host".to_owned()),
        })
    }
}

impl EmailSink {
    /// What the operator must be told at start: the risk they accepted, if any.
    pub fn startup_warning(&self) -> Option<&'static str> {
        self.plaintext_password.then_some(
            "the SMTP password is sent without TLS (security = \"none\", \
             allow_plaintext_password = true): anyone on the network path can read it",
        )
    }
}

/// TLS settings that also trust the CA certificates in `ca_file`.
fn tls_trusting(host: &str, ca_file: &Path) -> Result<TlsParameters, PluginError> {
    let invalid = |what: &dyn std::fmt::Display| {
        PluginError::config(format_args!(
            "`ca_file` {}: {}",
            quote(&ca_file.display().to_string()),
            quote(&what.to_string())
        ))
    };
    let pem = std::fs::read(ca_file).map_err(|e| invalid(&e))?;
    let certificate = Certificate::from_pem(&pem).map_err(|e| invalid(&e))?;
    TlsParameters::builder(host.to_owned())
        .add_root_certificate(certificate)
        .build_rustls()
        .map_err(|e| invalid(&e))
}

/// Both or neither of `username` and `password_env`; a named variable must be set.
/// The login as (user, password).
fn credentials(
    username: Option<&str>,
    password_env: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(String, String)>, PluginError> {
    match (username, password_env) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(PluginError::config(
            "`username` is set but `password_env` is not",
        )),
        (None, Some(_)) => Err(PluginError::config(
            "`password_env` is set but `username` is not",
        )),
        (Some(user), Some(var)) => {
            let password = env(var).ok_or_else(|| {
                PluginError::config(format_args!(
                    "`password_env`: environment variable {} is not set",
                    quote(var)
                ))
            })?;
            Ok(Some((user.to_owned(), password)))
        }
    }
}

impl Sink for EmailSink {
    const NAME: &'static str = "email";
    const DESCRIPTION: &'static str = "Sends alerts by email over SMTP.";
    type Config = Config;

    fn new(config: Config) -> Result<Self, PluginError> {
        let sink = Self::with_env(config, |name| std::env::var(name).ok())?;
        // Plugins have no channel to the host's log; its log goes to stderr too, so the
        // line lands beside it, once, at start.
        if let Some(warning) = sink.startup_warning() {
            eprintln!("WARN plugin=email: {warning}");
        }
        Ok(sink)
    }

    fn deliver(&mut self, event: &SinkEvent) -> Result<(), PluginError> {
        let Some((subject, body)) = compose(event, &self.host) else {
            return Ok(());
        };
        let mut message = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message = message
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| PluginError::fatal(format_args!("cannot build the email: {e}")))?;
        self.transport.send(&message).map(drop).map_err(|e| {
            // 5xx: the server refuses this message for good. Everything else (4xx,
            // refused connection, timeout, TLS hiccup) may pass on a later attempt.
            // The error quotes the server's answer: a short, redacted prefix only.
            let answer = self.redactor.quote(&e.to_string());
            if e.is_permanent() {
                PluginError::fatal(format_args!(
                    "SMTP server {} refused the email: {answer}",
                    self.server
                ))
            } else {
                PluginError::retryable(format_args!(
                    "cannot send through SMTP server {}: {answer}",
                    self.server
                ))
            }
        })
    }
}

declare_sink!(EmailSink);

#[cfg(test)]
mod tests {
    use super::*;
    use monitoring_plugin_api::ErrorKind;

    fn config() -> Config {
        Config {
            smtp_host: "smtp.example.com".into(),
            from: "Monitoring <monitoring@example.com>".into(),
            to: vec!["admin@example.com".into(), "ops@example.com".into()],
            ..Config::default()
        }
    }

    fn config_error(config: Config) -> String {
        let err = EmailSink::with_env(config, |_| None).err().unwrap();
        assert_eq!(err.kind(), Some(ErrorKind::Config), "{err}");
        err.message().to_owned()
    }

    /// The contract without a peer: an SMTP port on loopback nobody listens on, so
    /// alerts must fail as retryable. The contract against a real SMTP server is
    /// exercised by tests/smtp.rs.
    #[test]
    fn obeys_the_sink_contract_without_a_server() {
        use monitoring_plugin_api::testing::{check_sink, Delivery};
        use monitoring_plugin_api::Exported;

        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let settings = serde_json::json!({
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "security": "none",
            "from": "Monitoring <monitoring@example.com>",
            "to": ["admin@example.com"],
            "timeout_secs": 5.0,
        })
        .to_string();
        check_sink::<EmailSink>(&settings, Delivery::FailsWith(ErrorKind::Retryable));
        assert!(!EmailSink::root_module().wants_snapshots());
    }

    #[test]
    fn defaults() {
        let parsed: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed.security, Security::Starttls);
        assert_eq!(
            parsed.smtp_port.unwrap_or(parsed.security.default_port()),
            587
        );
        assert_eq!(Security::Tls.default_port(), 465);
        assert_eq!(parsed.timeout_secs, 10.0);
        assert!(
            serde_json::from_str::<Config>(r#"{"password": "hunter2"}"#).is_err(),
            "no password key"
        );
        assert!(serde_json::from_str::<Config>(r#"{"security": "ssl"}"#).is_err());
        let sink = EmailSink::with_env(config(), |_| None).unwrap();
        assert_eq!(sink.server, "smtp.example.com:587");
    }

    #[test]
    fn bad_settings_name_their_key() {
        assert!(config_error(Config {
            smtp_host: String::new(),
            ..config()
        })
        .contains("`smtp_host`"));
        assert!(config_error(Config {
            from: "nobody".into(),
            ..config()
        })
        .contains("`from`"));
        assert!(config_error(Config {
            to: vec![],
            ..config()
        })
        .contains("`to`"));
        let bad_second = Config {
            to: vec!["a@example.com".into(), "oops".into()],
            ..config()
        };
        assert!(config_error(bad_second).contains("`to[1]`"));
        assert!(config_error(Config {
            timeout_secs: 0.0,
            ..config()
        })
        .contains("`timeout_secs`"));
        let no_password = Config {
            username: Some("u".into()),
            ..config()
        };
        assert!(config_error(no_password).contains("`password_env`"));
    }

    #[test]
    fn a_password_without_tls_needs_the_risk_accepted_and_is_then_warned_about() {
        let env = |_: &str| Some("s3cret".to_owned());
        let plain = || Config {
            security: Security::None,
            username: Some("monitor".into()),
            password_env: Some("SMTP_PASSWORD".into()),
            ..config()
        };
        let err = EmailSink::with_env(plain(), env).err().unwrap();
        assert_eq!(err.kind(), Some(ErrorKind::Config), "{err}");
        assert!(
            err.message().contains("`allow_plaintext_password = true`"),
            "{err}"
        );
        assert!(!err.message().contains("s3cret"), "{err}");

        let allowed = Config {
            allow_plaintext_password: true,
            ..plain()
        };
        let warning = EmailSink::with_env(allowed, env).unwrap().startup_warning();
        assert!(
            warning.is_some_and(|w| w.contains("without TLS")),
            "{warning:?}"
        );
        // No password, or TLS: nothing to refuse or warn about.
        let no_login = Config {
            security: Security::None,
            ..config()
        };
        let sink = EmailSink::with_env(no_login, env).unwrap();
        assert_eq!(sink.startup_warning(), None);
        let tls = Config {
            security: Security::Starttls,
            ..plain()
        };
        assert_eq!(
            EmailSink::with_env(tls, env).unwrap().startup_warning(),
            None
        );
    }

    #[test]
    fn operator_input_is_quoted_short() {
        let message = config_error(Config {
            from: format!("not an address {}", "x".repeat(5000)),
            ..config()
        });
        assert!(message.len() < 300, "{message}");
    }

    #[test]
    fn a_missing_password_variable_is_named_and_a_present_one_never_shown() {
        let auth = || Config {
            username: Some("monitor".into()),
            password_env: Some("SMTP_PASSWORD".into()),
            ..config()
        };
        let message = config_error(auth());
        assert!(
            message.contains("SMTP_PASSWORD") && message.contains("not set"),
            "{message}"
        );
        let sink = EmailSink::with_env(auth(), |name| {
            (name == "SMTP_PASSWORD").then(|| "s3cret".to_owned())
        });
        assert!(sink.is_ok());
    }
}
