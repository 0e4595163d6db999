//! The sink contract, checked through the exported root module: every event goes in as
//! the JSON the host sends, through the `extern "C"` constructor and `SinkAbi`.

use abi_stable::std_types::RStr;
use serde_json::json;

use crate::{
    Alert, AlertLevel, ErrorKind, Exported, PluginError, PluginKind, PluginModRef, Sections, Sink,
    SinkEvent,
};

/// What the caller expects of the events a sink acts on (alerts and resolutions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered: the peer (file, server) is there.
    Succeeds,
    /// Refused with this kind of error, because the test gives the sink no peer (an
    /// SMTP server on a closed port, say). A sink that claims success without its peer,
    /// or reports an unclassified error, fails the check.
    FailsWith(ErrorKind),
}

/// One sample alert: memory over its warning threshold, with the seed's field values.
pub fn sample_alert() -> Alert {
    Alert {
        timestamp: "2025-01-03T10:15:30.123456".into(),
        component: "memory".into(),
        metric: "usage_percent".into(),
        value: 85.5,
        threshold: 80.0,
        level: AlertLevel::Warning,
        message: "High memory usage: 85.5% (threshold: 80.0%)".into(),
        ..Default::default()
    }
}

/// One sample snapshot event, with sections as the built-in collectors write them.
pub fn sample_snapshot() -> SinkEvent {
    let data = json!({
        "processor": {"usage_percent": 25.5, "per_core_usage": [20.1, 30.9],
                      "core_count": 1, "logical_count": 2,
                      "frequency_current": 2495.0, "frequency_max": 3700.0},
        "memory": {"total": 17179869184u64, "available": 8589934592u64,
                   "used": 8589934592u64, "percentage": 50.0},
        "disk": {"total": 500107862016u64, "used": 250053931008u64,
                 "free": 250053931008u64, "percentage": 50.0, "path": "/"}
    });
    SinkEvent::Snapshot {
        timestamp: "2025-01-03T10:15:30.123456".into(),
        data: data.as_object().cloned().unwrap_or_default(),
    }
}

/// Builds `S` from `settings` (JSON) through its exported root module and delivers an
/// alert, a resolution, a snapshot, an event kind it does not know, then flushes.
/// Alerts and resolutions must go as `alerts` says; the snapshot, the unknown event
/// and the flush must succeed.
///
/// # Panics
/// When the sink breaks the contract; this is a test helper.
pub fn check_sink<S: Sink + Exported>(settings: &str, alerts: Delivery) {
    if let Err(problem) = sink_compliance(S::root_module(), settings, alerts) {
        panic!("{} broke the sink contract: {problem}", S::NAME);
    }
}

