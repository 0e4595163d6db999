//! How a client presents a token, read from a request's headers.
//!
//! - `Authorization: Bearer <token>`, on the WebSocket upgrade or any HTTP request:
//!   what scripts, `curl` and Prometheus (`authorization: credentials_file`) send.
//! - A browser cannot set headers on a WebSocket, so the dashboard offers two
//!   subprotocols: [`SUBPROTOCOL`] and `bearer.<token as unpadded base64url>` (base64url
//!   keeps any token within the characters a subprotocol name may use). The server
//!   answers with [`SUBPROTOCOL`], never with the entry that carries the token.
//!
//! No cookie: the dashboard keeps the token in `sessionStorage` (gone with the tab)
//! and sends it on its own `fetch` calls as a header, so nothing is sent along by the
//! browser on a request another site triggers, and no URL carries it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use warp::http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};
use warp::http::HeaderMap;

/// The subprotocol the server speaks and answers with when a client offers it.
pub const SUBPROTOCOL: &str = "monitoring.v1";

/// The prefix of the subprotocol entry that carries a token.
pub const BEARER_PROTOCOL_PREFIX: &str = "bearer.";

/// What a request presented.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    /// No token.
    Nothing,
    /// A token (its bytes, never logged).
    Token(Vec<u8>),
    /// A `bearer.` subprotocol entry that is not base64url, or an empty bearer.
    Malformed,
}

/// The token a request presents: the `Authorization: Bearer` header first, then a
/// `bearer.` subprotocol entry. Another `Authorization` scheme (a proxy's Basic
/// credentials) is not ours and counts as nothing.
pub fn presented(headers: &HeaderMap) -> Presented {
    for value in headers.get_all(AUTHORIZATION) {
        let Ok(value) = value.to_str() else {
            return Presented::Malformed;
        };
        let mut parts = value.trim().splitn(2, ' ');
        let scheme = parts.next().unwrap_or_default();
        if scheme.eq_ignore_ascii_case("bearer") {
            let token = parts.next().unwrap_or_default().trim();
            if token.is_empty() {
                return Presented::Malformed;
            }
            return Presented::Token(token.as_bytes().to_vec());
        }
    }
    for entry in protocol_entries(headers) {
        if let Some(encoded) = entry.strip_prefix(BEARER_PROTOCOL_PREFIX) {
            return match URL_SAFE_NO_PAD.decode(encoded) {
                Ok(token) if !token.is_empty() => Presented::Token(token),
                _ => Presented::Malformed,
            };
        }
    }
    Presented::Nothing
}

/// The subprotocol to answer with: [`SUBPROTOCOL`] when the client offered it.
pub fn chosen_protocol(headers: &HeaderMap) -> Option<&'static str> {
    protocol_entries(headers)
        .any(|entry| entry == SUBPROTOCOL)
        .then_some(SUBPROTOCOL)
}

/// Every entry of every `Sec-WebSocket-Protocol` header.
fn protocol_entries(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .into_iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_bearer_header_presents_its_token() {
        let map = headers(&[("authorization", "Bearer s3cret-token-value")]);
        assert_eq!(
            presented(&map),
            Presented::Token(b"s3cret-token-value".to_vec())
        );
        let map = headers(&[("authorization", "bearer   spaced ")]);
        assert_eq!(presented(&map), Presented::Token(b"spaced".to_vec()));
        assert_eq!(
            presented(&headers(&[("authorization", "Bearer ")])),
            Presented::Malformed
        );
        assert_eq!(
            presented(&headers(&[("authorization", "Basic dXNlcjpwdw==")])),
            Presented::Nothing,
            "a proxy's credentials are not ours"
        );
        assert_eq!(presented(&HeaderMap::new()), Presented::Nothing);
    }

    #[test]
    fn a_browser_presents_its_token_as_a_subprotocol_entry() {
        // base64url("a+b/c=d") without padding.
        let map = headers(&[("sec-websocket-protocol", "monitoring.v1, bearer.YStiL2M9ZA")]);
        assert_eq!(presented(&map), Presented::Token(b"a+b/c=d".to_vec()));
        assert_eq!(chosen_protocol(&map), Some(SUBPROTOCOL));
        let bad = headers(&[("sec-websocket-protocol", "monitoring.v1, bearer.!!")]);
        assert_eq!(presented(&bad), Presented::Malformed);
        let other = headers(&[("sec-websocket-protocol", "chat")]);
        assert_eq!(chosen_protocol(&other), None);
        assert_eq!(presented(&other), Presented::Nothing);
    }

    #[test]
    fn the_header_wins_over_the_subprotocol() {
        let map = headers(&[
            ("sec-websocket-protocol", "monitoring.v1, bearer.YQ"),
            ("authorization", "Bearer from-header"),
        ]);
        assert_eq!(presented(&map), Presented::Token(b"from-header".to_vec()));
    }
}
