//! Script families in the real exposition: their own names and types, valid text in
//! both formats, and our names kept when a script reuses one.

use metric_families::{core_series, scripted_series};
use monitoring_plugin_api::Sections;
use serde_json::json;

use super::super::builder::Builder;
use metric_families::Emit;

fn data() -> Sections {
    json!({
        "backup": {"format": "prometheus", "values": {}, "families": [
            {"name": "backup_age_seconds", "type": "gauge", "help": "Age \"of\" the\nbackup",
             "samples": [{"name": "backup_age_seconds", "labels": {"job": "d\"b\n"}, "value": 42.0}]},
            {"name": "backup_runs_total", "type": "counter",
             "samples": [{"name": "backup_runs_total", "value": 7.0}]},
            {"name": "monitoring_server_connected_clients", "type": "gauge",
             "samples": [{"name": "monitoring_server_connected_clients", "value": 99.0}]},
        ]},
    })
    .as_object()
    .cloned()
    .expect("an object")
}

fn both_formats() -> (String, String) {
    let mut b = Builder::default();
    core_series(&mut b, &data());
    b.gauge(
        "monitoring_server_connected_clients",
        "ours",
        None,
        vec![],
        1.0,
    );
    scripted_series(&mut b, &data());
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, b.registry()).expect("encodes");
    let mut open = String::new();
    prometheus_client::encoding::text::encode(&mut open, b.registry()).expect("encodes");
    (text, open)
}

#[test]
fn script_families_are_exposed_under_their_own_names() {
    let (text, open) = both_formats();
    assert!(text.contains("# TYPE backup_age_seconds gauge"), "{text}");
    assert!(
        text.contains(r#"backup_age_seconds{job="d\"b\n"} 42"#),
        "{text}"
    );
    assert!(text.contains("# TYPE backup_runs_total counter"), "{text}");
    assert!(text.contains("backup_runs_total 7"), "{text}");
    assert!(open.contains("# TYPE backup_runs counter"), "{open}");
    assert!(open.contains("backup_runs_total 7"), "{open}");
    assert!(
        text.contains("monitoring_server_connected_clients 1"),
        "{text}"
    );
    assert!(!text.contains(" 99"), "ours win the clash: {text}");
    assert_eq!(
        text.matches("# TYPE monitoring_server_connected_clients ")
            .count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("monitoring_scripted_families_refused 1"),
        "{text}"
    );
}
