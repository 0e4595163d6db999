//! TLS on the listening port, and its certificate reloads.
//!
//! When `[server] tls_cert`/`tls_key` are set every connection is TLS: HTTP becomes
//! `https://` and WebSocket `wss://` on the same port. A client that speaks plain HTTP
//! to it gets a one-line `400` saying so instead of a TLS alert it cannot read (the
//! first byte of a TLS connection is always 0x16, that of an HTTP request a letter).
//!
//! The certificate sits behind a rustls [`ResolvesServerCert`] that every handshake
//! asks, so a reload swaps it for new handshakes only: sessions already established
//! keep the keys they agreed on, and nothing is dropped. A reload that cannot read the
//! new files keeps the old certificate and logs the key, the path and the reason.

use std::io;
use std::sync::{Arc, PoisonError, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::tls::{TlsError, TlsFiles};
use crate::shutdown::Shutdown;

/// What a plain-HTTP request to the TLS port receives before the connection closes.
const PLAIN_HTTP_REFUSAL: &str = "HTTP/1.1 400 Bad Request\r\n\
    Content-Type: text/plain; charset=utf-8\r\nContent-Length: 59\r\nConnection: close\r\n\r\n\
    This port speaks TLS only: use https:// or wss:// instead.\n";

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// The port's TLS: the acceptor and the certificate it hands out.
pub struct Tls {
    acceptor: TlsAcceptor,
    certificate: Arc<CurrentCertificate>,
    files: TlsFiles,
}

/// The certificate new handshakes get. An `RwLock` rather than a channel: it is read
/// once per handshake (an `Arc` clone under a read lock, uncontended but for reloads)
/// and written only on reload.
#[derive(Debug)]
struct CurrentCertificate(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.0.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

impl Tls {
    /// Reads the files; an error names the key, the path and the reason.
    pub fn new(files: TlsFiles) -> Result<Arc<Self>, TlsError> {
        let certificate = Arc::new(CurrentCertificate(RwLock::new(files.load()?)));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError {
                key: "server.tls_cert",
                path: files.cert.clone(),
                reason: format!("no TLS version available: {e}"),
            })?
            .with_no_client_auth()
            .with_cert_resolver(certificate.clone());
        // WebSocket upgrades are HTTP/1.1, and that is all the server speaks.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            certificate,
            files,
        }))
    }

    /// Re-reads the files; on success new handshakes use them, on failure the current
    /// certificate stays and the error is logged and returned.
    pub fn reload(&self) -> Result<(), TlsError> {
        match self.files.load() {
            Ok(key) => {
                *self
                    .certificate
                    .0
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = key;
                tracing::info!(cert = %self.files.cert.display(), key = %self.files.key.display(), "TLS certificate reloaded; new handshakes use it.");
                Ok(())
            }
            Err(e) => {
                tracing::error!(key = e.key, path = %e.path.display(), reason = %e.reason, "TLS reload failed; keeping the current certificate.");
                Err(e)
            }
        }
    }

    /// Reloads on every request until shutdown.
    pub fn spawn_reloader(
        self: Arc<Self>,
        mut requests: ReloadRequests,
        mut shutdown: Shutdown,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = requests.0.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let _ = self.reload();
                    }
                    () = shutdown.wait() => return,
                }
            }
        })
    }

    /// The TLS handshake on an accepted connection. `Ok(None)` when the peer closed
    /// before saying anything or spoke plain HTTP (it was told to use TLS). The caller
    /// puts this under the handshake deadline: it waits for the peer.
    pub async fn accept(&self, stream: TcpStream) -> io::Result<Option<TlsStream<TcpStream>>> {
        let mut first = [0u8; 1];
        if stream.peek(&mut first).await? == 0 {
            return Ok(None);
        }
        if first[0] != TLS_HANDSHAKE_RECORD && first[0].is_ascii_alphabetic() {
            refuse_plain_http(stream).await;
            return Ok(None);
        }
        self.acceptor.accept(stream).await.map(Some)
    }

    /// The certificate chain new handshakes get (for tests and logs).
    pub fn current_chain(&self) -> Vec<rustls::pki_types::CertificateDer<'static>> {
        self.certificate
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .cert
            .clone()
    }
}

