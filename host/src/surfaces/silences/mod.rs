//! Silences, acknowledgements and the rules over HTTP: `POST`/`GET /api/silences`,
//! `DELETE /api/silences/{id}`, `POST /api/alerts/{fingerprint}/ack` (admin only) and
//! `GET /api/rules` (viewers). `http.rs` routes here; the WebSocket's `silence`,
//! `unsilence`, `ack`, `get_silences` and `get_rules` reuse the bodies and the
//! refusals' wording from here.
//!
//! A change is written to disk before it is answered ([`Silences`]), on a blocking
//! thread, so a slow disk never holds up the runtime.

mod body;
mod rules;

#[cfg(test)]
mod tests;

use bytes::Buf;
use futures_util::Stream;
use serde_json::{Map, Value};
use warp::http::StatusCode;
use warp::reply::Response;

pub use body::{read_object, MAX_BODY_BYTES};
pub use rules::{rules_body, Grouping, RuleView, RulesBody};

use crate::alerts::lifecycle::Board;
use crate::alerts::silences::{field, unknown_field, AckView, Refused, SilenceRequest, Silences};
use crate::alerts::AlertControl;
use crate::surfaces::access::{Access, Denial, Grant};
use crate::surfaces::reply::{error, json};

/// What the silences' and rules' handlers read and change.
#[derive(Clone)]
pub struct Silencing {
    /// Silences and acknowledgements, kept on disk.
    pub silences: Silences,
    /// The alerts as the lifecycle last published them (which are firing).
    pub board: Board,
    /// The rules (thresholds as changed at run time).
    pub rules: AlertControl,
    /// `[alerts]`'s grouping and timing, as `GET /api/rules` shows them.
    pub grouping: Grouping,
}

/// Who asked, as a silence's `created_by` and an acknowledgement's `by` say it: the
/// role and the peer's address (never a token).
pub fn author(grant: &Grant) -> String {
    match grant.peer {
        Some(peer) => format!("{} ({})", grant.role.name(), peer.ip()),
        None => grant.role.name().to_owned(),
    }
}

/// The HTTP status of a refusal.
pub fn status_of(refused: &Refused) -> StatusCode {
    match refused {
        Refused::Invalid(_) => StatusCode::BAD_REQUEST,
        Refused::NotFound(_) => StatusCode::NOT_FOUND,
        Refused::Full(_) => StatusCode::CONFLICT,
        Refused::Unsaved(_) => StatusCode::INSUFFICIENT_STORAGE,
    }
}

/// Runs a change of the silences on a blocking thread (it writes to disk).
pub async fn blocking<T: Send + 'static>(
    change: impl FnOnce() -> Result<T, Refused> + Send + 'static,
) -> Result<T, Refused> {
    tokio::task::spawn_blocking(change)
        .await
        .unwrap_or_else(|e| Err(Refused::Unsaved(format!("the change failed: {e}"))))
}

/// Creates a silence; logs who made which.
pub async fn create(
    silencing: &Silencing,
    request: SilenceRequest,
    who: String,
) -> Result<String, Refused> {
    let silences = silencing.silences.clone();
    let matchers =
        serde_json::to_string(&(&request.matchers, &request.matchers_regex)).unwrap_or_default();
    let author = who.clone();
    let id = blocking(move || silences.add(request, &author, chrono::Utc::now())).await?;
    tracing::info!(by = %who, id = %id, %matchers, "Silence created.");
    Ok(id)
}

/// Expires silence `id`; logs who did.
pub async fn expire(silencing: &Silencing, id: String, who: &str) -> Result<String, Refused> {
    let silences = silencing.silences.clone();
    let expired = id.clone();
    blocking(move || silences.expire(&expired, chrono::Utc::now())).await?;
    tracing::info!(by = %who, id = %id, "Silence expired.");
    Ok(id)
}

