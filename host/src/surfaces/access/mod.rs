//! Who may use the server, and from where: roles and tokens, the `Origin` and `Host`
//! rules, and the warning printed when the server is exposed.
//!
//! Two roles. A **viewer** gets the stream, `ping`, `get_status` and the read-only
//! HTTP routes; an **admin** also runs control commands (`set_threshold`,
//! `configure_thresholds`, and every one added later). Defaults keep the seed's
//! clients working: without a viewer token anyone may view (as [`Role::Anonymous`]);
//! without an admin token control commands are refused with `FORBIDDEN`.
//!
//! Every request first passes [`Access::check_request`] (the `Host` rule on a
//! loopback-bound server, then the `Origin` rule; a request with more than one `Host`
//! is refused with 400 first); data routes and the WebSocket upgrade then
//! [`Access::authenticate`], which backs off an address that keeps presenting wrong
//! tokens ([`backoff`]). Refusals are JSON replies ([`Denial`]), never rejections, so
//! the routing's 404/405 fallback cannot mask them.

pub mod backoff;
pub mod origin;
pub mod token;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use warp::http::header::{HOST, ORIGIN, RETRY_AFTER, WWW_AUTHENTICATE};
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;
use warp::Filter;

use crate::accept::admission::Source;
use crate::accept::server::Peer;
use crate::config::access::{AccessConfig, Tokens};
use crate::pipeline::wire::excerpt;
use crate::surfaces::reply;
use crate::throttle::Throttle;
use backoff::Backoff;
use token::Presented;

/// What a connection may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// No token presented, on a server that asks none of viewers.
    Anonymous,
    /// Presented the viewer token.
    Viewer,
    /// Presented the admin token.
    Admin,
}

impl Role {
    /// The role's name, for logs.
    pub fn name(self) -> &'static str {
        match self {
            Role::Anonymous => "anonymous",
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }
}

/// Who is asking: the role a request earned, its peer and (shortened) `Origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// The TCP peer, when known.
    pub peer: Option<SocketAddr>,
    /// The `Origin` header, at most 64 characters of it.
    pub origin: Option<String>,
}

impl Grant {
    /// An anonymous grant with no peer, for in-process sessions.
    pub fn anonymous() -> Self {
        Self {
            role: Role::Anonymous,
            peer: None,
            origin: None,
        }
    }
}

/// A refused request: its status and the `{"error": …}` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// 400 (two `Host` headers), 401, 403 or 429 (backed off).
    pub status: StatusCode,
    /// What to do about it.
    pub message: String,
    /// With a 429: whole seconds until the address may try again.
    pub retry_after: Option<u64>,
}

