//! A request body, bounded: at most [`MAX_BODY_BYTES`] are read, whatever the client
//! says its length is, and it must be one JSON object.

use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value};
use warp::http::StatusCode;
use warp::reply::Response;

use crate::surfaces::reply::error;

/// Largest body of a `POST`.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A request body: at most [`MAX_BODY_BYTES`], a JSON object (an empty body is an
/// empty object when `empty_ok`), or the 400/413 reply.
pub async fn read_object(
    body: impl Stream<Item = Result<impl Buf, warp::Error>>,
    empty_ok: bool,
) -> Result<Map<String, Value>, Response> {
    let bytes = read_bounded(body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) && empty_ok {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        )),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("the body is not JSON: {e}"),
        )),
    }
}

async fn read_bounded(
    body: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<Bytes, Response> {
    let mut body = std::pin::pin!(body);
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let mut chunk =
            chunk.map_err(|e| error(StatusCode::BAD_REQUEST, format!("reading the body: {e}")))?;
        if bytes.len() + chunk.remaining() > MAX_BODY_BYTES {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body may have at most {MAX_BODY_BYTES} bytes"),
            ));
        }
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            bytes.extend_from_slice(piece);
            let taken = piece.len();
            chunk.advance(taken);
        }
    }
    Ok(Bytes::from(bytes))
}
