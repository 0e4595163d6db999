//! The wire protocol, in one place: every message a client may send and every message
//! the server sends, with the seed's type names and field names.

use monitoring_plugin_api::Alert;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::alerts::control::ThresholdChange;
use crate::alerts::sink_runner::SinkStatus;
use crate::plugins::registry::PluginRecord;

/// Messages the server sends, tagged by `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    /// Sent once on connect.
    Connection {
        /// Always `connected`.
        status: &'static str,
        /// When the client connected.
        timestamp: String,
        /// The server's version.
        server_version: &'static str,
        /// Greeting.
        message: &'static str,
    },
    /// Every tick.
    MonitoringData {
        /// When the snapshot was taken.
        timestamp: &'a str,
        /// The sections, serialized once per tick.
        data: &'a RawValue,
        /// Alerts active in this tick; absent when there are none, as in the seed.
        #[serde(skip_serializing_if = "<[Alert]>::is_empty")]
        alerts: &'a [Alert],
    },
    /// Answer to `ping`.
    Pong {
        /// When the server answered.
        timestamp: String,
    },
    /// Answer to `get_status`.
    Status(Box<Status<'a>>),
    /// Answer to `subscribe`.
    Subscribed {
        /// When.
        timestamp: String,
        /// The sections this client receives; absent means all.
        #[serde(skip_serializing_if = "Option::is_none")]
        sections: Option<&'a [String]>,
        /// The fleet hosts this client receives (`["*"]` for all); absent means only
        /// this server's own data, as in the seed.
        #[serde(skip_serializing_if = "Option::is_none")]
        hosts: Option<&'a [String]>,
        /// How often this client receives `monitoring_data`, ms.
        interval_ms: u64,
        /// Confirmation text.
        message: &'static str,
    },
    /// Answer to `unsubscribe`.
    Unsubscribed {
        /// When.
        timestamp: String,
        /// Confirmation text.
        message: &'static str,
    },
    /// Answer to `set_threshold` and `configure_thresholds`.
    ThresholdsUpdated {
        /// When.
        timestamp: String,
        /// Each threshold changed, as it is now.
        changes: Vec<ThresholdChange>,
        /// Confirmation text.
        message: &'static str,
    },
    /// A fleet gateway's hosts: the whole table after a `subscribe` with `hosts`
    /// (`full: true`), then at most one per gateway tick with what changed since the
    /// last one (`full: false`): hosts that appeared, went `stale` or `gone`, came
    /// back or were forgotten.
    Hosts {
        /// When.
        timestamp: String,
        /// Whether `hosts` is the whole table; otherwise only the hosts in `changes`
        /// that are still followed (a forgotten one is only in `changes`).
        full: bool,
        /// What changed: `{"host", "from", "to"}` each (`null` for unknown/forgotten);
        /// empty in a full message.
        changes: &'a RawValue,
        /// Hosts: name, state, last_seen, seconds_since_seen, alerts, summary,
        /// frames_oversize; every one when `full`, else the changed ones.
        hosts: &'a RawValue,
    },
    /// A request the server could not act on; the connection stays open.
    Error {
        /// What was wrong.
        message: String,
        /// Machine-readable code.
        code: ErrorCode,
    },
}

/// The `status` message's fields.
#[derive(Debug, Serialize)]
pub struct Status<'a> {
    /// Clients connected now.
    pub connected_clients: usize,
    /// When the server started, ISO 8601.
    pub server_start_time: &'a str,
    /// The server's version.
    pub server_version: &'static str,
    /// Seconds since start.
    pub uptime_seconds: f64,
    /// Seconds between snapshots.
    pub monitor_interval: f64,
    /// The most clients accepted at once.
    pub max_clients: usize,
    /// Whether the snapshot has a `gpu` section (the seed's `is_gpu_available()`).
    pub gpu_available: bool,
    /// GPUs seen (the seed's `get_gpu_count()`).
    pub gpu_count: u64,
    /// Which GPU backend is live: `nvml`, `nvidia-smi`, or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_backend: Option<String>,
    /// WebSocket counters.
    pub websocket: StatsSnapshot,
    /// Every plugin file and what became of it.
    pub plugins: Vec<PluginRecord>,
    /// Per-sink delivery counters (the seed's handler statistics).
    pub sinks: Vec<SinkStatus>,
    /// Alerts active in the latest tick.
    pub active_alerts: Vec<Alert>,
    /// Always `Server is running`.
    pub message: &'static str,
}

