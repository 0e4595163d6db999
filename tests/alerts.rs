//! Alerts end to end: the real server with the real collectors and the real `file`
//! sink, a rule low enough to fire on any machine (memory WARNING at 1 %), and a real
//! WebSocket client that watches `monitoring_data.alerts`, reads `get_status` and moves
//! the threshold at run time.

use std::path::Path;
use std::time::{Duration, Instant};

use monitoring_test_support::{
    connect, next_of_type, parse_timestamp, send_text, Client, Server, Setup,
};
use serde_json::Value;

const SECOND: Duration = Duration::from_secs(1);

/// The collectors plus the file sink.
const PLUGINS: [&str; 5] = [
    "collector-cpu",
    "collector-disk",
    "collector-memory",
    "collector-system",
    "sink-file",
];

fn start(log: &Path, extra: &str) -> Server {
    let config = format!(
        "[alerts]\ncooldown = 300.0\ngroup_wait = 0.0\ngroup_interval = 1.0\n\n[[alerts.rules]]\nmetric = \"memory.percentage\"\n\
         component = \"memory\"\nwarning = 1.0\n\n\
         [plugins.file]\nenabled = true\npath = {:?}\n{extra}",
        log.display().to_string()
    );
    // Thresholds change over WebSocket: that takes the admin token.
    let config = format!("{}{config}", monitoring_test_support::ADMIN_ACCESS);
    Server::start_with_env(
        Setup {
            plugins: &PLUGINS,
            config: &config,
            extra_files: &[],
        },
        &monitoring_test_support::admin_env(),
    )
}

/// The time between `count + 1` consecutive `monitoring_data` messages.
async fn tick_gaps(ws: &mut Client, count: usize) -> Vec<Duration> {
    let (_, mut last) = next_of_type(ws, "monitoring_data", 5 * SECOND)
        .await
        .expect("monitoring_data keeps coming");
    let mut gaps = Vec::with_capacity(count);
    for _ in 0..count {
        let (_, at) = next_of_type(ws, "monitoring_data", 5 * SECOND)
            .await
            .expect("monitoring_data keeps coming");
        gaps.push(at - last);
        last = at;
    }
    gaps
}

/// The JSON lines the file sink has written so far.
fn lines(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// Waits until the log holds a line matching `pred`.
fn wait_for_line(log: &Path, pred: impl Fn(&Value) -> bool, timeout: Duration) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(line) = lines(log).into_iter().find(|l| pred(l)) {
            return Some(line);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The next `monitoring_data` message whose `alerts` satisfy `pred`.
async fn next_data_where(ws: &mut Client, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + 10 * SECOND;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (message, _) = next_of_type(ws, "monitoring_data", left)
            .await
            .expect("monitoring_data keeps coming");
        if pred(&message["alerts"]) {
            return message;
        }
    }
}

/// Sends a command and returns the first reply that is not `monitoring_data`.
async fn request(ws: &mut Client, command: Value) -> Value {
    send_text(ws, &command.to_string()).await;
    let deadline = Instant::now() + 5 * SECOND;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = monitoring_test_support::next_json(ws, left)
            .await
            .expect("a reply");
        if message["type"] != "monitoring_data" {
            return message;
        }
    }
}

fn assert_seed_alert(alert: &Value) {
    parse_timestamp(&alert["timestamp"]);
    assert_eq!(alert["component"], "memory", "{alert}");
    assert_eq!(alert["metric"], "usage_percent", "{alert}");
    assert_eq!(alert["level"], "WARNING", "{alert}");
    assert_eq!(alert["threshold"], 1.0, "{alert}");
    let value = alert["value"].as_f64().expect("value is a number");
    assert!(value > 1.0 && value <= 100.0, "{alert}");
    assert_eq!(
        alert["message"],
        format!("High memory usage: {value:.1}% (threshold: 1.0%)"),
        "{alert}"
    );
}

