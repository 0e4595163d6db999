//! What a WebSocket client may send: its text frames parsed into [`Command`]s, or the
//! `error` message to answer with. Only the session reads commands, so they live with
//! it; what the server sends stays in [`crate::pipeline::wire`], the contract.
//!
//! Every input is bounded here (names, lists, lengths), so no later message quotes more
//! than a short excerpt of what a client sent.

use monitoring_plugin_api::AlertLevel;
use serde_json::Value;

use super::silence_params::{self, AckParams};
use crate::alerts::control::parse_level;
use crate::alerts::silences::SilenceRequest;
use crate::pipeline::wire::{excerpt, ErrorCode, ServerMessage, EXCERPT_CHARS};
use crate::surfaces::lookback::params::{Endpoint, MAX_SERIES};

/// Commands a client may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Liveness check.
    Ping,
    /// Server information.
    GetStatus,
    /// Receive `monitoring_data`, optionally only some sections at a slower rate.
    Subscribe(SubscribeParams),
    /// Stop receiving `monitoring_data`.
    Unsubscribe,
    /// Change one alert threshold (the seed's `set_threshold`).
    SetThreshold {
        /// A component (`memory`) or a rule's metric path (`disk.free`).
        target: String,
        /// Which of the rule's two thresholds.
        level: AlertLevel,
        /// The new threshold.
        value: serde_json::Number,
    },
    /// Change several thresholds at once (the seed's `configure_thresholds`), e.g.
    /// `{"memory_warning": 70, "memory_critical": 85}`.
    ConfigureThresholds(serde_json::Map<String, Value>),
    /// Re-read `plugins.toml` and apply what changed (admin only).
    Reload,
    /// Ask the on-disk history, as `GET /api/<what>` would.
    Query(HistoryQuery),
    /// Create a silence, as `POST /api/silences` (admin only).
    Silence(SilenceRequest),
    /// Expire a silence by id, as `DELETE /api/silences/{id}` (admin only).
    Unsilence(String),
    /// Acknowledge a firing alert (admin only).
    Ack(AckParams),
    /// The silences, as `GET /api/silences`.
    GetSilences,
    /// The rules and grouping, as `GET /api/rules`.
    GetRules,
    /// The lifecycle's firing and resolved alerts.
    GetAlerts,
}

/// A `query` message: which history endpoint, its parameters as a query string would
/// carry them, and the client's `id` to echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// `query` (the default), `series`, `events` or `processes`.
    pub what: Endpoint,
    /// Every other field, as `key=value` pairs (`series` once per name).
    pub params: Vec<(String, String)>,
    /// Echoed in `query_result`: a string or a number.
    pub id: Option<Value>,
}

impl Command {
    /// The command's name when it is a control command (one that changes the server),
    /// which only an admin may run; `None` for the viewer's commands.
    pub fn control_name(&self) -> Option<&'static str> {
        match self {
            Command::SetThreshold { .. } => Some("set_threshold"),
            Command::ConfigureThresholds(_) => Some("configure_thresholds"),
            Command::Reload => Some("reload"),
            Command::Silence(_) => Some("silence"),
            Command::Unsilence(_) => Some("unsilence"),
            Command::Ack(_) => Some("ack"),
            Command::GetSilences | Command::GetRules | Command::GetAlerts => None,
            Command::Ping
            | Command::GetStatus
            | Command::Subscribe(_)
            | Command::Unsubscribe
            | Command::Query(_) => None,
        }
    }
}

fn set_threshold_params(
    fields: &serde_json::Map<String, Value>,
) -> Result<Command, ServerMessage<'static>> {
    let invalid = |message: &str| ServerMessage::error(ErrorCode::InvalidParams, message);
    let target = fields
        .get("component")
        .or_else(|| fields.get("metric"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid("`set_threshold` needs `component` (e.g. \"memory\") or `metric` (e.g. \"disk.free\")")
        })?;
    let level = fields
        .get("level")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("`set_threshold` needs `level`: \"warning\" or \"critical\""))?;
    let Some(Value::Number(value)) = fields.get("value") else {
        return Err(invalid("`set_threshold` needs `value`, a number"));
    };
    if target.chars().count() > EXCERPT_CHARS || level.chars().count() > EXCERPT_CHARS {
        return Err(invalid(&format!(
            "`set_threshold`: no component, metric or level is that long: {:?}",
            excerpt(if target.len() > level.len() {
                target
            } else {
                level
            })
        )));
    }
    Ok(Command::SetThreshold {
        target: target.to_owned(),
        level: parse_level(level).map_err(|message| invalid(&message))?,
        value: value.clone(),
    })
}

