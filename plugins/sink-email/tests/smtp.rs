//! The email sink against a real SMTP server process on loopback: Python's aiosmtpd,
//! scripted by `tests/smtp_server.py`. What arrives is checked as a mail client reads
//! it (decoded headers and body); refusals are classified by their SMTP code.
//!
//! Without aiosmtpd every test here fails, naming it and its install command
//! (`cargo xtask test` installs it).
// clippy.toml allows unwrap in #[test] functions; these files' helpers are test code too.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use monitoring_plugin_api::{ErrorKind, PluginError, Sink, SinkEvent};
use monitoring_test_support::{critical_alert, Peer};
use serde_json::Value;
use sink_email::{Config, EmailSink, Security};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_server.py");

/// A running `smtp_server.py`; killed when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    messages: Receiver<Value>,
}

impl SmtpServer {
    /// Starts the server with `args`. Without aiosmtpd the test fails naming it (`None`
    /// only under the opt-out, see `monitoring_test_support::require`).
    fn start(args: &[&str]) -> Option<Self> {
        let python = monitoring_test_support::require(Peer::Aiosmtpd)?;
        let mut child = Command::new(python)
            .arg(SCRIPT)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let Some(port) = first
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
        else {
            let mut stderr = String::new();
            let _ = child.kill();
            let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
            panic!("smtp_server.py did not start: {first:?}\n{stderr}");
        };
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                    break;
                }
            }
        });
        Some(Self {
            child,
            port,
            messages,
        })
    }

    fn config(&self) -> Config {
        Config {
            smtp_host: "127.0.0.1".into(),
            smtp_port: Some(self.port),
            security: Security::None,
            from: "Monitoring <monitoring@example.com>".into(),
            to: vec![
                "admin@example.com".into(),
                "Ops Team <ops@example.com>".into(),
            ],
            timeout_secs: 5.0,
            ..Config::default()
        }
    }

    fn sink(&self) -> EmailSink {
        EmailSink::with_env(self.config(), |_| None).unwrap()
    }

    fn next_message(&self) -> Value {
        self.messages
            .recv_timeout(Duration::from_secs(5))
            .expect("a message reaches the server")
    }

    fn assert_no_message(&self) {
        assert!(
            self.messages
                .recv_timeout(Duration::from_millis(200))
                .is_err(),
            "nothing is accepted"
        );
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn host() -> String {
    hostname::get().unwrap().to_string_lossy().into_owned()
}

fn refused(server_args: &[&str]) -> Option<(PluginError, SmtpServer)> {
    let server = SmtpServer::start(server_args)?;
    let err = server
        .sink()
        .deliver(&SinkEvent::Alert {
            alert: critical_alert(),
        })
        .unwrap_err();
    server.assert_no_message();
    Some((err, server))
}

#[test]
fn the_alert_arrives_with_its_subject_recipients_and_every_field() {
    let Some(server) = SmtpServer::start(&[]) else {
        return;
    };
    let mut sink = server.sink();
    sink.deliver(&SinkEvent::Alert {
        alert: critical_alert(),
    })
    .unwrap();

    let mail = server.next_message();
    assert_eq!(mail["mail_from"], "monitoring@example.com");
    assert_eq!(
        mail["rcpt_tos"],
        serde_json::json!(["admin@example.com", "ops@example.com"])
    );
    assert_eq!(
        mail["subject"],
        format!("[CRITICAL] memory usage 96.2% on {}", host())
    );
    assert_eq!(mail["from"], "Monitoring <monitoring@example.com>");
    assert_eq!(mail["to"], "admin@example.com, Ops Team <ops@example.com>");
    assert_eq!(mail["content_type"], "text/plain");
    assert_eq!(mail["authenticated"], false);
    let expected_body = format!(
        "CRITICAL alert on {host}\n\nCritical memory usage: 96.2% (threshold: 90.0%)\n\n\
         Component:   memory\nMetric:      usage_percent\nValue:       96.2%\nThreshold:   90.0%\n\
         Level:       CRITICAL\nRaised at:   2025-01-03T10:15:30.123456\nHost:        {host}\n",
        host = host()
    );
    // The end of DATA adds a final line break.
    assert_eq!(
        mail["body"]
            .as_str()
            .unwrap()
            .replace("\r\n", "\n")
            .trim_end(),
        expected_body.trim_end()
    );

    // Snapshots send nothing; resolutions send their own email.
    sink.deliver(&SinkEvent::Snapshot {
        timestamp: "t".into(),
        data: Default::default(),
    })
    .unwrap();
    server.assert_no_message();
    sink.deliver(&SinkEvent::Resolved {
        alert: critical_alert(),
        resolved_at: "2025-01-03T10:20:00".into(),
    })
    .unwrap();
    let mail = server.next_message();
    assert_eq!(
        mail["subject"],
        format!(
            "[RESOLVED] memory usage back to normal on {} (was CRITICAL 96.2%)",
            host()
        )
    );
    assert!(
        mail["body"]
            .as_str()
            .unwrap()
            .contains("Resolved at: 2025-01-03T10:20:00"),
        "{mail}"
    );
}

/// plugin-api's sink contract, run as the host runs the plugin (exported root module,
/// events as JSON) against the real server this time: `check_sink`'s alert and
/// resolution each arrive as a mail; its snapshot and unknown event send nothing.
#[test]
fn obeys_the_sink_contract_against_a_real_server() {
    use monitoring_plugin_api::testing::{check_sink, Delivery};

    let Some(server) = SmtpServer::start(&[]) else {
        return;
    };
    let settings = serde_json::json!({
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
        "security": "none",
        "from": "Monitoring <monitoring@example.com>",
        "to": ["admin@example.com"],
        "timeout_secs": 5.0,
    })
    .to_string();
    check_sink::<EmailSink>(&settings, Delivery::Succeeds);

    // check_sink's events carry plugin-api's `sample_alert`: memory WARNING at 85.5 %.
    let alert = server.next_message();
    assert_eq!(alert["rcpt_tos"], serde_json::json!(["admin@example.com"]));
    assert_eq!(
        alert["subject"],
        format!("[WARNING] memory usage 85.5% on {}", host())
    );
    assert!(
        alert["body"]
            .as_str()
            .unwrap()
            .contains("High memory usage: 85.5% (threshold: 80.0%)"),
        "{alert}"
    );
    let resolved = server.next_message();
    assert_eq!(
        resolved["subject"],
        format!(
            "[RESOLVED] memory usage back to normal on {} (was WARNING 85.5%)",
            host()
        )
    );
    assert!(
        resolved["body"]
            .as_str()
            .unwrap()
            .contains("Resolved at: 2025-01-03T10:20:00.000000"),
        "{resolved}"
    );
    server.assert_no_message();
}

#[test]
fn logs_in_with_the_password_from_the_named_variable() {
    let Some(server) = SmtpServer::start(&["--username", "monitor", "--password", "s3cret"]) else {
        return;
    };
    // This test server has no TLS: the password goes in clear, so it must be allowed.
    let config = || Config {
        username: Some("monitor".into()),
        password_env: Some("MONITORING_SMTP_PASSWORD".into()),
        allow_plaintext_password: true,
        ..server.config()
    };
    let env = |password: &'static str| {
        move |name: &str| (name == "MONITORING_SMTP_PASSWORD").then(|| password.to_owned())
    };

    let mut sink = EmailSink::with_env(config(), env("s3cret")).unwrap();
    assert!(
        sink.startup_warning().is_some(),
        "the accepted risk is warned about"
    );
    sink.deliver(&SinkEvent::Alert {
        alert: critical_alert(),
    })
    .unwrap();
    assert_eq!(server.next_message()["authenticated"], true);

    // A wrong password is answered 535: permanent, not retried; and never echoed.
    let mut wrong = EmailSink::with_env(config(), env("not-it")).unwrap();
    let err = wrong
        .deliver(&SinkEvent::Alert {
            alert: critical_alert(),
        })
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Fatal), "{err}");
    assert!(!err.message().contains("not-it"), "{err}");
}

