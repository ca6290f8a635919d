//! One total order over values in the REST encoding, and the identity two values share when
//! they are the same value. `$sort`, `$min`/`$max`, `$group` keys and `distinct` all use them,
//! so every stage agrees on what "equal" and "before" mean.
//!
//! The order follows MongoDB's ranking of kinds (numbers, strings, objects, arrays, booleans,
//! dates); a missing or null value sorts after everything on an ascending key, as PostgreSQL
//! (and both storage adapters' `ORDER BY`) place NULLs, so a sort pushed down to storage and
//! a sort done here give the same order.

use std::cmp::Ordering;
use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};

use crate::value::{date_iso, parse_date, type_tag};

/// The kinds of values, in sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Number,
    String,
    Object,
    Array,
    Boolean,
    Date,
    Null,
}

fn kind(value: &Value) -> Kind {
    match value {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Boolean,
        Value::Number(_) => Kind::Number,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::Array,
        Value::Object(_) if instant(value).is_some() => Kind::Date,
        Value::Object(_) => Kind::Object,
    }
}

/// The instant of a Date value (`{"__type": "Date", "iso": …}` with a valid `iso`).
pub(crate) fn instant(value: &Value) -> Option<DateTime<Utc>> {
    date_iso(value).and_then(|iso| parse_date(iso).ok())
}

/// Orders two values; `null` after everything else.
pub(crate) fn compare_values(a: &Value, b: &Value) -> Ordering {
    let (kind_a, kind_b) = (kind(a), kind(b));
    if kind_a != kind_b {
        return kind_a.cmp(&kind_b);
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (item_x, item_y) in x.iter().zip(y) {
                let order = compare_values(item_x, item_y);
                if order.is_ne() {
                    return order;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => match (instant(a), instant(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => compare_objects(x, y),
        },
        _ => Ordering::Equal,
    }
}

/// Orders two possibly missing values; missing and null alike sort after every value.
pub(crate) fn compare_optional(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let null = Value::Null;
    compare_values(a.unwrap_or(&null), b.unwrap_or(&null))
}

fn compare_numbers(x: &Number, y: &Number) -> Ordering {
    if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
        return x.cmp(&y);
    }
    let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
    x.partial_cmp(&y).unwrap_or(Ordering::Equal)
}

/// Objects compare key by key in key order (so the order keys were written in does not
/// matter, as with Parse equality), then by size.
fn compare_objects(x: &Map<String, Value>, y: &Map<String, Value>) -> Ordering {
    let mut keys_x: Vec<&String> = x.keys().collect();
    let mut keys_y: Vec<&String> = y.keys().collect();
    keys_x.sort();
    keys_y.sort();
    for (key_x, key_y) in keys_x.iter().zip(&keys_y) {
        let order = key_x.cmp(key_y).then_with(|| compare_values(&x[*key_x], &y[*key_y]));
        if order.is_ne() {
            return order;
        }
    }
    keys_x.len().cmp(&keys_y.len())
}

/// A text that two values share exactly when they are the same value: numbers by value
/// (`1` and `1.0` alike), dates by instant, objects whatever their key order.
pub(crate) fn identity(value: &Value) -> String {
    let mut out = String::new();
    write_identity(value, &mut out);
    out
}

fn write_identity(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push('z'),
        Value::Bool(flag) => out.push_str(if *flag { "t" } else { "f" }),
        Value::Number(number) => {
            out.push('n');
            match (number.as_i64(), number.as_f64()) {
                (Some(integer), _) => write!(out, "{integer}"),
                (None, Some(float)) if float.fract() == 0.0 && float.abs() < 9.2e18 => {
                    write!(out, "{}", float as i64)
                }
                (None, Some(float)) => write!(out, "{float:?}"),
                (None, None) => write!(out, "{number}"),
            }
            .unwrap_or_default();
        }
        Value::String(text) => {
            out.push('s');
            out.push_str(&Value::String(text.clone()).to_string());
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                write_identity(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(map) => {
            if let Some(time) = instant(value) {
                write!(out, "d{}", time.timestamp_millis()).unwrap_or_default();
                return;
            }
            if type_tag(value) == Some("Pointer") {
                let part = |key: &str| map.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
                let class_name = Value::String(part("className"));
                let object_id = Value::String(part("objectId"));
                write!(out, "p{class_name}{object_id}").unwrap_or_default();
                return;
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for key in keys {
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_identity(&map[key], out);
                out.push(',');
            }
            out.push('}');
        }
    }
}

/// A computed number as JSON: integral values (within f64's exact range) as integers, as
/// parse-server shows them, so a sum reads the same whichever database stored the inputs.
pub(crate) fn number_value(number: f64) -> Value {
    if number.fract() == 0.0 && number.abs() < 9_007_199_254_740_992.0 {
        Value::from(number as i64)
    } else {
        Number::from_f64(number).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn date(iso: &str) -> Value {
        json!({"__type": "Date", "iso": iso})
    }

    #[test]
    fn kinds_order_like_mongodb_with_null_last() {
        let ascending = [
            json!(-1),
            json!(2.5),
            json!(10),
            json!(""),
            json!("a"),
            json!({"a": 1}),
            json!([1]),
            json!(false),
            json!(true),
            date("2020-01-01T00:00:00Z"),
            date("2021-01-01T00:00:00.000Z"),
            Value::Null,
        ];
        for pair in ascending.windows(2) {
            assert_eq!(compare_values(&pair[0], &pair[1]), Ordering::Less, "{} < {}", pair[0], pair[1]);
            assert_eq!(compare_values(&pair[1], &pair[0]), Ordering::Greater);
        }
        assert_eq!(compare_optional(None, Some(&Value::Null)), Ordering::Equal);
        assert_eq!(compare_optional(Some(&json!(1)), None), Ordering::Less);
    }

    #[test]
    fn identities_follow_parse_equality() {
        assert_eq!(identity(&json!(1)), identity(&json!(1.0)));
        assert_ne!(identity(&json!(1)), identity(&json!("1")));
        assert_eq!(identity(&date("2024-01-01T01:00:00+01:00")), identity(&date("2024-01-01T00:00:00.000Z")));
        assert_eq!(identity(&json!({"a": 1, "b": [2]})), identity(&json!({"b": [2.0], "a": 1})));
        let pointer = json!({"__type": "Pointer", "className": "A", "objectId": "x"});
        let reordered = json!({"objectId": "x", "className": "A", "__type": "Pointer"});
        assert_eq!(identity(&pointer), identity(&reordered));
        assert_ne!(identity(&json!(["a,b"])), identity(&json!(["a", "b"])));
    }

    #[test]
    fn computed_numbers_are_integers_when_integral() {
        assert_eq!(number_value(20.0), json!(20));
        assert_eq!(number_value(12.5), json!(12.5));
    }
}