/// The WebSocket counters at one instant (`status.websocket`, `/health`).
#[derive(Debug, Clone, Serialize)]
pub struct StatsSnapshot {
    /// Clients connected now.
    pub connected: usize,
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Connections closed with 1008 because the server was full.
    pub refused_at_capacity: u64,
    /// `monitoring_data` messages sent.
    pub frames_sent: u64,
    /// Ticks clients missed while busy with an older one.
    pub frames_skipped: u64,
    /// Clients dropped for slow sends.
    pub slow_disconnects: u64,
    /// Control messages refused by the rate limiter.
    pub rate_limited: u64,
    /// Clients closed for not answering pings.
    pub ping_timeouts: u64,
}

/// Error codes clients can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Not JSON, or not a JSON object with a string `type`.
    InvalidFormat,
    /// A `type` the server does not know.
    UnknownCommand,
    /// A known command with bad parameters.
    InvalidParams,
    /// A binary frame; the protocol is text.
    UnsupportedData,
    /// Too many messages too fast.
    RateLimited,
    /// A control command from a connection without the admin token.
    Forbidden,
}

/// Longest piece of client input an error message quotes.
pub const EXCERPT_CHARS: usize = 64;

/// At most [`EXCERPT_CHARS`] characters of `text`, with `…` when cut: what an error
/// message may quote of what a client sent.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

impl ServerMessage<'_> {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: string keys, no non-finite floats
        // (serde_json writes those as null).
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(
                r#"{{"type":"error","message":"cannot encode message: {e}","code":"INTERNAL"}}"#
            )
        })
    }

    /// An error reply.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            message: message.into(),
            code,
        }
    }
}

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
        /// `warning` or `critical`.
        level: String,
        /// The new threshold.
        value: serde_json::Number,
    },
    /// Change several thresholds at once (the seed's `configure_thresholds`), e.g.
    /// `{"memory_warning": 70, "memory_critical": 85}`.
    ConfigureThresholds(serde_json::Map<String, Value>),
    /// Re-read `plugins.toml` and apply what changed (admin only).
    Reload,
}

