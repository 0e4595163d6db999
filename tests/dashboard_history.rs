//! The dashboard looking back (issue 22), in Debian's headless Chromium against the
//! real binary and its history store, on a server that asks viewers for a token (so
//! every history request must carry it): the 1 h range draws every plot from
//! `/api/query`, one request per plot; a drag across a plot narrows the range; a
//! click on a moment shows that moment's real top processes; "Zoom out" walks back;
//! "Live" returns to live frames.
//!
//! Without Chromium and chromedriver the test fails and says how to install them.

use std::time::Duration;

use monitoring_test_support::browser::Browser;
use monitoring_test_support::{Server, Setup};
use serde_json::{json, Value};

const SECOND: Duration = Duration::from_secs(1);
const VIEWER: &str = "viewer-token-for-the-history-dashboard-0123";

/// The collectors whose plots a past range redraws, and the processes for a moment.
const COLLECTORS: [&str; 6] = [
    "collector-cpu",
    "collector-memory",
    "collector-disk",
    "collector-system",
    "collector-load",
    "collector-processes",
];

/// The page's range, its history requests and what the plots drew.
const STATE: &str = "const s = window.__dashboard.state();
    const queries = performance.getEntriesByType('resource').map((e) => e.name)
      .filter((n) => n.includes('/api/query?'));
    const events = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/events?')).length;
    return { range: s.range, past: s.past, moment: s.moment, errors: s.errors, connection: s.connection,
      samples: s.samples, queries, events,
      label: document.getElementById('range-label').textContent,
      pressed: [...document.querySelectorAll('#range button[aria-pressed=true]')].map((b) => b.dataset.range),
      cpuPoints: Number(document.getElementById('cpu-plot').dataset.points || 0),
      memPoints: Number(document.getElementById('mem-plot').dataset.points || 0),
      plot: document.getElementById('cpu-plot').toDataURL() };";

async fn state(browser: &Browser) -> Value {
    browser.js(STATE).await
}

/// Clicks the picker's button for `range` (`live`, `1h`, …) or the zoom-out button.
async fn press(browser: &Browser, selector: &str) {
    browser
        .js(&format!(
            "document.querySelector({selector:?}).click(); return true;"
        ))
        .await;
}

/// Every plot asked has answered, with no failure.
const SETTLED: &str = "const p = window.__dashboard.state().past; \
    return p.plots >= 3 && p.answered === p.plots && p.error === '';";

