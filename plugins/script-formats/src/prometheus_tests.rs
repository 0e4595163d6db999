use super::*;

fn family<'a>(parsed: &'a Parsed, name: &str) -> &'a Family {
    parsed
        .section
        .families
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("family {name} in {:?}", parsed.section))
}

#[test]
fn reads_a_real_node_exporter_collector_script() {
    // Written by Debian's prometheus-node-exporter-collectors `directory-size.sh`.
    let parsed = parse(include_str!("../tests/fixtures/directory-size.prom")).expect("parses");
    let sizes = family(&parsed, "node_directory_size_bytes");
    assert_eq!(sizes.kind, FamilyKind::Gauge);
    assert_eq!(sizes.help, "Disk space used by some directories");
    assert_eq!(sizes.samples.len(), 2);
    assert_eq!(sizes.samples[0].labels["directory"], "/usr/share/doc");
    assert!(sizes.samples[0].value > 0.0);
    assert!(parsed.section.values.is_empty(), "every sample has labels");
}

#[test]
fn groups_histogram_and_summary_samples_and_drops_what_is_not_finite() {
    let parsed = parse(include_str!("../tests/fixtures/histogram.prom")).expect("parses");
    let names: Vec<_> = parsed
        .section
        .families
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "http_request_duration_seconds",
            "rpc_duration_seconds",
            "msdos_file_access_time_seconds",
            "metric_without_timestamp_and_labels"
        ]
    );
    let histogram = family(&parsed, "http_request_duration_seconds");
    assert_eq!(histogram.kind, FamilyKind::Histogram);
    assert_eq!(histogram.samples.len(), 5);
    assert_eq!(histogram.samples[2].labels["le"], "+Inf");
    let summary = family(&parsed, "rpc_duration_seconds");
    assert_eq!(summary.samples.len(), 3, "the NaN quantile is dropped");
    assert_eq!(summary.samples[1].value, 1.7560473e7);
    let escaped = family(&parsed, "msdos_file_access_time_seconds");
    assert_eq!(
        escaped.help,
        "Escapes in help: a backslash \\ and a newline \n."
    );
    assert_eq!(escaped.samples[0].labels["path"], "C:\\DIR\\FILE.TXT");
    assert_eq!(
        escaped.samples[0].labels["error"],
        "Cannot find file:\n\"FILE.TXT\""
    );
    assert_eq!(
        parsed.section.values["metric_without_timestamp_and_labels"],
        12.47
    );
    assert_eq!(
        parsed.section.values["http_request_duration_seconds_sum"],
        53423.0
    );
    assert!(!parsed.has_timestamps);
}

#[test]
fn notices_timestamps() {
    let parsed = parse("up 1 1700000000000\n").expect("parses");
    assert!(parsed.has_timestamps);
    assert_eq!(parsed.section.values["up"], 1.0);
}

#[test]
fn names_the_line_of_each_error() {
    let cases = [
        ("ok 1\nbad-name 1\n", 2, "not a valid metric name"),
        ("a{x=\"1\"} one\n", 1, "not a number"),
        ("# TYPE a gauge\n# TYPE a counter\n", 2, "second TYPE"),
        ("a 1\n# TYPE a gauge\n", 2, "after its samples"),
        ("# TYPE a meter\n", 1, "unknown metric type"),
        ("a{x=\"1} 2\n", 1, "no closing quote"),
        ("a{x=1} 2\n", 1, "not quoted"),
        ("a{x=\"1\",x=\"2\"} 2\n", 1, "given twice"),
        ("\n\na{x=\"1\"} 2\na{x=\"1\"} 3\n", 4, "same labels"),
        ("a 1 2 3\n", 1, "unexpected"),
        ("a\n", 1, "no value"),
    ];
    for (text, line, words) in cases {
        let err = parse(text).expect_err(text);
        assert_eq!(err.line, Some(line), "{text:?}: {err}");
        assert!(err.message.contains(words), "{text:?}: {err}");
    }
}
