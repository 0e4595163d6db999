//! JSON replies, the one shape of every HTTP answer this server gives: a body as JSON,
//! or `{"error": "…"}` saying what was wrong with the request.
//!
//! It sits below every surface that answers HTTP (the API, the access rules, the
//! WebSocket handshake, the router), so none of them borrows the others' helpers.

use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply;

/// A JSON reply with `status`.
pub fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => json_bytes(status, bytes),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the reply: {e}"),
        ),
    }
}

/// `{"error": message}` with `status`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct Error {
        error: String,
    }
    let body = Error {
        error: message.into(),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"error\":\"\"}".to_vec());
    json_bytes(status, bytes)
}

/// JSON already serialized, as a reply with `status`.
pub fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    let reply = warp::reply::with_status(bytes, status);
    warp::reply::with_header(reply, "content-type", "application/json").into_response()
}
