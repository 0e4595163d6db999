//! Merging the families of several files the way node_exporter's textfile collector
//! and Prometheus' registry do: a family in two files is one family (the first file's
//! help and type kept); a sample whose name and labels another file already gave, or a
//! family whose type differs from the first file's, is dropped and counted as a scrape
//! error; help-less families get "Metric read from <files>".

use std::collections::{BTreeMap, HashMap, HashSet};

use monitoring_plugin_api::sections::scripted::{
    Family, FamilyKind, PrometheusSection, Sample, ScriptFormat,
};

use crate::read::Reading;

/// The families read so far, the files they came from, the mtimes and the problems.
#[derive(Debug, Default)]
pub struct Merger {
    families: Vec<Family>,
    index: HashMap<String, usize>,
    files_of: Vec<Vec<String>>,
    mtimes: BTreeMap<String, f64>,
    problems: Vec<String>,
    /// Every (sample name, labels) kept: a clash is found by a lookup, not a scan.
    seen: HashSet<(String, BTreeMap<String, String>)>,
}

impl Merger {
    /// Records a problem (a scrape error).
    pub fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// Adds a file's families and its mtime (seconds).
    pub fn add_file(&mut self, file: &str, mtime: f64, families: Vec<Family>) {
        self.mtimes.insert(file.to_owned(), mtime);
        for family in families {
            let Some(&at) = self.index.get(&family.name) else {
                for sample in &family.samples {
                    self.seen
                        .insert((sample.name.clone(), sample.labels.clone()));
                }
                self.index.insert(family.name.clone(), self.families.len());
                self.files_of.push(vec![file.to_owned()]);
                self.families.push(family);
                continue;
            };
            let kept = &mut self.families[at];
            if kept.kind != family.kind {
                self.problems.push(format!(
                    "{file}: metric `{}` is {:?} here but {:?} in {}; dropped",
                    family.name, family.kind, kept.kind, self.files_of[at][0]
                ));
                continue;
            }
            if !family.help.is_empty() && family.help != kept.help {
                self.problems.push(format!(
                    "{file}: inconsistent metric help text for `{}`; the first kept",
                    family.name
                ));
            }
            self.files_of[at].push(file.to_owned());
            for sample in family.samples {
                if !self
                    .seen
                    .insert((sample.name.clone(), sample.labels.clone()))
                {
                    self.problems.push(format!(
                        "{file}: `{}` with these labels was collected before; dropped",
                        sample.name
                    ));
                    continue;
                }
                kept.samples.push(sample);
            }
        }
    }

    /// The section, with node_exporter's two metrics of its own.
    pub fn finish(mut self) -> Reading {
        for (family, files) in self.families.iter_mut().zip(&self.files_of) {
            if family.help.is_empty() {
                family.help = format!("Metric read from {}", files.join(", "));
            }
        }
        if !self.mtimes.is_empty() {
            self.families.push(Family {
                name: "node_textfile_mtime_seconds".into(),
                kind: FamilyKind::Gauge,
                help: "Unixtime mtime of textfiles successfully read.".into(),
                samples: self
                    .mtimes
                    .iter()
                    .map(|(file, mtime)| Sample {
                        name: "node_textfile_mtime_seconds".into(),
                        labels: BTreeMap::from([("file".to_owned(), file.clone())]),
                        value: *mtime,
                    })
                    .collect(),
            });
        }
        let error = if self.problems.is_empty() { 0.0 } else { 1.0 };
        self.families.push(Family {
            name: "node_textfile_scrape_error".into(),
            kind: FamilyKind::Gauge,
            help: "1 if there was an error opening or reading a file, 0 otherwise".into(),
            samples: vec![Sample {
                name: "node_textfile_scrape_error".into(),
                labels: BTreeMap::new(),
                value: error,
            }],
        });
        let values = self
            .families
            .iter()
            .flat_map(|family| &family.samples)
            .filter(|sample| sample.labels.is_empty())
            .map(|sample| (sample.name.clone(), sample.value))
            .collect();
        Reading {
            section: PrometheusSection {
                format: ScriptFormat::Prometheus,
                families: self.families,
                values,
            },
            problems: self.problems,
        }
    }
}
