//! Sections no schema describes (third-party collectors, or a built-in name reused
//! off its schema): every number in them as a gauge named after its path.

use serde_json::Value;

use crate::Emit;

/// A metric-name-safe version of `text`.
pub fn sanitize(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Numbers anywhere in a third-party section, as untyped-looking gauges.
pub(crate) fn generic(
    b: &mut dyn Emit,
    name: &str,
    value: &Value,
    at: &[(String, String)],
    depth: usize,
) {
    const MAX_DEPTH: usize = 4;
    match value {
        Value::Number(n) => {
            if let Some(value) = n.as_f64() {
                let help = "A reading of a third-party collector";
                b.gauge(name, help, None, at.to_vec(), value);
            }
        }
        Value::Object(map) if depth < MAX_DEPTH => {
            for (key, value) in map {
                generic(
                    b,
                    &format!("{name}_{}", sanitize(key)),
                    value,
                    at,
                    depth + 1,
                );
            }
        }
        // One level of arrays, labelled by position; deeper ones have no good name.
        Value::Array(items) if depth < MAX_DEPTH && !at.iter().any(|(k, _)| k == "index") => {
            for (index, item) in items.iter().enumerate() {
                let mut labels = at.to_vec();
                labels.push(("index".to_owned(), index.to_string()));
                generic(b, name, item, &labels, depth + 1);
            }
        }
        _ => {}
    }
}
