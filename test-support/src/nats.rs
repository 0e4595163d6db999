//! A real `nats-server` for the fleet tests: a child on a free port of 127.0.0.1 that
//! requires a token, stopped and started again on the same port for the reconnect
//! tests, killed (by its own child handle) when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::peer::{require, Peer};
#[cfg(feature = "harness")]
use crate::{Server, Setup};

/// The variable a server started by [`Nats::server`] reads the bus's token from.
pub const TOKEN_ENV: &str = "MONITORING_FLEET_TEST_TOKEN";

/// A running `nats-server` with its default 1 MB payload limit.
pub struct Nats {
    binary: PathBuf,
    token: String,
    port: u16,
    child: Child,
}

impl Nats {
    /// Starts one requiring `token`; `None` when the peer is missing and skipping is
    /// allowed (outside CI only, see [`require`]).
    pub fn start(token: &str) -> Option<Self> {
        let binary = require(Peer::NatsServer)?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = spawn(&binary, port, token);
        Some(Self {
            binary,
            token: token.to_owned(),
            port,
            child,
        })
    }

    /// Its client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The environment a server on this bus needs: the token under [`TOKEN_ENV`]
    /// (also for [`Server::restart_in_with_env`]).
    pub fn env(&self) -> [(&str, &str); 1] {
        [(TOKEN_ENV, self.token.as_str())]
    }

    /// A server with `plugins` publishing on this bus as `host`; `fleet_extra` follows
    /// the `[fleet]` keys (more of them, then any later table).
    #[cfg(feature = "harness")]
    pub fn server(&self, host: &str, plugins: &[&str], fleet_extra: &str) -> Server {
        let config = format!(
            "[fleet]\nnats_url = \"{}\"\nhost_name = \"{host}\"\ntoken_env = \"{TOKEN_ENV}\"\n{fleet_extra}\n",
            self.url()
        );
        let setup = Setup {
            plugins,
            config: &config,
            extra_files: &[],
        };
        Server::start_with_env(setup, &self.env())
    }

    /// Kills it and waits until it is gone.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.child = spawn(&self.binary, self.port, &self.token);
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `binary` on `port` and waits until it listens.
fn spawn(binary: &Path, port: u16, token: &str) -> Child {
    let child = Command::new(binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "--auth", token])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nats-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}
