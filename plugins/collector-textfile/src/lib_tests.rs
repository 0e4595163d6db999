use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use monitoring_plugin_api::sections::scripted::{Family, FamilyKind};

use super::*;

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("textfile-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn collector(dir: &Path) -> TextfileCollector {
    TextfileCollector::new(Config {
        dir: Some(dir.to_owned()),
        ..Config::default()
    })
    .expect("builds")
}

fn family<'a>(section: &'a PrometheusSection, name: &str) -> Option<&'a Family> {
    section.families.iter().find(|f| f.name == name)
}

#[test]
fn obeys_the_collector_contract_and_is_off_without_a_dir() {
    let dir = temp_dir("contract");
    std::fs::write(dir.join("a.prom"), "up 1\n").expect("write");
    let settings = serde_json::json!({ "dir": dir }).to_string();
    let root = <TextfileCollector as monitoring_plugin_api::Exported>::root_module();
    let sections = monitoring_plugin_api::testing::collector_compliance(root, &settings)
        .expect("obeys the contract");
    assert_eq!(sections["textfile"]["values"]["up"], 1.0);
    let err = TextfileCollector::new(Config::default())
        .err()
        .expect("no dir");
    assert_eq!(
        err.kind(),
        Some(monitoring_plugin_api::ErrorKind::Unavailable)
    );
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn reads_only_prom_files_and_exposes_their_mtimes() {
    let dir = temp_dir("mtimes");
    // Written by Debian's prometheus-node-exporter-collectors `directory-size.sh`.
    std::fs::write(
        dir.join("directory-size.prom"),
        include_str!("../../script-formats/tests/fixtures/directory-size.prom"),
    )
    .expect("write");
    std::fs::write(dir.join("half-written.prom.tmp"), "broken{").expect("write");
    std::fs::write(dir.join("README"), "not metrics").expect("write");
    let section = Collector::collect(&mut collector(&dir))
        .expect("collects")
        .textfile;
    let names: Vec<_> = section.families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "node_directory_size_bytes",
            "node_textfile_mtime_seconds",
            "node_textfile_scrape_error"
        ]
    );
    let mtimes = family(&section, "node_textfile_mtime_seconds").expect("mtimes");
    assert_eq!(mtimes.kind, FamilyKind::Gauge);
    assert_eq!(mtimes.samples.len(), 1);
    let file = dir.join("directory-size.prom");
    assert_eq!(mtimes.samples[0].labels["file"], file.display().to_string());
    let modified = std::fs::metadata(&file)
        .and_then(|m| m.modified())
        .expect("mtime")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    assert!(
        (mtimes.samples[0].value - modified).abs() < 0.002,
        "{mtimes:?} vs {modified}"
    );
    assert_eq!(section.values["node_textfile_scrape_error"], 0.0);
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn merges_families_across_files_and_reports_clashes_as_node_exporter_does() {
    let dir = temp_dir("clash");
    std::fs::write(
        dir.join("a.prom"),
        "# HELP backup_age_seconds Age of the last backup.\n# TYPE backup_age_seconds gauge\n\
         backup_age_seconds{job=\"home\"} 3600\nno_help_metric 1\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("b.prom"),
        "# TYPE backup_age_seconds gauge\nbackup_age_seconds{job=\"etc\"} 60\n\
         backup_age_seconds{job=\"home\"} 1\n",
    )
    .expect("write");
    let mut textfile = collector(&dir);
    let section = Collector::collect(&mut textfile)
        .expect("collects")
        .textfile;
    let backups = family(&section, "backup_age_seconds").expect("merged");
    assert_eq!(backups.help, "Age of the last backup.");
    let jobs: Vec<_> = backups
        .samples
        .iter()
        .map(|s| (s.labels["job"].as_str(), s.value))
        .collect();
    assert_eq!(
        jobs,
        [("home", 3600.0), ("etc", 60.0)],
        "the first file's `home` is kept"
    );
    let no_help = family(&section, "no_help_metric").expect("kept");
    assert_eq!(
        no_help.help,
        format!("Metric read from {}", dir.join("a.prom").display())
    );
    assert_eq!(
        section.values["node_textfile_scrape_error"], 1.0,
        "the clash is an error"
    );
    let mtimes = family(&section, "node_textfile_mtime_seconds").expect("mtimes");
    assert_eq!(mtimes.samples.len(), 2);
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn skips_bad_files_as_scrape_errors_and_keeps_the_good_ones() {
    let dir = temp_dir("bad");
    std::fs::write(dir.join("good.prom"), "good 1\n").expect("write");
    std::fs::write(dir.join("broken.prom"), "ok 1\nbroken{\n").expect("write");
    std::fs::write(dir.join("stamped.prom"), "stamped 1 1700000000000\n").expect("write");
    std::fs::write(dir.join("big.prom"), "big 1\n".repeat(100)).expect("write");
    let mut textfile = TextfileCollector::new(Config {
        dir: Some(dir.clone()),
        max_file_size: Some(100),
        ..Config::default()
    })
    .expect("builds");
    let reading = read::read_dir(&textfile.limits);
    let problems = reading.problems.join("\n");
    assert!(problems.contains("broken.prom: line 2"), "{problems}");
    assert!(
        problems.contains("stamped.prom: textfile contains unsupported client-side timestamps"),
        "{problems}"
    );
    assert!(
        problems.contains("big.prom: larger than `max_file_size`"),
        "{problems}"
    );
    let section = Collector::collect(&mut textfile)
        .expect("collects")
        .textfile;
    let values: BTreeMap<_, _> = section.values.clone().into_iter().collect();
    assert_eq!(values.get("good"), Some(&1.0));
    assert_eq!(
        values.get("ok"),
        None,
        "nothing of a file that does not parse"
    );
    assert_eq!(values.get("stamped"), None);
    assert_eq!(values["node_textfile_scrape_error"], 1.0);
    let mtimes = family(&section, "node_textfile_mtime_seconds").expect("mtimes");
    assert_eq!(
        mtimes.samples.len(),
        1,
        "only files read successfully have an mtime"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
    let missing = Collector::collect(&mut textfile)
        .expect("collects")
        .textfile;
    assert_eq!(
        missing.values["node_textfile_scrape_error"], 1.0,
        "a missing dir is an error"
    );
}
