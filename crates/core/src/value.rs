//! Parse's JSON encodings of values (`{"__type": "Date" | "Pointer" | …}`) and helpers to read
//! them. Objects travel through Reparse in this REST encoding, as `serde_json` maps.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::error::{ParseError, ParseResult};

/// An object's fields in Parse's REST encoding.
pub type Object = Map<String, Value>;

/// Formats a time the way Parse does: ISO-8601 with milliseconds and `Z`.
pub fn format_date(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an ISO-8601 date as clients send it: full RFC 3339, or without a zone (read as UTC),
/// or a bare `YYYY-MM-DD` (midnight UTC).
pub fn parse_date(iso: &str) -> ParseResult<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(iso) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(time) = NaiveDateTime::parse_from_str(iso, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(time.and_utc());
    }
    NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc())
        .ok_or_else(|| ParseError::invalid_json(format!("invalid date: {iso}")))
}

/// `{"__type": "Date", "iso": …}`.
pub fn date_value(iso: &str) -> Value {
    json!({"__type": "Date", "iso": iso})
}

/// An instant as a REST Date value.
pub fn encode_date(time: DateTime<Utc>) -> Value {
    date_value(&format_date(time))
}

/// `{"__type": "Pointer", "className": …, "objectId": …}`.
pub fn pointer_value(class_name: &str, object_id: &str) -> Value {
    json!({"__type": "Pointer", "className": class_name, "objectId": object_id})
}

/// The `__type` tag of an encoded value, if it has one.
pub fn type_tag(value: &Value) -> Option<&str> {
    value.as_object()?.get("__type")?.as_str()
}

/// The `iso` of a Date value.
pub fn date_iso(value: &Value) -> Option<&str> {
    if type_tag(value) == Some("Date") { value.get("iso")?.as_str() } else { None }
}

/// `(className, objectId)` of a Pointer value, or of a full object (`__type: "Object"`), as the
/// SDKs sometimes send saved objects where a pointer is meant.
pub fn pointer_parts(value: &Value) -> Option<(&str, &str)> {
    match type_tag(value)? {
        "Pointer" | "Object" => Some((value.get("className")?.as_str()?, value.get("objectId")?.as_str()?)),
        _ => None,
    }
}

/// Whether `object_id` has the shape Parse generates (alphanumeric).
pub fn object_id_is_valid(object_id: &str) -> bool {
    !object_id.is_empty() && object_id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Compares two encoded values for equality the way Parse means it: pointers by class and id,
/// dates by instant, numbers by value.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    if let (Some(a), Some(b)) = (pointer_parts(a), pointer_parts(b)) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (date_iso(a), date_iso(b)) {
        return match (parse_date(a), parse_date(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => a == b,
        };
    }
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| values_equal(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter().all(|(key, value)| b.get(key).is_some_and(|other| values_equal(value, other)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_with_millis_and_z() {
        let time = parse_date("2024-03-01T10:20:30.5+01:00").unwrap();
        assert_eq!(format_date(time), "2024-03-01T09:20:30.500Z");
        assert!(parse_date("yesterday").is_err());
        assert_eq!(format_date(parse_date("2024-01-03").unwrap()), "2024-01-03T00:00:00.000Z");
    }

    #[test]
    fn equality_follows_parse_meaning() {
        let full = json!({"__type": "Object", "className": "A", "objectId": "x", "n": 1});
        assert!(values_equal(&pointer_value("A", "x"), &full));
        assert!(!values_equal(&pointer_value("A", "x"), &pointer_value("B", "x")));
        assert!(values_equal(&json!(1), &json!(1.0)));
        assert!(values_equal(&date_value("2024-01-01T00:00:00Z"), &date_value("2024-01-01T00:00:00.000Z")));
        assert!(!values_equal(&json!("2024-01-01T00:00:00.000Z"), &date_value("2024-01-01T00:00:00Z")));
    }
}
