//! What a client asks for, checked: a [`SilenceRequest`] becomes a [`Silence`] with
//! compiled matchers and a start and an end, or a [`Refused::Invalid`] naming the field.

use std::collections::BTreeMap;

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::duration;
use super::quote::excerpt;
use crate::alerts::matchers::Matchers;

/// Longest comment, in bytes.
pub const MAX_COMMENT_BYTES: usize = 1024;

/// Longest author name, in bytes.
pub const MAX_AUTHOR_BYTES: usize = 128;

/// Longest silence.
pub const MAX_LENGTH: chrono::Duration = chrono::Duration::days(366);

/// A silence as asked for (the REST body and the WebSocket command's fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceRequest {
    /// Exact matchers, e.g. `{"component": "disk", "host": "web-1"}`.
    #[serde(default)]
    pub matchers: BTreeMap<String, String>,
    /// Regex matchers, anchored.
    #[serde(default)]
    pub matchers_regex: BTreeMap<String, String>,
    /// How long from now (`"2h"`, `"30m"`, `"90s"`, `"1d"`), instead of `ends_at`.
    pub duration: Option<String>,
    /// When it starts, ISO 8601 (default now).
    pub starts_at: Option<String>,
    /// When it ends, ISO 8601.
    pub ends_at: Option<String>,
    /// Why.
    #[serde(default)]
    pub comment: String,
    /// Who (default: the role and peer that asked).
    pub created_by: Option<String>,
}

/// The fields a silence request may have.
pub const REQUEST_FIELDS: [&str; 7] = [
    "matchers",
    "matchers_regex",
    "duration",
    "starts_at",
    "ends_at",
    "comment",
    "created_by",
];

impl SilenceRequest {
    /// Reads a request from a JSON object's `fields` (but those named in `skip`, such
    /// as a WebSocket message's `type`), naming the field that is unknown or of the
    /// wrong type, which serde's own messages do not.
    pub fn from_fields(fields: &Map<String, Value>, skip: &[&str]) -> Result<Self, Refused> {
        let mut request = SilenceRequest::default();
        for (key, value) in fields {
            match key.as_str() {
                key if skip.contains(&key) => {}
                "matchers" => request.matchers = matchers(key, value)?,
                "matchers_regex" => request.matchers_regex = matchers(key, value)?,
                "duration" => request.duration = field(key, value, "a string such as \"2h\"")?,
                "starts_at" => request.starts_at = field(key, value, "an ISO 8601 time")?,
                "ends_at" => request.ends_at = field(key, value, "an ISO 8601 time")?,
                "comment" => request.comment = field(key, value, "a string")?,
                "created_by" => request.created_by = field(key, value, "a string")?,
                other => return Err(unknown_field(other, &REQUEST_FIELDS)),
            }
        }
        Ok(request)
    }
}

/// The refusal of a field nobody asked for, naming it and what is known.
pub fn unknown_field(name: &str, known: &[&str]) -> Refused {
    Refused::Invalid(format!(
        "unknown field `{}`: expected {}",
        excerpt(name),
        known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// One field of type `T`, or a refusal naming it and saying what it takes.
pub fn field<T: DeserializeOwned>(key: &str, value: &Value, takes: &str) -> Result<T, Refused> {
    serde_json::from_value(value.clone())
        .map_err(|_| Refused::Invalid(format!("`{key}` must be {takes}")))
}

/// A matcher map: an object of names to strings, each wrong value named.
fn matchers(key: &str, value: &Value) -> Result<BTreeMap<String, String>, Refused> {
    let Value::Object(entries) = value else {
        return Err(Refused::Invalid(format!(
            "`{key}` must be an object of label names to values, e.g. \
             {{\"component\": \"disk\", \"host\": \"web-1\"}}"
        )));
    };
    entries
        .iter()
        .map(|(name, value)| match value {
            Value::String(text) => Ok((name.clone(), text.clone())),
            _ => Err(Refused::Invalid(format!(
                "`{key}.{}` must be a string",
                excerpt(name)
            ))),
        })
        .collect()
}

/// A refused silence or acknowledgement: what was wrong, for a 400 or an `error` reply.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    /// The request is malformed; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// No silence has this id (or no firing alert this fingerprint).
    #[error("{0}")]
    NotFound(String),
    /// `MAX_SILENCES` or `MAX_ACKS` reached.
    #[error("{0}")]
    Full(String),
    /// It could not be kept (disk full…): nothing was changed.
    #[error("cannot keep it: {0}")]
    Unsaved(String),
}

/// A silence as kept: what was asked, checked, with its matchers compiled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Silence {
    /// 16 hex digits.
    pub id: String,
    /// Exact matchers, as written.
    pub matchers: BTreeMap<String, String>,
    /// Regex matchers, as written.
    pub matchers_regex: BTreeMap<String, String>,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// When it ends (set to the moment it was expired, if it was).
    pub ends_at: DateTime<Utc>,
    /// Who made it.
    pub created_by: String,
    /// Why.
    pub comment: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Compiled from the two maps; rebuilt when loaded.
    #[serde(skip)]
    pub compiled: Matchers,
}

/// A silence's state at one moment, by wall time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SilenceState {
    /// In force now.
    Active,
    /// Starts later.
    Pending,
    /// Ended.
    Expired,
}

