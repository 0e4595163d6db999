//! Reading the directory: which files, in which order, within which bounds, each
//! parsed by `script_formats::prometheus` and handed to [`merge`](crate::merge).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use monitoring_plugin_api::sections::scripted::PrometheusSection;
use script_formats::prometheus;

use crate::merge::Merger;

/// Where and how much to read.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The directory.
    pub dir: PathBuf,
    /// Most files.
    pub max_files: usize,
    /// Largest file, in bytes.
    pub max_file_size: u64,
}

/// One collection's section and what went wrong, one line per problem.
#[derive(Debug)]
pub struct Reading {
    /// The `textfile` section.
    pub section: PrometheusSection,
    /// Problems, each naming its file (and line).
    pub problems: Vec<String>,
}

/// Reads every `*.prom` file of `limits.dir`.
pub fn read_dir(limits: &Limits) -> Reading {
    let mut merger = Merger::default();
    match prom_files(&limits.dir) {
        Err(problem) => merger.problem(problem),
        Ok(mut names) => {
            if names.len() > limits.max_files {
                merger.problem(format!(
                    "{}: {} *.prom files, only the first {} (by name) are read (`max_files`)",
                    limits.dir.display(),
                    names.len(),
                    limits.max_files
                ));
                names.truncate(limits.max_files);
            }
            for name in names {
                let path = limits.dir.join(&name);
                read_file(&path, limits.max_file_size, &mut merger);
            }
        }
    }
    merger.finish()
}

/// The `*.prom` names in `dir`, sorted (node_exporter reads them in that order).
fn prom_files(dir: &Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the directory {}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".prom"))
        .collect();
    names.sort();
    Ok(names)
}

fn read_file(path: &Path, max_size: u64, merger: &mut Merger) {
    let shown = path.display();
    let opened = File::open(path).and_then(|file| Ok((file.metadata()?, file)));
    let (metadata, file) = match opened {
        Ok(opened) => opened,
        Err(e) => return merger.problem(format!("{shown}: cannot open: {e}")),
    };
    if !metadata.is_file() {
        return merger.problem(format!("{shown}: not a regular file"));
    }
    let mut bytes = Vec::new();
    if let Err(e) = file
        .take(max_size.saturating_add(1))
        .read_to_end(&mut bytes)
    {
        return merger.problem(format!("{shown}: cannot read: {e}"));
    }
    if bytes.len() as u64 > max_size {
        return merger.problem(format!(
            "{shown}: larger than `max_file_size` ({max_size} bytes); skipped"
        ));
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return merger.problem(format!("{shown}: not UTF-8; skipped"));
    };
    let parsed = match prometheus::parse(&text) {
        Ok(parsed) => parsed,
        Err(e) => return merger.problem(format!("{shown}: {e}")),
    };
    if parsed.has_timestamps {
        return merger.problem(format!(
            "{shown}: textfile contains unsupported client-side timestamps, skipping entire file"
        ));
    }
    // node_exporter: float64(mtime.UnixNano()/1e6) / 1e3, milliseconds.
    let mtime = metadata
        .modified()
        .ok()
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0.0, |d| (d.as_millis() as f64) / 1e3);
    merger.add_file(&shown.to_string(), mtime, parsed.section.families);
}
