//! The history the store keeps, as viewers ask for it: `GET /api/series`,
//! `/api/query`, `/api/events`, `/api/processes`, and the same over the WebSocket
//! (`{"type": "query", …}` → `query_result`).
//!
//! [`params`] checks a request from either way in, [`times`] reads the times it names,
//! [`answer`] runs it on the store and shapes the JSON.

pub mod answer;
pub mod params;
pub mod times;
