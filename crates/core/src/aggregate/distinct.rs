//! `distinct`: the different values a field takes among matching objects, as parse-server
//! answers on MongoDB: an array's elements count one by one, null and missing values are left
//! out, pointers stay pointers and dates (`createdAt` and `updatedAt` too) are Date values.

use std::collections::HashSet;

use serde_json::Value;

use super::ordering::{compare_values, identity};
use crate::matcher::lookup;
use crate::query::FieldPath;
use crate::value::{Object, date_value};

/// The distinct values among `found`, the values at `path` of the matching objects (in any
/// order, with repeats, arrays whole): arrays unwound one level, nulls dropped, each value
/// once (Parse equality: `1` and `1.0` are one value), sorted. Adapters pass what their
/// `SELECT DISTINCT` returns through it, so every database answers the same list.
pub fn distinct_values(path: &FieldPath, found: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let is_timestamp = !path.is_nested() && matches!(path.field.as_str(), "createdAt" | "updatedAt");
    let mut seen = HashSet::new();
    let mut values = Vec::new();
    let mut keep = |value: Value| {
        let value = match value {
            Value::String(iso) if is_timestamp => date_value(&iso),
            other => other,
        };
        if !value.is_null() && seen.insert(identity(&value)) {
            values.push(value);
        }
    };
    for value in found {
        match value {
            Value::Array(items) => items.into_iter().for_each(&mut keep),
            other => keep(other),
        }
    }
    values.sort_by(compare_values);
    values
}

/// `distinct` over objects in memory: the reference the storage adapters' pushed-down
/// `distinct` must agree with (nested paths reach into objects only, not through arrays).
pub fn distinct_in_memory<'a>(path: &FieldPath, objects: impl IntoIterator<Item = &'a Object>) -> Vec<Value> {
    distinct_values(path, objects.into_iter().filter_map(|object| lookup(object, path).cloned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unwinds_dedupes_and_sorts() {
        let objects: Vec<Object> = [
            json!({"size": ["S", "M"], "n": 10, "createdAt": "2024-01-01T00:00:00.000Z", "o": {"g": "A"}}),
            json!({"size": ["M", "L", null], "n": 10.0, "o": {"g": "B"}}),
            json!({"size": "XL", "n": 20, "createdAt": "2024-01-01T00:00:00.000Z", "o": {"g": ["A"]}}),
            json!({"size": [["S"]]}),
        ]
        .into_iter()
        .map(|value| value.as_object().cloned().unwrap_or_default())
        .collect();
        let distinct = |path: &str| distinct_in_memory(&FieldPath::parse(path), &objects);
        assert_eq!(distinct("size"), vec![json!("L"), json!("M"), json!("S"), json!("XL"), json!(["S"])]);
        assert_eq!(distinct("n"), vec![json!(10), json!(20)]);
        assert_eq!(distinct("createdAt"), vec![json!({"__type": "Date", "iso": "2024-01-01T00:00:00.000Z"})]);
        assert_eq!(distinct("o.g"), vec![json!("A"), json!("B")]);
        assert_eq!(distinct("missing"), Vec::<Value>::new());
    }
}