/// Without TLS and without the operator's explicit consent, the sink refuses to be
/// built: the password never reaches the (real, listening) server.
#[test]
fn a_password_is_not_sent_in_clear_unless_allowed() {
    let Some(server) = SmtpServer::start(&["--username", "monitor", "--password", "s3cret"]) else {
        return;
    };
    let config = Config {
        username: Some("monitor".into()),
        password_env: Some("MONITORING_SMTP_PASSWORD".into()),
        ..server.config()
    };
    assert_eq!(config.security, Security::None);
    let err = EmailSink::with_env(config, |_| Some("s3cret".to_owned()))
        .err()
        .expect("refused");
    assert_eq!(err.kind(), Some(ErrorKind::Config), "{err}");
    assert!(
        err.message().contains("`allow_plaintext_password = true`"),
        "{err}"
    );
    assert!(!err.message().contains("s3cret"), "{err}");
    server.assert_no_message();
}

/// Over STARTTLS the password needs no consent and draws no warning.
#[test]
fn a_password_over_starttls_needs_no_consent() {
    let pki = TestPki::new();
    let (cert, key) = (pki.path("server.pem"), pki.path("server.key"));
    let Some(server) = SmtpServer::start(&[
        "--tls-cert",
        cert.as_str(),
        "--tls-key",
        key.as_str(),
        "--username",
        "monitor",
        "--password",
        "s3cret",
    ]) else {
        return;
    };
    let config = Config {
        security: Security::Starttls,
        ca_file: Some(pki.path("ca.pem").into()),
        username: Some("monitor".into()),
        password_env: Some("MONITORING_SMTP_PASSWORD".into()),
        ..server.config()
    };
    let mut sink = EmailSink::with_env(config, |_| Some("s3cret".to_owned())).unwrap();
    assert_eq!(sink.startup_warning(), None);
    sink.deliver(&SinkEvent::Alert {
        alert: critical_alert(),
    })
    .unwrap();
    let mail = server.next_message();
    assert_eq!(mail["authenticated"], true, "{mail}");
    assert_eq!(mail["tls"], true, "{mail}");
}

