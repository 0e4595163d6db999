//! The `remote-write` sink against real receivers: Debian's Prometheus (its own
//! process, `--web.enable-remote-write-receiver`, a throwaway TSDB) must end up holding
//! exactly the series a scrape of our `/metrics` gives, names, labels and values; and
//! the scripted HTTP server shows the retry policy (500 then 204: the same batch again;
//! 400: never again) and that a receiver that never answers leaves the WebSocket
//! stream untouched.
//!
//! Needs Debian's `prometheus` package; where it is missing the Prometheus test fails
//! naming it (`cargo xtask test` installs it).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use monitoring_test_support::client::{connect, next_of_type};
use monitoring_test_support::http::{encode, get};
use monitoring_test_support::http_server::{Reply, TestServer};
use monitoring_test_support::prometheus::{free_port, Prometheus};
use monitoring_test_support::{Peer, Server, Setup, CORE_COLLECTORS};
use prost::Message;
use sink_remote_write::proto::WriteRequest;

/// A series' labels without `job` and `instance` (which differ by design between the
/// scraped and the remote-written copy).
type LabelSet = BTreeMap<String, String>;

/// The label sets of the series `selector` matches in `prometheus`, by metric name
/// (`job` and `instance` left out).
fn series(prometheus: &Prometheus, selector: &str) -> BTreeMap<String, BTreeSet<LabelSet>> {
    let path = format!("/api/v1/series?match[]={}", encode(selector));
    let mut by_name: BTreeMap<String, BTreeSet<LabelSet>> = BTreeMap::new();
    for series in prometheus
        .api(&path)
        .and_then(|d| d.as_array().cloned())
        .unwrap_or_default()
    {
        let mut labels: LabelSet = series
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let name = labels.remove("__name__").unwrap_or_default();
        labels.remove("job");
        labels.remove("instance");
        by_name.entry(name).or_default().insert(labels);
    }
    by_name
}

/// The value of the one series `query` selects.
fn value(prometheus: &Prometheus, query: &str) -> Option<f64> {
    let path = format!("/api/v1/query?query={}", encode(query));
    let result = prometheus.api(&path)?;
    result["result"][0]["value"][1].as_str()?.parse().ok()
}

/// A server with the core and machine collectors and the sink pointed at `url`.
fn server(url: &str, extra: &str) -> Server {
    let plugins: Vec<&str> = CORE_COLLECTORS
        .iter()
        .copied()
        .chain(["collector-load", "collector-network", "sink-remote-write"])
        .collect();
    let config = format!(
        "[plugins.remote-write]\nenabled = true\nurl = \"{url}\"\ninstance = \"rw-test\"\n\
         flush_interval_secs = 1\nmin_backoff_secs = 0.2\n{extra}"
    );
    Server::start(Setup {
        plugins: &plugins,
        config: &config,
        extra_files: &[],
    })
}