#[tokio::test]
async fn an_alert_reaches_clients_and_the_file_sink_once_then_resolves() {
    let scratch = tempfile::tempdir().expect("scratch folder");
    let log = scratch.path().join("alerts.log");
    let server = start(&log, "");
    let mut ws = monitoring_test_support::connect_with_token(
        &server.url("/"),
        monitoring_test_support::ADMIN_TOKEN,
    )
    .await;

    // In every monitoring_data while it fires, with exactly the seed's fields.
    let message = next_data_where(&mut ws, |alerts| alerts.is_array()).await;
    let alerts = message["alerts"].as_array().expect("alerts array");
    assert_eq!(alerts.len(), 1, "{message}");
    assert_seed_alert(&alerts[0]);
    let fields: Vec<&str> = alerts[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    // The seed's seven fields, then the alert's identity (since plugin-api 1.2).
    let mut fields = fields;
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "component",
            "fingerprint",
            "host",
            "labels",
            "level",
            "message",
            "metric",
            "starts_at",
            "state",
            "threshold",
            "timestamp",
            "value"
        ],
        "the seed's fields and the identity: {fields:?}"
    );
    assert_eq!(alerts[0]["state"], "firing");
    assert_eq!(alerts[0]["labels"]["alertname"], "memory_usage_percent");

    // In the file, once within the cooldown, however many ticks go by.
    let first = wait_for_line(&log, |l| l["event"] == "alert", 10 * SECOND)
        .unwrap_or_else(|| panic!("no alert line in the file; log:\n{}", server.log_text()));
    assert_seed_alert(&first);
    for _ in 0..6 {
        let message = next_data_where(&mut ws, |alerts| alerts.is_array()).await;
        assert_eq!(message["alerts"].as_array().map(Vec::len), Some(1));
    }
    let alert_lines = lines(&log).iter().filter(|l| l["event"] == "alert").count();
    assert_eq!(alert_lines, 1, "one notification per cooldown");

    // get_status shows the active alert and the sink's counters.
    let status = request(&mut ws, serde_json::json!({"type": "get_status"})).await;
    assert_eq!(status["type"], "status", "{status}");
    assert_eq!(
        status["active_alerts"].as_array().map(Vec::len),
        Some(1),
        "{status}"
    );
    let sinks = status["sinks"].as_array().expect("sinks array");
    let file = sinks
        .iter()
        .find(|s| s["name"] == "file")
        .unwrap_or_else(|| panic!("file sink in {status}"));
    assert_eq!(file["handled"], 1, "{file}");
    for counter in ["failed", "retried", "dropped"] {
        assert_eq!(file[counter], 0, "{counter} in {file}");
    }

    // Bad changes are refused and change nothing.
    for bad in [
        serde_json::json!({"type": "set_threshold", "component": "memory", "level": "warning", "value": -1}),
        serde_json::json!({"type": "set_threshold", "component": "memory", "level": "warning", "value": "high"}),
        serde_json::json!({"type": "set_threshold", "component": "swap", "level": "warning", "value": 50}),
        serde_json::json!({"type": "set_threshold", "component": "memory", "level": "severe", "value": 50}),
        serde_json::json!({"type": "configure_thresholds", "thresholds": {"memory_warning": "high"}}),
        serde_json::json!({"type": "configure_thresholds"}),
    ] {
        let reply = request(&mut ws, bad.clone()).await;
        assert_eq!(reply["type"], "error", "{bad} -> {reply}");
        assert_eq!(reply["code"], "INVALID_PARAMS", "{bad} -> {reply}");
        assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    // Raising the threshold past any possible value resolves the alert.
    let reply = request(
        &mut ws,
        serde_json::json!({"type": "set_threshold", "component": "memory", "level": "warning", "value": 100.0}),
    )
    .await;
    assert_eq!(reply["type"], "thresholds_updated", "{reply}");
    assert_eq!(
        reply["changes"][0]["metric"], "memory.percentage",
        "{reply}"
    );
    assert_eq!(reply["changes"][0]["value"], 100.0, "{reply}");
    let resolved = wait_for_line(&log, |l| l["event"] == "resolved", 10 * SECOND)
        .unwrap_or_else(|| panic!("no resolved line; log:\n{}", server.log_text()));
    assert_seed_alert(&resolved);
    parse_timestamp(&resolved["resolved_at"]);
    let quiet = next_data_where(&mut ws, Value::is_null).await;
    assert!(
        quiet.get("alerts").is_none(),
        "no alerts field when none: {quiet}"
    );

    // configure_thresholds, the seed's batch form, brings it back (cooldown permitting:
    // the WARNING was sent moments ago, so clients see it, the file does not again).
    let reply = request(
        &mut ws,
        serde_json::json!({"type": "configure_thresholds", "thresholds": {"memory_warning": 1}}),
    )
    .await;
    assert_eq!(reply["type"], "thresholds_updated", "{reply}");
    next_data_where(&mut ws, |alerts| alerts.is_array()).await;
    let status = request(&mut ws, serde_json::json!({"type": "get_status"})).await;
    let file = &status["sinks"][0];
    assert_eq!(file["handled"], 2, "alert + resolved: {status}");
    assert_eq!(
        lines(&log).iter().filter(|l| l["event"] == "alert").count(),
        1
    );
}

