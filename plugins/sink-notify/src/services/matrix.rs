//! Matrix (client-server API v3), Apprise's `matrix.py` in its access-token form:
//! `matrix[s]://access_token@host[:port]/#alias:server` or `/!room_id:server`, also
//! `?token=`. A room id is sent to directly (`PUT /_matrix/client/v3/rooms/<id>/send/
//! m.room.message/<txn>`); an alias is joined first (`POST /join/<alias>`, which
//! answers the room id). The transaction id is derived from the notification, so a
//! retried send is deduplicated by the server instead of posted twice.
//!
//! Not supported: user:password login or registration, t2bot webhooks, Apprise's
//! `.well-known` discovery (the URL's host is the homeserver's client API).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use serde_json::json;

use super::{encode, Capture, Method, Request};
use crate::message::{Message, Severity};
use crate::urls::{AppriseUrl, UrlError};

/// Stands for the room id a join answered, in the URL of the send after it.
pub const ROOM_ID_PLACEHOLDER: &str = "{room_id}";

/// One homeserver and its rooms.
#[derive(Debug, Clone)]
pub struct Matrix {
    api: String,
    token: String,
    rooms: Vec<String>,
    msgtype: &'static str,
}

impl Matrix {
    /// Parses a `matrix://` or `matrixs://` URL.
    pub fn parse(url: &AppriseUrl, secure: bool) -> Result<Self, UrlError> {
        let origin = url.origin(secure)?;
        let (host, _) = url.host_port()?;
        let token = match (url.param("token"), &url.user, &url.password) {
            (Some(token), _, _) => token.to_owned(),
            (None, Some(token), None) => token.clone(),
            (None, None, Some(token)) => token.clone(),
            _ => {
                return Err(url.error(
                    "needs an access token (`matrixs://token@host/#room`); user:password login is not supported",
                ))
            }
        };
        let mut rooms: Vec<String> = url.path.clone();
        if let Some(to) = url.param("to") {
            rooms.extend(
                to.split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
            );
        }
        if rooms.is_empty() {
            return Err(
                url.error("needs at least one room (`/#alias:server` or `/!room_id:server`)")
            );
        }
        let rooms = rooms
            .into_iter()
            .map(|room| {
                let room = room.trim();
                let (sigil, name) = match room.chars().next() {
                    Some(c @ ('!' | '#')) => (c, &room[1..]),
                    _ => ('#', room),
                };
                if name.is_empty() {
                    return Err(url.error("a room name is empty"));
                }
                let name = if name.contains(':') {
                    name.to_owned()
                } else {
                    format!("{name}:{host}")
                };
                Ok(format!("{sigil}{name}"))
            })
            .collect::<Result<_, _>>()?;
        let msgtype = match url.param("msgtype") {
            None | Some("text") => "m.text",
            Some("notice") => "m.notice",
            Some(_) => return Err(url.error("`msgtype` must be text or notice")),
        };
        Ok(Self {
            api: format!("{origin}/_matrix/client/v3"),
            token,
            rooms,
            msgtype,
        })
    }

    /// Per room: a join when it is an alias, then the send.
    pub fn requests(&self, message: &Message<'_>) -> Vec<Request> {
        let color = match message.severity {
            Severity::Critical => "#E01E2B",
            Severity::Warning => "#F2A900",
            Severity::Resolved => "#2EB886",
        };
        let text = format!("# {}\n{}", message.title, message.body);
        let html = format!(
            "<h4><font color=\"{color}\">{}</font></h4><p>{}</p>",
            escape(&message.title),
            escape(&message.body).replace('\n', "<br>")
        );
        let body = json!({"msgtype": self.msgtype, "body": text,
                          "format": "org.matrix.custom.html", "formatted_body": html});
        let bearer = format!("Bearer {}", self.token);
        let mut requests = Vec::new();
        for room in &self.rooms {
            let txn = transaction_id(message, room);
            let room_in_path = if room.starts_with('!') {
                encode(room)
            } else {
                requests.push(Request {
                    capture: Some(Capture::MatrixRoomId),
                    ..Request::post_json(format!("{}/join/{}", self.api, encode(room)), json!({}))
                        .header("Authorization", bearer.clone())
                });
                ROOM_ID_PLACEHOLDER.to_owned()
            };
            let mut send = Request::post_json(
                format!(
                    "{}/rooms/{room_in_path}/send/m.room.message/{txn}",
                    self.api
                ),
                body.clone(),
            )
            .header("Authorization", bearer.clone());
            send.method = Method::Put;
            requests.push(send);
        }
        requests
    }

    /// The access token.
    pub fn secrets(&self) -> Vec<String> {
        vec![self.token.clone()]
    }
}

/// Stable for one notification and room, so the homeserver drops a retried duplicate.
fn transaction_id(message: &Message<'_>, room: &str) -> String {
    let mut hasher = DefaultHasher::new();
    (
        &message.notification.group_key,
        &message.notification.timestamp,
        room,
    )
        .hash(&mut hasher);
    format!("mon{:016x}", hasher.finish())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use crate::services::{Capture, Method};
    use crate::testing::*;

    #[test]
    fn an_alias_is_joined_then_sent_to_with_put() {
        let sent = requests(
            "matrixs://syt_tok@matrix.example:8448/%23ops",
            &firing(AlertLevel::Critical),
        );
        assert_eq!(sent.len(), 2);
        assert_eq!(
            sent[0].url,
            "https://matrix.example:8448/_matrix/client/v3/join/%23ops%3Amatrix.example"
        );
        assert_eq!(sent[0].capture, Some(Capture::MatrixRoomId));
        assert_eq!(header(&sent[0], "Authorization"), Some("Bearer syt_tok"));
        assert_eq!(sent[1].method, Method::Put);
        assert!(sent[1].url.starts_with(
            "https://matrix.example:8448/_matrix/client/v3/rooms/{room_id}/send/m.room.message/mon"
        ), "{}", sent[1].url);
        let body = json(&sent[1]);
        assert_eq!(body["msgtype"], "m.text");
        assert!(body["body"]
            .as_str()
            .unwrap()
            .starts_with("# [CRITICAL] web-1"));
        assert!(body["formatted_body"].as_str().unwrap().contains("#E01E2B"));
        let again = requests(
            "matrixs://syt_tok@matrix.example:8448/%23ops",
            &firing(AlertLevel::Critical),
        );
        assert_eq!(
            again[1].url, sent[1].url,
            "a retry reuses the transaction id"
        );
    }

    #[test]
    fn a_room_id_is_sent_to_directly() {
        let sent = requests("matrix://h/!abc:example.org?token=T", &resolved());
        assert_eq!(sent.len(), 1);
        assert!(sent[0]
            .url
            .starts_with("http://h/_matrix/client/v3/rooms/%21abc%3Aexample.org/send/"));
        let literal = requests("matrixs://tok@h/#ops", &resolved());
        assert_eq!(
            literal[0].url,
            "https://h/_matrix/client/v3/join/%23ops%3Ah"
        );
        assert!(refusal("matrix://u:SECRET@h/%23r").contains("not supported"));
        assert!(refusal("matrix://tok@h").contains("at least one room"));
    }
}