fn configure_thresholds_params(
    fields: &serde_json::Map<String, Value>,
) -> Result<Command, ServerMessage<'static>> {
    match fields.get("thresholds") {
        Some(Value::Object(thresholds)) => {
            // Bounded here, so the alert engine's messages that quote a key or value
            // never echo more than a short piece of what the client sent.
            if thresholds.len() > MAX_SECTIONS {
                return Err(ServerMessage::error(
                    ErrorCode::InvalidParams,
                    format!("`thresholds` may hold at most {MAX_SECTIONS} entries"),
                ));
            }
            for (key, value) in thresholds {
                if key.chars().count() > EXCERPT_CHARS || !value.is_number() {
                    return Err(ServerMessage::error(
                        ErrorCode::InvalidParams,
                        format!(
                            "`thresholds`: each entry is `<component>_<level>`: number; refused {:?}",
                            excerpt(key)
                        ),
                    ));
                }
            }
            Ok(Command::ConfigureThresholds(thresholds.clone()))
        }
        _ => Err(ServerMessage::error(
            ErrorCode::InvalidParams,
            "`configure_thresholds` needs `thresholds`, an object such as {\"memory_warning\": 70, \"memory_critical\": 85}",
        )),
    }
}

/// What `subscribe` may carry beyond the seed's bare `{"type":"subscribe"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeParams {
    /// Only these sections (sorted, without duplicates); `None` means all.
    pub sections: Option<Vec<String>>,
    /// Receive a message every this many ms (a multiple of the tick); `None` keeps the
    /// current rate.
    pub interval_ms: Option<u64>,
    /// Fleet hosts (sorted, without duplicates; `["*"]` for all) whose data this client
    /// receives from a gateway, each message with a `host` field; `None` means this
    /// server's own stream, as in the seed.
    pub hosts: Option<Vec<String>>,
    /// How much of each fleet host: whole frames, or the overview's summary rows.
    pub detail: FleetDetail,
}

/// What a fleet subscription receives of each host (issue 26).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FleetDetail {
    /// Every `monitoring_data` frame of each host, as its own clients get it.
    #[default]
    Full,
    /// `host_summaries` once per second, only the rows that changed: what an
    /// overview of thousands of hosts can afford.
    Summary,
}

impl FleetDetail {
    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Summary => "summary",
        }
    }
}

/// Reads `detail`: `"full"` (the default) or `"summary"`, the latter only for all
/// hosts (rows go out in one message shared by every overview).
fn detail_param(
    value: Option<&Value>,
    hosts: Option<&[String]>,
) -> Result<FleetDetail, ServerMessage<'static>> {
    let detail = match value.and_then(Value::as_str) {
        None if value.is_none_or(Value::is_null) => FleetDetail::Full,
        Some("full") => FleetDetail::Full,
        Some("summary") => FleetDetail::Summary,
        _ => {
            return Err(ServerMessage::error(
                ErrorCode::InvalidParams,
                "`detail` must be \"full\" or \"summary\"",
            ))
        }
    };
    match (detail, hosts) {
        (FleetDetail::Summary, Some([all])) if all == "*" => Ok(detail),
        (FleetDetail::Summary, _) => Err(ServerMessage::error(
            ErrorCode::InvalidParams,
            "`detail: \"summary\"` needs `hosts: [\"*\"]`; open single hosts with `hosts: [\"name\"]`",
        )),
        (FleetDetail::Full, _) => Ok(detail),
    }
}

/// Most sections a subscription may name.
const MAX_SECTIONS: usize = 64;
/// Most hosts a subscription may name (beyond `"*"`, which names them all).
pub const MAX_HOSTS: usize = 1000;

/// Reads `hosts`: a list of 1 to [`MAX_HOSTS`] subject-token names, or `["*"]`.
fn hosts_param(value: Option<&Value>) -> Result<Option<Vec<String>>, ServerMessage<'static>> {
    const USAGE: &str =
        "`hosts` must be [\"*\"] or a list of 1 to 1000 host names, e.g. [\"web-1\",\"db-1\"]";
    let items = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_HOSTS => items,
        Some(_) => return Err(ServerMessage::error(ErrorCode::InvalidParams, USAGE)),
    };
    let mut names = Vec::with_capacity(items.len());
    for item in items {
        let valid = item.as_str().filter(|name| {
            *name == "*"
                || (!name.is_empty()
                    && name.len() <= 64
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        });
        match valid {
            Some(name) => names.push(name.to_owned()),
            None => return Err(ServerMessage::error(ErrorCode::InvalidParams, USAGE)),
        }
    }
    names.sort();
    names.dedup();
    if names.len() > 1 && names.iter().any(|name| name == "*") {
        return Err(ServerMessage::error(ErrorCode::InvalidParams, USAGE));
    }
    Ok(Some(names))
}

