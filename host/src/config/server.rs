//! `[server]`: where and how clients connect, with the seed's defaults.
//!
//! Its bounds ([`super::bounds`]) and TLS files ([`super::tls`]) are checked in files
//! of their own; this one only says what each key means.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[server]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Interface to listen on. Default `0.0.0.0`.
    pub host: String,
    /// TCP port for WebSocket and HTTP. Default 8765.
    pub port: u16,
    /// Simultaneous WebSocket clients; more are closed with 1008. Default 1000.
    pub max_clients: usize,
    /// Seconds a send to one client may take before that client is dropped. Default 1.0.
    pub send_timeout: f64,
    /// Seconds a new connection may take to send its request header. Default 10.
    pub handshake_timeout: f64,
    /// Seconds between WebSocket pings to each client. Default 20.
    pub ping_interval: f64,
    /// Seconds a client may stay silent after a ping before it is closed. Default 20.
    pub ping_timeout: f64,
    /// Largest message a client may send, bytes; larger ones close with 1009. Default 65536.
    pub max_message_size: usize,
    /// Control messages per second a client may send on average. Default 20.
    pub rate_limit: f64,
    /// Control messages a client may send in a burst. Default 40.
    pub rate_burst: f64,
    /// WebSocket clients one address (an IPv6 /64) may hold at once; more are closed
    /// with 1008. 0 lifts the limit (a reverse proxy on this host). Default 100.
    pub max_clients_per_ip: usize,
    /// Open TCP connections (HTTP and WebSocket); more are closed at once. Default
    /// twice `max_clients`, so a client over `max_clients` still hears its 1008.
    pub max_connections: Option<usize>,
    /// Open TCP connections from one address (an IPv6 /64). Default twice
    /// `max_clients_per_ip`; unlimited when that is 0.
    pub max_connections_per_ip: Option<usize>,
    /// PEM file of the certificate chain, leaf first, relative to this file. With
    /// `tls_key`, every connection on the port is TLS (`https://`, `wss://`); both are
    /// re-read on SIGHUP. Default: none (plain HTTP and WebSocket).
    pub tls_cert: Option<PathBuf>,
    /// PEM file of the certificate's private key (PKCS#8, PKCS#1 or SEC1), relative to
    /// this file. Default: none.
    pub tls_key: Option<PathBuf>,
    /// The dashboard's address as people reach it (`https://mon.example.org/`), for the
    /// link in alert notifications. Default: none, no link.
    pub public_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: 8765,
            max_clients: 1000,
            send_timeout: 1.0,
            handshake_timeout: 10.0,
            ping_interval: 20.0,
            ping_timeout: 20.0,
            max_message_size: 64 * 1024,
            rate_limit: 20.0,
            rate_burst: 40.0,
            max_clients_per_ip: 100,
            max_connections: None,
            max_connections_per_ip: None,
            tls_cert: None,
            public_url: None,
            tls_key: None,
        }
    }
}
