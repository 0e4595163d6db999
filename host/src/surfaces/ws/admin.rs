//! The admin's commands: who may run them, the threshold changes and the
//! configuration reload. Each one is logged, refused or not.

use monitoring_plugin_api::AlertLevel;

use super::session::Session;
use crate::alerts::control::ThresholdChange;
use crate::pipeline::wire::{ErrorCode, ServerMessage};
use crate::timestamp::now_iso;

impl Session<'_> {
    /// The admin's `reload`: re-reads `plugins.toml` and answers with a `reload_result`
    /// saying what changed, what waits for a restart, or why the file was refused.
    /// Only called for an admin: [`Session::answer`] checks first.
    pub(super) async fn reload(&mut self) -> String {
        let outcome = match &self.context.live {
            Some(live) => live.reload().await,
            None => None,
        };
        match outcome {
            Some(outcome) => ServerMessage::ReloadResult {
                ok: outcome.ok,
                error: outcome.error.as_deref(),
                changed: &outcome.changed,
                needs_restart: &outcome.needs_restart,
                timestamp: now_iso(),
            }
            .to_json(),
            None => ServerMessage::error(ErrorCode::InvalidParams, "The server cannot reload now")
                .to_json(),
        }
    }

    /// A control command runs only for an admin; each one is logged, refused or not.
    pub(super) fn admit_control(&self, command: &str) -> Result<(), String> {
        let grant = &self.grant;
        let peer = grant
            .peer
            .map_or_else(|| "-".to_owned(), |peer| peer.to_string());
        let origin = grant.origin.as_deref().unwrap_or("-");
        match self.context.access.authorize_admin(grant) {
            Ok(()) => {
                tracing::info!(command, peer = %peer, origin, role = grant.role.name(), "Admin command.");
                Ok(())
            }
            Err(message) => {
                tracing::info!(command, peer = %peer, origin, role = grant.role.name(), "Admin command refused.");
                Err(ServerMessage::error(ErrorCode::Forbidden, message).to_json())
            }
        }
    }

    /// `set_threshold`: one rule's warning or critical bound.
    pub(super) fn set_threshold(
        &self,
        target: &str,
        level: AlertLevel,
        value: &serde_json::Number,
    ) -> String {
        let value = value.as_f64().unwrap_or(f64::NAN);
        thresholds_reply(
            self.context
                .alerts
                .set_threshold(target, level, value)
                .map(|change| vec![change]),
        )
    }

    /// `configure_thresholds`: several bounds, all or none.
    pub(super) fn configure_thresholds(
        &self,
        thresholds: &serde_json::Map<String, serde_json::Value>,
    ) -> String {
        thresholds_reply(self.context.alerts.configure_thresholds(thresholds))
    }
}

/// The reply to a threshold change, logged when it took effect.
fn thresholds_reply(result: Result<Vec<ThresholdChange>, String>) -> String {
    match result {
        Ok(changes) => {
            for change in &changes {
                tracing::info!(component = %change.component, metric = %change.metric, level = change.level, value = change.value, "Alert threshold changed by a client.");
            }
            ServerMessage::ThresholdsUpdated {
                timestamp: now_iso(),
                changes,
                message: "Thresholds updated",
            }
            .to_json()
        }
        Err(message) => ServerMessage::error(ErrorCode::InvalidParams, message).to_json(),
    }
}
