//! The dashboard's generic card (issue 24) in a real browser (Debian's headless
//! Chromium): a section it has no card for gets one, live. A Nagios check shows its
//! state in its colour and its message as text (the script's markup never becomes
//! markup), its alert highlights the card, a Prometheus section shows its unlabelled
//! values, and a section that goes away takes its card with it.

use std::path::Path;
use std::time::Duration;

use monitoring_test_support::browser::Browser;
use monitoring_test_support::{Server, Setup};
use serde_json::{json, Value};

const SECOND: Duration = Duration::from_secs(1);

/// A hostile first line: if it were markup, the page would get an `<img>`.
const HOSTILE: &str = "<img src=x onerror=\"window.pwned=1\"> disk /var 97%";

fn serve(path: &Path, data: &Value) {
    let staged = path.with_extension("tmp");
    std::fs::write(&staged, data.to_string()).expect("write sections");
    std::fs::rename(&staged, path).expect("rename sections");
}

fn sections(state: &str, code: i32) -> Value {
    json!({
        "disk_check": {"format": "nagios", "state": state, "code": code,
            "message": format!("DISK {state} - {HOSTILE}"),
            "perfdata": {"/var": {"value": 97.0, "unit": "%"}}},
        "backup": {"format": "prometheus", "values": {"backup_last_success": 1.0},
            "families": [{"name": "backup_last_success", "type": "gauge",
                "samples": [{"name": "backup_last_success", "value": 1.0}]}]},
    })
}

/// What the generic cards show, read from the page.
const CARDS: &str = "const s = window.__dashboard && window.__dashboard.state();
    const card = (name) => document.querySelector(`.generic-card[data-section=\"${name}\"]`);
    const check = card('disk_check'), backup = card('backup');
    return { count: s ? s.genericCards : 0, errors: s ? s.errors : [],
      state: check && check.querySelector('.big').textContent,
      level: check && check.querySelector('.big').dataset.level,
      color: check && getComputedStyle(check.querySelector('.big')).color,
      message: check && check.querySelector('.generic-message').textContent,
      images: check ? check.querySelectorAll('img').length : -1,
      alerting: !!check && check.classList.contains('alerting') && check.classList.contains('critical'),
      perf: check && check.querySelector('dd') && check.querySelector('dd').textContent,
      backup: backup && backup.querySelector('dl').textContent,
      pwned: !!window.pwned };";

#[tokio::test]
async fn a_section_without_a_card_of_its_own_gets_a_generic_one_live() {
    let Some(browser) = Browser::start(&["--hide-scrollbars"]).await else {
        return;
    };
    let scratch = tempfile::tempdir().expect("scratch folder");
    let file = scratch.path().join("sections.json");
    serve(&file, &sections("CRITICAL", 2));
    let config = format!(
        "[alerts]\ngroup_wait = 0.0\n\n[plugins.fixture-scripted-sections]\npath = {:?}\n",
        file.display().to_string()
    );
    let server = Server::start(Setup {
        plugins: &["fixture-scripted-sections", "collector-memory"],
        config: &config,
        extra_files: &[],
    });
    browser
        .client
        .goto(&format!("http://127.0.0.1:{}/", server.port))
        .await
        .expect("open the dashboard");
    let ready = "const s = window.__dashboard && window.__dashboard.state(); \
                 const c = document.querySelector('.generic-card[data-section=\"disk_check\"]'); \
                 return !!s && s.genericCards === 2 && !!c && c.classList.contains('alerting');";
    assert!(
        browser.wait_for(ready, 15 * SECOND).await,
        "no generic cards: {}",
        browser.js(CARDS).await
    );
    let shown = browser.js(CARDS).await;
    assert_eq!(shown["state"], "CRITICAL", "{shown}");
    assert_eq!(shown["level"], "critical", "{shown}");
    assert_eq!(shown["color"], "rgb(200, 30, 30)", "{shown}");
    assert_eq!(
        shown["message"],
        format!("DISK CRITICAL - {HOSTILE}"),
        "as text: {shown}"
    );
    assert_eq!(shown["images"], 0, "{shown}");
    assert_eq!(shown["pwned"], false, "{shown}");
    assert_eq!(shown["alerting"], true, "{shown}");
    assert_eq!(shown["perf"], "97 %", "{shown}");
    assert_eq!(shown["backup"], "backup_last_success1", "{shown}");
    assert_eq!(shown["errors"], json!([]), "{shown}");
    browser.screenshot("dashboard-generic-cards.png").await;

    // OK again: the same card, live.
    serve(&file, &sections("OK", 0));
    let ok =
        "const c = document.querySelector('.generic-card[data-section=\"disk_check\"] .big'); \
              return !!c && c.textContent === 'OK' && c.dataset.level === 'ok';";
    assert!(
        browser.wait_for(ok, 15 * SECOND).await,
        "{}",
        browser.js(CARDS).await
    );
    // Gone: the card goes.
    serve(&file, &json!({"backup": sections("OK", 0)["backup"]}));
    let gone = "const s = window.__dashboard.state(); return s.genericCards === 1 && \
                !document.querySelector('.generic-card[data-section=\"disk_check\"]');";
    assert!(
        browser.wait_for(gone, 15 * SECOND).await,
        "{}",
        browser.js(CARDS).await
    );
    browser.close().await;
}