#[tokio::test]
async fn a_level_filter_keeps_warnings_from_a_sink() {
    let scratch = tempfile::tempdir().expect("scratch folder");
    let log = scratch.path().join("alerts.log");
    let server = start(&log, "min_level = \"CRITICAL\"\n");
    let mut ws = connect(&server.url("/")).await;
    next_data_where(&mut ws, |alerts| alerts.is_array()).await;
    let status = request(&mut ws, serde_json::json!({"type": "get_status"})).await;
    let file = &status["sinks"][0];
    assert_eq!(file["name"], "file", "{status}");
    // The file sink wants no snapshots (only sink-json does), so it is sent none.
    assert_eq!(file["snapshots_delivered"], 0, "{status}");
    assert_eq!(file["handled"], 0, "{status}");
    assert!(lines(&log).is_empty(), "the WARNING was filtered out");
}

/// A server whose memory alert fires at once, with the file sink and one more sink
/// whose server accepts connections and never answers: every delivery to it hangs until
/// the sink's own timeout.
struct HungSink {
    server: Server,
    ws: Client,
    log: std::path::PathBuf,
    _scratch: tempfile::TempDir,
    _hung: std::net::TcpListener,
}

impl HungSink {
    /// `table` is the sink's `[plugins.<name>]` table, given the hung server's address.
    async fn start(sink_crate: &str, table: impl Fn(std::net::SocketAddr) -> String) -> Self {
        let hung = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = hung.local_addr().expect("address");
        let scratch = tempfile::tempdir().expect("scratch folder");
        let log = scratch.path().join("alerts.log");
        let mut plugins = PLUGINS.to_vec();
        plugins.push(sink_crate);
        // One group per component and metric, sent at once: each alert is its own
        // notification, as the queue test below needs.
        let config = format!(
            "[alerts]\ngroup_wait = 0.0\ngroup_by = [\"component\", \"metric\"]\n\
             [[alerts.rules]]\nmetric = \"memory.percentage\"\nwarning = 1.0\n\n\
             [plugins.file]\nenabled = true\npath = {:?}\n\n{}",
            log.display().to_string(),
            table(address)
        );
        let server = Server::start(Setup {
            plugins: &plugins,
            config: &config,
            extra_files: &[],
        });
        let mut ws = connect(&server.url("/")).await;
        next_data_where(&mut ws, |alerts| alerts.is_array()).await;
        Self {
            server,
            ws,
            log,
            _scratch: scratch,
            _hung: hung,
        }
    }