#[test]
fn prometheus_holds_the_series_of_our_metrics_scrape() {
    // Not `require`: this test's whole point is the real receiver, so its absence
    // fails here, also where missing peers may otherwise be skipped.
    let binary = Peer::Prometheus.find().unwrap_or_else(|| {
        panic!(
            "Prometheus is missing; {}",
            Peer::Prometheus.install_command()
        )
    });
    // The sink needs Prometheus's port and Prometheus the server's: reserve one, start
    // the server (its sink retries until Prometheus listens), then Prometheus on it.
    let prometheus_port = free_port();
    let server = server(
        &format!("http://127.0.0.1:{prometheus_port}/api/v1/write"),
        "",
    );
    let prometheus = Prometheus::start(
        &binary,
        prometheus_port,
        "scrape",
        server.port,
        &["--web.enable-remote-write-receiver"],
    );

    let deadline = Instant::now() + Duration::from_secs(90);
    let (written, scraped) = loop {
        let written = series(&prometheus, "{job=\"monitoring\",instance=\"rw-test\"}");
        let scraped = series(
            &prometheus,
            "{job=\"scrape\",__name__=~\"system_.*|node_.*\"}",
        );
        if !written.is_empty() && written == scraped {
            break (written, scraped);
        }
        assert!(
            Instant::now() < deadline,
            "remote-written and scraped series differ:\nonly written: {:#?}\nonly scraped: {:#?}\nPrometheus log:\n{}\nserver log:\n{}",
            difference(&written, &scraped),
            difference(&scraped, &written),
            prometheus.log(),
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(written, scraped);
    // The families our /metrics text has, by name, are all there.
    let metrics = get(server.port, "/metrics").body;
    for name in written.keys() {
        assert!(
            metrics.contains(&format!("\n{name} ")) || metrics.contains(&format!("\n{name}{{")),
            "{name} is not in /metrics:\n{metrics}"
        );
    }
    for name in [
        "system_memory_total_bytes",
        "system_cpu_usage_percent",
        "system_disk_usage_percent",
        "system_info",
        "node_load1",
        "node_network_receive_bytes_total",
    ] {
        assert!(written.contains_key(name), "{name} missing: {written:#?}");
    }
    assert!(
        written["node_network_receive_bytes_total"]
            .iter()
            .all(|labels| labels.contains_key("device")),
        "{written:#?}"
    );
    // A value that does not move: the same in both copies.
    let total = |job: &str| {
        value(
            &prometheus,
            &format!("system_memory_total_bytes{{job=\"{job}\"}}"),
        )
    };
    assert_eq!(total("monitoring"), total("scrape"));
    assert!(total("monitoring").is_some_and(|bytes| bytes > 0.0));
}

fn difference(
    a: &BTreeMap<String, BTreeSet<LabelSet>>,
    b: &BTreeMap<String, BTreeSet<LabelSet>>,
) -> Vec<(String, LabelSet)> {
    a.iter()
        .flat_map(|(name, sets)| sets.iter().map(move |labels| (name, labels)))
        .filter(|(name, labels)| !b.get(*name).is_some_and(|sets| sets.contains(labels)))
        .map(|(name, labels)| (name.clone(), labels.clone()))
        .collect()
}

/// Waits until `server` has received `n` requests; their bodies.
fn bodies(receiver: &TestServer, n: usize, server: &Server) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let requests = receiver.requests();
        if requests.len() >= n {
            return requests.into_iter().map(|r| r.body).collect();
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} requests; server log:\n{}",
            requests.len(),
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn decode(body: &[u8]) -> WriteRequest {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .expect("snappy block format");
    WriteRequest::decode(raw.as_slice()).expect("a WriteRequest")
}

#[test]
fn a_batch_answered_500_is_sent_again_and_then_taken() {
    let receiver = TestServer::start_script(vec![Reply::status(500), Reply::status(204)]);
    let server = server(&receiver.url("/api/v1/write"), "");
    let bodies = bodies(&receiver, 3, &server);
    assert_eq!(bodies[0], bodies[1], "the retry resends the same batch");
    assert_ne!(bodies[1], bodies[2], "after the 204 the next batch is new");
    let batch = decode(&bodies[0]);
    assert!(
        batch.timeseries.iter().any(|s| s
            .labels
            .iter()
            .any(|l| l.name == "__name__" && l.value == "system_memory_total_bytes")),
        "{batch:?}"
    );
    let request = &receiver.requests()[0];
    assert_eq!(request.header("content-encoding"), Some("snappy"));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(
        request.header("x-prometheus-remote-write-version"),
        Some("0.1.0")
    );
}

#[test]
fn a_batch_answered_400_is_not_sent_again() {
    let receiver = TestServer::start(Reply::Status {
        code: 400,
        headers: Vec::new(),
        body: "out of order sample".into(),
    });
    let server = server(&receiver.url("/api/v1/write"), "");
    let bodies = bodies(&receiver, 3, &server);
    let distinct: BTreeSet<&Vec<u8>> = bodies.iter().collect();
    assert_eq!(distinct.len(), bodies.len(), "a refused batch was resent");
    // The reason is logged, once (then at most once a minute).
    let log = server.log_text();
    assert_eq!(
        log.matches("refused a batch").count(),
        1,
        "server log:\n{log}"
    );
    assert!(log.contains("out of order sample"), "server log:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_does_not_stall_the_stream() {
    let receiver = TestServer::start(Reply::Hang);
    let server = server(&receiver.url("/api/v1/write"), "timeout_secs = 30\n");
    let mut ws = connect(&server.url("/")).await;
    let first = next_of_type(&mut ws, "monitoring_data", Duration::from_secs(10))
        .await
        .expect("a first tick");
    let (mut last, mut worst, mut ticks) = (first.1, Duration::ZERO, 0);
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        let (_, at) = next_of_type(&mut ws, "monitoring_data", Duration::from_secs(5))
            .await
            .expect("ticks keep coming while the receiver hangs");
        worst = worst.max(at.duration_since(last));
        last = at;
        ticks += 1;
    }
    assert!(!receiver.requests().is_empty(), "the sink never tried");
    assert!(ticks >= 8, "{ticks} ticks in 6 s");
    assert!(worst < Duration::from_millis(1500), "a {worst:?} gap");
}
