//! The silences and acknowledgements themselves, and the rules they follow: pure data,
//! time passed in, so every rule is a unit test. The handle ([`super::Silences`])
//! changes a copy, keeps it, then swaps it in.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use monitoring_plugin_api::{Alert, AlertState};
use serde::{Deserialize, Serialize};

use super::quote::excerpt;
use super::request::{Refused, Silence, SilenceRequest, SilenceState, MAX_COMMENT_BYTES};
use crate::alerts::matchers::Matchers;

/// Most silences kept (active, pending and expired together); creating one more is
/// refused until old ones expire and are swept.
pub const MAX_SILENCES: usize = 1000;

/// Most acknowledgements kept.
pub const MAX_ACKS: usize = 10_000;

/// How long an expired silence is still listed.
pub const EXPIRED_KEPT: chrono::Duration = chrono::Duration::hours(24);

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

/// A time as the silences' views write it: UTC, whole seconds, `Z`.
pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Whether `silence` is still listed at `now`: not expired for [`EXPIRED_KEPT`] yet.
/// (Checked arithmetic: a time read back from a file may lie at the end of time.)
fn listed(silence: &Silence, now: DateTime<Utc>) -> bool {
    silence
        .ends_at
        .checked_add_signed(EXPIRED_KEPT)
        .is_none_or(|until| until > now)
}

/// Every silence and acknowledgement: what is kept (as one versioned document,
/// [`super::memory`]).
#[derive(Debug, Clone, Default)]
pub struct Book {
    /// In creation order.
    pub silences: Vec<Silence>,
    /// By fingerprint (one episode each).
    pub acks: BTreeMap<String, AckView>,
}

impl Book {
    /// The first start or end of a silence after `after`: when what is silenced
    /// changes by time alone.
    pub fn next_boundary(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.silences
            .iter()
            .flat_map(|silence| [silence.starts_at, silence.ends_at])
            .filter(|at| *at > after)
            .min()
    }

    /// Adds a checked silence; `Full` at [`MAX_SILENCES`] (after sweeping).
    pub fn add(
        &mut self,
        request: SilenceRequest,
        id: String,
        author: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Refused> {
        let silence = Silence::from_request(request, id, author, now)?;
        self.sweep(now);
        if self.silences.len() >= MAX_SILENCES {
            return Err(Refused::Full(format!(
                "{MAX_SILENCES} silences are kept already: expire some first"
            )));
        }
        let id = silence.id.clone();
        self.silences.push(silence);
        Ok(id)
    }

    /// Ends silence `id` at `now` (a pending one never starts); expiring an expired one
    /// changes nothing.
    pub fn expire(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), Refused> {
        let silence = self
            .silences
            .iter_mut()
            .find(|silence| silence.id == id)
            .ok_or_else(|| Refused::NotFound(format!("no silence has the id `{}`", excerpt(id))))?;
        if silence.state(now) != SilenceState::Expired {
            silence.starts_at = silence.starts_at.min(now);
            silence.ends_at = now;
        }
        self.sweep(now);
        Ok(())
    }

    /// Forgets silences expired longer than [`EXPIRED_KEPT`] ago.
    pub fn sweep(&mut self, now: DateTime<Utc>) {
        self.silences.retain(|silence| listed(silence, now));
    }

    /// Every silence still listed, active first, then pending, then expired; each
    /// kind oldest start first.
    pub fn list(&self, now: DateTime<Utc>) -> Vec<SilenceView> {
        let mut listed: Vec<&Silence> = self
            .silences
            .iter()
            .filter(|silence| listed(silence, now))
            .collect();
        listed.sort_by_key(|silence| (silence.state(now), silence.starts_at));
        listed
            .into_iter()
            .map(|silence| SilenceView {
                id: silence.id.clone(),
                matchers: silence.compiled.clone(),
                starts_at: iso(silence.starts_at),
                ends_at: iso(silence.ends_at),
                state: silence.state(now).name(),
                created_by: silence.created_by.clone(),
                comment: silence.comment.clone(),
                created_at: iso(silence.created_at),
            })
            .collect()
    }

    /// The ids of the silences active at `now` that match `alert`.
    pub fn silencing(&self, alert: &Alert, tags: &[String], now: DateTime<Utc>) -> Vec<String> {
        self.silences
            .iter()
            .filter(|silence| silence.state(now) == SilenceState::Active)
            .filter(|silence| silence.compiled.matches(alert, tags))
            .map(|silence| silence.id.clone())
            .collect()
    }

    /// Acknowledges the firing `alert`'s episode.
    pub fn ack(
        &mut self,
        alert: &Alert,
        by: &str,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Result<AckView, Refused> {
        if alert.state != AlertState::Firing || alert.fingerprint.is_empty() {
            return Err(Refused::NotFound(format!(
                "no firing alert has the fingerprint `{}`",
                excerpt(&alert.fingerprint)
            )));
        }
        if comment.len() > MAX_COMMENT_BYTES {
            return Err(Refused::Invalid(format!(
                "`comment`: at most {MAX_COMMENT_BYTES} bytes, got {}",
                comment.len()
            )));
        }
        if !self.acks.contains_key(&alert.fingerprint) && self.acks.len() >= MAX_ACKS {
            return Err(Refused::Full(format!(
                "{MAX_ACKS} acknowledgements are kept already"
            )));
        }
        let ack = AckView {
            fingerprint: alert.fingerprint.clone(),
            starts_at: alert.starts_at.clone(),
            by: by.to_owned(),
            comment: comment.to_owned(),
            at: iso(now),
        };
        self.acks.insert(alert.fingerprint.clone(), ack.clone());
        Ok(ack)
    }

    /// The acknowledgement of `alert`'s current episode: one of an earlier episode
    /// (another `starts_at`) does not count.
    pub fn acked(&self, alert: &Alert) -> Option<AckView> {
        self.acks
            .get(&alert.fingerprint)
            .filter(|ack| ack.starts_at == alert.starts_at)
            .cloned()
    }

    /// Forgets the acknowledgement of `fingerprint`; whether there was one.
    pub fn resolved(&mut self, fingerprint: &str) -> bool {
        self.acks.remove(fingerprint).is_some()
    }
}
