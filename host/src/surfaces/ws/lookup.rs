//! A client's `query` of the on-disk history: the same requests, checks and answers
//! as `GET /api/series|query|events|processes` ([`crate::surfaces::lookback`]), as a
//! `query_result` message, or an `error` saying what was wrong.

use warp::http::StatusCode;

use super::commands::HistoryQuery;
use super::session::Session;
use crate::pipeline::wire::{ErrorCode, ServerMessage};
use crate::surfaces::lookback::{answer, params};

impl Session<'_> {
    /// Answers `query`; the viewer's token already let this client in.
    pub(super) async fn query(&mut self, query: HistoryQuery) -> String {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let request = match params::parse(query.what, &query.params, now_ms) {
            Ok(request) => request,
            Err(message) => {
                return ServerMessage::error(ErrorCode::InvalidParams, message).to_json()
            }
        };
        match answer::answer(&self.context.lookback, request).await {
            Ok(body) => ServerMessage::QueryResult {
                what: query.what.name(),
                id: query.id.as_ref(),
                body: &body,
            }
            .to_json(),
            Err(refusal) => {
                let code = if refusal.status.is_client_error()
                    && refusal.status != StatusCode::NOT_FOUND
                {
                    ErrorCode::InvalidParams
                } else {
                    ErrorCode::Unavailable
                };
                ServerMessage::error(code, refusal.message).to_json()
            }
        }
    }
}