impl SilenceState {
    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
            SilenceState::Expired => "expired",
        }
    }
}

impl Silence {
    /// Checks `request` made at `now` by `author` (when it names nobody) into the
    /// silence `id`.
    pub fn from_request(
        request: SilenceRequest,
        id: String,
        author: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, Refused> {
        let invalid = |message: String| Refused::Invalid(message);
        if request.matchers.is_empty() && request.matchers_regex.is_empty() {
            return Err(invalid(
                "`matchers` (or `matchers_regex`) needs at least one matcher, e.g. \
                 {\"component\": \"disk\", \"host\": \"web-1\"}: a silence of everything \
                 is not a silence"
                    .into(),
            ));
        }
        let compiled = compile(&request.matchers, &request.matchers_regex)?;
        if request.comment.len() > MAX_COMMENT_BYTES {
            return Err(invalid(format!(
                "`comment`: at most {MAX_COMMENT_BYTES} bytes, got {}",
                request.comment.len()
            )));
        }
        let created_by = request.created_by.unwrap_or_else(|| author.to_owned());
        if created_by.is_empty() || created_by.len() > MAX_AUTHOR_BYTES {
            return Err(invalid(format!(
                "`created_by`: 1 to {MAX_AUTHOR_BYTES} bytes"
            )));
        }
        let starts_at = match &request.starts_at {
            Some(text) => parse_time("starts_at", text)?,
            None => now,
        };
        let ends_at = match (&request.duration, &request.ends_at) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "`duration` and `ends_at`: give one of them, not both".into(),
                ))
            }
            (None, None) => {
                return Err(invalid(
                    "`duration` (e.g. \"2h\") or `ends_at` is required".into(),
                ))
            }
            (Some(text), None) => {
                let length = duration::parse(text)
                    .map_err(|message| invalid(format!("`duration`: {message}")))?;
                // Checked: "999999999w" is a number, not a time that exists.
                starts_at.checked_add_signed(length).ok_or_else(|| {
                    invalid(format!(
                        "`duration`: a silence lasts at most {} days",
                        MAX_LENGTH.num_days()
                    ))
                })?
            }
            (None, Some(text)) => parse_time("ends_at", text)?,
        };
        if ends_at <= starts_at || ends_at <= now {
            return Err(invalid(
                "`ends_at`: must be after `starts_at` and after now".into(),
            ));
        }
        if ends_at - starts_at > MAX_LENGTH {
            return Err(invalid(format!(
                "`ends_at`: a silence lasts at most {} days",
                MAX_LENGTH.num_days()
            )));
        }
        Ok(Silence {
            id,
            matchers: request.matchers,
            matchers_regex: request.matchers_regex,
            starts_at,
            ends_at,
            created_by,
            comment: request.comment,
            created_at: now,
            compiled,
        })
    }

    /// Its state at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> SilenceState {
        if now >= self.ends_at {
            SilenceState::Expired
        } else if now < self.starts_at {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }

    /// Compiles the matchers of a silence read back from memory.
    pub fn recompile(&mut self) -> Result<(), Refused> {
        self.compiled = compile(&self.matchers, &self.matchers_regex)?;
        Ok(())
    }
}

/// The two maps compiled, or the matcher that is wrong, named `matchers.<name>` or
/// `matchers_regex.<name>`.
fn compile(
    exact: &BTreeMap<String, String>,
    regex: &BTreeMap<String, String>,
) -> Result<Matchers, Refused> {
    Matchers::new(exact.clone(), regex.clone()).map_err(|(name, message)| {
        let in_regex = regex.contains_key(&name) && !exact.contains_key(&name);
        let map = if in_regex {
            "matchers_regex"
        } else {
            "matchers"
        };
        let field = if name.is_empty() {
            map.to_owned()
        } else {
            format!("{map}.{}", excerpt(&name))
        };
        Refused::Invalid(format!("`{field}`: {message}"))
    })
}

/// An ISO 8601 time: with an offset (`2025-01-03T10:15:30Z`, `+02:00`) it names that
/// instant; without one it is the server's local time, as the seed's timestamps are.
pub fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, Refused> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .and_then(|naive| Local.from_local_datetime(&naive).earliest())
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| {
            Refused::Invalid(format!(
                "`{field}`: `{}` is not an ISO 8601 time such as 2025-01-03T10:15:30Z",
                excerpt(text)
            ))
        })
}
