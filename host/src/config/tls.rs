//! `[server] tls_cert` / `tls_key`: the PEM files that put the port behind TLS
//! (`https://` and `wss://`).
//!
//! The two keys are fields of [`ServerConfig`] because serde's `flatten` does not work
//! with `deny_unknown_fields`; this module owns what they mean: both or neither, paths
//! relative to the config file, and reading the files. The same [`TlsFiles::load`]
//! checks them when the config is read (so a bad file stops the server before it
//! listens, naming file, line and key) and re-reads them on every reload.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::error::ConfigError;
use super::file::Config;
use super::lines::line_of_key;
use super::server::ServerConfig;

/// The certificate chain and key files, paths resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key of the leaf.
    pub key: PathBuf,
}

/// A TLS file that cannot be used: the key that names it, the file, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{key}` = {path}: {reason}")]
pub struct TlsError {
    /// `server.tls_cert` or `server.tls_key`.
    pub key: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl TlsError {
    fn cert(files: &TlsFiles, reason: impl ToString) -> Self {
        Self {
            key: "server.tls_cert",
            path: files.cert.clone(),
            reason: reason.to_string(),
        }
    }

    fn key(files: &TlsFiles, reason: impl ToString) -> Self {
        Self {
            key: "server.tls_key",
            path: files.key.clone(),
            reason: reason.to_string(),
        }
    }
}

impl TlsFiles {
    /// Reads both files and checks that the key signs for the leaf certificate.
    pub fn load(&self) -> Result<Arc<CertifiedKey>, TlsError> {
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| TlsError::cert(self, pem_reason(e)))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::cert(self, pem_reason(e)))?;
        if chain.is_empty() {
            return Err(TlsError::cert(self, "no PEM `CERTIFICATE` in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsError::key(
                self,
                "no PEM private key (PKCS#8, PKCS#1 or SEC1) in the file",
            ),
            e => TlsError::key(self, pem_reason(e)),
        })?;
        let signing_key = rustls::crypto::ring::default_provider()
            .key_provider
            .load_private_key(key)
            .map_err(|e| TlsError::key(self, format!("unusable private key: {e}")))?;
        let certified = CertifiedKey::new(chain, signing_key);
        certified.keys_match().map_err(|e| {
            TlsError::key(
                self,
                format!(
                    "does not belong to the certificate in {}: {e}",
                    self.cert.display()
                ),
            )
        })?;
        Ok(Arc::new(certified))
    }
}

/// pki-types' message, with the OS error spelled out for unreadable files.
fn pem_reason(error: rustls::pki_types::pem::Error) -> String {
    match error {
        rustls::pki_types::pem::Error::Io(e) => format!("cannot read: {e}"),
        e => format!("not a valid PEM file: {e}"),
    }
}

impl ServerConfig {
    /// Whether the port speaks TLS (both `tls_cert` and `tls_key` are set; the config
    /// check refuses one without the other). For warnings about exposing plain text.
    pub fn tls_enabled(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }
}

impl Config {
    /// The TLS files, relative paths taken from the config file's folder; `None` when
    /// the port speaks plain HTTP and WebSocket.
    pub fn tls(&self) -> Option<TlsFiles> {
        let (cert, key) = (
            self.server.tls_cert.as_ref()?,
            self.server.tls_key.as_ref()?,
        );
        let resolve = |path: &Path| match self.source.as_deref().and_then(Path::parent) {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_owned(),
        };
        Some(TlsFiles {
            cert: resolve(cert),
            key: resolve(key),
        })
    }

    /// Refuses one key without the other, and files that cannot be used.
    pub(super) fn check_tls(&self, text: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: self.source.clone().unwrap_or_default(),
            line: line_of_key(text, key),
            key: key.to_owned(),
            message,
        };
        match (&self.server.tls_cert, &self.server.tls_key) {
            (None, None) => return Ok(()),
            (Some(_), None) => {
                return Err(invalid(
                    "server.tls_cert",
                    "needs `server.tls_key` too".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "server.tls_key",
                    "needs `server.tls_cert` too".into(),
                ))
            }
            (Some(_), Some(_)) => {}
        }
        let files = self.tls().expect("both keys are set");
        files
            .load()
            .map(drop)
            .map_err(|e| invalid(e.key, format!("{}: {}", e.path.display(), e.reason)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A self-signed certificate and its key, written to `dir`.
    pub(crate) fn write_pair(dir: &Path, name: &str) -> TlsFiles {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        let files = TlsFiles {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        };
        std::fs::write(&files.cert, cert.pem()).expect("write cert");
        std::fs::write(&files.key, key.serialize_pem()).expect("write key");
        files
    }

    fn parse(text: &str, dir: &Path) -> Result<Config, ConfigError> {
        Config::parse(text, &dir.join("plugins.toml"))
    }

    #[test]
    fn paths_are_relative_to_the_config_file_and_load() {
        let dir = tempfile_dir();
        write_pair(dir.path(), "server");
        let config = parse(
            "[server]\ntls_cert = \"server.crt\"\ntls_key = \"server.key\"\n",
            dir.path(),
        )
        .expect("valid");
        assert!(config.server.tls_enabled());
        let files = config.tls().expect("configured");
        assert_eq!(files.cert, dir.path().join("server.crt"));
        assert!(files.load().is_ok());
        let plain = parse("", dir.path()).expect("valid");
        assert!(!plain.server.tls_enabled() && plain.tls().is_none());
    }

    #[test]
    fn one_key_without_the_other_names_line_and_key() {
        let dir = tempfile_dir();
        let err = parse("[server]\nport = 1\ntls_cert = \"a.crt\"\n", dir.path())
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("line 3: `server.tls_cert`: needs `server.tls_key`"),
            "{err}"
        );
    }

    #[test]
    fn missing_and_invalid_files_name_key_path_and_reason() {
        let dir = tempfile_dir();
        let err = parse(
            "[server]\ntls_cert = \"absent.crt\"\ntls_key = \"absent.key\"\n",
            dir.path(),
        )
        .expect_err("refused")
        .to_string();
        assert!(err.contains("line 2: `server.tls_cert`"), "{err}");
        assert!(err.contains("absent.crt: cannot read"), "{err}");

        let good = write_pair(dir.path(), "good");
        std::fs::write(dir.path().join("junk.key"), "not a key\n").expect("write");
        let err = parse(
            "[server]\ntls_cert = \"good.crt\"\ntls_key = \"junk.key\"\n",
            dir.path(),
        )
        .expect_err("refused")
        .to_string();
        assert!(
            err.contains("line 3: `server.tls_key`") && err.contains("no PEM private key"),
            "{err}"
        );

        let other = write_pair(dir.path(), "other");
        let mismatched = TlsFiles {
            cert: good.cert,
            key: other.key,
        };
        let err = mismatched.load().expect_err("refused").to_string();
        assert!(err.contains("does not belong to the certificate"), "{err}");
    }

    fn tempfile_dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("scratch folder")
    }
}
