//! The fleet's own messages to WebSocket clients, written once and shared by every
//! session: the `hosts` table or its differences, and the overviews'
//! `host_summaries`.

use serde::Serialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::fleet::hosts::{Change, HostInfo, HostState};
#[cfg(doc)]
use crate::fleet::summaries::{HostSummary, RowChange};
use crate::pipeline::wire::ServerMessage;
use crate::timestamp::now_iso;

/// One change, as the `hosts` message lists it.
#[derive(Serialize)]
struct ChangeView<'a> {
    host: &'a str,
    from: Option<HostState>,
    to: Option<HostState>,
}

/// The `hosts` message of `gateway`: the whole table (`full`) or the hosts that
/// changed.
pub fn hosts_message(
    gateway: &str,
    hosts: &[HostInfo],
    changes: &[Change],
    full: bool,
) -> Utf8Bytes {
    let changes: Vec<ChangeView<'_>> = changes
        .iter()
        .map(|change| ChangeView {
            host: &change.host,
            from: change.from,
            to: change.to,
        })
        .collect();
    Utf8Bytes::from(
        ServerMessage::Hosts {
            timestamp: now_iso(),
            gateway,
            full,
            changes: &raw(&changes),
            hosts: &raw(&hosts),
        }
        .to_json(),
    )
}

/// A value as raw JSON; `[]` if it cannot be written (it always can: plain data).
pub fn raw<T: Serialize>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value)
        .or_else(|_| RawValue::from_string("[]".into()))
        .unwrap_or_default()
}

/// The `host_summaries` message of `gateway`: every row (`full`, [`HostSummary`]) or
/// what changed in them ([`RowChange`]), and the hosts forgotten since the last one.
pub fn summaries_message<Row: Serialize>(
    gateway: &str,
    full: bool,
    rows: &[Row],
    forgotten: &[String],
) -> Utf8Bytes {
    Utf8Bytes::from(
        ServerMessage::HostSummaries {
            timestamp: now_iso(),
            gateway,
            full,
            hosts: &raw(&rows),
            forgotten: &raw(&forgotten),
        }
        .to_json(),
    )
}
