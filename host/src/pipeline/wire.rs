//! The wire protocol's server side, in one place: every message the server sends, with
//! the seed's type names and field names, and the error codes clients match on. What a
//! client may send is parsed by the one surface that reads it
//! (`surfaces::ws::commands`).

use monitoring_plugin_api::Alert;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::alerts::control::ThresholdChange;
use crate::alerts::lifecycle::AlertView;
use crate::alerts::silences::{AckView, SilenceView};
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
        /// With `hosts`: `full` (every frame) or `summary` (`host_summaries` rows).
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<&'static str>,
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
    /// Answer to the admin's `reload`: whether `plugins.toml` was applied, and what
    /// it changed or why it was refused.
    ReloadResult {
        /// Whether the file was applied.
        ok: bool,
        /// The file's error, `null` when it was applied.
        error: Option<&'a str>,
        /// What changed.
        changed: &'a [String],
        /// What waits for a restart.
        needs_restart: &'a [String],
        /// When.
        timestamp: String,
    },
    /// Answer to a `query` of the on-disk history: `what` was asked (`query`,
    /// `series`, `events`, `processes`), the client's `id` if it gave one, and the
    /// fields the matching `/api/<what>` answer has.
    QueryResult {
        /// Which history endpoint answered.
        what: &'a str,
        /// The client's own `id`, echoed.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a serde_json::Value>,
        /// The answer's fields.
        #[serde(flatten)]
        body: &'a serde_json::Value,
    },
    /// A fleet gateway's hosts: the whole table after a `subscribe` with `hosts`
    /// (`full: true`), then at most one per gateway tick with what changed since the
    /// last one (`full: false`): hosts that appeared, went `stale` or `gone`, came
    /// back or were forgotten.
    Hosts {
        /// When.
        timestamp: String,
        /// The gateway's own `[fleet] host_name`.
        gateway: &'a str,
        /// Whether `hosts` is the whole table; otherwise only the hosts in `changes`
        /// that are still followed (a forgotten one is only in `changes`).
        full: bool,
        /// What changed: `{"host", "from", "to"}` each (`null` for unknown/forgotten);
        /// empty in a full message.
        changes: &'a RawValue,
        /// Hosts: name, state, last_seen, seconds_since_seen, alerts, summary,
        /// frames_oversize, tags; every one when `full`, else the changed ones.
        hosts: &'a RawValue,
    },
    /// A fleet gateway's overview rows (issue 26), for a client that subscribed with
    /// `detail: "summary"`: every host's row right after subscribing (`full: true`),
    /// then once per second the rows that changed (`full: false`).
    HostSummaries {
        /// When.
        timestamp: String,
        /// The gateway's own `[fleet] host_name`.
        gateway: &'a str,
        /// Whether `hosts` holds every followed host.
        full: bool,
        /// Rows: name, state, cpu_percent, memory_percent, worst_disk_percent, load1,
        /// rx_bytes_per_sec, tx_bytes_per_sec, alerts (count), level, tags, group.
        hosts: &'a RawValue,
        /// Hosts forgotten since the last message.
        forgotten: &'a RawValue,
    },
    /// Answer to the admin's `silence`: the new silence's id.
    SilenceResult {
        /// The silence's id, for `unsilence`.
        id: &'a str,
        /// When.
        timestamp: String,
    },
    /// Answer to the admin's `unsilence`: the silence has ended.
    UnsilenceResult {
        /// The silence's id.
        id: &'a str,
        /// When.
        timestamp: String,
    },
    /// Answer to the admin's `ack`: the acknowledgement, as `POST
    /// /api/alerts/{fingerprint}/ack` answers it.
    AckResult {
        /// `fingerprint`, `starts_at`, `by`, `comment`, `at`.
        #[serde(flatten)]
        ack: &'a AckView,
        /// When.
        timestamp: String,
    },
    /// Answer to `get_silences`: every silence listed, active first.
    Silences {
        /// As `GET /api/silences` lists them.
        silences: &'a [SilenceView],
    },
    /// Answer to `get_rules`: the body of `GET /api/rules` (`rules`,
    /// `repeat_interval`, `group_wait`, `group_interval`, `group_by`).
    Rules {
        /// The body's fields.
        #[serde(flatten)]
        body: &'a serde_json::Value,
    },
    /// Answer to `get_alerts`: the alerts firing now (with their silences and
    /// acknowledgements) and those resolved lately.
    Alerts {
        /// Most severe first, then oldest first.
        firing: &'a [AlertView],
        /// Newest first.
        resolved: &'a [AlertView],
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
    /// Issue 24: each `exec` command's last run and each textfile scrape error;
    /// absent when no script collector runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scripts: Option<crate::pipeline::scripts::Scripts>,
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
    /// The server cannot answer now: history is off, or busy answering others; or
    /// it cannot keep a change (the silences are full, the disk failed).
    Unavailable,
    /// No silence has that id, or no firing alert that fingerprint.
    NotFound,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_result_says_null_for_no_error() {
        let changed = ["alert rules".to_owned()];
        let json = ServerMessage::ReloadResult {
            ok: true,
            error: None,
            changed: &changed,
            needs_restart: &[],
            timestamp: "2025-01-03T10:15:30.123456".to_owned(),
        }
        .to_json();
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(
            value,
            serde_json::json!({
                "type": "reload_result",
                "ok": true,
                "error": null,
                "changed": ["alert rules"],
                "needs_restart": [],
                "timestamp": "2025-01-03T10:15:30.123456",
            })
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
