//! Issue 26: a gateway's overview never shows a dead host greener than `/api/hosts`.
//!
//! Three real servers (two publishers and a gateway) on a real `nats-server`, the
//! gateway's dashboard in a real Chromium. One page is open when a publisher is killed
//! (SIGKILL: it says nothing to anyone); its tile must turn `stale` within the
//! gateway's `stale_after`. A page opened after `/api/hosts` says `stale` must show
//! the host stale at once, although the gateway replays that host's newest frame to
//! every page that subscribes (its last numbers are still worth seeing).

use std::process::Command;
use std::time::{Duration, Instant};

use monitoring_test_support::browser::Browser;
use monitoring_test_support::http::get;
use monitoring_test_support::nats::Nats;
use monitoring_test_support::{connect, next_json, send_text, Server};

const SECOND: Duration = Duration::from_secs(1);
const TOKEN: &str = "fleet-truth-token-0123456789";
/// The gateway's `stale_after`, in its 0.5 s intervals: 2 s.
const STALE_AFTER: u32 = 4;
const STALE_WINDOW: Duration = Duration::from_secs(2);
const PLUGINS: [&str; 4] = [
    "collector-cpu",
    "collector-disk",
    "collector-memory",
    "collector-system",
];

/// `host`'s state in the gateway's `/api/hosts`.
fn api_state(gateway: &Server, host: &str) -> Option<String> {
    let reply = get(gateway.port, "/api/hosts");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["hosts"]
        .as_array()?
        .iter()
        .find(|entry| entry["name"] == host)
        .and_then(|entry| entry["state"].as_str().map(str::to_owned))
}

/// The script that is true when the tile of `host` shows `state`.
fn tile_is(host: &str, state: &str) -> String {
    format!(
        "const tile = document.querySelector('#fleet-tiles [data-host=\"{host}\"]'); \
         return !!tile && tile.classList.contains('{state}') \
           && tile.querySelector('.tile-state').textContent === '{state}';"
    )
}

