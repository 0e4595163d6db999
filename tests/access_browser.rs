//! The dashboard on a server that asks viewers for a token, in headless Chromium: the
//! page asks for the token, goes live once it is entered, and keeps it out of the URL
//! and out of persistent storage. The browser is the shared driver in
//! `support/browser.rs` with its default flags.

use serde_json::json;

use super::{tokened_server, SECOND, VIEWER};
use monitoring_test_support::browser::Browser;

const STATE: &str = "const s = window.__dashboard && window.__dashboard.state(); return {
    connection: s && s.connection, samples: s && s.samples, errors: s && s.errors,
    form: !document.getElementById('token-form').hidden,
    note: document.getElementById('token-note').textContent,
    url: location.href, local: JSON.stringify(localStorage), cookie: document.cookie };";

#[tokio::test]
async fn the_dashboard_asks_for_the_token_and_then_goes_live() {
    let Some(browser) = Browser::start(&[]).await else {
        return;
    };
    let server = tokened_server();
    browser
        .client
        .goto(&format!("http://127.0.0.1:{}/", server.port))
        .await
        .expect("open the dashboard");
    assert!(
        browser
            .wait_for(
                "return !document.getElementById('token-form').hidden;",
                15 * SECOND
            )
            .await,
        "no token prompt: {}",
        browser.js(STATE).await
    );
    // A wrong token first: refused, asked again with a note.
    let enter = |token: &str| {
        format!(
            "document.getElementById('token-input').value = {token:?}; \
             document.getElementById('token-submit').click(); return true;"
        )
    };
    browser.js(&enter("wrong-token-wrong-token")).await;
    assert!(
        browser
            .wait_for(
                "return !document.getElementById('token-form').hidden && \
                 document.getElementById('token-note').textContent.includes('refused');",
                15 * SECOND
            )
            .await,
        "a wrong token is not refused: {}",
        browser.js(STATE).await
    );
    browser.js(&enter(VIEWER)).await;
    assert!(
        browser
            .wait_for(
                "const s = window.__dashboard.state(); \
                 return s.connection === 'live' && s.samples >= 2;",
                15 * SECOND
            )
            .await,
        "never went live: {}\n{}",
        browser.js(STATE).await,
        server.log_text()
    );
    let state = browser.js(STATE).await;
    assert_eq!(state["form"], false, "{state}");
    assert_eq!(state["errors"], json!([]), "{state}");
    let url = state["url"].as_str().unwrap_or_default();
    assert!(!url.contains(VIEWER), "the token is not in the URL: {url}");
    assert!(
        !state["local"].as_str().unwrap_or_default().contains(VIEWER)
            && !state["cookie"]
                .as_str()
                .unwrap_or_default()
                .contains(VIEWER),
        "only sessionStorage holds it: {state}"
    );
    let history = browser
        .js("return document.getElementById('history-note').textContent;")
        .await;
    assert!(
        history
            .as_str()
            .is_some_and(|n| n.starts_with("Seeded with")),
        "/api/history is fetched with the token: {history}"
    );
    browser.close().await;
}
