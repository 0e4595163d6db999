//! The checks RFC 6455 (section 4.2.1) asks of an opening handshake, and the access
//! rules for a connection, before the server answers 101.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use warp::http::header::{CONNECTION, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION};
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;

use crate::accept::server::Peer;
use crate::surfaces::access::{token, Access, Grant, Role};
use crate::surfaces::reply;

/// The one WebSocket version there is.
const VERSION: &str = "13";

/// What a valid handshake gives the upgrade.
#[derive(Debug)]
pub struct Accepted {
    /// The `Sec-WebSocket-Key` to derive the accept value from.
    pub key: String,
    /// Who connected.
    pub grant: Grant,
    /// The subprotocol to answer with, if the client offered one the server speaks.
    pub protocol: Option<&'static str>,
}

/// Checks a handshake; `Err` is the reply (400, 401, 403 or 426, JSON), boxed as
/// it is the rare path.
pub fn check(
    access: &Access,
    headers: &HeaderMap,
    peer: Option<Peer>,
    admin_only: bool,
) -> Result<Accepted, Box<Response>> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let connection_upgrades = text(CONNECTION).is_some_and(|value| {
        value
            .split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
    });
    if !connection_upgrades {
        return Err(Box::new(reply::error(
            StatusCode::BAD_REQUEST,
            "a WebSocket handshake needs `Connection: Upgrade`",
        )));
    }
    if text(SEC_WEBSOCKET_VERSION).map(str::trim) != Some(VERSION) {
        let mut response = reply::error(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported WebSocket version: this server speaks version 13 (RFC 6455)",
        );
        response
            .headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static(VERSION));
        return Err(Box::new(response));
    }
    let key = text(SEC_WEBSOCKET_KEY).map(str::trim).unwrap_or_default();
    if !is_valid_key(key) {
        return Err(Box::new(reply::error(
            StatusCode::BAD_REQUEST,
            "`Sec-WebSocket-Key` must be 16 random bytes in base64 (24 characters)",
        )));
    }
    let grant = access
        .authenticate(headers, peer)
        .map_err(|denial| Box::new(denial.into_response()))?;
    if admin_only && access.admin_configured() && grant.role != Role::Admin {
        let status = if grant.role == Role::Anonymous {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        return Err(Box::new(reply::error(
            status,
            "/echo needs the admin token: send `Authorization: Bearer <admin token>`",
        )));
    }
    Ok(Accepted {
        key: key.to_owned(),
        grant,
        protocol: token::chosen_protocol(headers),
    })
}

/// Whether `key` is base64 of exactly 16 bytes.
pub fn is_valid_key(key: &str) -> bool {
    key.len() == 24 && STANDARD.decode(key).is_ok_and(|bytes| bytes.len() == 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_base64_of_16_bytes() {
        assert!(
            is_valid_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "RFC 6455's example"
        );
        for bad in [
            "",
            "dGhlIHNhbXBsZSBub25jZQ",
            "dGhlIHNhbXBsZSBub25jZQ==x",
            "not base64 at all!!!!!!!",
            "dGhlIHNhbXBsZSBub25jZSE=",
            "YWJj",
        ] {
            assert!(!is_valid_key(bad), "{bad}");
        }
    }
}
