//! The dashboard on a server that asks viewers for a token, in headless Chromium: the
//! page asks for the token, goes live once it is entered, and keeps it out of the URL
//! and out of persistent storage. (A trimmed copy of `dashboard.rs`'s browser driver;
//! the two could share one in `support/` once that file is free to move.)

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use super::{support, tokened_server, SECOND, VIEWER};

struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start() -> Option<Self> {
        let chromium = support::require(support::Peer::Chromium)?;
        let chromedriver = support::require(support::Peer::ChromeDriver)?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromedriver.display()));
        let profile = tempfile::tempdir().expect("browser profile folder");
        let Value::Object(capabilities) = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-dev-shm-usage",
                         format!("--user-data-dir={}", profile.path().display())],
            },
        }) else {
            unreachable!("a JSON object literal")
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + 20 * SECOND;
        let client = loop {
            let mut builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            match builder
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session from {}: {e}", chromedriver.display()),
            }
        };
        Some(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    async fn wait_for(&self, script: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.js(script).await == Value::Bool(true) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

const STATE: &str = "const s = window.__dashboard && window.__dashboard.state(); return {
    connection: s && s.connection, samples: s && s.samples, errors: s && s.errors,
    form: !document.getElementById('token-form').hidden,
    note: document.getElementById('token-note').textContent,
    url: location.href, local: JSON.stringify(localStorage), cookie: document.cookie };";

#[tokio::test]
async fn the_dashboard_asks_for_the_token_and_then_goes_live() {
    let Some(browser) = Browser::start().await else {
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
    let _ = browser.client.clone().close().await;
}
