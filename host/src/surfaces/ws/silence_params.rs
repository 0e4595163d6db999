//! The parameters of `silence`, `unsilence` and `ack`, checked as the REST bodies are
//! ([`crate::surfaces::silences`]): unknown fields refused, each bad one named.

use serde_json::{Map, Value};

use crate::alerts::silences::{field, unknown_field, Refused, SilenceRequest};
use crate::pipeline::wire::{excerpt, ErrorCode, ServerMessage, EXCERPT_CHARS};
use crate::surfaces::silences::ack_comment;

/// An `ack`'s fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckParams {
    /// The firing alert's fingerprint.
    pub fingerprint: String,
    /// Why, or what is being done.
    pub comment: String,
}

fn invalid(refused: Refused) -> ServerMessage<'static> {
    ServerMessage::error(ErrorCode::InvalidParams, refused.to_string())
}

/// A required string field of at most [`EXCERPT_CHARS`] characters (an id, a
/// fingerprint).
fn short_string(
    fields: &Map<String, Value>,
    key: &str,
    command: &str,
) -> Result<String, ServerMessage<'static>> {
    let missing = || {
        ServerMessage::error(
            ErrorCode::InvalidParams,
            format!("`{command}` needs `{key}`, a string of at most {EXCERPT_CHARS} characters"),
        )
    };
    let text: String =
        field(key, fields.get(key).ok_or_else(missing)?, "a string").map_err(invalid)?;
    if text.is_empty() || text.chars().count() > EXCERPT_CHARS {
        return Err(ServerMessage::error(
            ErrorCode::InvalidParams,
            format!(
                "`{key}`: no {key} is like `{}`: at most {EXCERPT_CHARS} characters",
                excerpt(&text)
            ),
        ));
    }
    Ok(text)
}

/// `{"type":"silence", …}`: the fields of `POST /api/silences`.
pub fn silence(fields: &Map<String, Value>) -> Result<SilenceRequest, ServerMessage<'static>> {
    SilenceRequest::from_fields(fields, &["type"]).map_err(invalid)
}

/// `{"type":"unsilence","id":"…"}`.
pub fn unsilence(fields: &Map<String, Value>) -> Result<String, ServerMessage<'static>> {
    if let Some(other) = fields
        .keys()
        .find(|key| !matches!(key.as_str(), "type" | "id"))
    {
        return Err(invalid(unknown_field(other, &["id"])));
    }
    short_string(fields, "id", "unsilence")
}

/// `{"type":"ack","fingerprint":"…","comment":"…"}`.
pub fn ack(fields: &Map<String, Value>) -> Result<AckParams, ServerMessage<'static>> {
    let fingerprint = short_string(fields, "fingerprint", "ack")?;
    let comment = ack_comment(fields, &["type", "fingerprint"]).map_err(invalid)?;
    Ok(AckParams {
        fingerprint,
        comment,
    })
}

#[cfg(test)]
mod tests {
    use super::super::commands::{parse_command, Command};
    use super::*;

    fn refusal(text: &str) -> (ErrorCode, String) {
        match parse_command(text) {
            Err(ServerMessage::Error { code, message }) => (code, message),
            other => panic!("{text}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn silence_takes_the_rest_bodys_fields() {
        let parsed = parse_command(
            r#"{"type":"silence","matchers":{"component":"disk","host":"web-1"},"duration":"2h","comment":"swap"}"#,
        );
        let Ok(Command::Silence(request)) = parsed else {
            panic!("a silence: {parsed:?}");
        };
        assert_eq!(
            request.matchers.get("host").map(String::as_str),
            Some("web-1")
        );
        assert_eq!(request.duration.as_deref(), Some("2h"));
        assert_eq!(request.comment, "swap");
        assert_eq!(Command::Silence(request).control_name(), Some("silence"));
    }

    #[test]
    fn bad_silence_fields_are_named() {
        for (text, field) in [
            (
                r#"{"type":"silence","matchers":"disk","duration":"2h"}"#,
                "`matchers`",
            ),
            (
                r#"{"type":"silence","matchers":{"host":1},"duration":"2h"}"#,
                "`matchers.host`",
            ),
            (
                r#"{"type":"silence","matchers":{"host":"a"},"duration":2}"#,
                "`duration`",
            ),
            (
                r#"{"type":"silence","matchers":{"host":"a"},"duration":"2h","colour":"red"}"#,
                "`colour`",
            ),
            (
                r#"{"type":"silence","matchers":{"host":"a"},"comment":["x"]}"#,
                "`comment`",
            ),
        ] {
            let (code, message) = refusal(text);
            assert_eq!(code, ErrorCode::InvalidParams, "{text}");
            assert!(message.contains(field), "{text}: {message}");
        }
    }

    #[test]
    fn unsilence_and_ack_need_their_names() {
        assert_eq!(
            parse_command(r#"{"type":"unsilence","id":"0123456789abcdef"}"#).ok(),
            Some(Command::Unsilence("0123456789abcdef".into()))
        );
        assert_eq!(
            parse_command(r#"{"type":"ack","fingerprint":"fp1","comment":"on it"}"#).ok(),
            Some(Command::Ack(AckParams {
                fingerprint: "fp1".into(),
                comment: "on it".into()
            }))
        );
        for (text, field) in [
            (r#"{"type":"unsilence"}"#, "`id`"),
            (r#"{"type":"unsilence","id":7}"#, "`id`"),
            (r#"{"type":"unsilence","id":"a","force":true}"#, "`force`"),
            (r#"{"type":"ack","comment":"x"}"#, "`fingerprint`"),
            (
                r#"{"type":"ack","fingerprint":"fp","comment":3}"#,
                "`comment`",
            ),
            (
                r#"{"type":"ack","fingerprint":"fp","until":"x"}"#,
                "`until`",
            ),
        ] {
            let (code, message) = refusal(text);
            assert_eq!(code, ErrorCode::InvalidParams, "{text}");
            assert!(message.contains(field), "{text}: {message}");
        }
        let long = format!(r#"{{"type":"ack","fingerprint":"{}"}}"#, "f".repeat(5000));
        assert!(refusal(&long).1.len() < 200);
    }

    #[test]
    fn viewers_may_read_admins_change() {
        for (text, control) in [
            (r#"{"type":"get_silences"}"#, None),
            (r#"{"type":"get_rules"}"#, None),
            (r#"{"type":"get_alerts"}"#, None),
            (r#"{"type":"unsilence","id":"x"}"#, Some("unsilence")),
            (r#"{"type":"ack","fingerprint":"x"}"#, Some("ack")),
        ] {
            let parsed = parse_command(text).map(|command| command.control_name());
            assert_eq!(parsed.ok(), Some(control), "{text}");
        }
    }
}
