//! The answers to `silence`, `unsilence` and `ack` (admin only, checked by
//! [`super::answers`] first) and to `get_silences`, `get_rules` and `get_alerts`
//! (viewers): the REST handlers' work ([`crate::surfaces::silences`]), as messages.

use super::session::Session;
use crate::alerts::silences::{Refused, SilenceRequest};
use crate::pipeline::wire::{ErrorCode, ServerMessage};
use crate::surfaces::silences::{self as rest, author, rules_body, Silencing};
use crate::timestamp::now_iso;

use super::silence_params::AckParams;

/// A refusal as an `error` message.
fn refused(refused: &Refused) -> String {
    let code = match refused {
        Refused::Invalid(_) => ErrorCode::InvalidParams,
        Refused::NotFound(_) => ErrorCode::NotFound,
        Refused::Full(_) | Refused::Unsaved(_) => ErrorCode::Unavailable,
    };
    ServerMessage::error(code, refused.to_string()).to_json()
}

impl Session<'_> {
    fn silencing(&self) -> &Silencing {
        &self.context.silencing
    }

    /// `silence`: creates it; answers its id.
    pub(super) async fn silence(&self, request: SilenceRequest) -> String {
        let added = rest::create(self.silencing(), request, author(&self.grant)).await;
        match added {
            Ok(id) => ServerMessage::SilenceResult {
                id: &id,
                timestamp: now_iso(),
            }
            .to_json(),
            Err(refusal) => refused(&refusal),
        }
    }

    /// `unsilence`: expires it now.
    pub(super) async fn unsilence(&self, id: String) -> String {
        match rest::expire(self.silencing(), id, &author(&self.grant)).await {
            Ok(id) => ServerMessage::UnsilenceResult {
                id: &id,
                timestamp: now_iso(),
            }
            .to_json(),
            Err(refusal) => refused(&refusal),
        }
    }

    /// `ack`: acknowledges a firing alert's episode.
    pub(super) async fn ack(&self, params: AckParams) -> String {
        let acked = rest::acknowledge(
            self.silencing(),
            &params.fingerprint,
            params.comment,
            author(&self.grant),
        )
        .await;
        match acked {
            Ok(ack) => ServerMessage::AckResult {
                ack: &ack,
                timestamp: now_iso(),
            }
            .to_json(),
            Err(refusal) => refused(&refusal),
        }
    }

    /// `get_silences`.
    pub(super) fn get_silences(&self) -> String {
        let silences = self.silencing().silences.list(chrono::Utc::now());
        ServerMessage::Silences {
            silences: &silences,
        }
        .to_json()
    }

    /// `get_rules`: the body of `GET /api/rules`.
    pub(super) fn get_rules(&self) -> String {
        let silencing = self.silencing();
        let body = rules_body(&silencing.rules.rules(), &silencing.grouping);
        match serde_json::to_value(&body) {
            Ok(body) => ServerMessage::Rules { body: &body }.to_json(),
            Err(e) => ServerMessage::error(
                ErrorCode::Unavailable,
                format!("cannot encode the rules: {e}"),
            )
            .to_json(),
        }
    }

    /// `get_alerts`: the lifecycle's view.
    pub(super) fn get_alerts(&self) -> String {
        let view = self.silencing().board.view();
        ServerMessage::Alerts {
            firing: &view.firing,
            resolved: &view.resolved,
        }
        .to_json()
    }
}
