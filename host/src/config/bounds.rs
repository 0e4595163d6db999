//! Upper bounds on every size and count `plugins.toml` sets, and the connection limits
//! derived from them.
//!
//! A number in the file is a promise about memory: `history_size = 1000000000000`
//! must be refused at start, naming the line, not abort the process after
//! "Listening". The bounds are far above any sane deployment and far below what a
//! 64-bit counter allows; nothing is allocated up front in proportion to them.
//!
//! Some keys only promise memory together: the history keeps `history_size`
//! snapshots, or an hour of ticks at `interval` if that is fewer, so the pair is
//! checked against [`MAX_HISTORY_BYTES`] at [`HISTORY_FRAME_BUDGET`] a snapshot.

use super::error::ConfigError;
use super::file::Config;
use super::lines::line_of_key;
use super::server::ServerConfig;

/// Most WebSocket clients (`server.max_clients`).
pub const MAX_CLIENTS: usize = 100_000;
/// Most open TCP connections (`server.max_connections`).
pub const MAX_CONNECTIONS: usize = 2 * MAX_CLIENTS;
/// Most snapshots kept (`monitor.history_size`): at 0.5 s a tick the one-hour TTL
/// keeps 7200 anyway.
pub const MAX_HISTORY_SIZE: usize = 100_000;
/// How long the history keeps a snapshot, as the seed did.
pub const HISTORY_TTL: std::time::Duration = std::time::Duration::from_secs(3600);
/// The bytes a stored snapshot is budgeted at when `plugins.toml` is checked: a
/// snapshot of the seed's collectors on a 16-core machine is 6.4 KB of JSON, and the
/// history keeps about its serialized size.
pub const HISTORY_FRAME_BUDGET: usize = 8 * 1024;
/// Most bytes of snapshots the history holds, 256 MiB: refused at load when
/// `history_size` (or an hour of ticks) × [`HISTORY_FRAME_BUDGET`] is more, and
/// enforced while running (the oldest go first) when snapshots weigh more than budgeted.
pub const MAX_HISTORY_BYTES: usize = 256 * 1024 * 1024;
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
        self.check_history_memory(text)?;
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

    /// Refuses a history that could hold more than [`MAX_HISTORY_BYTES`]: the
    /// snapshots it keeps (`history_size`, or one TTL of ticks at `interval` if that is
    /// fewer) at [`HISTORY_FRAME_BUDGET`] each. The error names both keys.
    fn check_history_memory(&self, text: &str) -> Result<(), ConfigError> {
        let monitor = &self.monitor;
        let per_ttl = (HISTORY_TTL.as_secs_f64() / monitor.interval).ceil();
        let kept = if per_ttl.is_finite() && per_ttl < monitor.history_size as f64 {
            per_ttl as usize
        } else {
            monitor.history_size
        };
        let most = MAX_HISTORY_BYTES / HISTORY_FRAME_BUDGET;
        if kept <= most {
            return Ok(());
        }
        let mib = |bytes: usize| bytes / (1024 * 1024);
        Err(ConfigError::Invalid {
            path: self.source.clone().unwrap_or_default(),
            line: line_of_key(text, "monitor.history_size"),
            key: "monitor.history_size".to_owned(),
            message: format!(
                "with `monitor.interval` = {interval} s the history keeps {kept} snapshots \
                 ({history_size} at most, {ttl} s of ticks); at {budget} KiB each that is \
                 {total} MiB, past the history's {max} MiB: set `monitor.history_size` to at \
                 most {most}, or a longer `monitor.interval`",
                interval = monitor.interval,
                history_size = monitor.history_size,
                ttl = HISTORY_TTL.as_secs(),
                budget = HISTORY_FRAME_BUDGET / 1024,
                total = mib(kept.saturating_mul(HISTORY_FRAME_BUDGET)),
                max = mib(MAX_HISTORY_BYTES),
            ),
        })
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
    fn a_history_past_its_memory_is_refused_naming_both_keys() {
        let err =
            error("[monitor]\ninterval = 0.05\nhistory_size = 100000\ncollect_timeout = 0.04\n");
        assert!(
            err.starts_with("plugins.toml: line 3: `monitor.history_size`: "),
            "{err}"
        );
        assert!(
            err.contains("`monitor.interval` = 0.05") && err.contains("72000 snapshots"),
            "{err}"
        );
        assert!(err.contains("at most 32768"), "{err}");
        // The TTL keeps 7200 at 0.5 s, whatever history_size says.
        for ok in [
            "[monitor]\ninterval = 0.5\nhistory_size = 100000\n",
            "[monitor]\ninterval = 0.05\nhistory_size = 32768\ncollect_timeout = 0.04\n",
            "[monitor]\ninterval = 0.01\ncollect_timeout = 0.005\n",
        ] {
            Config::parse(ok, Path::new("plugins.toml")).expect(ok);
        }
        let err =
            error("[monitor]\ninterval = 0.1\nhistory_size = 40000\ncollect_timeout = 0.05\n");
        assert!(err.contains("36000 snapshots"), "{err}");
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
