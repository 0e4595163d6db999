//! Silences and acknowledgements, Alertmanager's way, kept across restarts.
//!
//! A silence has matchers (exact and regex, [`super::matchers`]), a start and an end,
//! an author and a comment; while active, the alerts it matches are not notified (they
//! still show, marked silenced). An acknowledgement names one firing alert's episode
//! (fingerprint and `starts_at`) and stops its repeats until it resolves.
//!
//! One cloneable handle is shared by the collection loop (which asks, every flush,
//! whether an alert is silenced or acknowledged) and the surfaces (which create, list
//! and expire). Every change is written through [`Memory`] before it is answered, so a
//! restart finds it: in the history store when it is enabled, else in a small JSON
//! file in the same data directory.
//! SKELETON: the interface is fixed; the bodies are to be written.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use monitoring_plugin_api::Alert;
use serde::{Deserialize, Serialize};

use super::matchers::Matchers;

/// Most silences kept (active, pending and expired together); creating one more is
/// refused until old ones expire and are swept.
pub const MAX_SILENCES: usize = 1000;

/// Most acknowledgements kept.
pub const MAX_ACKS: usize = 10_000;

/// How long an expired silence is still listed.
pub const EXPIRED_KEPT: chrono::Duration = chrono::Duration::hours(24);

/// Something that keeps one text document across restarts: the history store (its
/// implementation lives above both stages, in `pipeline`, as a stage names no other).
pub trait Keeper: Send + Sync {
    /// The document as last saved, `None` if none was.
    fn load(&self) -> Result<Option<String>, String>;
    /// Replaces the document, durably, before returning.
    fn save(&self, document: &str) -> Result<(), String>;
}

/// Where silences and acknowledgements are kept.
#[derive(Clone)]
pub enum Memory {
    /// In the history store (a key-value row of its own).
    Store(Arc<dyn Keeper>),
    /// In this JSON file (history disabled), replaced atomically on each change.
    File(PathBuf),
    /// Nowhere (tests).
    None,
}

/// A silence as asked for (the REST body and the WebSocket command's fields).
#[derive(Debug, Clone, Default, Deserialize)]
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

/// A silence as listed.
#[derive(Debug, Clone, Serialize)]
pub struct SilenceView {
    /// Its id.
    pub id: String,
    /// Its matchers, as written.
    #[serde(flatten)]
    pub matchers: Matchers,
    /// ISO 8601.
    pub starts_at: String,
    /// ISO 8601.
    pub ends_at: String,
    /// `pending`, `active` or `expired`.
    pub state: &'static str,
    /// Who made it.
    pub created_by: String,
    /// Why.
    pub comment: String,
    /// When it was made, ISO 8601.
    pub created_at: String,
}

/// An acknowledgement as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckView {
    /// The alert's fingerprint.
    pub fingerprint: String,
    /// The episode acknowledged (the alert's `starts_at`).
    pub starts_at: String,
    /// Who.
    pub by: String,
    /// Why, or what is being done.
    pub comment: String,
    /// When, ISO 8601.
    pub at: String,
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
    /// [`MAX_SILENCES`] or [`MAX_ACKS`] reached.
    #[error("{0}")]
    Full(String),
    /// It could not be kept (disk full…): nothing was changed.
    #[error("cannot keep it: {0}")]
    Unsaved(String),
}

/// The shared handle.
#[derive(Clone, Default)]
pub struct Silences(#[allow(dead_code)] Arc<Mutex<()>>);

impl Silences {
    /// Loads what `memory` kept (nothing when it keeps nothing yet); an unreadable
    /// record is an error naming where it is.
    pub fn open(memory: Memory) -> Result<Self, String> {
        let _ = memory;
        Ok(Self::default())
    }

    /// Creates a silence asked for by `author` (used when the request names nobody);
    /// its id.
    pub fn add(
        &self,
        request: SilenceRequest,
        author: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Refused> {
        let _ = (request, author, now);
        Err(Refused::Invalid("not yet".into()))
    }

    /// Ends the silence `id` now.
    pub fn expire(&self, id: &str, now: DateTime<Utc>) -> Result<(), Refused> {
        let _ = (id, now);
        Err(Refused::NotFound(format!("no silence {id}")))
    }

    /// Every silence, active first.
    pub fn list(&self, now: DateTime<Utc>) -> Vec<SilenceView> {
        let _ = now;
        Vec::new()
    }

    /// The ids of the active silences that match `alert` (whose host has `tags`).
    pub fn silencing(&self, alert: &Alert, tags: &[String], now: DateTime<Utc>) -> Vec<String> {
        let _ = (alert, tags, now);
        Vec::new()
    }

    /// Acknowledges the firing `alert`'s current episode.
    pub fn ack(
        &self,
        alert: &Alert,
        by: &str,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Result<AckView, Refused> {
        let _ = (alert, by, comment, now);
        Err(Refused::Invalid("not yet".into()))
    }

    /// The acknowledgement of `alert`'s current episode, if any.
    pub fn acked(&self, alert: &Alert) -> Option<AckView> {
        let _ = alert;
        None
    }

    /// Forgets the acknowledgement of an alert that resolved.
    pub fn resolved(&self, fingerprint: &str) {
        let _ = fingerprint;
    }
}
