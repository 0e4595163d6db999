//! The dashboard a browser gets at `GET /`: a page, a stylesheet and eighteen
//! JavaScript modules (`app.js`: state, frames, connection; `auth.js`: the access
//! token, when the server asks for one, and whether it is the admin's; `view.js`: the
//! DOM; `machine.js`: the network, disk I/O, load, sensors and processes cards;
//! `fleet.js`: a gateway's fleet overview; `sparkline.js`: its tiles' last hour;
//! `plot.js`: canvas drawing; `rules.js`: the alert rules' thresholds on the plots;
//! `alerts.js`: the alerts panel (active, silenced, recently resolved; an admin's
//! ack, silence and expire); `alertrows.js`: its rows; `range.js`: the range picker;
//! `past.js`: a past range's data; `timeline.js`: drawing it; `zoom.js`:
//! drag-to-zoom and picking a moment; `moment.js`: that moment's processes; `api.js`:
//! API requests, a few GETs at a time; `format.js`: units; `demo.js`: a synthetic
//! machine), embedded in the binary (`host/assets/`), so it works offline, needs no
//! CDN and no build step.
//!
//! The page talks to the server only through what every client has: the WebSocket at
//! `/ws`, `GET /api/history` to seed its live plots, the history API (`/api/query`,
//! `/api/events`, `/api/processes`) for a past range, and the alerts API
//! (`/api/rules`, `/api/alerts`, `/api/silences`, `/api/alerts/{fingerprint}/ack`).
//! It is served after the WebSocket upgrade filter, so an upgrade at `/` never
//! reaches it.
//!
//! Caching: the file names carry no content hash, so a browser must pick up a new
//! binary's files at once. Every file is sent with `Cache-Control: no-cache` and an
//! `ETag` computed at compile time; a revalidation is a bodiless 304.

use warp::http::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, X_CONTENT_TYPE_OPTIONS,
};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The name under `/assets/` (`index.html` is served at `/`).
    pub name: &'static str,
    /// The file's bytes.
    pub body: &'static [u8],
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its `ETag`, quoted.
    pub etag: &'static str,
}

