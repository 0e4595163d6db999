//! Issue 26: two gateways on one bus serve the same view, and a restarted gateway
//! (it keeps nothing: the view is rebuilt from the bus) lists every live host again
//! within one `stale_after` of serving. Real `nats-server`, real servers.

use std::time::{Duration, Instant};

use monitoring_test_support::http::get;
use monitoring_test_support::nats::Nats;
use monitoring_test_support::Server;

const SECOND: Duration = Duration::from_secs(1);
const TOKEN: &str = "fleet-gateways-token-0123456789";
/// `stale_after = 4` intervals of 0.5 s.
const STALE_WINDOW: Duration = Duration::from_secs(2);
const PLUGINS: [&str; 2] = ["collector-cpu", "collector-memory"];
const PUBLISHERS: [&str; 3] = ["app-1", "app-2", "app-3"];

/// `(name, state)` of every host in `/api/hosts`, or `None` while it does not answer.
fn view(port: u16) -> Option<Vec<(String, String)>> {
    let reply = std::panic::catch_unwind(|| get(port, "/api/hosts")).ok()?;
    if reply.status != 200 {
        return None;
    }
    let hosts = reply.json()["hosts"].as_array()?.clone();
    Some(
        hosts
            .iter()
            .map(|host| {
                (
                    host["name"].as_str().unwrap_or("?").to_owned(),
                    host["state"].as_str().unwrap_or("?").to_owned(),
                )
            })
            .collect(),
    )
}

fn every_publisher_up(view: &[(String, String)]) -> bool {
    PUBLISHERS.iter().all(|name| {
        view.iter()
            .any(|(host, state)| host == name && state == "up")
    })
}

/// Waits until `port`'s view has every publisher up; how long after it first answered.
fn until_all_up(port: u16, timeout: Duration) -> Option<Duration> {
    let deadline = Instant::now() + timeout;
    let mut answered = None;
    while Instant::now() < deadline {
        if let Some(view) = view(port) {
            let since = *answered.get_or_insert_with(Instant::now);
            if every_publisher_up(&view) {
                return Some(since.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn two_gateways_serve_one_view_and_a_restarted_one_catches_up() {
    let Some(nats) = Nats::start(TOKEN) else {
        return;
    };
    let gateway_config = "gateway = true\npublish = false\nstale_after = 4";
    let first = nats.server("gw-a", &PLUGINS, gateway_config);
    let second = nats.server("gw-b", &PLUGINS, gateway_config);
    let _publishers: Vec<Server> = PUBLISHERS
        .iter()
        .map(|name| nats.server(name, &PLUGINS, ""))
        .collect();
    assert!(
        until_all_up(first.port, 30 * SECOND).is_some(),
        "{:?}",
        view(first.port)
    );
    assert!(
        until_all_up(second.port, 30 * SECOND).is_some(),
        "{:?}",
        view(second.port)
    );
    assert_eq!(view(first.port), view(second.port), "the same view");

    let dir = second.stop_keeping_dir("KILL");
    let restarted = Server::restart_in_with_env(dir, &nats.env());
    let took = until_all_up(restarted.port, 30 * SECOND).expect("the restarted gateway's view");
    eprintln!("restarted gateway: every live host up {took:?} after it first answered");
    assert!(
        took <= STALE_WINDOW,
        "a restarted gateway took {took:?} (> stale_after {STALE_WINDOW:?}) to show every live host"
    );
    assert_eq!(
        view(first.port),
        view(restarted.port),
        "the same view again"
    );
}