/// Acknowledges the firing alert `fingerprint` with `comment`; logs who did.
pub async fn acknowledge(
    silencing: &Silencing,
    fingerprint: &str,
    comment: String,
    who: String,
) -> Result<AckView, Refused> {
    let Some(alert) = silencing.board.firing(fingerprint) else {
        return Err(Refused::NotFound(format!(
            "no firing alert has the fingerprint `{}`",
            crate::pipeline::wire::excerpt(fingerprint)
        )));
    };
    let silences = silencing.silences.clone();
    let by = who.clone();
    let ack = blocking(move || silences.ack(&alert, &by, &comment, chrono::Utc::now())).await?;
    tracing::info!(by = %who, fingerprint = %ack.fingerprint, "Alert acknowledged.");
    Ok(ack)
}

/// The comment of an acknowledgement's fields (all others refused).
pub fn ack_comment(fields: &Map<String, Value>, skip: &[&str]) -> Result<String, Refused> {
    let mut comment = String::new();
    for (key, value) in fields {
        match key.as_str() {
            key if skip.contains(&key) => {}
            "comment" => comment = field(key, value, "a string")?,
            other => return Err(unknown_field(other, &["comment"])),
        }
    }
    Ok(comment)
}

/// Whether `grant` may change silences; if not, the 403 (logged, as the WebSocket's
/// refused control commands are).
pub fn admit_admin(access: &Access, grant: &Grant, what: &str) -> Result<(), Denial> {
    access.authorize_admin(grant).map_err(|message| {
        let peer = grant.peer.map_or_else(|| "-".to_owned(), |p| p.to_string());
        tracing::info!(request = what, peer = %peer, role = grant.role.name(), "Admin request refused.");
        Denial {
            status: StatusCode::FORBIDDEN,
            message: message.to_owned(),
            retry_after: None,
        }
    })
}

/// `POST /api/silences`: 201 `{"id": …}`.
pub async fn post_silence(
    admitted: Result<Grant, Denial>,
    silencing: Silencing,
    body: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Response {
    let grant = match admitted {
        Ok(grant) => grant,
        Err(denial) => return denial.into_response(),
    };
    let fields = match read_object(body, false).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let created = match SilenceRequest::from_fields(&fields, &[]) {
        Ok(request) => create(&silencing, request, author(&grant)).await,
        Err(refused) => Err(refused),
    };
    match created {
        Ok(id) => json(StatusCode::CREATED, &serde_json::json!({ "id": id })),
        Err(refused) => refusal(&refused),
    }
}

/// `DELETE /api/silences/{id}`: `{"id": …, "state": "expired"}`.
pub async fn delete_silence(
    id: String,
    admitted: Result<Grant, Denial>,
    silencing: Silencing,
) -> Response {
    let grant = match admitted {
        Ok(grant) => grant,
        Err(denial) => return denial.into_response(),
    };
    match expire(&silencing, id, &author(&grant)).await {
        Ok(id) => json(
            StatusCode::OK,
            &serde_json::json!({ "id": id, "state": "expired" }),
        ),
        Err(refused) => refusal(&refused),
    }
}

/// `POST /api/alerts/{fingerprint}/ack`, with an optional `{"comment": …}`: the
/// acknowledgement.
pub async fn post_ack(
    fingerprint: String,
    admitted: Result<Grant, Denial>,
    silencing: Silencing,
    body: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Response {
    let grant = match admitted {
        Ok(grant) => grant,
        Err(denial) => return denial.into_response(),
    };
    let fields = match read_object(body, true).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let acked = match ack_comment(&fields, &[]) {
        Ok(comment) => acknowledge(&silencing, &fingerprint, comment, author(&grant)).await,
        Err(refused) => Err(refused),
    };
    match acked {
        Ok(ack) => json(StatusCode::OK, &ack),
        Err(refused) => refusal(&refused),
    }
}

/// A refusal as an HTTP reply.
pub fn refusal(refused: &Refused) -> Response {
    error(status_of(refused), refused.to_string())
}

/// `GET /api/silences`.
pub fn list(silencing: &Silencing) -> Response {
    json(
        StatusCode::OK,
        &serde_json::json!({ "silences": silencing.silences.list(chrono::Utc::now()) }),
    )
}

/// `GET /api/rules`.
pub fn rules(silencing: &Silencing) -> Response {
    let body = rules_body(&silencing.rules.rules(), &silencing.grouping);
    json(StatusCode::OK, &body)
}
