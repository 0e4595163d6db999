//! The dashboard knows the alert rules and shows the alerts' life (issue 23 item 7),
//! in Debian's headless Chromium against the real binary: a memory rule that always
//! fires (WARNING at 1 %, `group_wait = 0`) on a server with a viewer and an admin
//! token.
//!
//! As a viewer, the memory plot carries the rule's warning line (from `/api/rules`),
//! the alerts panel lists the alert as active with its host, and there is no button
//! to press. Signed in with the admin token ("Admin token…"), the buttons appear:
//! "Silence" makes a silence that `GET /api/silences` lists as active and the alert
//! shows SILENCED; "Ack" marks it ACKED; "Expire" ends the silence. Saves
//! `target/test-artifacts/dashboard-alerts.png`.
//!
//! Without Chromium and chromedriver the test fails and says how to install them.

use std::time::Duration;

use monitoring_test_support::browser::Browser;
use monitoring_test_support::{Server, Setup, ADMIN_TOKEN, CORE_COLLECTORS};
use serde_json::Value;

const SECOND: Duration = Duration::from_secs(1);
const VIEWER: &str = "viewer-token-for-the-alerts-dashboard-0123";

/// Both tokens, and a rule that fires on any machine at once.
const CONFIG: &str = "[access]\nadmin_token_env = \"MONITORING_ADMIN_TOKEN\"\n\
    viewer_token_env = \"DASHBOARD_VIEWER_TOKEN\"\n\n\
    [alerts]\ngroup_wait = 0.0\n\n\
    [[alerts.rules]]\nmetric = \"memory.percentage\"\ncomponent = \"memory\"\nwarning = 1.0\n";

/// The panel as the page shows it: counts, the active rows with their visible badges
/// and buttons, the silences' rows, and every visible button in the panel.
const PANEL: &str = "const s = window.__dashboard.state();
    const visible = (n) => !!n && !n.hidden && n.offsetParent !== null;
    const rows = (id) => [...document.querySelectorAll('#' + id + ' > li')];
    const alertRow = (li) => ({ fingerprint: li.dataset.fingerprint,
      level: li.querySelector('.level').textContent, host: li.querySelector('.host').textContent,
      text: li.querySelector('.text').textContent, since: li.querySelector('.since').textContent,
      badges: [...li.querySelectorAll('.badge')].filter(visible).map((b) => b.textContent),
      buttons: [...li.querySelectorAll('.actions button')].filter(visible).map((b) => b.textContent) });
    return { panel: s.alertsPanel, rules: s.rules, errors: s.errors, connection: s.connection,
      shown: visible(document.getElementById('alert-panel')),
      error: document.getElementById('alert-panel-error').textContent,
      note: document.getElementById('alert-panel-note').textContent,
      active: rows('alerts-active').map(alertRow), silenced: rows('alerts-silenced').map(alertRow),
      silences: rows('silence-list').map((li) => ({ id: li.dataset.id,
        state: li.querySelector('.state').textContent, matchers: li.querySelector('.matchers').textContent,
        expire: visible(li.querySelector('.expire')) })),
      buttons: [...document.querySelectorAll('#alert-panel li button')].filter(visible).length,
      signIn: visible(document.getElementById('admin-sign-in')),
      memMarks: document.getElementById('mem-plot').dataset.thresholds,
      cpuMarks: document.getElementById('cpu-plot').dataset.thresholds };";

async fn panel(browser: &Browser) -> Value {
    browser.js(PANEL).await
}

/// `GET path` from inside the page, with the page's token: what the server says.
async fn api(browser: &Browser, path: &str) -> Value {
    browser
        .js(&format!(
            "const t = sessionStorage.getItem('monitoring.token'); \
             return fetch({path:?}, {{ headers: t ? {{ authorization: 'Bearer ' + t }} : {{}} }}) \
               .then((r) => r.json());"
        ))
        .await
}

/// Enters `token` in the page's token form (shown for either prompt).
async fn enter_token(browser: &Browser, token: &str) {
    assert!(
        browser
            .wait_for(
                "return !document.getElementById('token-form').hidden;",
                15 * SECOND
            )
            .await,
        "no token prompt: {}",
        panel(browser).await
    );
    browser
        .js(&format!(
            "document.getElementById('token-input').value = {token:?}; \
             document.getElementById('token-submit').click(); return true;"
        ))
        .await;
}

/// Clicks the button `selector` inside the active row of the alert `fingerprint`.
async fn click_in_row(browser: &Browser, fingerprint: &str, selector: &str) {
    let clicked = browser
        .js(&format!(
            "const li = [...document.querySelectorAll('#alerts-active > li')] \
               .find((l) => l.dataset.fingerprint === {fingerprint:?}); \
             const b = li && li.querySelector({selector:?}); \
             if (!b || b.hidden) return false; b.click(); return true;"
        ))
        .await;
    assert_eq!(
        clicked,
        Value::Bool(true),
        "no {selector} in the alert's row: {}",
        panel(browser).await
    );
}

