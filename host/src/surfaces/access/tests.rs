//! The policy as pure logic: which headers earn which role, which hosts and origins
//! pass, what the start-up warning says.

use std::net::SocketAddr;

use warp::http::{HeaderMap, HeaderValue, StatusCode};

use super::*;
use crate::config::access::TokenDigest;

const VIEWER: &str = "viewer-token-0123456789";
const ADMIN: &str = "admin-token-0123456789";

fn access(viewer: bool, admin: bool, bound: &str) -> Access {
    let config = AccessConfig {
        allowed_origins: vec!["https://grafana.example.com".into()],
        allowed_hosts: vec!["monitor.example.com".into()],
        tokens: Tokens {
            viewer: viewer.then(|| TokenDigest::of(VIEWER.as_bytes())),
            admin: admin.then(|| TokenDigest::of(ADMIN.as_bytes())),
        },
        ..AccessConfig::default()
    };
    Access::new(&config, bound.parse().expect("address"))
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).expect("header value"));
    }
    map
}

fn peer() -> Option<Peer> {
    Some(Peer(SocketAddr::from(([192, 0, 2, 7], 40000))))
}

fn role(access: &Access, pairs: &[(&'static str, &str)]) -> Result<Role, StatusCode> {
    access
        .authenticate(&headers(pairs), peer())
        .map(|grant| grant.role)
        .map_err(|denial| denial.status)
}

#[test]
fn without_tokens_everyone_views_and_nobody_administers() {
    let open = access(false, false, "0.0.0.0:8765");
    assert_eq!(role(&open, &[]), Ok(Role::Anonymous));
    let grant = open.authenticate(&HeaderMap::new(), peer()).expect("open");
    let refusal = open.authorize_admin(&grant).expect_err("no admin token");
    assert!(refusal.contains("admin_token_env"), "{refusal}");
    let bearer = format!("Bearer {ADMIN}");
    assert_eq!(
        role(&open, &[("authorization", &bearer)]),
        Err(StatusCode::UNAUTHORIZED),
        "a token no one configured is wrong"
    );
}

#[test]
fn tokens_earn_their_roles() {
    let locked = access(true, true, "0.0.0.0:8765");
    assert_eq!(role(&locked, &[]), Err(StatusCode::UNAUTHORIZED));
    let viewer = format!("Bearer {VIEWER}");
    let admin = format!("Bearer {ADMIN}");
    assert_eq!(
        role(&locked, &[("authorization", &viewer)]),
        Ok(Role::Viewer)
    );
    assert_eq!(role(&locked, &[("authorization", &admin)]), Ok(Role::Admin));
    assert_eq!(
        role(
            &locked,
            &[("authorization", "Bearer viewer-token-012345678")]
        ),
        Err(StatusCode::UNAUTHORIZED)
    );
    let protocol = format!(
        "monitoring.v1, bearer.{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ADMIN.as_bytes()
        )
    );
    assert_eq!(
        role(&locked, &[("sec-websocket-protocol", &protocol)]),
        Ok(Role::Admin)
    );
    let viewer_grant = locked
        .authenticate(&headers(&[("authorization", &viewer)]), peer())
        .expect("viewer");
    assert!(locked
        .authorize_admin(&viewer_grant)
        .expect_err("viewers do not administer")
        .contains("admin token"));
    let admin_grant = locked
        .authenticate(&headers(&[("authorization", &admin)]), peer())
        .expect("admin");
    assert_eq!(locked.authorize_admin(&admin_grant), Ok(()));
}

#[test]
fn an_admin_token_alone_leaves_viewing_open() {
    let access = access(false, true, "0.0.0.0:8765");
    assert_eq!(role(&access, &[]), Ok(Role::Anonymous));
    let admin = format!("Bearer {ADMIN}");
    assert_eq!(role(&access, &[("authorization", &admin)]), Ok(Role::Admin));
}

#[test]
fn a_loopback_server_serves_loopback_hosts_only() {
    let local = access(false, false, "127.0.0.1:8765");
    assert!(local
        .check_request(&headers(&[("host", "127.0.0.1:8765")]))
        .is_ok());
    assert!(local
        .check_request(&headers(&[("host", "localhost:8765")]))
        .is_ok());
    let rebound = local
        .check_request(&headers(&[("host", "attacker.example:8765")]))
        .expect_err("rebinding");
    assert_eq!(rebound.status, StatusCode::FORBIDDEN);
    assert!(local.check_request(&HeaderMap::new()).is_err(), "no Host");
    assert!(
        local
            .check_request(&headers(&[("host", "monitor.example.com")]))
            .is_ok(),
        "a reverse proxy's public name, listed"
    );
    let public = access(false, false, "0.0.0.0:8765");
    assert!(public
        .check_request(&headers(&[("host", "mon.example.com:8765")]))
        .is_ok());
}

#[test]
fn browsers_must_come_from_the_servers_origin_or_an_allowed_one() {
    let access = access(false, false, "0.0.0.0:8765");
    let check = |origin: &str| {
        access
            .check_request(&headers(&[("host", "mon:8765"), ("origin", origin)]))
            .map_err(|denial| denial.status)
    };
    assert_eq!(check("http://mon:8765"), Ok(()));
    assert_eq!(check("https://grafana.example.com"), Ok(()));
    assert_eq!(check("https://evil.example"), Err(StatusCode::FORBIDDEN));
    assert_eq!(check("null"), Err(StatusCode::FORBIDDEN));
    let long = format!("https://{}.example", "a".repeat(500));
    let denial = access
        .check_request(&headers(&[("host", "mon:8765"), ("origin", &long)]))
        .expect_err("refused");
    assert!(
        denial.message.len() < 250,
        "quotes a prefix only: {}",
        denial.message
    );
    assert!(
        access
            .check_request(&headers(&[("host", "mon:8765")]))
            .is_ok(),
        "no Origin: not a browser"
    );
}

#[test]
fn the_exposure_warning_names_what_is_open() {
    let bound: SocketAddr = "0.0.0.0:8765".parse().expect("address");
    let open = access(false, false, "0.0.0.0:8765");
    let warning = open.exposure_warning(bound, false).expect("exposed");
    assert!(
        warning.contains("without TLS") && warning.contains("viewer token"),
        "{warning}"
    );
    let tokened = access(true, false, "0.0.0.0:8765");
    let warning = tokened.exposure_warning(bound, false).expect("no TLS");
    assert!(!warning.contains("viewer token"), "{warning}");
    assert_eq!(tokened.exposure_warning(bound, true), None);
    let local: SocketAddr = "127.0.0.1:8765".parse().expect("address");
    assert_eq!(open.exposure_warning(local, false), None);
}

#[test]
fn two_host_headers_are_refused_even_when_the_first_is_good() {
    let local = access(false, false, "127.0.0.1:8765");
    assert!(local
        .check_request(&headers(&[("host", "127.0.0.1:8765")]))
        .is_ok());
    for pair in [
        [("host", "127.0.0.1:8765"), ("host", "attacker.example")],
        [("host", "attacker.example"), ("host", "127.0.0.1:8765")],
        [("host", "127.0.0.1:8765"), ("host", "127.0.0.1:8765")],
    ] {
        let denial = local.check_request(&headers(&pair)).expect_err("refused");
        assert_eq!(denial.status, StatusCode::BAD_REQUEST, "{pair:?}");
        assert!(denial.message.contains("Host"), "{}", denial.message);
    }
    // Not only on loopback.
    let exposed = access(false, false, "0.0.0.0:8765");
    let twice = [("host", "monitor.example.com"), ("host", "other.example")];
    assert_eq!(
        exposed
            .check_request(&headers(&twice))
            .map_err(|d| d.status),
        Err(StatusCode::BAD_REQUEST)
    );
}

#[test]
fn wrong_tokens_back_off_their_address_without_checking_the_token() {
    let guarded = access(true, true, "0.0.0.0:8765");
    let wrong = "Bearer not-the-token".to_owned();
    let right = format!("Bearer {VIEWER}");
    for _ in 0..backoff::FAILURES_BEFORE_BACKOFF {
        assert_eq!(
            role(&guarded, &[("authorization", &wrong)]),
            Err(StatusCode::UNAUTHORIZED)
        );
    }
    let denial = guarded
        .authenticate(&headers(&[("authorization", &right)]), peer())
        .expect_err("backed off, the token unread");
    assert_eq!(denial.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(denial.retry_after, Some(1));
    let response = denial.into_response();
    assert_eq!(
        response.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    // Another address, and a request without a token, are not affected.
    let elsewhere = Some(Peer(SocketAddr::from(([192, 0, 2, 8], 40000))));
    let grant = guarded
        .authenticate(&headers(&[("authorization", &right)]), elsewhere)
        .expect("another address");
    assert_eq!(grant.role, Role::Viewer);
    assert_eq!(role(&guarded, &[]), Err(StatusCode::UNAUTHORIZED));
}