#[tokio::test]
async fn the_dashboard_looks_back_zooms_and_shows_a_moments_processes() {
    let Some(browser) = Browser::start(&["--hide-scrollbars", "--force-dark-mode"]).await else {
        return;
    };
    let server = Server::start_with_env(
        Setup {
            plugins: &COLLECTORS,
            config: "[access]\nviewer_token_env = \"DASHBOARD_VIEWER_TOKEN\"\n",
            extra_files: &[],
        },
        &[("DASHBOARD_VIEWER_TOKEN", VIEWER)],
    );
    browser
        .client
        .set_window_size(1400, 1100)
        .await
        .expect("window size");
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
        "no token prompt"
    );
    browser
        .js(&format!(
            "document.getElementById('token-input').value = {VIEWER:?}; \
             document.getElementById('token-submit').click(); return true;"
        ))
        .await;
    // Live first, as always, for a few seconds of history to look back on.
    assert!(
        browser
            .wait_for(
                "const s = window.__dashboard.state(); \
                 return s.connection === 'live' && s.samples >= 20 && s.range.live;",
                20 * SECOND,
            )
            .await,
        "never went live: {}\n{}",
        state(&browser).await,
        server.log_text()
    );
    let live = state(&browser).await;
    assert_eq!(
        live["queries"],
        json!([]),
        "live mode asks no history: {live}"
    );
    assert_eq!(live["pressed"], json!(["live"]), "{live}");

    // The last hour: every plot from /api/query, one request per plot, plus the events.
    press(&browser, "#range button[data-range='1h']").await;
    assert!(
        browser.wait_for(SETTLED, 15 * SECOND).await,
        "the 1 h plots never drew: {}\n{}",
        state(&browser).await,
        server.log_text()
    );
    let hour = state(&browser).await;
    eprintln!(
        "1 h: label {}, {} plots, queries {}",
        hour["label"], hour["past"]["plots"], hour["queries"]
    );
    assert_eq!(hour["range"]["live"], false, "{hour}");
    assert_eq!(hour["range"]["preset"], "1h", "{hour}");
    assert_eq!(hour["pressed"], json!(["1h"]), "{hour}");
    assert!(
        hour["label"]
            .as_str()
            .is_some_and(|l| l.starts_with("1 h: ")),
        "the range label: {}",
        hour["label"]
    );
    let queries = hour["queries"].as_array().expect("query URLs");
    assert_eq!(
        Some(queries.len() as u64),
        hour["past"]["plots"].as_u64(),
        "one request per plot: {hour}"
    );
    for wanted in ["processor.usage_percent", "memory.percentage", "load.load1"] {
        assert!(
            queries.iter().any(|q| q
                .as_str()
                .is_some_and(|q| q.contains(&format!("series={wanted}&")))),
            "{wanted} asked: {queries:?}"
        );
    }
    assert_eq!(hour["events"], 1, "one /api/events per range: {hour}");
    assert!(
        hour["past"]["eventsShown"].as_u64() >= Some(1),
        "the server's start is on the timeline: {hour}"
    );
    assert!(
        hour["cpuPoints"].as_u64() >= Some(1),
        "the CPU plot drew: {hour}"
    );
    assert!(
        hour["memPoints"].as_u64() >= Some(1),
        "the memory plot drew: {hour}"
    );
    assert_ne!(hour["plot"], live["plot"], "the CPU plot was redrawn");
    browser.screenshot("dashboard-1h.png").await;

    // A drag across the CPU plot's last tenth (ending past its right edge, which
    // stops at the edge): the range narrows to it, plots asked again.
    let (from, to) = (
        hour["range"]["from"].as_f64().expect("from"),
        hour["range"]["to"].as_f64().expect("to"),
    );
    browser.drag("#cpu-plot", 0.9, 1.05).await;
    assert!(
        browser
            .wait_for(
                "const s = window.__dashboard.state(); \
                 return !s.range.live && s.range.preset === null;",
                5 * SECOND
            )
            .await,
        "the drag did not zoom: {}",
        state(&browser).await
    );
    assert!(
        browser.wait_for(SETTLED, 15 * SECOND).await,
        "{}",
        state(&browser).await
    );
    let zoomed = state(&browser).await;
    let (zoom_from, zoom_to) = (
        zoomed["range"]["from"].as_f64().expect("from"),
        zoomed["range"]["to"].as_f64().expect("to"),
    );
    eprintln!("zoomed: {} ({} ms)", zoomed["label"], zoom_to - zoom_from);
    assert!(
        zoom_from >= from && zoom_to <= to + 1000.0 && zoom_to - zoom_from < (to - from) / 5.0,
        "narrower than the hour: {zoomed}"
    );
    assert!(
        zoomed["queries"].as_array().map(Vec::len) > hour["queries"].as_array().map(Vec::len),
        "the zoomed range was asked again: {zoomed}"
    );
    assert!(zoomed["cpuPoints"].as_u64() >= Some(1), "{zoomed}");

    // A click near the end of the zoomed range: that moment's top processes.
    browser.drag("#mem-plot", 0.995, 0.995).await;
    assert!(
        browser
            .wait_for(
                "const m = window.__dashboard.state().moment; return m.open && m.processes > 0;",
                10 * SECOND
            )
            .await,
        "no processes for the moment: {}\n{}",
        state(&browser).await,
        browser
            .js("return document.getElementById('moment').textContent;")
            .await
    );
    let names = browser
        .js(
            "return [...document.querySelectorAll('#moment-cpu tbody tr .pname span')] \
             .map((s) => s.textContent);",
        )
        .await;
    eprintln!("processes at the moment: {names}");
    let names: Vec<&str> = names
        .as_array()
        .expect("names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| !n.is_empty() && *n != "?"),
        "real process names: {names:?}"
    );
    browser.screenshot("dashboard-moment.png").await;

    // Zoom out: back to the hour it came from.
    press(&browser, "#zoom-out").await;
    let back = state(&browser).await;
    assert_eq!(back["range"]["preset"], "1h", "{back}");
    assert_eq!(back["range"]["from"], hour["range"]["from"], "{back}");

    // Live: live frames again, the plot moving with them.
    press(&browser, "#range button[data-range='live']").await;
    let first = state(&browser).await;
    assert_eq!(first["range"]["live"], true, "{first}");
    assert_eq!(first["pressed"], json!(["live"]), "{first}");
    assert_eq!(first["moment"]["open"], false, "{first}");
    assert!(
        browser
            .wait_for(
                &format!(
                    "const s = window.__dashboard.state(); \
                     return s.samples > {} && document.getElementById('cpu-plot').toDataURL() !== {};",
                    first["samples"], first["plot"]
                ),
                10 * SECOND
            )
            .await,
        "no live frames after Live: {}",
        state(&browser).await
    );
    let end = state(&browser).await;
    assert_eq!(end["connection"], "live", "{end}");
    assert_eq!(end["errors"], json!([]), "no script errors: {end}");
    browser.close().await;
}
