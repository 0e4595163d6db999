//! Influx line protocol (Telegraf's `exec` and `execd`), parsed by InfluxData's own
//! `influxdb-line-protocol` crate into an [`InfluxSection`]: a measurement per
//! sub-section, one point per distinct tag set (a later line with the same tags updates
//! that point's fields), tags kept.
//!
//! Lines are handed to the crate one at a time so that an error names its line. A
//! daemon's lines arrive one by one: [`Builder::merge_line`] folds each into its
//! section, and refuses a new series past [`MAX_SERIES`], since a daemon would
//! otherwise grow the section without end.

use std::collections::{BTreeMap, HashMap};

use influxdb_line_protocol::{FieldValue, ParsedLine};
use monitoring_plugin_api::sections::scripted::{InfluxSection, Point, ScriptFormat};
use serde_json::Value;

use crate::ParseError;

/// Most points (measurement × tag set) one section holds.
pub const MAX_SERIES: usize = 10_000;

/// Parses a whole output.
pub fn parse(text: &str) -> Result<InfluxSection, ParseError> {
    let mut builder = Builder::new(MAX_SERIES);
    for (index, line) in text.lines().enumerate() {
        builder
            .merge_line(line)
            .map_err(|message| ParseError::at(index + 1, message))?;
    }
    Ok(builder.section)
}

/// A section built line by line, with an index of its points so that each line costs
/// a lookup, not a scan.
#[derive(Debug, Clone)]
pub struct Builder {
    section: InfluxSection,
    /// (measurement, tags) → the point's place in its measurement.
    index: HashMap<(String, BTreeMap<String, String>), usize>,
    max_series: usize,
}

impl Builder {
    /// An empty section that refuses a new series past `max_series`.
    pub fn new(max_series: usize) -> Self {
        Self {
            section: InfluxSection {
                format: ScriptFormat::Influx,
                measurements: BTreeMap::new(),
            },
            index: HashMap::new(),
            max_series,
        }
    }

    /// The section so far.
    pub fn section(&self) -> &InfluxSection {
        &self.section
    }

    /// Folds one line in; blank lines and `#` comments change nothing.
    pub fn merge_line(&mut self, line: &str) -> Result<(), String> {
        let Some(parsed) = influxdb_line_protocol::parse_lines(line).next() else {
            return Ok(());
        };
        let parsed = parsed.map_err(|e| format!("invalid line protocol: {e}"))?;
        let point = to_point(&parsed);
        let measurement = parsed.series.measurement.as_str().to_owned();
        let key = (measurement, point.tags.clone());
        let points = self.section.measurements.entry(key.0.clone()).or_default();
        if let Some(&at) = self.index.get(&key) {
            if let Some(existing) = points.get_mut(at) {
                existing.fields.extend(point.fields);
                existing.time = point.time.or(existing.time);
            }
            return Ok(());
        }
        if self.index.len() >= self.max_series {
            if points.is_empty() {
                self.section.measurements.remove(&key.0);
            }
            return Err(format!(
                "more than {} series; line dropped",
                self.max_series
            ));
        }
        self.index.insert(key, points.len());
        points.push(point);
        Ok(())
    }
}

fn to_point(line: &ParsedLine<'_>) -> Point {
    let tags = line
        .series
        .tag_set
        .iter()
        .flatten()
        .map(|(key, value)| (key.as_str().to_owned(), value.as_str().to_owned()))
        .collect();
    let fields = line
        .field_set
        .iter()
        .filter_map(|(key, value)| Some((key.as_str().to_owned(), to_json(value)?)))
        .collect();
    Point {
        tags,
        fields,
        time: line.timestamp,
    }
}

/// A field as JSON; `None` for a float JSON cannot carry (NaN, ±Inf).
fn to_json(value: &FieldValue<'_>) -> Option<Value> {
    Some(match value {
        FieldValue::I64(v) => Value::from(*v),
        FieldValue::U64(v) => Value::from(*v),
        FieldValue::F64(v) => Value::from(serde_json::Number::from_f64(*v)?),
        FieldValue::String(v) => Value::from(v.as_str()),
        FieldValue::Boolean(v) => Value::from(*v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Telegraf's own `inputs.cpu` and `inputs.mem` print with `--test` (trimmed).
    const TELEGRAF: &str = "\
cpu,cpu=cpu0,host=box usage_idle=97.4,usage_user=1.5,usage_system=1.1 1700000000000000000
cpu,cpu=cpu-total,host=box usage_idle=98.1,usage_user=1.0 1700000000000000000
mem,host=box active=3214434304i,available_percent=71.2,total=16712867840u 1700000000000000000
# a comment

disk,host=box,path=/mnt/my\\ disk used_percent=12.5,fstype=\"ext4\",ro=false
";

    #[test]
    fn keeps_a_measurement_per_sub_section_and_a_point_per_tag_set() {
        let section = parse(TELEGRAF).expect("parses");
        assert_eq!(section.format, ScriptFormat::Influx);
        let cpu = &section.measurements["cpu"];
        assert_eq!(cpu.len(), 2);
        assert_eq!(cpu[0].tags["cpu"], "cpu0");
        assert_eq!(cpu[0].fields["usage_idle"], 97.4);
        assert_eq!(cpu[0].time, Some(1_700_000_000_000_000_000));
        let mem = &section.measurements["mem"][0];
        assert_eq!(mem.fields["active"], 3_214_434_304_i64);
        assert_eq!(mem.fields["total"], 16_712_867_840_u64);
        let disk = &section.measurements["disk"][0];
        assert_eq!(disk.tags["path"], "/mnt/my disk");
        assert_eq!(disk.fields["fstype"], "ext4");
        assert_eq!(disk.fields["ro"], false);
        assert_eq!(disk.time, None);
    }

    #[test]
    fn a_later_line_with_the_same_tags_updates_its_point() {
        let mut builder = Builder::new(MAX_SERIES);
        builder.merge_line("temp,room=a c=20").expect("first");
        builder.merge_line("temp,room=a c=21,h=40").expect("second");
        builder.merge_line("temp,room=b c=19").expect("third");
        let temp = &builder.section().measurements["temp"];
        assert_eq!(temp.len(), 2);
        assert_eq!(temp[0].fields["c"], 21.0);
        assert_eq!(temp[0].fields["h"], 40.0);
    }

    #[test]
    fn names_the_line_of_an_error() {
        let err = parse("cpu usage=1\ncpu usage=\n").expect_err("no field value");
        assert_eq!(err.line, Some(2), "{err}");
        let err = parse("cpu\n").expect_err("no fields");
        assert_eq!(err.line, Some(1), "{err}");
    }

    #[test]
    fn caps_the_series_a_daemon_can_add() {
        let mut builder = Builder::new(3);
        for i in 0..3 {
            builder
                .merge_line(&format!("m,i={i} v=1"))
                .expect("under the cap");
        }
        builder
            .merge_line("m,i=0 v=2")
            .expect("an update is no new series");
        let err = builder.merge_line("n v=1").expect_err("over the cap");
        assert!(
            !builder.section().measurements.contains_key("n"),
            "no empty measurement"
        );
        assert!(err.contains("series"), "{err}");
    }
}