    /// Measures 11 tick gaps while the sink hangs and checks none is late; then that the
    /// file sink got its alert meanwhile. Returns the hung sink's counters.
    async fn assert_cadence_kept(&mut self, sink: &str) -> Value {
        let gaps = tick_gaps(&mut self.ws, 11).await;
        let mut sorted = gaps.clone();
        sorted.sort();
        let worst = sorted.last().copied().unwrap_or_default();
        eprintln!(
            "monitoring_data gaps with a hung {sink} server: median {:?}, worst {worst:?}",
            sorted[sorted.len() / 2]
        );
        assert!(
            worst < Duration::from_millis(800),
            "a tick took {worst:?} with a hung {sink}: {gaps:?}"
        );
        assert!(wait_for_line(&self.log, |l| l["event"] == "alert", 5 * SECOND).is_some());
        let status = request(&mut self.ws, serde_json::json!({"type": "get_status"})).await;
        status["sinks"]
            .as_array()
            .and_then(|sinks| sinks.iter().find(|s| s["name"] == sink))
            .cloned()
            .unwrap_or_else(|| panic!("{sink} in {status}"))
    }
}

#[tokio::test]
async fn a_hung_webhook_does_not_stall_the_broadcast() {
    let mut hung = HungSink::start("sink-webhook", |address| {
        format!("[plugins.webhook]\nenabled = true\nurl = \"http://{address}/hook\"\ntimeout_secs = 30.0\n")
    })
    .await;
    let webhook = hung.assert_cadence_kept("webhook").await;
    assert_eq!(webhook["handled"], 0, "{webhook}");
    // Shutdown gives the hung sink its deadline, then gives up on it.
    let started = Instant::now();
    let exit = hung.server.terminate(15 * SECOND);
    assert!(exit.is_some(), "the server stops despite the hung sink");
    eprintln!("shutdown with a hung webhook took {:?}", started.elapsed());
    assert!(
        started.elapsed() < 12 * SECOND,
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_hung_smtp_server_does_not_stall_the_broadcast() {
    // The SMTP server accepts the connection and never sends its greeting.
    let mut hung = HungSink::start("sink-email", |address| {
        format!(
            "[plugins.email]\nenabled = true\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\n\
             security = \"none\"\nfrom = \"monitor@example.com\"\nto = [\"ops@example.com\"]\n\
             timeout_secs = 30\n",
            address.port()
        )
    })
    .await;
    let email = hung.assert_cadence_kept("email").await;
    assert_eq!(
        email["handled"], 0,
        "nothing was delivered to the hung server: {email}"
    );
    assert_eq!(
        email["failed"], 0,
        "the delivery is still waiting on the server: {email}"
    );
    // The email sink wants no snapshots (only sink-json does): none are sent, so none
    // pile up behind the hung delivery either.
    assert_eq!(
        (&email["snapshots_delivered"], &email["snapshots_skipped"]),
        (&serde_json::json!(0), &serde_json::json!(0)),
        "{email}"
    );
}

#[tokio::test]
async fn a_full_sink_queue_says_so_in_the_log_once() {
    // Four rules fire on the first tick, four groups (by component and metric); the
    // hung webhook takes the first notification and hangs on it, and its queue holds
    // one more: the rest are dropped in that tick.
    let hung = HungSink::start("sink-webhook", |address| {
        let rules: String = ["disk.percentage", "disk.total", "memory.total"]
            .iter()
            .map(|metric| format!("[[alerts.rules]]\nmetric = \"{metric}\"\nwarning = 1.0\n\n"))
            .collect();
        format!(
            "[plugins.webhook]\nenabled = true\nurl = \"http://{address}/hook\"\n\
             timeout_secs = 30.0\nqueue_size = 1\n\n{rules}"
        )
    })
    .await;
    let warning = hung
        .server
        .wait_for_log(|l| l.contains("Sink queue full"), 10 * SECOND)
        .unwrap_or_else(|| {
            panic!(
                "no warning about the dropped alerts:\n{}",
                hung.server.log_text()
            )
        });
    assert!(
        warning.contains("webhook") && warning.contains("dropped"),
        "the warning names the sink and the count: {warning}"
    );
    // Ticks go on; no new drops are due, and none is logged twice.
    tokio::time::sleep(2 * SECOND).await;
    let warnings = hung
        .server
        .logs()
        .iter()
        .filter(|l| l.contains("Sink queue full"))
        .count();
    assert_eq!(warnings, 1, "{}", hung.server.log_text());
}
