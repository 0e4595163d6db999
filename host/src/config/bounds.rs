//! Upper bounds on every size and count `plugins.toml` sets, and the connection limits
//! derived from them.
//!
//! A number in the file is a promise about memory: `history_size = 1000000000000`
//! must be refused at start, naming the line, not abort the process after
//! "Listening". The bounds are far above any sane deployment and far below what a
//! 64-bit counter allows; nothing is allocated up front in proportion to them.

use super::{line_of_key, Config, ConfigError, ServerConfig};

/// Most WebSocket clients (`server.max_clients`).
pub const MAX_CLIENTS: usize = 100_000;
/// Most open TCP connections (`server.max_connections`).
pub const MAX_CONNECTIONS: usize = 2 * MAX_CLIENTS;
/// Most snapshots kept (`monitor.history_size`): at 0.5 s a tick the one-hour TTL
/// keeps 7200 anyway.
pub const MAX_HISTORY_SIZE: usize = 100_000;
/// Largest message a client may send (`server.max_message_size`), 16 MiB.
pub const MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;
/// Most control messages per second or in a burst (`server.rate_limit`, `rate_burst`).
pub const MAX_RATE: f64 = 10_000.0;

/// How many connections and clients may be open, in all and per address; 0 per
/// address means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open TCP connections.
    pub connections: usize,
    /// Open TCP connections from one address.
    pub connections_per_ip: usize,
    /// WebSocket clients.
    pub clients: usize,
    /// WebSocket clients from one address.
    pub clients_per_ip: usize,
}

impl ServerConfig {
    /// The limits `[server]` sets, defaults resolved; a per-address limit above the
    /// total is the total.
    pub fn connection_limits(&self) -> ConnectionLimits {
        let connections = self
            .max_connections
            .unwrap_or(self.max_clients.saturating_mul(2));
        let clients_per_ip = self.max_clients_per_ip.min(self.max_clients);
        let connections_per_ip = self
            .max_connections_per_ip
            .unwrap_or(clients_per_ip.saturating_mul(2))
            .min(connections);
        ConnectionLimits {
            connections,
            connections_per_ip,
            clients: self.max_clients,
            clients_per_ip,
        }
    }
}

impl Config {
    /// Refuses a size or count past its bound, naming file, line and key.
    pub(super) fn check_bounds(&self, text: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: self.source.clone().unwrap_or_default(),
            line: line_of_key(text, key),
            key: key.to_owned(),
            message,
        };
        let at_most = |key: &str, value: usize, min: usize, max: usize| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(invalid(
                    key,
                    format!("must be between {min} and {max}, got {value}"),
                ))
            }
        };
        let server = &self.server;
        at_most(
            "monitor.history_size",
            self.monitor.history_size,
            1,
            MAX_HISTORY_SIZE,
        )?;
        at_most("server.max_clients", server.max_clients, 1, MAX_CLIENTS)?;
        at_most(
            "server.max_message_size",
            server.max_message_size,
            1024,
            MAX_MESSAGE_SIZE,
        )?;
        at_most(
            "server.max_clients_per_ip",
            server.max_clients_per_ip,
            0,
            MAX_CLIENTS,
        )?;
        let limits = server.connection_limits();
        at_most(
            "server.max_connections",
            limits.connections,
            server.max_clients,
            MAX_CONNECTIONS,
        )?;
        if let Some(per_ip) = server.max_connections_per_ip {
            // Below the clients allowed per address, those clients would be cut off
            // before they could hear their 1008.
            at_most(
                "server.max_connections_per_ip",
                per_ip,
                limits.clients_per_ip.max(1),
                MAX_CONNECTIONS,
            )?;
        }
        for (key, value) in [
            ("server.rate_limit", server.rate_limit),
            ("server.rate_burst", server.rate_burst),
        ] {
            if value > MAX_RATE {
                return Err(invalid(
                    key,
                    format!("must be at most {MAX_RATE}, got {value}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn error(text: &str) -> String {
        Config::parse(text, Path::new("plugins.toml"))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn absurd_sizes_are_refused_with_file_line_and_key() {
        let err = error("[monitor]\ninterval = 0.5\nhistory_size = 1000000000000\n");
        assert!(
            err.starts_with(
                "plugins.toml: line 3: `monitor.history_size`: must be between 1 and 100000"
            ),
            "{err}"
        );
        for (text, key) in [
            ("[server]\nmax_clients = 1000000\n", "server.max_clients"),
            (
                "[server]\nmax_message_size = 1073741824\n",
                "server.max_message_size",
            ),
            (
                "[server]\nmax_clients_per_ip = 100001\n",
                "server.max_clients_per_ip",
            ),
            (
                "[server]\nmax_connections = 999\n",
                "server.max_connections",
            ),
            (
                "[server]\nmax_connections_per_ip = 99\n",
                "server.max_connections_per_ip",
            ),
            ("[server]\nrate_burst = 1e9\n", "server.rate_burst"),
        ] {
            let err = error(text);
            assert!(
                err.contains("line 2") && err.contains(key),
                "{text} → {err}"
            );
        }
    }

    #[test]
    fn connection_limits_default_to_twice_the_client_limits() {
        let config = Config::parse("", Path::new("plugins.toml")).expect("valid");
        assert_eq!(
            config.server.connection_limits(),
            ConnectionLimits {
                connections: 2000,
                connections_per_ip: 200,
                clients: 1000,
                clients_per_ip: 100,
            }
        );
        let config = Config::parse(
            "[server]\nmax_clients = 20000\nmax_clients_per_ip = 0\n",
            Path::new("plugins.toml"),
        )
        .expect("valid");
        let limits = config.server.connection_limits();
        assert_eq!((limits.connections, limits.connections_per_ip), (40000, 0));
        let config = Config::parse("[server]\nmax_clients = 2\n", Path::new("plugins.toml"))
            .expect("the per-address default shrinks with max_clients");
        let limits = config.server.connection_limits();
        assert_eq!((limits.clients_per_ip, limits.connections_per_ip), (2, 4));
    }
}