/// [`check_sink`] without the panic, for any root module: the first problem.
pub fn sink_compliance(
    module: PluginModRef,
    settings: &str,
    alerts: Delivery,
) -> Result<(), String> {
    let metadata = (module.metadata())();
    if metadata.kind.as_enum().ok() != Some(&PluginKind::Sink) {
        return Err(format!("declares kind {:?}, not a sink", metadata.kind));
    }
    if module.new_collector().is_some() {
        return Err("a sink exports a collector constructor".into());
    }
    let new = module.new_sink().ok_or("exports no sink constructor")?;
    match new(RStr::from_str(r#"{"surely_not_a_setting": 1}"#)).into_result() {
        Err(e) if e.kind() == Some(ErrorKind::Config) => {}
        Err(e) => return Err(format!("an unknown setting gives {e}, not a config error")),
        Ok(_) => {
            return Err("accepts an unknown setting (use #[serde(deny_unknown_fields)])".into())
        }
    }
    let mut sink = new(RStr::from_str(settings))
        .into_result()
        .map_err(|e| format!("does not build from {settings}: {e}"))?;
    let mut deliver = |what: &str, event: String| {
        sink.deliver(RStr::from_str(&event))
            .into_result()
            .map_err(|e| (what.to_owned(), e))
    };
    let alert = sample_alert();
    let events = [
        ("an alert", json!({"event": "alert", "alert": alert})),
        (
            "a resolution",
            json!({"event": "resolved", "alert": alert,
                   "resolved_at": "2025-01-03T10:20:00.000000"}),
        ),
    ];
    for (what, event) in events {
        let outcome = deliver(what, event.to_string());
        check_outcome(what, outcome, alerts)?;
    }
    let snapshot = serde_json::to_string(&sample_snapshot()).map_err(|e| e.to_string())?;
    let unknown = json!({"event": "capacity_forecast", "data": {"memory": {"days": 3}}});
    for (what, event) in [
        ("a snapshot", snapshot),
        ("an event kind it does not know", unknown.to_string()),
    ] {
        deliver(what, event).map_err(|(what, e)| format!("{what} gave {e}"))?;
    }
    sink.flush()
        .into_result()
        .map_err(|e| format!("flush gave {e}"))
}

fn check_outcome(
    what: &str,
    outcome: Result<(), (String, PluginError)>,
    expected: Delivery,
) -> Result<(), String> {
    match (outcome, expected) {
        (Ok(()), Delivery::Succeeds) => Ok(()),
        (Err((_, e)), Delivery::FailsWith(kind)) if e.kind() == Some(kind) => Ok(()),
        (Ok(()), Delivery::FailsWith(kind)) => Err(format!(
            "{what} was reported delivered, though it should fail as {kind:?}"
        )),
        (Err((_, e)), expected) => Err(format!("{what} gave {e}; expected {expected:?}")),
    }
}

/// The sections of [`sample_snapshot`], for tests that need only the data.
pub fn sample_sections() -> Sections {
    match sample_snapshot() {
        SinkEvent::Snapshot { data, .. } => data,
        _ => Sections::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::prelude::*;

    /// What the recording sink saw, shared with the test.
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

    #[derive(Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Config {
        /// Fail alerts as retryable, as a sink without its peer does.
        no_peer: bool,
        /// Fail snapshots, which no sink may do.
        fail_snapshots: bool,
    }

    struct Recording(Config);

    impl Sink for Recording {
        const NAME: &'static str = "recording";
        const DESCRIPTION: &'static str = "Records what it is given.";
        type Config = Config;

        fn new(config: Config) -> Result<Self, PluginError> {
            Ok(Self(config))
        }

        fn deliver(&mut self, event: &SinkEvent) -> Result<(), PluginError> {
            let kind = match event {
                SinkEvent::Alert { .. } => "alert",
                SinkEvent::Resolved { .. } => "resolved",
                SinkEvent::Snapshot { .. } => "snapshot",
                _ => "unknown",
            };
            if let Ok(mut seen) = SEEN.lock() {
                seen.push(kind.to_owned());
            }
            match (kind, &self.0) {
                (
                    "snapshot",
                    Config {
                        fail_snapshots: true,
                        ..
                    },
                ) => Err(PluginError::fatal("snapshots refused")),
                ("alert" | "resolved", Config { no_peer: true, .. }) => {
                    Err(PluginError::retryable("connection refused"))
                }
                _ => Ok(()),
            }
        }
    }

    // Not `declare_sink!`: the collector tests of this crate already export the one
    // library header a crate may have. This is the same root module the macro builds.
    impl Exported for Recording {
        fn root_module() -> PluginModRef {
            extern "C" fn metadata() -> crate::PluginMetadata {
                crate::sink_metadata::<Recording>("0.0.0")
            }
            crate::sink_module::<Recording>(metadata)
        }
    }

    #[test]
    fn a_compliant_sink_passes_and_never_sees_the_unknown_event() {
        check_sink::<Recording>("{}", Delivery::Succeeds);
        check_sink::<Recording>(
            r#"{"no_peer": true}"#,
            Delivery::FailsWith(ErrorKind::Retryable),
        );
        let seen = SEEN.lock().map(|s| s.clone()).unwrap_or_default();
        assert!(!seen.iter().any(|k| k == "unknown"), "{seen:?}");
        assert!(seen.iter().any(|k| k == "snapshot"), "{seen:?}");
    }

    #[test]
    fn a_sink_that_fails_a_snapshot_or_fakes_delivery_fails_the_check() {
        let module = Recording::root_module;
        let err = sink_compliance(module(), r#"{"fail_snapshots": true}"#, Delivery::Succeeds)
            .unwrap_err();
        assert!(err.starts_with("a snapshot gave fatal error"), "{err}");
        let err =
            sink_compliance(module(), "{}", Delivery::FailsWith(ErrorKind::Retryable)).unwrap_err();
        assert!(err.contains("reported delivered"), "{err}");
        let err =
            sink_compliance(module(), r#"{"no_peer": true}"#, Delivery::Succeeds).unwrap_err();
        assert!(err.contains("connection refused"), "{err}");
    }
}
