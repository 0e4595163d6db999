//! The real binary with the real plugins, through a real WebSocket client: what a new
//! user sees at `ws://127.0.0.1:PORT/`.

use std::time::Duration;

use monitoring_test_support::{
    connect, next_json, next_of_type, parse_timestamp, send_text, Server, Setup, CORE_COLLECTORS,
};
use serde_json::Value;

const SECOND: Duration = Duration::from_secs(1);

/// A check of a field's JSON type.
type TypeCheck = fn(&Value) -> bool;

/// Every field of a section, with the JSON type it must have.
fn assert_fields(section: &Value, name: &str, fields: &[(&str, TypeCheck)]) {
    for (field, is_right_type) in fields {
        let value = &section[*field];
        assert!(
            is_right_type(value),
            "{name}.{field} has the wrong type or is missing: {value} in {section}"
        );
    }
}

fn assert_seed_format(message: &Value) {
    assert_eq!(message["type"], "monitoring_data");
    parse_timestamp(&message["timestamp"]);
    let data = &message["data"];
    let is_number = Value::is_number;
    let is_u64 = |v: &Value| v.is_u64();
    let is_string = Value::is_string;
    let is_number_array = |v: &Value| {
        v.as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_number))
    };
    assert_fields(
        &data["processor"],
        "processor",
        &[
            ("usage_percent", is_number),
            ("per_core_usage", is_number_array),
            ("core_count", is_u64),
            ("logical_count", is_u64),
            ("frequency_current", is_number),
            ("frequency_max", is_number),
        ],
    );
    assert_fields(
        &data["memory"],
        "memory",
        &[
            ("total", is_u64),
            ("available", is_u64),
            ("used", is_u64),
            ("percentage", is_number),
        ],
    );
    assert_fields(
        &data["disk"],
        "disk",
        &[
            ("total", is_u64),
            ("used", is_u64),
            ("free", is_u64),
            ("percentage", is_number),
            ("path", is_string),
        ],
    );
    assert_fields(
        &data["system"],
        "system",
        &[
            ("os_name", is_string),
            ("os_version", is_string),
            ("os_release", is_string),
            ("architecture", is_string),
            ("machine", is_string),
            ("processor", is_string),
            ("platform", is_string),
            ("hostname", is_string),
            ("processes", is_u64),
            ("boot_time", is_string),
        ],
    );
    let percent = |v: &Value| v.as_f64().is_some_and(|p| (0.0..=100.0).contains(&p));
    assert!(percent(&data["processor"]["usage_percent"]), "{data}");
    assert!(percent(&data["memory"]["percentage"]), "{data}");
    assert!(data["memory"]["used"].as_u64() <= data["memory"]["total"].as_u64());
    assert!(data["disk"]["used"].as_u64() <= data["disk"]["total"].as_u64());
    // The seed's rules (memory 80 %, disk 85 %, disk free under 1 GB): alerts are
    // there exactly when this machine crosses one of them.
    let number = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let crossed = number(&data["memory"]["percentage"]) >= 80.0
        || number(&data["disk"]["percentage"]) >= 85.0
        || number(&data["disk"]["free"]) < 1024.0 * 1024.0 * 1024.0;
    assert_eq!(
        message.get("alerts").is_some(),
        crossed,
        "alerts exactly when a seed rule is crossed: {message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_every_section_in_the_seed_format_twice_a_second() {
    let server = Server::start_default();
    let mut ws = connect(&server.url("/")).await;
    let greeting = next_json(&mut ws, SECOND)
        .await
        .expect("a connection message first");
    assert_eq!(greeting["type"], "connection");
    assert_eq!(greeting["status"], "connected");
    parse_timestamp(&greeting["timestamp"]);

    let (first, first_at) = next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
        .await
        .expect("first tick");
    let (second, second_at) = next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
        .await
        .expect("second tick");
    assert_seed_format(&first);
    assert_seed_format(&second);
    let received_apart = second_at.duration_since(first_at);
    assert!(
        (Duration::from_millis(350)..=Duration::from_millis(650)).contains(&received_apart),
        "messages arrived {received_apart:?} apart, expected about 500 ms"
    );
    let stamped_apart =
        parse_timestamp(&second["timestamp"]) - parse_timestamp(&first["timestamp"]);
    assert!(
        (350..=650).contains(&stamped_apart.num_milliseconds()),
        "timestamps {stamped_apart} apart, expected about 500 ms"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ws_path_serves_the_same_stream() {
    let server = Server::start_default();
    let mut ws = connect(&server.url("/ws")).await;
    assert_eq!(
        next_json(&mut ws, SECOND).await.expect("greeting")["type"],
        "connection"
    );
    let (message, _) = next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
        .await
        .expect("a tick");
    assert_seed_format(&message);
}

#[tokio::test(flavor = "multi_thread")]
async fn control_messages_are_answered_and_errors_keep_the_connection() {
    let server = Server::start_default();
    let mut ws = connect(&server.url("/")).await;

    send_text(&mut ws, r#"{"type":"ping"}"#).await;
    let (pong, _) = next_of_type(&mut ws, "pong", SECOND).await.expect("pong");
    parse_timestamp(&pong["timestamp"]);

    send_text(&mut ws, r#"{"type":"get_status"}"#).await;
    let (status, _) = next_of_type(&mut ws, "status", SECOND)
        .await
        .expect("status");
    assert_eq!(status["message"], "Server is running");
    assert_eq!(status["connected_clients"], 1);
    assert_eq!(status["monitor_interval"], 0.5);
    assert!(status["server_version"].is_string() && status["uptime_seconds"].is_number());
    parse_timestamp(&status["server_start_time"]);
    let plugins = status["plugins"].as_array().expect("plugins list");
    assert_eq!(
        plugins.iter().filter(|p| p["state"] == "running").count(),
        CORE_COLLECTORS.len(),
        "{status}"
    );

    send_text(&mut ws, "this is not json").await;
    let (error, _) = next_of_type(&mut ws, "error", SECOND)
        .await
        .expect("error reply");
    assert_eq!(error["code"], "INVALID_FORMAT");
    send_text(&mut ws, r#"{"type":"reboot"}"#).await;
    let (error, _) = next_of_type(&mut ws, "error", SECOND)
        .await
        .expect("error reply");
    assert_eq!(error["code"], "UNKNOWN_COMMAND");

    send_text(&mut ws, r#"{"type":"unsubscribe"}"#).await;
    next_of_type(&mut ws, "unsubscribed", SECOND)
        .await
        .expect("unsubscribe confirmed");
    // Nothing but replies to our own commands for well over two ticks: the one pong,
    // no data.
    send_text(&mut ws, r#"{"type":"ping"}"#).await;
    let mut pongs = 0;
    let quiet = tokio::time::timeout(Duration::from_millis(1300), async {
        while let Some(message) = next_json(&mut ws, 2 * SECOND).await {
            assert_ne!(
                message["type"], "monitoring_data",
                "data after unsubscribe: {message}"
            );
            pongs += usize::from(message["type"] == "pong");
        }
    })
    .await;
    assert!(quiet.is_err(), "the connection closed after unsubscribe");
    assert_eq!(pongs, 1, "one pong for one ping after unsubscribe");

    send_text(&mut ws, r#"{"type":"subscribe"}"#).await;
    next_of_type(&mut ws, "subscribed", SECOND)
        .await
        .expect("subscribe confirmed");
    next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
        .await
        .expect("data again after subscribe");
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_beyond_max_clients_are_closed_with_1008() {
    let server = Server::start(Setup {
        plugins: &CORE_COLLECTORS,
        config: "max_clients = 2\n",
        extra_files: &[],
    });
    let mut first = connect(&server.url("/")).await;
    let mut second = connect(&server.url("/")).await;
    assert_eq!(
        next_json(&mut first, SECOND).await.expect("greeting")["type"],
        "connection"
    );
    assert_eq!(
        next_json(&mut second, SECOND).await.expect("greeting")["type"],
        "connection"
    );
    let mut third = connect(&server.url("/")).await;
    let close = tokio::time::timeout(SECOND, futures_util::StreamExt::next(&mut third)).await;
    match close {
        Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame))))) => {
            assert_eq!(u16::from(frame.code), 1008);
            assert_eq!(frame.reason.as_str(), "Server at capacity");
        }
        other => panic!("expected a 1008 close, got {other:?}"),
    }
    // The admitted clients are unaffected.
    next_of_type(&mut first, "monitoring_data", 2 * SECOND)
        .await
        .expect("first still served");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_config_runs_every_first_party_plugin_without_complaint() {
    let plugins = monitoring_test_support::first_party_plugins();
    assert!(plugins.len() >= 12, "{plugins:?}");
    let names: Vec<&str> = plugins.iter().map(String::as_str).collect();
    let server = Server::start_shipped(&names);
    let mut ws = connect(&server.url("/")).await;
    let (message, _) = next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
        .await
        .expect("a tick");
    assert_seed_format(&message);
    let logs = server.logs();
    let complaints: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    assert!(
        complaints.is_empty(),
        "the shipped config must start cleanly:\n{}",
        logs.join("\n")
    );
    let console = logs
        .iter()
        .any(|l| l.contains("Plugin loaded.") && l.contains("plugin=console"));
    assert!(
        console,
        "the console sink is on by default:\n{}",
        logs.join("\n")
    );
    for collector in ["cpu", "memory", "disk", "system"] {
        assert!(
            logs.iter().any(
                |l| l.contains("Plugin loaded.") && l.contains(&format!("plugin={collector} "))
            ),
            "{collector} not loaded:\n{}",
            logs.join("\n")
        );
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_closes_clients_with_1001_and_exits_cleanly() {
    let server = Server::start_default();
    let mut ws = connect(&server.url("/")).await;
    next_of_type(&mut ws, "monitoring_data", 2 * SECOND)
        .await
        .expect("a tick");
    let waiting = tokio::spawn(async move {
        loop {
            match futures_util::StreamExt::next(&mut ws).await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => {
                    return frame.map(|f| u16::from(f.code))
                }
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    });
    let status = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(10)))
        .await
        .expect("join");
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "exit status {status:?}"
    );
    assert_eq!(waiting.await.expect("join"), Some(1001));
}
