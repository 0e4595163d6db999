//! Contract checks every collector's tests run, so each plugin is held to the same
//! rules the host relies on: it builds from `{}`, returns a JSON object of sections,
//! and its numbers are sane (percentages within 0–100, used ≤ total).

use serde_json::Value;

use crate::{Collector, Sections};

/// Builds `C` from default settings, collects twice, checks both readings with
/// [`check_sections`] and returns the second.
///
/// # Panics
/// When the collector breaks the contract; this is a test helper.
pub fn check_collector<C: Collector>() -> Sections {
    let config: C::Config = serde_json::from_str("{}").expect("the config must accept `{}`");
    let mut collector = C::new(config).expect("the collector must build with default settings");
    let mut last = Sections::new();
    for _ in 0..2 {
        let output = collector.collect().expect("collect must succeed");
        let value = serde_json::to_value(&output).expect("the output must serialize");
        let Value::Object(sections) = value else {
            panic!("a collector must return a JSON object of sections, got {value}");
        };
        if let Err(problem) = check_sections(&sections) {
            panic!(
                "{} broke the contract: {problem}\n{value:#}",
                C::NAME,
                value = Value::Object(sections)
            );
        }
        last = sections;
    }
    last
}

/// Checks the value rules the host and clients rely on. Returns the first problem.
pub fn check_sections(sections: &Sections) -> Result<(), String> {
    if sections.is_empty() {
        return Err("no sections".into());
    }
    for (name, value) in sections {
        check_value(name, value)?;
    }
    Ok(())
}

fn check_value(path: &str, value: &Value) -> Result<(), String> {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let field_path = format!("{path}.{key}");
                if is_percentage(key) {
                    check_percentage(&field_path, field)?;
                }
                check_value(&field_path, field)?;
            }
            check_used_within_total(path, fields)
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_value(&format!("{path}[{i}]"), item)),
        Value::Number(n) if n.as_f64().is_some_and(|f| !f.is_finite()) => {
            Err(format!("{path} is not finite"))
        }
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
    let in_range =
        |v: &Value| v.is_null() || v.as_f64().is_some_and(|f| (0.0..=100.0).contains(&f));
    let ok = match value {
        Value::Array(items) => items.iter().all(in_range),
        other => in_range(other),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{path} = {value} is not a percentage within 0–100"))
    }
}

fn check_used_within_total(
    path: &str,
    fields: &serde_json::Map<String, Value>,
) -> Result<(), String> {
    let number = |key: &str| fields.get(key).and_then(Value::as_f64);
    for used_key in ["used", "memory_used"] {
        let total_key = used_key.replace("used", "total");
        if let (Some(used), Some(total)) = (number(used_key), number(&total_key)) {
            if used > total {
                return Err(format!(
                    "{path}.{used_key} = {used} exceeds {path}.{total_key} = {total}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sections(value: Value) -> Sections {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn accepts_sane_sections() {
        let ok = sections(
            json!({"memory": {"total": 10, "used": 4, "percentage": 40.0},
                                  "processor": {"per_core_usage": [0.0, 100.0]}}),
        );
        assert_eq!(check_sections(&ok), Ok(()));
    }

    #[test]
    fn rejects_out_of_range_and_inconsistent_values() {
        let bad_percent = sections(json!({"memory": {"percentage": 100.5}}));
        assert!(check_sections(&bad_percent)
            .unwrap_err()
            .contains("memory.percentage"));
        let bad_core = sections(json!({"processor": {"per_core_usage": [5.0, -1.0]}}));
        assert!(check_sections(&bad_core).is_err());
        let bad_used = sections(json!({"disks": [{"total": 1, "used": 2}]}));
        assert!(check_sections(&bad_used)
            .unwrap_err()
            .contains("disks[0].used"));
        assert!(check_sections(&Sections::new()).is_err());
    }
}
