//! Where a request may come from, as pure functions of its `Host` and `Origin`
//! headers: the DNS-rebinding rule for a loopback-bound server and the same-origin
//! rule for browsers.

use std::net::{IpAddr, Ipv6Addr};

/// The host part of a `Host` header value (`name`, `1.2.3.4`, `[::1]`, each with an
/// optional `:port`), lowercased; `None` when the port is not a number.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim().to_ascii_lowercase();
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        (format!("[{inside}]"), after.strip_prefix(':'))
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (name.to_owned(), Some(port)),
            None => (host.clone(), None),
        }
    };
    match port {
        Some(port) if port.parse::<u16>().is_err() => None,
        _ => Some(name),
    }
}

/// Whether a `Host` header names this machine's loopback: `localhost` (or a name
/// under `.localhost`, which browsers resolve to loopback themselves), `127.x.y.z` or
/// `[::1]`, with any port. Anything else reaching a loopback-bound server came through
/// a name an attacker controls (DNS rebinding).
pub fn host_is_loopback(host: &str) -> bool {
    let Some(name) = host_name(host) else {
        return false;
    };
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    if let Some(inside) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        return inside
            .parse::<Ipv6Addr>()
            .is_ok_and(|ip| IpAddr::V6(ip).is_loopback());
    }
    name.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a `Host` header names one of `allowed` (host names without port).
pub fn host_listed(host: &str, allowed: &[String]) -> bool {
    host_name(host).is_some_and(|name| allowed.contains(&name))
}

/// `authority` without the default port of `scheme`.
fn without_default_port<'a>(authority: &'a str, scheme: &str) -> &'a str {
    let default = if scheme == "https" { ":443" } else { ":80" };
    authority.strip_suffix(default).unwrap_or(authority)
}

/// Whether `origin` (`scheme://host[:port]`) is the server's own origin, the one the
/// request's `Host` names.
pub fn is_same_origin(origin: &str, host: &str) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    let host = host.trim().to_ascii_lowercase();
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    if !matches!(scheme, "http" | "https") {
        return false;
    }
    without_default_port(authority, scheme) == without_default_port(&host, scheme)
}

/// Whether a browser at `origin` may use this server: its own origin, or one listed
/// in `allowed` (normalized by `config::access::normalize_origin`).
pub fn origin_allowed(origin: &str, host: Option<&str>, allowed: &[String]) -> bool {
    if host.is_some_and(|host| is_same_origin(origin, host)) {
        return true;
    }
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    allowed.contains(&origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_with_any_port() {
        for host in [
            "localhost",
            "LOCALHOST:8765",
            "127.0.0.1",
            "127.0.0.1:8765",
            "127.5.6.7:1",
            "[::1]",
            "[::1]:8765",
            "dash.localhost:80",
        ] {
            assert!(host_is_loopback(host), "{host}");
        }
    }

    #[test]
    fn rebinding_hosts_are_not_loopback() {
        for host in [
            "attacker.example",
            "attacker.example:8765",
            "localhost.attacker.example",
            "10.0.0.1:8765",
            "0.0.0.0",
            "[::2]:80",
            "127.0.0.1:notaport",
            "",
            "[::1",
        ] {
            assert!(!host_is_loopback(host), "{host}");
        }
    }

    #[test]
    fn listed_hosts_match_with_any_port() {
        let allowed = vec!["monitor.example.com".to_owned()];
        assert!(host_listed("Monitor.Example.com:443", &allowed));
        assert!(host_listed("monitor.example.com", &allowed));
        assert!(!host_listed("evil.example", &allowed));
    }

    #[test]
    fn same_origin_compares_the_authority_with_default_ports() {
        assert!(is_same_origin("http://127.0.0.1:8765", "127.0.0.1:8765"));
        assert!(is_same_origin(
            "HTTP://Mon.Example.com",
            "mon.example.com:80"
        ));
        assert!(is_same_origin(
            "https://mon.example.com",
            "mon.example.com:443"
        ));
        assert!(!is_same_origin("http://127.0.0.1:8766", "127.0.0.1:8765"));
        assert!(!is_same_origin("http://evil.example", "127.0.0.1:8765"));
        assert!(!is_same_origin("null", "127.0.0.1:8765"));
        assert!(!is_same_origin("file://", ""));
    }

    #[test]
    fn listed_origins_are_allowed_too() {
        let allowed = vec!["https://grafana.example.com".to_owned()];
        assert!(origin_allowed(
            "https://grafana.example.com/",
            Some("mon:8765"),
            &allowed
        ));
        assert!(origin_allowed(
            "http://mon:8765",
            Some("mon:8765"),
            &allowed
        ));
        assert!(!origin_allowed(
            "https://evil.example",
            Some("mon:8765"),
            &allowed
        ));
        assert!(!origin_allowed("http://mon:8765", None, &allowed));
    }
}
