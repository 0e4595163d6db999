//! The `json` format: one JSON object, which becomes the section as it is (the shape
//! our own sections have). Anything else (an array, a number, two objects) is refused,
//! naming the line serde_json stopped at.

use serde_json::{Map, Value};

use crate::ParseError;

/// Parses one JSON object.
pub fn parse(output: &str) -> Result<Map<String, Value>, ParseError> {
    if output.trim().is_empty() {
        return Err(ParseError::whole("no output (expected one JSON object)"));
    }
    match serde_json::from_str::<Value>(output) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(ParseError::at(
            1,
            format_args!("expected one JSON object, got {}", kind(&other)),
        )),
        Err(e) => Err(ParseError::at(
            e.line().max(1),
            format_args!("invalid JSON: {e}"),
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_is_the_section_as_is() {
        let object = parse("{\"temperature\": 41.5, \"disks\": {\"sda\": \"PASSED\"}}\n")
            .expect("an object");
        assert_eq!(object["temperature"], 41.5);
        assert_eq!(object["disks"]["sda"], "PASSED");
    }

    #[test]
    fn refuses_what_is_not_one_object_naming_the_line() {
        let err = parse("{\"a\": 1,\n \"b\": }\n").expect_err("invalid");
        assert_eq!(err.line, Some(2), "{err}");
        let err = parse("[1, 2]").expect_err("an array");
        assert!(err.message.contains("an array"), "{err}");
        let err = parse("{}\n{}\n").expect_err("two objects");
        assert_eq!(err.line, Some(2), "{err}");
        assert!(parse("  \n").is_err());
    }
}