/// The first messages a client gets after subscribing to every host, as `hosts NAME=STATE`
/// per listed host and `monitoring_data NAME`.
async fn greeting(gateway: &Server) -> Vec<String> {
    let mut ws = connect(&gateway.url("/ws")).await;
    send_text(&mut ws, r#"{"type":"subscribe","hosts":["*"]}"#).await;
    let mut seen = Vec::new();
    while let Some(message) = next_json(&mut ws, SECOND / 4).await {
        match message["type"].as_str() {
            Some("hosts") => {
                for host in message["hosts"].as_array().into_iter().flatten() {
                    seen.push(format!(
                        "hosts {}={}",
                        host["name"].as_str().unwrap_or("?"),
                        host["state"].as_str().unwrap_or("?")
                    ));
                }
            }
            Some("monitoring_data") => seen.push(format!(
                "monitoring_data {}",
                message["host"].as_str().unwrap_or("?")
            )),
            _ => {}
        }
    }
    seen
}

/// An overview's subscription (`detail: "summary"`): the table, every host's row with
/// its group and tags, batches after that, and never a whole frame.
async fn summary_stream_has_rows_and_no_frames(gateway: &Server) {
    let mut ws = connect(&gateway.url("/ws")).await;
    send_text(
        &mut ws,
        r#"{"type":"subscribe","hosts":["*"],"detail":"summary"}"#,
    )
    .await;
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let mut rows = std::collections::BTreeMap::<String, serde_json::Value>::new();
    let until = Instant::now() + 3 * SECOND;
    while let Some(message) =
        next_json(&mut ws, until.saturating_duration_since(Instant::now())).await
    {
        let kind = message["type"].as_str().unwrap_or("?").to_owned();
        if kind == "host_summaries" {
            // A batch's row carries only what changed: merged into what came before.
            for row in message["hosts"].as_array().into_iter().flatten() {
                let name = row["name"].as_str().unwrap_or("?").to_owned();
                let merged = rows.entry(name).or_insert_with(|| serde_json::json!({}));
                for (field, value) in row.as_object().into_iter().flatten() {
                    merged[field] = value.clone();
                }
            }
        }
        *kinds.entry(kind).or_default() += 1;
    }
    assert_eq!(kinds.get("monitoring_data"), None, "{kinds:?}");
    assert!(
        kinds.get("host_summaries").is_some_and(|n| *n >= 2),
        "{kinds:?}"
    );
    let alive = &rows["alive-1"];
    assert_eq!(alive["group"], "eu-west", "{alive}");
    assert_eq!(alive["tags"], serde_json::json!(["web", "eu"]), "{alive}");
    assert!(alive["memory_percent"].is_number(), "{alive}");
    assert_eq!(rows["doomed-1"]["state"], "up", "{rows:?}");
}

/// A script true when every script of `parts` (each a function body) is.
fn all(parts: &[String]) -> String {
    let calls: Vec<String> = parts
        .iter()
        .map(|part| format!("(() => {{ {part} }})()"))
        .collect();
    format!("return {};", calls.join(" && "))
}

/// True when the page is live and shows the three servers (the gateway publishes itself).
const LIVE: &str =
    "const s = window.__dashboard.state(); return s.connection === 'live' && s.fleet.tiles === 3;";

const TILES: &str = "return [...document.querySelectorAll('#fleet-tiles .tile')]\
    .map((t) => `${t.dataset.host}: ${t.className}`);";

/// A search typed on the keyboard filters the tiles at the next frame. Tiles are drawn
/// when fleet messages arrive, and a calm fleet may send none for minutes, so the
/// controls must ask for a frame themselves. An attempt in which a message came in
/// between (and might have drawn) proves nothing and is tried again.
async fn a_typed_search_applies_at_once(browser: &Browser) {
    const ALL_SHOWN: &str = "return window.__dashboard.state().fleet.shown === 3;";
    let mut proved = 0;
    for _ in 0..10 {
        browser.clear("#fleet-search").await;
        assert!(
            browser.wait_for(ALL_SHOWN, 10 * SECOND).await,
            "the cleared search never showed every host again"
        );
        let before = browser
            .js("return window.__dashboard.state().fleet.messages;")
            .await;
        browser.type_into("#fleet-search", "doom").await;
        let after = browser
            .js_after_frames(
                "const f = window.__dashboard.state().fleet; return [f.messages, f.shown];",
            )
            .await;
        if after[0] != before {
            continue;
        }
        assert_eq!(
            after[1], 1,
            "typing `doom` left every tile shown until the next message"
        );
        proved += 1;
        if proved == 3 {
            break;
        }
    }
    assert!(
        proved > 0,
        "a fleet message came in during every one of 10 searches"
    );
    browser.clear("#fleet-search").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_host_is_never_shown_up() {
    let Some(nats) = Nats::start(TOKEN) else {
        return;
    };
    let Some(browser) = Browser::start(&["--hide-scrollbars"]).await else {
        return;
    };
    let gateway = nats.server(
        "gw-truth",
        &PLUGINS,
        &format!("gateway = true\nstale_after = {STALE_AFTER}"),
    );
    let _alive = nats.server(
        "alive-1",
        &PLUGINS,
        "tags = [\"web\", \"eu\"]\ngroup = \"eu-west\"",
    );
    let doomed = nats.server("doomed-1", &PLUGINS, "");
    let page = format!("http://127.0.0.1:{}/", gateway.port);
    browser.client.goto(&page).await.expect("open the overview");
    let both_up = all(&[
        LIVE.to_owned(),
        tile_is("doomed-1", "up"),
        tile_is("alive-1", "up"),
    ]);
    assert!(
        browser.wait_for(&both_up, 30 * SECOND).await,
        "the overview never showed both publishers up: {}",
        browser.js(TILES).await
    );
    // The header names the gateway and moves with the fleet.
    let header = browser
        .js("return [document.getElementById('host').textContent, document.getElementById('last-update').textContent];")
        .await;
    assert!(
        header[0].as_str().is_some_and(|h| h.contains("gw-truth")),
        "{header}"
    );
    assert_ne!(header[1], "—", "{header}");
    let tags = browser
        .js("return document.querySelector('[data-host=\"alive-1\"] .tile-tags').textContent;")
        .await;
    assert_eq!(tags, "eu-west · web · eu");
    // Search, group filter and the table view pick from the same rows.
    let picked = browser
        .js("const set = (id, v) => { const e = document.getElementById(id); e.value = v; }; \
             set('fleet-group', 'eu-west'); window.__dashboard.renderFleet([]); \
             const byGroup = window.__dashboard.state().fleet.shown; \
             set('fleet-group', ''); set('fleet-search', 'DOOM'); window.__dashboard.renderFleet([]); \
             const bySearch = window.__dashboard.state().fleet.shown; \
             set('fleet-search', ''); set('fleet-view', 'table'); set('fleet-sort', 'name'); window.__dashboard.renderFleet([]); \
             const rows = [...document.querySelectorAll('#fleet-rows tr')].map((r) => r.dataset.host); \
             set('fleet-view', 'tiles'); set('fleet-sort', 'trouble'); window.__dashboard.renderFleet([]); \
             return [byGroup, bySearch, rows];")
        .await;
    assert_eq!(
        picked,
        serde_json::json!([1, 1, ["alive-1", "doomed-1", "gw-truth"]])
    );
    a_typed_search_applies_at_once(&browser).await;
    summary_stream_has_rows_and_no_frames(&gateway).await;

    // The page open when the host dies: stale within `stale_after` (plus a tick and a frame).
    let killed = Instant::now();
    let status = Command::new("kill")
        .args(["-KILL", &doomed.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(
        browser
            .wait_for(&tile_is("doomed-1", "stale"), STALE_WINDOW + 2 * SECOND)
            .await,
        "the open page did not show doomed-1 stale within {:?}: {}",
        STALE_WINDOW + 2 * SECOND,
        browser.js(TILES).await
    );
    let open_page_took = killed.elapsed();
    assert_eq!(api_state(&gateway, "doomed-1").as_deref(), Some("stale"));

    // What a page that subscribes now receives: the table (doomed-1 stale), then the
    // newest frame of every host, doomed-1's among them.
    let greeting = greeting(&gateway).await;
    let table = greeting.iter().position(|m| m == "hosts doomed-1=stale");
    let replayed = greeting
        .iter()
        .position(|m| m == "monitoring_data doomed-1");
    assert!(
        matches!((table, replayed), (Some(t), Some(r)) if t < r),
        "{greeting:?}"
    );

    // A page opened now: the gateway replays doomed-1's last frame, the tile stays stale.
    browser.client.goto(&page).await.expect("open it again");
    let shown = all(&[LIVE.to_owned(), tile_is("alive-1", "up")]);
    assert!(
        browser.wait_for(&shown, 20 * SECOND).await,
        "the new page never showed the fleet: {}",
        browser.js(TILES).await
    );
    // Frames keep arriving for alive-1 and the replayed one for doomed-1 came first:
    // give the page a few of them, then doomed-1 must still be stale.
    tokio::time::sleep(2 * SECOND).await;
    assert!(
        browser.js(&tile_is("doomed-1", "stale")).await == serde_json::Value::Bool(true),
        "a fresh page shows a dead host greener than /api/hosts: {}",
        browser.js(TILES).await
    );
    let numbers = browser
        .js("return document.querySelector('[data-host=\"doomed-1\"] dd').textContent;")
        .await;
    assert!(
        numbers.as_str().is_some_and(|cpu| cpu.contains('%')),
        "its last numbers are shown: {numbers}"
    );
    assert_eq!(
        browser
            .js("return window.__dashboard.state().errors;")
            .await,
        serde_json::json!([])
    );
    eprintln!(
        "open page: doomed-1 stale {open_page_took:?} after SIGKILL (stale_after {STALE_WINDOW:?})"
    );
    browser.close().await;
}