fn subscribe_params(
    fields: &serde_json::Map<String, Value>,
) -> Result<SubscribeParams, ServerMessage<'static>> {
    let invalid = |message: &str| ServerMessage::error(ErrorCode::InvalidParams, message);
    let sections = match fields.get("sections") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                match item.as_str() {
                    Some(name) if !name.is_empty() && name.len() <= 64 => names.push(name.to_owned()),
                    _ => return Err(invalid("`sections` must be a list of section names, e.g. [\"processor\",\"memory\"]")),
                }
            }
            names.sort();
            names.dedup();
            if names.is_empty() || names.len() > MAX_SECTIONS {
                return Err(invalid("`sections` must name between 1 and 64 sections"));
            }
            Some(names)
        }
        Some(_) => {
            return Err(invalid(
                "`sections` must be a list of section names, e.g. [\"processor\",\"memory\"]",
            ))
        }
    };
    let interval_ms = match fields.get("interval_ms") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_u64() {
            Some(ms) if ms > 0 => Some(ms),
            _ => {
                return Err(invalid(
                    "`interval_ms` must be a positive whole number of milliseconds",
                ))
            }
        },
    };
    let hosts = hosts_param(fields.get("hosts"))?;
    let detail = detail_param(fields.get("detail"), hosts.as_deref())?;
    Ok(SubscribeParams {
        sections,
        interval_ms,
        hosts,
        detail,
    })
}

/// Reads a `query`: `what` names the endpoint; strings and numbers become parameters,
/// a list of strings one parameter each (`"series": ["a", "b"]`); `id` is echoed.
fn query_params(
    fields: &serde_json::Map<String, Value>,
) -> Result<HistoryQuery, ServerMessage<'static>> {
    let invalid = |message: String| ServerMessage::error(ErrorCode::InvalidParams, message);
    let what = match fields.get("what") {
        None => Endpoint::Query,
        Some(value) => value.as_str().and_then(Endpoint::named).ok_or_else(|| {
            invalid("`what` must be \"query\", \"series\", \"events\" or \"processes\"".into())
        })?,
    };
    let id = match fields.get("id") {
        None => None,
        Some(id @ Value::Number(_)) => Some(id.clone()),
        Some(Value::String(id)) if id.chars().count() <= EXCERPT_CHARS => {
            Some(Value::String(id.clone()))
        }
        Some(_) => {
            return Err(invalid(format!(
                "`id` must be a number or a string of at most {EXCERPT_CHARS} characters"
            )))
        }
    };
    let mut params = Vec::new();
    let text = |key: &str, value: &Value| -> Result<String, ServerMessage<'static>> {
        match value {
            Value::String(text) if text.chars().count() <= MAX_PARAM_CHARS => Ok(text.clone()),
            Value::Number(number) => Ok(number.to_string()),
            _ => Err(invalid(format!(
                "`{}` must be a string of at most {MAX_PARAM_CHARS} characters or a number",
                excerpt(key)
            ))),
        }
    };
    for (key, value) in fields {
        if matches!(key.as_str(), "type" | "what" | "id") {
            continue;
        }
        match value {
            Value::Array(items) if key == "series" && items.len() <= MAX_SERIES => {
                for item in items {
                    params.push((key.clone(), text(key, item)?));
                }
            }
            Value::Array(_) => {
                return Err(invalid(format!(
                    "`{}`: at most {MAX_SERIES} series in one query",
                    excerpt(key)
                )))
            }
            value => params.push((key.clone(), text(key, value)?)),
        }
    }
    Ok(HistoryQuery { what, params, id })
}

/// Longest parameter of a `query` (a series name, a time).
const MAX_PARAM_CHARS: usize = 256;

/// Parses a client's text frame into a command, or the error to reply with.
pub fn parse_command(text: &str) -> Result<Command, ServerMessage<'static>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ServerMessage::error(
            ErrorCode::InvalidFormat,
            format!("Invalid message format: not JSON ({e})"),
        )
    })?;
    let Value::Object(fields) = value else {
        return Err(ServerMessage::error(
            ErrorCode::InvalidFormat,
            "Invalid message format: expected a JSON object",
        ));
    };
    let Some(kind) = fields.get("type").and_then(Value::as_str) else {
        return Err(ServerMessage::error(
            ErrorCode::InvalidFormat,
            "Invalid message format: missing string field `type`",
        ));
    };
    match kind {
        "ping" => Ok(Command::Ping),
        "get_status" => Ok(Command::GetStatus),
        "subscribe" => subscribe_params(&fields).map(Command::Subscribe),
        "unsubscribe" => Ok(Command::Unsubscribe),
        "set_threshold" => set_threshold_params(&fields),
        "configure_thresholds" => configure_thresholds_params(&fields),
        "reload" => Ok(Command::Reload),
        "query" => query_params(&fields).map(Command::Query),
        "silence" => silence_params::silence(&fields).map(Command::Silence),
        "unsilence" => silence_params::unsilence(&fields).map(Command::Unsilence),
        "ack" => silence_params::ack(&fields).map(Command::Ack),
        "get_silences" => Ok(Command::GetSilences),
        "get_rules" => Ok(Command::GetRules),
        "get_alerts" => Ok(Command::GetAlerts),
        other => Err(ServerMessage::error(
            ErrorCode::UnknownCommand,
            format!("Unknown command: {}", excerpt(other)),
        )),
    }
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