impl Denial {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The 429 of an address backed off for `left` more.
    fn backed_off(left: Duration) -> Self {
        let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Self {
            retry_after: Some(seconds.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many failed authentications from this address: retry in {} s",
                    seconds.max(1)
                ),
            )
        }
    }

    /// The JSON reply; a 401 says which scheme to use, a 429 when to retry.
    pub fn into_response(self) -> Response {
        let mut response = reply::error(self.status, self.message);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"monitoring\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The access policy of a running server.
#[derive(Debug)]
pub struct Access {
    tokens: Tokens,
    allowed_origins: Vec<String>,
    allowed_hosts: Vec<String>,
    /// Bound to a loopback address: only loopback `Host` names are served.
    loopback: bool,
    /// Wrong-token warnings, at most one a second: a guesser must not fill the disk.
    /// A std `Mutex`: held for a comparison, never across an await.
    complaints: Mutex<Throttle>,
    /// Failed authentications per address; a std `Mutex`, held for a map look-up.
    backoff: Mutex<Backoff>,
    /// Back-off warnings, at most one a second.
    lockouts: Mutex<Throttle>,
}

impl Access {
    /// The policy `[access]` sets for a server bound to `bound`.
    pub fn new(config: &AccessConfig, bound: SocketAddr) -> Self {
        Self {
            tokens: config.tokens.clone(),
            allowed_origins: config.allowed_origins.clone(),
            allowed_hosts: config.allowed_hosts.clone(),
            loopback: bound.ip().is_loopback(),
            complaints: Mutex::new(Throttle::new(Duration::from_secs(1))),
            backoff: Mutex::new(Backoff::default()),
            lockouts: Mutex::new(Throttle::new(Duration::from_secs(1))),
        }
    }

    /// The `Host` rule (loopback-bound servers), then the `Origin` rule (browsers).
    pub fn check_request(&self, headers: &HeaderMap) -> Result<(), Denial> {
        // RFC 9112 section 3.2: more than one is a 400; the rules below would judge
        // only the first, and a proxy behind or ahead might take another.
        if headers.get_all(HOST).iter().nth(1).is_some() {
            return Err(Denial::new(
                StatusCode::BAD_REQUEST,
                "a request carries exactly one Host header; this one has several",
            ));
        }
        let host = headers.get(HOST).and_then(|v| v.to_str().ok());
        let served = |host: &str| {
            origin::host_is_loopback(host) || origin::host_listed(host, &self.allowed_hosts)
        };
        if self.loopback && !host.is_some_and(served) {
            return Err(Denial::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this server listens on loopback only and serves requests for localhost, \
                     127.0.0.1, [::1] and [access] allowed_hosts; refused Host {:?}",
                    excerpt(host.unwrap_or_default())
                ),
            ));
        }
        if let Some(origin) = headers.get(ORIGIN) {
            let origin = origin.to_str().unwrap_or("(not text)");
            if !origin::origin_allowed(origin, host, &self.allowed_origins) {
                return Err(Denial::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "origin {:?} may not use this server: only its own origin and \
                         [access] allowed_origins may",
                        excerpt(origin)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The role the request's token earns, or 401 when the token is wrong or a needed
    /// one is missing (a wrong one is logged with the peer address).
    pub fn authenticate(&self, headers: &HeaderMap, peer: Option<Peer>) -> Result<Grant, Denial> {
        let peer = peer.map(|Peer(address)| address);
        let origin = headers
            .get(ORIGIN)
            .map(|v| excerpt(v.to_str().unwrap_or("(not text)")));
        let role = match token::presented(headers) {
            Presented::Nothing if self.tokens.viewer.is_none() => Role::Anonymous,
            Presented::Nothing => {
                tracing::debug!(peer = ?peer, "Refused a request without a token.");
                return Err(Denial::new(
                    StatusCode::UNAUTHORIZED,
                    "this server needs a token: send `Authorization: Bearer <token>` \
                     (browsers: enter it on the dashboard)",
                ));
            }
            Presented::Token(token) => {
                self.not_backed_off(peer)?;
                match self.role_of(&token) {
                    Some(role) => {
                        self.with_backoff(|backoff, source| backoff.succeeded(source), peer);
                        role
                    }
                    None => return Err(self.wrong_token(peer, origin.as_deref())),
                }
            }
            Presented::Malformed => {
                self.not_backed_off(peer)?;
                return Err(self.wrong_token(peer, origin.as_deref()));
            }
        };
        Ok(Grant { role, peer, origin })
    }

    /// `Err(429)` while `peer`'s address is backed off: its token is not looked at.
    fn not_backed_off(&self, peer: Option<SocketAddr>) -> Result<(), Denial> {
        let now = Instant::now();
        match self.with_backoff(|backoff, source| backoff.remaining(source, now), peer) {
            Some(Some(left)) => Err(Denial::backed_off(left)),
            _ => Ok(()),
        }
    }

    /// Runs `f` on the back-off table for `peer`'s address; `None` without a peer.
    fn with_backoff<T>(
        &self,
        f: impl FnOnce(&mut Backoff, Source) -> T,
        peer: Option<SocketAddr>,
    ) -> Option<T> {
        let source = Source::of(peer?.ip());
        let mut backoff = self
            .backoff
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(f(&mut backoff, source))
    }

    /// The role a token is the token of; both digests are always compared.
    fn role_of(&self, token: &[u8]) -> Option<Role> {
        let is = |digest: &Option<_>| {
            digest
                .as_ref()
                .is_some_and(|d: &crate::config::access::TokenDigest| d.matches(token))
        };
        let (admin, viewer) = (is(&self.tokens.admin), is(&self.tokens.viewer));
        if admin {
            Some(Role::Admin)
        } else if viewer {
            Some(Role::Viewer)
        } else {
            None
        }
    }

    fn wrong_token(&self, peer: Option<SocketAddr>, origin: Option<&str>) -> Denial {
        let now = Instant::now();
        let lockout = self
            .with_backoff(|backoff, source| backoff.failed(source, now), peer)
            .flatten();
        if let Some(backoff) = lockout {
            let allowed = self
                .lockouts
                .lock()
                .ok()
                .and_then(|mut throttle| throttle.allow(now));
            if let Some(suppressed) = allowed {
                let peer = peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string());
                tracing::warn!(peer = %peer, backoff_s = backoff.as_secs(), suppressed, "Backing off an address after repeated wrong access tokens.");
            }
        }
        let allowed = self
            .complaints
            .lock()
            .ok()
            .and_then(|mut throttle| throttle.allow(Instant::now()));
        if let Some(suppressed) = allowed {
            let peer = peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string());
            tracing::warn!(peer = %peer, origin = origin.unwrap_or("-"), suppressed, "Refused a request with a wrong access token.");
        }
        Denial::new(StatusCode::UNAUTHORIZED, "wrong or malformed access token")
    }

    /// Whether `grant` may run a control command; if not, the `FORBIDDEN` message.
    pub fn authorize_admin(&self, grant: &Grant) -> Result<(), &'static str> {
        if grant.role == Role::Admin {
            Ok(())
        } else if self.tokens.admin.is_none() {
            Err(
                "Control commands are disabled: set `admin_token_env` or `admin_token_file` \
                 under [access] in plugins.toml, restart, and connect with \
                 `Authorization: Bearer <admin token>`",
            )
        } else {
            Err("This command needs the admin token: reconnect with \
                 `Authorization: Bearer <admin token>`")
        }
    }

    /// Whether an admin token is configured.
    pub fn admin_configured(&self) -> bool {
        self.tokens.admin.is_some()
    }

    /// The start-up warning for a server bound to `bound`: `None` on loopback, or when
    /// TLS is on and a viewer token is required.
    pub fn exposure_warning(&self, bound: SocketAddr, tls: bool) -> Option<String> {
        if bound.ip().is_loopback() {
            return None;
        }
        let mut gaps = Vec::new();
        if !tls {
            gaps.push(
                "without TLS (tokens and data cross the network in clear: set \
                 server.tls_cert and server.tls_key, or put a TLS reverse proxy in front)",
            );
        }
        if self.tokens.viewer.is_none() {
            gaps.push(
                "without a viewer token (anyone who reaches the port sees the live data, \
                 the host name, OS and disks: set [access] viewer_token_env or viewer_token_file)",
            );
        }
        (!gaps.is_empty()).then(|| format!("Exposed on {bound} {}.", gaps.join(" and ")))
    }
}

/// The 403 reply to a request that breaks the `Host` or `Origin` rule; a request that
/// obeys them is rejected here (not found) so routing goes on to the real routes.
pub fn refusals(
    access: Arc<Access>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::header::headers_cloned().and_then(move |headers: HeaderMap| {
        let verdict = access.check_request(&headers);
        async move {
            match verdict {
                Ok(()) => Err(warp::reject::not_found()),
                Err(denial) => {
                    tracing::info!(status = denial.status.as_u16(), reason = %denial.message, "Refused a request.");
                    Ok(denial.into_response())
                }
            }
        }
    })
}

/// The grant of a request to a data route, or why it is refused.
pub fn grant(
    access: Arc<Access>,
) -> impl Filter<Extract = (Result<Grant, Denial>,), Error = std::convert::Infallible> + Clone {
    warp::header::headers_cloned()
        .and(warp::ext::optional::<Peer>())
        .map(move |headers: HeaderMap, peer: Option<Peer>| access.authenticate(&headers, peer))
}

#[cfg(test)]
mod tests;