impl Command {
    /// The command's name when it is a control command (one that changes the server),
    /// which only an admin may run; `None` for the viewer's commands.
    pub fn control_name(&self) -> Option<&'static str> {
        match self {
            Command::SetThreshold { .. } => Some("set_threshold"),
            Command::ConfigureThresholds(_) => Some("configure_thresholds"),
            Command::Reload => Some("reload"),
            Command::Ping | Command::GetStatus | Command::Subscribe(_) | Command::Unsubscribe => {
                None
            }
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
        level: level.to_owned(),
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
    Ok(SubscribeParams {
        sections,
        interval_ms,
        hosts: hosts_param(fields.get("hosts"))?,
    })
}

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
        other => Err(ServerMessage::error(
            ErrorCode::UnknownCommand,
            format!("Unknown command: {}", excerpt(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Option<ErrorCode> {
        match parse_command(text) {
            Err(ServerMessage::Error { code, .. }) => Some(code),
            _ => None,
        }
    }

    #[test]
    fn parses_the_seed_commands() {
        assert_eq!(
            parse_command(r#"{"type":"ping"}"#).ok(),
            Some(Command::Ping)
        );
        assert_eq!(
            parse_command(r#"{"type":"get_status"}"#).ok(),
            Some(Command::GetStatus)
        );
        assert_eq!(
            parse_command(r#"{"type":"subscribe"}"#).ok(),
            Some(Command::Subscribe(SubscribeParams::default()))
        );
        assert_eq!(
            parse_command(r#"{"type":"unsubscribe"}"#).ok(),
            Some(Command::Unsubscribe)
        );
    }

    #[test]
    fn subscribe_may_choose_fleet_hosts() {
        let hosts = |text: &str| match parse_command(text) {
            Ok(Command::Subscribe(params)) => params.hosts,
            other => panic!("{other:?}"),
        };
        assert_eq!(hosts(r#"{"type":"subscribe"}"#), None);
        assert_eq!(
            hosts(r#"{"type":"subscribe","hosts":["*"]}"#),
            Some(vec!["*".to_owned()])
        );
        assert_eq!(
            hosts(r#"{"type":"subscribe","hosts":["web-2","db-1","web-2"]}"#),
            Some(vec!["db-1".to_owned(), "web-2".to_owned()])
        );
        for bad in [
            r#"{"type":"subscribe","hosts":[]}"#,
            r#"{"type":"subscribe","hosts":"*"}"#,
            r#"{"type":"subscribe","hosts":["*","web-1"]}"#,
            r#"{"type":"subscribe","hosts":["a.b"]}"#,
            r#"{"type":"subscribe","hosts":[1]}"#,
        ] {
            assert_eq!(code(bad), Some(ErrorCode::InvalidParams), "{bad}");
        }
    }

    #[test]
    fn subscribe_may_choose_sections_and_rate() {
        let command = parse_command(
            r#"{"type":"subscribe","sections":["memory","processor","memory"],"interval_ms":2000}"#,
        );
        let expected = SubscribeParams {
            sections: Some(vec!["memory".into(), "processor".into()]),
            interval_ms: Some(2000),
            hosts: None,
        };
        assert_eq!(command.ok(), Some(Command::Subscribe(expected)));
        assert_eq!(
            code(r#"{"type":"subscribe","sections":"memory"}"#),
            Some(ErrorCode::InvalidParams)
        );
        assert_eq!(
            code(r#"{"type":"subscribe","sections":[]}"#),
            Some(ErrorCode::InvalidParams)
        );
        assert_eq!(
            code(r#"{"type":"subscribe","sections":[1]}"#),
            Some(ErrorCode::InvalidParams)
        );
        assert_eq!(
            code(r#"{"type":"subscribe","interval_ms":-5}"#),
            Some(ErrorCode::InvalidParams)
        );
        assert_eq!(
            code(r#"{"type":"subscribe","interval_ms":"fast"}"#),
            Some(ErrorCode::InvalidParams)
        );
    }

    #[test]
    fn threshold_commands() {
        assert_eq!(
            parse_command(
                r#"{"type":"set_threshold","component":"memory","level":"warning","value":75}"#
            )
            .ok(),
            Some(Command::SetThreshold {
                target: "memory".into(),
                level: "warning".into(),
                value: 75.into()
            })
        );
        assert!(matches!(
            parse_command(r#"{"type":"set_threshold","metric":"disk.free","level":"warning","value":2.5}"#),
            Ok(Command::SetThreshold { target, .. }) if target == "disk.free"
        ));
        assert!(matches!(
            parse_command(r#"{"type":"configure_thresholds","thresholds":{"memory_warning":70}}"#),
            Ok(Command::ConfigureThresholds(map)) if map.len() == 1
        ));
        for bad in [
            r#"{"type":"set_threshold","level":"warning","value":75}"#,
            r#"{"type":"set_threshold","component":"memory","value":75}"#,
            r#"{"type":"set_threshold","component":"memory","level":"warning","value":"75"}"#,
            r#"{"type":"configure_thresholds","thresholds":[70]}"#,
            r#"{"type":"configure_thresholds"}"#,
        ] {
            assert_eq!(code(bad), Some(ErrorCode::InvalidParams), "{bad}");
        }
    }

    #[test]
    fn errors_quote_a_short_prefix_of_the_input() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(200);
        assert_eq!(excerpt(&long).chars().count(), EXCERPT_CHARS + 1);
        let huge = format!(r#"{{"type":"{}"}}"#, "x".repeat(10_000));
        let Err(ServerMessage::Error { message, .. }) = parse_command(&huge) else {
            panic!("refused");
        };
        assert!(message.len() < 100, "{message}");
    }

    #[test]
    fn bad_input_gets_the_right_code() {
        assert_eq!(code("not json"), Some(ErrorCode::InvalidFormat));
        assert_eq!(code("[1]"), Some(ErrorCode::InvalidFormat));
        assert_eq!(code(r#"{"type":3}"#), Some(ErrorCode::InvalidFormat));
        assert_eq!(
            code(r#"{"type":"reboot"}"#),
            Some(ErrorCode::UnknownCommand)
        );
    }

    #[test]
    fn monitoring_data_matches_the_seed_shape() {
        let mut data = monitoring_plugin_api::Sections::new();
        data.insert("memory".into(), serde_json::json!({"percentage": 50.0}));
        let data = serde_json::value::to_raw_value(&data).expect("sections serialize");
        let json = ServerMessage::MonitoringData {
            timestamp: "2025-01-03T10:15:30.123456",
            data: &data,
            alerts: &[],
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"monitoring_data","timestamp":"2025-01-03T10:15:30.123456","data":{"memory":{"percentage":50.0}}}"#
        );
        let error =
            ServerMessage::error(ErrorCode::InvalidFormat, "Invalid message format").to_json();
        assert_eq!(
            error,
            r#"{"type":"error","message":"Invalid message format","code":"INVALID_FORMAT"}"#
        );
    }
}