/// Waits until `check` holds of the panel's state; fails with what it was.
async fn wait_panel(browser: &Browser, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + 20 * SECOND;
    loop {
        let state = panel(browser).await;
        if check(&state) {
            return state;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: never happened; the panel: {state}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The active row of `fingerprint`.
fn row<'a>(state: &'a Value, fingerprint: &str) -> Option<&'a Value> {
    state["active"]
        .as_array()?
        .iter()
        .find(|r| r["fingerprint"] == fingerprint)
}

fn has(list: &Value, text: &str) -> bool {
    list.as_array()
        .is_some_and(|items| items.iter().any(|item| item == text))
}

#[tokio::test]
async fn the_dashboard_draws_the_rules_and_silences_and_acks_an_alert() {
    let Some(browser) = Browser::start(&["--hide-scrollbars", "--force-dark-mode"]).await else {
        return;
    };
    let server = Server::start_with_env(
        Setup {
            plugins: &CORE_COLLECTORS,
            config: CONFIG,
            extra_files: &[],
        },
        &[
            ("MONITORING_ADMIN_TOKEN", ADMIN_TOKEN),
            ("DASHBOARD_VIEWER_TOKEN", VIEWER),
        ],
    );
    browser
        .client
        .set_window_size(1400, 1400)
        .await
        .expect("window size");
    browser
        .client
        .goto(&format!("http://127.0.0.1:{}/", server.port))
        .await
        .expect("open the dashboard");

    // A viewer: the rule's line on the memory plot, the alert in the panel, no buttons.
    enter_token(&browser, VIEWER).await;
    let state = wait_panel(&browser, "the warning line on the memory plot", |s| {
        s["connection"] == "live" && s["memMarks"] == "warning:1"
    })
    .await;
    assert_eq!(
        state["cpuMarks"], "",
        "no rule on the CPU: no line: {state}"
    );
    let firing = api(&browser, "/api/alerts").await;
    let alert = firing["firing"]
        .as_array()
        .and_then(|list| list.iter().find(|a| a["component"] == "memory"))
        .unwrap_or_else(|| panic!("the memory alert fires: {firing}\n{}", server.log_text()))
        .clone();
    let fingerprint = alert["fingerprint"].as_str().expect("a fingerprint");
    let host = alert["host"].as_str().expect("a host");
    assert!(!host.is_empty(), "{alert}");
    let state = wait_panel(&browser, "the alert listed as active", |s| {
        row(s, fingerprint).is_some()
    })
    .await;
    let shown = row(&state, fingerprint).expect("the row");
    assert_eq!(shown["level"], "WARNING", "{shown}");
    assert_eq!(shown["host"], host, "{shown}");
    assert!(
        shown["since"]
            .as_str()
            .is_some_and(|s| s.starts_with("for ")),
        "since when: {shown}"
    );
    assert_eq!(shown["badges"], Value::Array(vec![]), "{shown}");
    assert_eq!(state["panel"]["admin"], false, "{state}");
    assert_eq!(state["buttons"], 0, "a viewer gets no buttons: {state}");
    assert_eq!(state["signIn"], true, "{state}");
    assert_eq!(state["error"], "", "{state}");

    // The admin: signs in on the page, and the buttons appear.
    browser
        .js("document.getElementById('admin-sign-in').click(); return true;")
        .await;
    enter_token(&browser, ADMIN_TOKEN).await;
    let state = wait_panel(&browser, "the admin's buttons", |s| {
        row(s, fingerprint)
            .is_some_and(|r| has(&r["buttons"], "Ack") && has(&r["buttons"], "Silence"))
    })
    .await;
    assert_eq!(state["panel"]["admin"], true, "{state}");
    assert_eq!(state["signIn"], false, "{state}");

    // Silence it for an hour from its row's form.
    click_in_row(&browser, fingerprint, "button.silence").await;
    browser
        .js(&format!(
            "const li = [...document.querySelectorAll('#alerts-active > li')] \
               .find((l) => l.dataset.fingerprint === {fingerprint:?}); \
             li.querySelector('select.duration').value = '1h'; \
             li.querySelector('input.comment').value = 'looking into it'; \
             li.querySelector('form.silence-form button[type=submit]').click(); return true;"
        ))
        .await;
    let state = wait_panel(&browser, "the alert shown SILENCED", |s| {
        row(s, fingerprint).is_some_and(|r| has(&r["badges"], "SILENCED"))
            && s["silences"].as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    let silences = api(&browser, "/api/silences").await;
    let silence = silences["silences"]
        .as_array()
        .and_then(|list| list.first())
        .unwrap_or_else(|| panic!("GET /api/silences lists it: {silences}"))
        .clone();
    assert_eq!(silence["state"], "active", "{silence}");
    assert_eq!(silence["matchers"]["host"], host, "{silence}");
    assert_eq!(silence["matchers"]["component"], "memory", "{silence}");
    assert_eq!(silence["matchers"]["metric"], alert["metric"], "{silence}");
    assert_eq!(silence["comment"], "looking into it", "{silence}");
    assert!(
        state["silenced"]
            .as_array()
            .is_some_and(|l| l.iter().any(|r| r["fingerprint"] == fingerprint)),
        "the Silenced list holds the alert: {state}"
    );
    assert_eq!(state["silences"][0]["state"], "ACTIVE", "{state}");
    assert_eq!(state["silences"][0]["expire"], true, "{state}");

    // Acknowledge it.
    click_in_row(&browser, fingerprint, "button.ack").await;
    let state = wait_panel(&browser, "the alert shown ACKED", |s| {
        row(s, fingerprint)
            .is_some_and(|r| has(&r["badges"], "ACKED") && !has(&r["buttons"], "Ack"))
    })
    .await;
    assert_eq!(state["error"], "", "{state}");
    browser.screenshot("dashboard-alerts.png").await;

    // Expire the silence: the alert is no longer silenced.
    browser
        .js("document.querySelector('#silence-list > li .expire').click(); return true;")
        .await;
    let state = wait_panel(&browser, "the silence expired", |s| {
        s["silences"][0]["state"] == "EXPIRED"
            && row(s, fingerprint).is_some_and(|r| !has(&r["badges"], "SILENCED"))
    })
    .await;
    let silences = api(&browser, "/api/silences").await;
    assert_eq!(silences["silences"][0]["state"], "expired", "{silences}");
    assert_eq!(state["error"], "", "{state}");
    assert_eq!(
        state["errors"],
        Value::Array(vec![]),
        "no script errors: {state}"
    );
    browser.close().await;
}