/// A server's answer is quoted short and escaped: a long reply does not flood the log.
#[test]
fn a_long_answer_is_quoted_short() {
    // Long, but within the 512 octets a reply line may have (RFC 5321 4.5.3.1.5).
    let long = format!("550 5.1.1 {}", "z".repeat(400));
    let Some((err, _server)) = refused(&["--rcpt-reply", long.as_str()]) else {
        return;
    };
    assert_eq!(err.kind(), Some(ErrorKind::Fatal), "{err}");
    assert!(err.message().contains('…'), "{err}");
    assert!(err.message().len() < 250, "{err}");
}

#[test]
fn a_4xx_answer_is_retryable() {
    let Some((err, _server)) =
        refused(&["--rcpt-reply", "451 4.3.0 mailbox busy, try again later"])
    else {
        return;
    };
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(
        err.message().contains("451") || err.message().contains("busy"),
        "{err}"
    );
    let Some((err, _server)) = refused(&["--data-reply", "452 4.3.1 insufficient system storage"])
    else {
        return;
    };
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
}

#[test]
fn a_5xx_answer_is_fatal() {
    let Some((err, _server)) = refused(&["--rcpt-reply", "550 5.1.1 no such user"]) else {
        return;
    };
    assert_eq!(err.kind(), Some(ErrorKind::Fatal), "{err}");
    assert!(err.message().contains("no such user"), "{err}");
    let Some((err, _server)) = refused(&["--data-reply", "554 5.6.0 message rejected"]) else {
        return;
    };
    assert_eq!(err.kind(), Some(ErrorKind::Fatal), "{err}");
}

