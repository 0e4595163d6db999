//! A test CA and the server certificates it signs, made at test time with rcgen, and a
//! rustls client that trusts that CA and reports which certificate it was shown.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PublicKeyData, SerialNumber,
};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A certificate authority that exists only for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// Its certificate as PEM, in a file, for clients to trust.
    pub pem_file: PathBuf,
}

/// A server certificate and key, written where the server's config points.
pub struct Leaf {
    /// The certificate as the server presents it.
    pub der: CertificateDer<'static>,
    /// base64(SHA-256(SubjectPublicKeyInfo)): what Chromium's
    /// `--ignore-certificate-errors-spki-list` pins.
    pub spki_sha256: String,
    cert_pem: String,
    key_pem: String,
}

impl TestCa {
    /// A new CA, its certificate written to `dir/ca.pem`.
    pub fn new(dir: &Path) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "monitoring tests CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let pem_file = dir.join("ca.pem");
        std::fs::write(&pem_file, issuer.pem()).expect("write ca.pem");
        Self { issuer, pem_file }
    }

    /// A certificate for `127.0.0.1` and `localhost` with the given serial.
    pub fn leaf(&self, serial: u8) -> Leaf {
        let mut params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("leaf params");
        params.serial_number = Some(SerialNumber::from(vec![serial]));
        params.distinguished_name.push(
            DnType::CommonName,
            format!("monitoring test server {serial}"),
        );
        // OpenSSL's strict verification (Python's default) wants the issuer's key id.
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        let digest = ring::digest::digest(&ring::digest::SHA256, &key.subject_public_key_info());
        Leaf {
            der: cert.der().clone(),
            spki_sha256: base64::engine::general_purpose::STANDARD.encode(digest.as_ref()),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A rustls client configuration trusting only this CA.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.issuer.der().clone()).expect("CA is a root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

impl Leaf {
    /// Writes the certificate and key to `cert` and `key`, each replaced in one rename
    /// so a reload never reads half a file.
    pub fn write(&self, cert: &Path, key: &Path) {
        for (path, text) in [(cert, &self.cert_pem), (key, &self.key_pem)] {
            let partial = path.with_extension("partial");
            std::fs::write(&partial, text).expect("write PEM");
            std::fs::rename(&partial, path).expect("move PEM into place");
        }
    }
}

/// A TLS connection to `127.0.0.1:port` that verified the server against `ca`.
pub async fn tls_connect(ca: &TestCa, port: u16) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("TCP connect");
    let name = ServerName::try_from("127.0.0.1").expect("an IP name");
    tokio_rustls::TlsConnector::from(ca.client_config())
        .connect(name, tcp)
        .await
        .expect("TLS handshake verified against the test CA")
}

/// The certificate the server presented on `stream`.
pub fn presented(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    let (_, session) = stream.get_ref();
    session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .expect("a server certificate")
        .clone()
        .into_owned()
}
