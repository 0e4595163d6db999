//! The `textfile` collector end to end: a directory written the node_exporter way
//! (write, then rename to `*.prom`), including the output of a Debian
//! prometheus-node-exporter-collectors script, read into the `textfile` section with
//! node_exporter's mtime and scrape-error metrics.

#[path = "exec/common.rs"]
mod common;

use std::path::Path;
use std::time::Duration;

use common::{data_where, quoted, start};
use monitoring_test_support::{connect, require, Peer};
use serde_json::Value;

const SECOND: Duration = Duration::from_secs(1);

/// Writes `text` to `dir/name` the safe way: a temporary name, then a rename.
fn publish(dir: &Path, name: &str, text: &[u8]) {
    let temporary = dir.join(format!("{name}.{}", std::process::id()));
    std::fs::write(&temporary, text).expect("write");
    std::fs::rename(&temporary, dir.join(name)).expect("rename");
}

fn family<'a>(data: &'a Value, name: &str) -> Option<&'a Value> {
    data["textfile"]["families"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)
}

#[tokio::test]
async fn a_textfile_directory_becomes_the_textfile_section() {
    let script = require(Peer::NodeExporterCollectors).expect("directory-size.sh");
    let dir = tempfile::tempdir().expect("textfile dir");
    let sized = tempfile::tempdir().expect("a directory to size");
    std::fs::write(sized.path().join("blob"), vec![0u8; 32 * 1024]).expect("blob");
    // As Debian's cron job runs it: the script's output, published by a rename.
    let output = std::process::Command::new("/bin/sh")
        .arg(&script)
        .arg(sized.path())
        .output()
        .expect("directory-size.sh runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    publish(dir.path(), "directory_size.prom", &output.stdout);
    publish(
        dir.path(),
        "backup.prom",
        b"# HELP backup_last_success_timestamp_seconds When the last backup succeeded.\n\
          # TYPE backup_last_success_timestamp_seconds gauge\n\
          backup_last_success_timestamp_seconds{job=\"home\"} 1.7e9\n",
    );
    std::fs::write(dir.path().join("half-written.prom.tmp"), "backup_{").expect("tmp");

    let server = start(&format!(
        "[plugins.textfile]\ndir = {}\n",
        quoted(dir.path())
    ));
    let mut ws = connect(&server.url("/")).await;
    let data = data_where(&mut ws, 15 * SECOND, |d| {
        d["textfile"]["format"] == "prometheus"
    })
    .await;
    let sizes = family(&data, "node_directory_size_bytes").expect("the script's family");
    assert_eq!(
        sizes["samples"][0]["labels"]["directory"],
        sized.path().display().to_string()
    );
    let backup = family(&data, "backup_last_success_timestamp_seconds").expect("backup family");
    assert_eq!(backup["samples"][0]["value"], 1.7e9);
    let mtimes = family(&data, "node_textfile_mtime_seconds").expect("mtimes");
    let files: Vec<_> = mtimes["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .map(|s| s["labels"]["file"].as_str().unwrap_or_default().to_owned())
        .collect();
    let expected: Vec<_> = ["backup.prom", "directory_size.prom"]
        .iter()
        .map(|f| dir.path().join(f).display().to_string())
        .collect();
    assert_eq!(files, expected);
    assert_eq!(
        data["textfile"]["values"]["node_textfile_scrape_error"],
        0.0
    );

    // A broken file is a scrape error; the others are still read.
    publish(dir.path(), "broken.prom", b"broken{\n");
    let data = data_where(&mut ws, 10 * SECOND, |d| {
        d["textfile"]["values"]["node_textfile_scrape_error"] == 1.0
    })
    .await;
    assert!(family(&data, "backup_last_success_timestamp_seconds").is_some());
}