/// Delivers one alert to `port` on 127.0.0.1 (no TLS) and checks it fails retryably
/// within `limit`.
fn assert_retryable_within(port: u16, timeout_secs: f64, limit: Duration) {
    let config = Config {
        smtp_host: "127.0.0.1".into(),
        smtp_port: Some(port),
        security: Security::None,
        from: "monitoring@example.com".into(),
        to: vec!["admin@example.com".into()],
        timeout_secs,
        ..Config::default()
    };
    let started = Instant::now();
    let err = EmailSink::with_env(config, |_| None)
        .unwrap()
        .deliver(&SinkEvent::Alert {
            alert: critical_alert(),
        })
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Retryable), "{err}");
    assert!(started.elapsed() < limit, "{:?}", started.elapsed());
}

#[test]
fn a_dead_port_is_retryable_at_once() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    assert_retryable_within(port, Config::default().timeout_secs, Duration::from_secs(2));
}

/// A server that accepts the connection and never greets: the timeout ends the attempt.
#[test]
fn a_silent_server_times_out_as_retryable() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    assert_retryable_within(port, 0.5, Duration::from_secs(3));
    drop(listener);
}

/// A throwaway CA and a server certificate it signed for `127.0.0.1`, as PEM files.
struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// Sends one alert over TLS (`starttls` or implicit) to a server whose certificate is
/// signed by the test CA; returns what the server received.
fn deliver_over_tls(security: Security, implicit: bool) -> Option<Value> {
    let pki = TestPki::new();
    let cert = pki.path("server.pem");
    let key = pki.path("server.key");
    let mut args = vec!["--tls-cert", cert.as_str(), "--tls-key", key.as_str()];
    if implicit {
        args.push("--implicit-tls");
    }
    let server = SmtpServer::start(&args)?;
    let config = Config {
        security,
        ca_file: Some(pki.path("ca.pem").into()),
        ..server.config()
    };
    let mut sink = EmailSink::with_env(config, |_| None).unwrap();
    sink.deliver(&SinkEvent::Alert {
        alert: critical_alert(),
    })
    .unwrap();
    Some(server.next_message())
}

#[test]
fn starttls_with_a_private_ca_delivers_encrypted() {
    let Some(message) = deliver_over_tls(Security::Starttls, false) else {
        return;
    };
    assert_eq!(message["tls"], true, "{message}");
    assert_eq!(
        message["rcpt_tos"],
        serde_json::json!(["admin@example.com", "ops@example.com"])
    );
}

#[test]
fn implicit_tls_with_a_private_ca_delivers_encrypted() {
    let Some(message) = deliver_over_tls(Security::Tls, true) else {
        return;
    };
    assert_eq!(message["tls"], true, "{message}");
}

#[test]
fn an_untrusted_certificate_is_refused_and_nothing_is_sent() {
    let pki = TestPki::new();
    let cert = pki.path("server.pem");
    let key = pki.path("server.key");
    let Some(server) = SmtpServer::start(&["--tls-cert", cert.as_str(), "--tls-key", key.as_str()])
    else {
        return;
    };
    // No ca_file: only the public roots are trusted, and the test CA is not one.
    let config = Config {
        security: Security::Starttls,
        ..server.config()
    };
    let err = EmailSink::with_env(config, |_| None)
        .unwrap()
        .deliver(&SinkEvent::Alert {
            alert: critical_alert(),
        })
        .unwrap_err();
    assert!(
        err.message().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(
        server
            .messages
            .recv_timeout(Duration::from_millis(500))
            .is_err(),
        "nothing was delivered"
    );
}

#[test]
fn a_missing_ca_file_is_a_config_error_naming_it() {
    let config = Config {
        smtp_host: "127.0.0.1".into(),
        from: "monitoring@example.com".into(),
        to: vec!["admin@example.com".into()],
        ca_file: Some("/no/such/ca.pem".into()),
        ..Config::default()
    };
    let err = EmailSink::with_env(config, |_| None)
        .err()
        .expect("refused");
    assert_eq!(err.kind(), Some(ErrorKind::Config));
    assert!(err.message().contains("`ca_file` /no/such/ca.pem"), "{err}");
}