/// Tells a plain-HTTP client to use TLS, then closes.
async fn refuse_plain_http(mut stream: TcpStream) {
    // The request is not read: the answer does not depend on it, and closing with
    // unread data could reset the connection before the reply arrives, so drain a
    // little first.
    let mut scratch = [0u8; 4096];
    let _ = stream.try_read(&mut scratch);
    let _ = stream.write_all(PLAIN_HTTP_REFUSAL.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Starts reloads (SIGHUP in `main`); requests made while one runs are coalesced.
pub struct ReloadTrigger(watch::Sender<()>);

/// What [`Tls::spawn_reloader`] (and the configuration reload) waits on.
#[derive(Clone)]
pub struct ReloadRequests(watch::Receiver<()>);

impl ReloadRequests {
    /// Waits for the next request; `false` once no trigger is left.
    pub async fn next(&mut self) -> bool {
        self.0.changed().await.is_ok()
    }
}

/// A new trigger and the requests it sends.
pub fn reload_channel() -> (ReloadTrigger, ReloadRequests) {
    let (sender, receiver) = watch::channel(());
    (ReloadTrigger(sender), ReloadRequests(receiver))
}

impl ReloadTrigger {
    /// Asks for a reload.
    pub fn fire(&self) {
        self.0.send_replace(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tls::tests::write_pair;

    #[test]
    fn the_refusal_says_its_length_right() {
        let body = PLAIN_HTTP_REFUSAL.split("\r\n\r\n").nth(1).expect("a body");
        assert_eq!(body.len(), 59);
    }

    #[test]
    fn a_reload_swaps_the_certificate_and_a_bad_one_keeps_the_old() {
        let dir = tempfile::tempdir().expect("scratch folder");
        let files = write_pair(dir.path(), "server");
        let tls = Tls::new(files.clone()).expect("loads");
        let first = tls.current_chain();

        // A new pair on disk: served after the reload.
        let next = write_pair(dir.path(), "next");
        std::fs::copy(&next.cert, &files.cert).expect("swap cert");
        std::fs::copy(&next.key, &files.key).expect("swap key");
        tls.reload().expect("reloads");
        let second = tls.current_chain();
        assert_ne!(first, second);
        assert_eq!(
            second[0].as_ref(),
            std::fs::read(&next.cert)
                .ok()
                .and_then(|pem| {
                    use rustls::pki_types::pem::PemObject;
                    rustls::pki_types::CertificateDer::from_pem_slice(&pem).ok()
                })
                .expect("the new certificate")
                .as_ref()
        );

        // A broken certificate, then a key of another pair: both refused, naming the
        // file; the second certificate stays.
        std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\ngarbage\n").expect("break");
        let err = tls.reload().expect_err("refused");
        assert_eq!((err.key, &err.path), ("server.tls_cert", &files.cert));
        assert_eq!(tls.current_chain(), second);
        std::fs::copy(&next.cert, &files.cert).expect("restore cert");
        let other = write_pair(dir.path(), "other");
        std::fs::copy(&other.key, &files.key).expect("wrong key");
        let err = tls.reload().expect_err("refused");
        assert_eq!((err.key, &err.path), ("server.tls_key", &files.key));
        assert_eq!(tls.current_chain(), second);
        std::fs::remove_file(&files.cert).expect("remove");
        assert!(tls.reload().is_err());
        assert_eq!(tls.current_chain(), second);
    }

    #[tokio::test]
    async fn reload_requests_reach_the_reloader_until_shutdown() {
        let dir = tempfile::tempdir().expect("scratch folder");
        let files = write_pair(dir.path(), "server");
        let tls = Tls::new(files.clone()).expect("loads");
        let first = tls.current_chain();
        let (trigger, requests) = reload_channel();
        let (stop, shutdown) = crate::shutdown::channel();
        let task = Arc::clone(&tls).spawn_reloader(requests, shutdown);
        let next = write_pair(dir.path(), "next");
        std::fs::copy(&next.cert, &files.cert).expect("swap cert");
        std::fs::copy(&next.key, &files.key).expect("swap key");
        trigger.fire();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while tls.current_chain() == first && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_ne!(tls.current_chain(), first, "the request was served");
        stop.fire();
        task.await.expect("the reloader ends on shutdown");
    }
}
