//! The value rules of a collector's sections: built-in sections must deserialize into
//! their typed schema (a non-`Option` number refuses `null`, which is what NaN and ±∞
//! become in JSON) and pass its validation; free-form sections are walked by key name.

use serde_json::{Map, Value};

use crate::sections::{
    Disk, DiskIo, Disks, Gpu, Load, Memory, Network, Processes, Processor, Section, Sensors, System,
};
use crate::Sections;

/// Checks the value rules the host and clients rely on. Returns the first problem.
pub fn check_sections(sections: &Sections) -> Result<(), String> {
    if sections.is_empty() {
        return Err("no sections".into());
    }
    for (name, value) in sections {
        match name.as_str() {
            Processor::NAME => typed::<Processor>(sections)?,
            Memory::NAME => typed::<Memory>(sections)?,
            Disk::NAME => typed::<Disk>(sections)?,
            Disks::NAME => typed::<Disks>(sections)?,
            System::NAME => typed::<System>(sections)?,
            Gpu::NAME => typed::<Gpu>(sections)?,
            Network::NAME => typed::<Network>(sections)?,
            DiskIo::NAME => typed::<DiskIo>(sections)?,
            Load::NAME => typed::<Load>(sections)?,
            Sensors::NAME => typed::<Sensors>(sections)?,
            Processes::NAME => typed::<Processes>(sections)?,
            _ => check_free_form(name, value)?,
        }
    }
    Ok(())
}

fn typed<S: Section>(sections: &Sections) -> Result<(), String> {
    match S::from_sections(sections) {
        Some(Ok(section)) => section.validate(),
        Some(Err(e)) => Err(e.to_string()),
        None => Ok(()),
    }
}

/// A third-party section: no schema, so the rules go by key name. A percentage must be
/// a number (NaN and ±∞ arrive as `null`), `used`/`total` pairs must be numbers in
/// order, and nothing else may be `null` next to a number of the same name family.
fn check_free_form(path: &str, value: &Value) -> Result<(), String> {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let field_path = format!("{path}.{key}");
                if is_percentage(key) {
                    check_percentage(&field_path, field)?;
                }
                check_free_form(&field_path, field)?;
            }
            check_used_within_total(path, fields)
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_free_form(&format!("{path}[{i}]"), item)),
        _ => Ok(()),
    }
}

fn is_percentage(key: &str) -> bool {
    key == "percentage"
        || key.ends_with("_percent")
        || key.ends_with("_percentage")
        || key == "per_core_usage"
}

fn check_percentage(path: &str, value: &Value) -> Result<(), String> {
    let in_range = |v: &Value| v.as_f64().is_some_and(|f| (0.0..=100.0).contains(&f));
    let ok = match value {
        Value::Array(items) => items.iter().all(in_range),
        other => in_range(other),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{path} = {value} is not a percentage within 0–100 (NaN and ±∞ encode as null)"
        ))
    }
}

fn check_used_within_total(path: &str, fields: &Map<String, Value>) -> Result<(), String> {
    for used_key in ["used", "memory_used"] {
        let total_key = used_key.replace("used", "total");
        let (Some(used), Some(total)) = (fields.get(used_key), fields.get(&total_key)) else {
            continue;
        };
        let (Some(used_n), Some(total_n)) = (used.as_f64(), total.as_f64()) else {
            return Err(format!(
                "{path}.{used_key} = {used} and {path}.{total_key} = {total} must both be numbers"
            ));
        };
        if used_n > total_n {
            return Err(format!(
                "{path}.{used_key} = {used} exceeds {path}.{total_key} = {total}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sections(value: Value) -> Sections {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn accepts_sane_sections() {
        let ok = sections(json!({
            "memory": {"total": 10, "available": 6, "used": 4, "percentage": 40.0},
            "processor": {"usage_percent": 50.0, "per_core_usage": [0.0, 100.0],
                          "core_count": 1, "logical_count": 2,
                          "frequency_current": 2000.0, "frequency_max": 0.0},
            "gpu": {"count": 1, "backend": "nvml", "gpus": [{"id": 0, "temperature": null}]},
            "weather": {"humidity_percent": 40.0, "used": 1, "total": 2, "note": null}
        }));
        assert_eq!(check_sections(&ok), Ok(()));
    }

    #[test]
    fn rejects_out_of_range_and_inconsistent_values() {
        let bad_percent = sections(json!({"weather": {"percentage": 100.5}}));
        assert!(check_sections(&bad_percent).is_err_and(|e| e.contains("weather.percentage")));
        let bad_core = sections(json!({"weather": {"per_core_usage": [5.0, -1.0]}}));
        assert!(check_sections(&bad_core).is_err());
        let bad_used = sections(json!({"weather": [{"total": 1, "used": 2}]}));
        assert!(check_sections(&bad_used).is_err_and(|e| e.contains("weather[0].used")));
        assert!(check_sections(&Sections::new()).is_err());
    }

    #[test]
    fn null_where_a_number_belongs_is_refused() {
        // What a collector's NaN or ±∞ becomes after JSON encoding.
        let memory = sections(json!({"memory": {"total": 10, "available": 6, "used": 4,
                                                "percentage": null}}));
        assert!(check_sections(&memory).is_err_and(|e| e.contains("`memory`")));
        let free_form = sections(json!({"weather": {"humidity_percent": null}}));
        assert!(check_sections(&free_form).is_err());
        let pair = sections(json!({"weather": {"used": null, "total": 2}}));
        assert!(check_sections(&pair).is_err());
        let known_shape = sections(json!({"memory": "n/a"}));
        assert!(check_sections(&known_shape).is_err());
    }
}
