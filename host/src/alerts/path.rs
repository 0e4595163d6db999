//! Metric paths: how a rule names a numeric value of the snapshot
//! (`memory.percentage`, `disks[*].percentage`, `gpu.gpus[0].temperature`) and picks
//! it out, one reading per array element under `[*]`.
//!
//! Kept apart from the rules so the grammar and the walk over `serde_json` values are
//! tested on their own; rules only see readings.

use monitoring_plugin_api::Sections;
use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
    Each,
}

/// A parsed path; always starts with a section name.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPath {
    section: String,
    rest: Vec<Segment>,
}

/// One value a path selected from a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Identifies the instance across ticks: empty without `[*]`, else the elements'
    /// `path`, `id`, `name` or index, joined by `/`.
    pub key: String,
    /// How messages name the instance, `None` without `[*]`.
    pub instance: Option<String>,
    /// The value (rules scale it).
    pub value: f64,
}

impl MetricPath {
    /// `gpu.gpus[*].temperature` → section `gpu`, then `gpus`, each element,
    /// `temperature`.
    pub fn parse(path: &str) -> Result<Self, String> {
        let bad =
            || format!("`{path}` is not a path like `memory.percentage` or `disks[*].percentage`");
        let mut segments = Vec::new();
        for part in path.split('.') {
            let (key, mut brackets) = part.split_once('[').unwrap_or((part, ""));
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(bad());
            }
            segments.push(Segment::Key(key.to_owned()));
            while !brackets.is_empty() {
                let (inside, after) = brackets.split_once(']').ok_or_else(bad)?;
                segments.push(match inside {
                    "*" => Segment::Each,
                    index => Segment::Index(index.parse().map_err(|_| bad())?),
                });
                brackets = match after {
                    "" => "",
                    more => more.strip_prefix('[').ok_or_else(bad)?,
                };
            }
        }
        match segments.split_first() {
            Some((Segment::Key(section), rest)) => Ok(Self {
                section: section.clone(),
                rest: rest.to_vec(),
            }),
            _ => Err(bad()),
        }
    }

    /// The snapshot section the path starts in, e.g. `disks`.
    pub fn section(&self) -> &str {
        &self.section
    }

    /// The field it ends on, e.g. `percentage`.
    pub fn field(&self) -> &str {
        self.rest
            .iter()
            .rev()
            .find_map(|s| match s {
                Segment::Key(key) => Some(key.as_str()),
                _ => None,
            })
            .unwrap_or(&self.section)
    }

    /// The numbers at this path. Missing sections and non-numbers (e.g. a GPU reading
    /// reported as null) give none.
    pub fn select(&self, data: &Sections) -> Vec<Reading> {
        let mut out = Vec::new();
        if let Some(value) = data.get(&self.section) {
            walk(value, &self.rest, &mut Vec::new(), &mut out);
        }
        out
    }
}

fn walk(value: &Value, rest: &[Segment], ids: &mut Vec<String>, out: &mut Vec<Reading>) {
    let Some((segment, rest)) = rest.split_first() else {
        if let Some(number) = value.as_f64() {
            out.push(Reading {
                key: ids.join("/"),
                instance: (!ids.is_empty()).then(|| ids.join(", ")),
                value: number,
            });
        }
        return;
    };
    match segment {
        Segment::Key(key) => {
            if let Some(next) = value.get(key) {
                walk(next, rest, ids, out);
            }
        }
        Segment::Index(index) => {
            if let Some(next) = value.get(*index) {
                walk(next, rest, ids, out);
            }
        }
        Segment::Each => {
            let elements = value.as_array().map(Vec::as_slice).unwrap_or_default();
            let names: Vec<String> = elements
                .iter()
                .enumerate()
                .map(|(index, element)| element_id(element, index))
                .collect();
            for (index, element) in elements.iter().enumerate() {
                // Two sensors may share chip and label (two sockets): the instance
                // must stay unique, so a repeated name gets its position.
                let repeated = names.iter().filter(|n| **n == names[index]).count() > 1;
                ids.push(if repeated {
                    format!("{} #{index}", names[index])
                } else {
                    names[index].clone()
                });
                walk(element, rest, ids, out);
                ids.pop();
            }
        }
    }
}

/// How an array element is named: its `path` (disks), `id` (GPUs), `chip` and `label`
/// (sensors), `name` with its `pid` (processes, whose names repeat), `name`
/// (interfaces, devices), or its index.
fn element_id(element: &Value, index: usize) -> String {
    let text = |name: &str| match element.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let field = |name: &str| match element.get(name) {
        Some(Value::Number(n)) => Some(format!("#{n}")),
        _ => text(name),
    };
    let chip_label = || Some(format!("{} {}", text("chip")?, text("label")?));
    let process = || {
        Some(format!(
            "{} (pid {})",
            text("name")?,
            element.get("pid")?.as_u64()?
        ))
    };
    field("path")
        .or_else(|| field("id"))
        .or_else(chip_label)
        .or_else(process)
        .or_else(|| field("name"))
        .unwrap_or_else(|| format!("#{index}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn select(path: &str, data: Value) -> Vec<(String, f64)> {
        let path = MetricPath::parse(path).expect("valid path");
        let Value::Object(data) = data else {
            return Vec::new();
        };
        path.select(&data)
            .into_iter()
            .map(|r| (r.key, r.value))
            .collect()
    }

    #[test]
    fn grammar() {
        let path = MetricPath::parse("gpu.gpus[*].temperature").expect("valid");
        assert_eq!((path.section(), path.field()), ("gpu", "temperature"));
        let path = MetricPath::parse("disks[2]").expect("valid");
        assert_eq!((path.section(), path.field()), ("disks", "disks"));
        assert!(MetricPath::parse("matrix[*][0].x").is_ok());
        for bad in [
            "",
            ".x",
            "memory.",
            "memory..x",
            "disks[x].free",
            "disks[*",
            "a[*]b",
            "a-b.c",
            "[*].x",
        ] {
            assert!(MetricPath::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn selects_numbers_only() {
        let data = json!({"memory": {"percentage": 42.5, "note": "x", "none": null}});
        assert_eq!(
            select("memory.percentage", data.clone()),
            [(String::new(), 42.5)]
        );
        assert!(select("memory.note", data.clone()).is_empty());
        assert!(select("memory.none", data.clone()).is_empty());
        assert!(select("memory.absent", data.clone()).is_empty());
        assert!(select("disk.percentage", data).is_empty());
    }

    #[test]
    fn elements_are_named_by_path_id_sensor_process_name_or_index() {
        let data = json!({"things": [
            {"path": "/data", "id": 7, "v": 1.0},
            {"id": 7, "name": "x", "v": 2.0},
            {"id": "gpu-a", "v": 3.0},
            {"name": "eth0", "v": 4.0},
            {"chip": "coretemp", "label": "Core 0", "v": 5.0},
            {"name": "rustc", "pid": 4242, "v": 6.0},
            {"v": 5.0},
            {"name": "eth0", "v": 7.0},
        ]});
        let keys: Vec<String> = select("things[*].v", data.clone())
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "/data",
                "#7",
                "gpu-a",
                "eth0 #3",
                "coretemp Core 0",
                "rustc (pid 4242)",
                "#6",
                "eth0 #7"
            ]
        );
        assert_eq!(select("things[1].v", data), [(String::new(), 2.0)]);
    }
}
