//! Silences, acknowledgements and the rules over HTTP: `POST`/`GET /api/silences`,
//! `DELETE /api/silences/{id}`, `POST /api/alerts/{fingerprint}/ack` (admin only) and
//! `GET /api/rules` (viewers). `http.rs` routes here; the WebSocket's `silence`,
//! `unsilence`, `ack`, `get_silences` and `get_rules` reuse the bodies and the
//! refusals' wording from here.
//!
//! A change is written to disk before it is answered ([`Silences`]), on a blocking
//! thread, so a slow disk never holds up the runtime.

use std::collections::BTreeMap;

use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use serde_json::{Map, Value};
use warp::http::StatusCode;
use warp::reply::Response;

use crate::alerts::lifecycle::Board;
use crate::alerts::rules::{Direction, RuleSet};
use crate::alerts::silences::{field, unknown_field, AckView, Refused, SilenceRequest, Silences};
use crate::alerts::AlertControl;
use crate::config::alerts::AlertsConfig;
use crate::surfaces::access::{Access, Denial, Grant};
use crate::surfaces::reply::{error, json};

/// Largest body of a `POST`.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

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

/// `[alerts]`'s notification timing, in seconds, and grouping labels.
#[derive(Debug, Clone, Serialize)]
pub struct Grouping {
    /// How often a still-firing alert is sent again.
    pub repeat_interval: f64,
    /// How long a new group waits.
    pub group_wait: f64,
    /// How long a changed group waits.
    pub group_interval: f64,
    /// The labels that split alerts into groups.
    pub group_by: Vec<String>,
}

impl Grouping {
    /// What `[alerts]` says (`repeat_interval`, else its alias `cooldown`).
    pub fn from_config(config: &AlertsConfig) -> Self {
        Self {
            repeat_interval: config.repeat_interval.unwrap_or(config.cooldown),
            group_wait: config.group_wait,
            group_interval: config.group_interval,
            group_by: config.group_by.clone(),
        }
    }
}

/// One rule as `GET /api/rules` and `get_rules` show it.
#[derive(Debug, Serialize)]
pub struct RuleView {
    metric: String,
    component: String,
    name: String,
    label: String,
    unit: String,
    scale: f64,
    direction: &'static str,
    warning: Option<f64>,
    critical: Option<f64>,
    #[serde(rename = "for")]
    hold: f64,
    hysteresis: f64,
    labels: BTreeMap<String, String>,
}

/// The body of `GET /api/rules`, and of the `rules` message.
#[derive(Debug, Serialize)]
pub struct RulesBody {
    rules: Vec<RuleView>,
    #[serde(flatten)]
    grouping: Grouping,
}

/// The rules as they are now, with the grouping.
pub fn rules_body(rules: &RuleSet, grouping: &Grouping) -> RulesBody {
    RulesBody {
        rules: rules
            .rules
            .iter()
            .map(|rule| RuleView {
                metric: rule.path.clone(),
                component: rule.component.clone(),
                name: rule.name.clone(),
                label: rule.label.clone(),
                unit: rule.unit.clone(),
                scale: rule.scale,
                direction: match rule.direction {
                    Direction::Above => "above",
                    Direction::Below => "below",
                },
                warning: rule.warning,
                critical: rule.critical,
                hold: rule.hold.as_secs_f64(),
                hysteresis: rule.hysteresis,
                labels: rule.labels.clone(),
            })
            .collect(),
        grouping: grouping.clone(),
    }
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
