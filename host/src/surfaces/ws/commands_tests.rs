//! Tests of [`super::parse_command`]: every command's parameters, good and bad.

use super::*;

fn code(text: &str) -> Option<ErrorCode> {
    match parse_command(text) {
        Err(ServerMessage::Error { code, .. }) => Some(code),
        _ => None,
    }
}

#[test]
fn a_query_carries_its_parameters_as_a_query_string_would() {
    let parsed =
        parse_command(r#"{"type":"query","series":["a","b"],"from":"-1h","points":50,"id":"x"}"#);
    let Ok(Command::Query(query)) = parsed else {
        panic!("a query: {parsed:?}");
    };
    assert_eq!(query.what, Endpoint::Query);
    assert_eq!(query.id, Some(Value::String("x".into())));
    let mut params = query.params;
    params.sort();
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("from", "-1h"),
            ("points", "50"),
            ("series", "a"),
            ("series", "b")
        ]
    );
    let events = parse_command(r#"{"type":"query","what":"events"}"#);
    assert!(matches!(
        events,
        Ok(Command::Query(HistoryQuery {
            what: Endpoint::Events,
            ..
        }))
    ));
    assert_eq!(
        code(r#"{"type":"query","what":"everything"}"#),
        Some(ErrorCode::InvalidParams)
    );
    assert_eq!(
        code(r#"{"type":"query","from":{"a":1}}"#),
        Some(ErrorCode::InvalidParams)
    );
    assert_eq!(
        code(r#"{"type":"query","id":[1]}"#),
        Some(ErrorCode::InvalidParams)
    );
    let many = format!(
        r#"{{"type":"query","series":{:?}}}"#,
        vec!["s"; MAX_SERIES + 1]
    );
    assert_eq!(code(&many), Some(ErrorCode::InvalidParams));
    let long = format!(
        r#"{{"type":"query","series":"{}"}}"#,
        "x".repeat(MAX_PARAM_CHARS + 1)
    );
    assert_eq!(code(&long), Some(ErrorCode::InvalidParams));
    // A query changes nothing: any viewer may ask.
    assert_eq!(
        parse_command(r#"{"type":"query","series":"a"}"#)
            .map(|c| c.control_name())
            .ok(),
        Some(None)
    );
}

#[test]
fn parses_the_seed_commands() {
    assert_eq!(
        parse_command(r#"{"type":"ping"}"#).ok(),
        Some(Command::Ping)
    );
    assert_eq!(
        parse_command(r#"{"type":"get_status"}"#).ok(),
        Some(Command::GetStatus)
    );
    assert_eq!(
        parse_command(r#"{"type":"subscribe"}"#).ok(),
        Some(Command::Subscribe(SubscribeParams::default()))
    );
    assert_eq!(
        parse_command(r#"{"type":"unsubscribe"}"#).ok(),
        Some(Command::Unsubscribe)
    );
}

#[test]
fn an_overview_may_ask_for_summaries_of_every_host() {
    let detail = |text: &str| match parse_command(text) {
        Ok(Command::Subscribe(params)) => Some(params.detail),
        _ => None,
    };
    assert_eq!(
        detail(r#"{"type":"subscribe","hosts":["*"],"detail":"summary"}"#),
        Some(FleetDetail::Summary)
    );
    assert_eq!(
        detail(r#"{"type":"subscribe","hosts":["web-1"]}"#),
        Some(FleetDetail::Full)
    );
    for refused in [
        r#"{"type":"subscribe","hosts":["web-1"],"detail":"summary"}"#,
        r#"{"type":"subscribe","detail":"summary"}"#,
        r#"{"type":"subscribe","hosts":["*"],"detail":"tiny"}"#,
        r#"{"type":"subscribe","hosts":["*"],"detail":1}"#,
    ] {
        assert_eq!(detail(refused), None, "{refused}");
    }
}

#[test]
fn subscribe_may_choose_fleet_hosts() {
    let hosts = |text: &str| match parse_command(text) {
        Ok(Command::Subscribe(params)) => params.hosts,
        other => panic!("{other:?}"),
    };
    assert_eq!(hosts(r#"{"type":"subscribe"}"#), None);
    assert_eq!(
        hosts(r#"{"type":"subscribe","hosts":["*"]}"#),
        Some(vec!["*".to_owned()])
    );
    assert_eq!(
        hosts(r#"{"type":"subscribe","hosts":["web-2","db-1","web-2"]}"#),
        Some(vec!["db-1".to_owned(), "web-2".to_owned()])
    );
    for bad in [
        r#"{"type":"subscribe","hosts":[]}"#,
        r#"{"type":"subscribe","hosts":"*"}"#,
        r#"{"type":"subscribe","hosts":["*","web-1"]}"#,
        r#"{"type":"subscribe","hosts":["a.b"]}"#,
        r#"{"type":"subscribe","hosts":[1]}"#,
    ] {
        assert_eq!(code(bad), Some(ErrorCode::InvalidParams), "{bad}");
    }
}

#[test]
fn subscribe_may_choose_sections_and_rate() {
    let command = parse_command(
        r#"{"type":"subscribe","sections":["memory","processor","memory"],"interval_ms":2000}"#,
    );
    let expected = SubscribeParams {
        sections: Some(vec!["memory".into(), "processor".into()]),
        interval_ms: Some(2000),
        hosts: None,
        detail: FleetDetail::Full,
    };
    assert_eq!(command.ok(), Some(Command::Subscribe(expected)));
    assert_eq!(
        code(r#"{"type":"subscribe","sections":"memory"}"#),
        Some(ErrorCode::InvalidParams)
    );
    assert_eq!(
        code(r#"{"type":"subscribe","sections":[]}"#),
        Some(ErrorCode::InvalidParams)
    );
    assert_eq!(
        code(r#"{"type":"subscribe","sections":[1]}"#),
        Some(ErrorCode::InvalidParams)
    );
    assert_eq!(
        code(r#"{"type":"subscribe","interval_ms":-5}"#),
        Some(ErrorCode::InvalidParams)
    );
    assert_eq!(
        code(r#"{"type":"subscribe","interval_ms":"fast"}"#),
        Some(ErrorCode::InvalidParams)
    );
}

#[test]
fn threshold_commands() {
    assert_eq!(
        parse_command(
            r#"{"type":"set_threshold","component":"memory","level":"warning","value":75}"#
        )
        .ok(),
        Some(Command::SetThreshold {
            target: "memory".into(),
            level: AlertLevel::Warning,
            value: 75.into()
        })
    );
    assert!(matches!(
        parse_command(
            r#"{"type":"set_threshold","component":"disk","level":"CRITICAL","value":97}"#
        ),
        Ok(Command::SetThreshold {
            level: AlertLevel::Critical,
            ..
        })
    ));
    let Err(ServerMessage::Error {
        message,
        code: refused,
    }) = parse_command(
        r#"{"type":"set_threshold","component":"memory","level":"fatal","value":50}"#,
    )
    else {
        panic!("an unknown level is refused");
    };
    assert_eq!(refused, ErrorCode::InvalidParams);
    assert_eq!(
        message,
        "unknown level `fatal`: expected `warning` or `critical`"
    );
    assert!(matches!(
        parse_command(r#"{"type":"set_threshold","metric":"disk.free","level":"warning","value":2.5}"#),
        Ok(Command::SetThreshold { target, .. }) if target == "disk.free"
    ));
    assert!(matches!(
        parse_command(r#"{"type":"configure_thresholds","thresholds":{"memory_warning":70}}"#),
        Ok(Command::ConfigureThresholds(map)) if map.len() == 1
    ));
    for bad in [
        r#"{"type":"set_threshold","level":"warning","value":75}"#,
        r#"{"type":"set_threshold","component":"memory","value":75}"#,
        r#"{"type":"set_threshold","component":"memory","level":"warning","value":"75"}"#,
        r#"{"type":"configure_thresholds","thresholds":[70]}"#,
        r#"{"type":"configure_thresholds"}"#,
    ] {
        assert_eq!(code(bad), Some(ErrorCode::InvalidParams), "{bad}");
    }
}

#[test]
fn errors_quote_a_short_prefix_of_the_input() {
    assert_eq!(excerpt("short"), "short");
    let long = "é".repeat(200);
    assert_eq!(excerpt(&long).chars().count(), EXCERPT_CHARS + 1);
    let huge = format!(r#"{{"type":"{}"}}"#, "x".repeat(10_000));
    let Err(ServerMessage::Error { message, .. }) = parse_command(&huge) else {
        panic!("refused");
    };
    assert!(message.len() < 100, "{message}");
}

#[test]
fn bad_input_gets_the_right_code() {
    assert_eq!(code("not json"), Some(ErrorCode::InvalidFormat));
    assert_eq!(code("[1]"), Some(ErrorCode::InvalidFormat));
    assert_eq!(code(r#"{"type":3}"#), Some(ErrorCode::InvalidFormat));
    assert_eq!(
        code(r#"{"type":"reboot"}"#),
        Some(ErrorCode::UnknownCommand)
    );
}