/// FNV-1a, evaluated at compile time: a stable fingerprint of each file for its ETag.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The 16 lowercase hex digits of `hash`, in quotes: an ETag.
const fn etag_of(hash: u64) -> [u8; 18] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = HEX[((hash >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {{
        const BODY: &[u8] = include_bytes!(concat!("../../assets/", $name));
        const TAG: [u8; 18] = etag_of(fnv1a(BODY));
        Asset {
            name: $name,
            body: BODY,
            content_type: $content_type,
            etag: match std::str::from_utf8(&TAG) {
                Ok(tag) => tag,
                Err(_) => panic!("an ETag is ASCII"),
            },
        }
    }};
}

/// The page itself, served at `/`.
pub const INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");

/// Everything under `/assets/`.
pub const ASSETS: [Asset; 22] = [
    asset!("alertrows.js", "text/javascript; charset=utf-8"),
    asset!("alerts.js", "text/javascript; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("auth.js", "text/javascript; charset=utf-8"),
    asset!("demo.js", "text/javascript; charset=utf-8"),
    asset!("fleet.js", "text/javascript; charset=utf-8"),
    asset!("fleetfilter.js", "text/javascript; charset=utf-8"),
    asset!("fleettable.js", "text/javascript; charset=utf-8"),
    asset!("format.js", "text/javascript; charset=utf-8"),
    asset!("generic.js", "text/javascript; charset=utf-8"),
    asset!("machine.js", "text/javascript; charset=utf-8"),
    asset!("moment.js", "text/javascript; charset=utf-8"),
    asset!("past.js", "text/javascript; charset=utf-8"),
    asset!("plot.js", "text/javascript; charset=utf-8"),
    asset!("range.js", "text/javascript; charset=utf-8"),
    asset!("rules.js", "text/javascript; charset=utf-8"),
    asset!("sparkline.js", "text/javascript; charset=utf-8"),
    asset!("timeline.js", "text/javascript; charset=utf-8"),
    asset!("view.js", "text/javascript; charset=utf-8"),
    asset!("zoom.js", "text/javascript; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
];

/// Scripts and styles only from this origin; connections (fetch and WebSocket) only
/// back to it (CSP 3's `'self'` covers `ws:`/`wss:` to the same host and port; the
/// browser test proves Chromium connects); no frames, no plugins.
const POLICY: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
                      object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// `GET /` and `GET /assets/<name>` (and `HEAD`).
pub fn routes() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let index = warp::path::end().map(|| &INDEX);
    let asset = warp::path!("assets" / String).and_then(|name: String| async move {
        ASSETS
            .iter()
            .find(|asset| asset.name == name)
            .ok_or_else(warp::reject::not_found)
    });
    // HEAD too, so `curl -I` and uptime checks get the headers (hyper drops the body).
    warp::get()
        .or(warp::head())
        .unify()
        .and(index.or(asset).unify())
        .and(warp::header::optional::<String>("if-none-match"))
        .map(|asset: &'static Asset, if_none_match: Option<String>| {
            respond(asset, if_none_match.as_deref())
        })
}

/// The reply for `asset`: the file, or 304 when the browser's copy is current.
pub fn respond(asset: &'static Asset, if_none_match: Option<&str>) -> Response {
    let fresh = if_none_match.is_some_and(|tags| {
        tags.split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == asset.etag || tag == "*")
    });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = asset.body.into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
        response
    };
    let headers = response.headers_mut();
    headers.insert(ETAG, HeaderValue::from_static(asset.etag));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(response: &'a Response, name: &str) -> &'a str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[test]
    fn files_go_out_with_their_type_and_a_revalidation_policy() {
        let kind_of = |name: &str| match name.rsplit('.').next() {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            _ => "text/html",
        };
        for asset in std::iter::once(&INDEX).chain(&ASSETS) {
            let kind = kind_of(asset.name);
            let response = respond(asset, None);
            assert_eq!(response.status(), StatusCode::OK, "{}", asset.name);
            assert!(header(&response, "content-type").starts_with(kind));
            assert_eq!(header(&response, "cache-control"), "no-cache");
            assert_eq!(header(&response, "etag"), asset.etag);
            assert_eq!(asset.etag.len(), 18);
        }
    }

    #[test]
    fn a_current_copy_gets_a_304() {
        let tag = INDEX.etag;
        for sent in [
            tag.to_owned(),
            format!("W/{tag}"),
            format!("\"0\", {tag}"),
            "*".into(),
        ] {
            let response = respond(&INDEX, Some(&sent));
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{sent}");
            assert_eq!(header(&response, "etag"), tag);
        }
        let stale = respond(&INDEX, Some("\"0000000000000000\""));
        assert_eq!(stale.status(), StatusCode::OK);
    }

    #[test]
    fn every_file_the_page_links_or_imports_is_served() {
        let text = |asset: &Asset| std::str::from_utf8(asset.body).unwrap_or_default();
        let mut linked: Vec<&str> = text(&INDEX)
            .split("/assets/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert_eq!(linked.len(), 2, "the page links its script and style");
        for asset in &ASSETS {
            linked.extend(
                text(asset)
                    .split("from \"./")
                    .skip(1)
                    .filter_map(|rest| rest.split('"').next()),
            );
        }
        for name in &linked {
            assert!(
                ASSETS.iter().any(|asset| asset.name == *name),
                "{name} is linked or imported but not embedded"
            );
        }
        for asset in &ASSETS {
            assert!(
                linked.contains(&asset.name),
                "{} is embedded but nothing uses it",
                asset.name
            );
        }
        let mut tags: Vec<&str> = ASSETS.iter().map(|asset| asset.etag).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len(), "distinct files, distinct ETags");
    }
}
