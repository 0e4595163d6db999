//! `/echo`: a conformance route for the Autobahn test suite, off unless the server is
//! started with the environment variable `MONITORING_CONFORMANCE_ECHO=1`
//! ([`super::CONFORMANCE_ECHO_ENV`]); no config key turns it on. It echoes every message but otherwise runs with the
//! production WebSocket settings and close handling, so the suite judges what clients
//! of `/` get.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::closing;

/// Echoes until the peer closes or breaks the protocol.
pub async fn run<S>(mut ws: WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(message) = ws.next().await {
        match message {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(message).await.is_err() {
                    return;
                }
            }
            Ok(Message::Close(_)) => return closing::acknowledge(&mut ws).await,
            Ok(_) => {}
            Err(error) => return closing::fail(&mut ws, &error).await,
        }
    }
}
