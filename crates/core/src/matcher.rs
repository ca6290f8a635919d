//! The in-memory matcher: decides whether an object (REST encoding) satisfies a resolved
//! [`Filter`]. It is the reference semantics that the SQL builders must agree with, and what
//! LiveQuery uses to route events.

use std::cmp::Ordering;

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use crate::error::{ParseError, ParseResult};
use crate::geo::{GeoPoint, distance_radians, polygon_contains, polygon_vertices};
use crate::query::{Constraint, FieldPath, Filter};
use crate::value::{Object, date_iso, date_value, parse_date, pointer_parts, values_equal};

/// Compiles a `$regex` with its `$options` (`i`, `m`, `x`, `s`).
pub fn compile_regex(pattern: &str, options: &str) -> ParseResult<Regex> {
    RegexBuilder::new(&expand_literal_quotes(pattern))
        .case_insensitive(options.contains('i'))
        .multi_line(options.contains('m'))
        .ignore_whitespace(options.contains('x'))
        .dot_matches_new_line(options.contains('s'))
        .size_limit(1 << 20)
        .build()
        .map_err(|error| ParseError::invalid_query(format!("Invalid regular expression: {error}")))
}

/// Rewrites PCRE's `\Q…\E` literal quoting (what the SDKs' `startsWith`, `endsWith` and
/// `contains` send) as escaped text, which the `regex` crate (and PostgreSQL) understand.
pub fn expand_literal_quotes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("\\Q") {
        out.push_str(&rest[..start]);
        let quoted = &rest[start + 2..];
        let (literal, after) = match quoted.find("\\E") {
            Some(end) => (&quoted[..end], &quoted[end + 2..]),
            None => (quoted, ""),
        };
        out.push_str(&regex::escape(literal));
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Whether `object` satisfies `filter`. Unresolved sub-queries never match.
pub fn matches(filter: &Filter, object: &Object) -> bool {
    match filter {
        Filter::And(parts) => parts.iter().all(|part| matches(part, object)),
        Filter::Or(parts) => parts.iter().any(|part| matches(part, object)),
        Filter::Nor(parts) => !parts.iter().any(|part| matches(part, object)),
        Filter::Field { path, constraint } => {
            let value = lookup(object, path);
            // Objects carry their timestamps as plain ISO strings; queries compare them as dates.
            if !path.is_nested()
                && TIMESTAMPS.contains(&path.field.as_str())
                && let Some(Value::String(iso)) = value
            {
                return constraint_holds(&dates_for_strings(constraint), Some(&date_value(iso)));
            }
            constraint_holds(constraint, value)
        }
        Filter::RelatedTo { .. } => false,
    }
}

/// Fields stored as plain ISO strings that queries treat as dates.
const TIMESTAMPS: [&str; 2] = ["createdAt", "updatedAt"];

/// The constraint with plain-string operands read as dates (how a timestamp column compares
/// them in SQL).
fn dates_for_strings(constraint: &Constraint) -> Constraint {
    let date = |value: &Value| match value {
        Value::String(text) => date_value(text),
        other => other.clone(),
    };
    let dates = |values: &[Value]| values.iter().map(date).collect();
    match constraint {
        Constraint::Eq(value) => Constraint::Eq(date(value)),
        Constraint::Ne(value) => Constraint::Ne(date(value)),
        Constraint::Lt(value) => Constraint::Lt(date(value)),
        Constraint::Lte(value) => Constraint::Lte(date(value)),
        Constraint::Gt(value) => Constraint::Gt(date(value)),
        Constraint::Gte(value) => Constraint::Gte(date(value)),
        Constraint::In(values) => Constraint::In(dates(values)),
        Constraint::Nin(values) => Constraint::Nin(dates(values)),
        other => other.clone(),
    }
}

/// The value at a path, if present and not null.
pub fn lookup<'a>(object: &'a Object, path: &FieldPath) -> Option<&'a Value> {
    let mut current = object.get(&path.field)?;
    for key in &path.subpath {
        current = current.as_object()?.get(key)?;
    }
    (!current.is_null()).then_some(current)
}

fn constraint_holds(constraint: &Constraint, actual: Option<&Value>) -> bool {
    match constraint {
        Constraint::Eq(expected) => equals_or_contains(actual, expected),
        Constraint::Ne(expected) => !equals_or_contains(actual, expected),
        Constraint::Lt(bound) => compare(actual, bound).is_some_and(Ordering::is_lt),
        Constraint::Lte(bound) => compare(actual, bound).is_some_and(Ordering::is_le),
        Constraint::Gt(bound) => compare(actual, bound).is_some_and(Ordering::is_gt),
        Constraint::Gte(bound) => compare(actual, bound).is_some_and(Ordering::is_ge),
        Constraint::In(options) => options.iter().any(|option| equals_or_contains(actual, option)),
        Constraint::Nin(options) => !options.iter().any(|option| equals_or_contains(actual, option)),
        Constraint::Exists(exists) => actual.is_some() == *exists,
        Constraint::All(required) => match actual {
            Some(Value::Array(items)) => {
                required.iter().all(|wanted| items.iter().any(|item| values_equal(item, wanted)))
            }
            _ => false,
        },
        Constraint::ContainedBy(allowed) => match actual {
            Some(Value::Array(items)) => {
                items.iter().all(|item| allowed.iter().any(|option| values_equal(item, option)))
            }
            _ => false,
        },
        Constraint::Regex { pattern, options } => match (actual, compile_regex(pattern, options)) {
            (Some(Value::String(text)), Ok(regex)) => regex.is_match(text),
            _ => false,
        },
        Constraint::Text(search) => match actual {
            Some(Value::String(text)) => search.compile().matches(text),
            _ => false,
        },
        Constraint::EqIgnoringCase(expected) => match actual {
            Some(Value::String(text)) => fold_case(text) == fold_case(expected),
            _ => false,
        },
        Constraint::NearSphere { point, max_distance } => match actual.and_then(GeoPoint::from_value) {
            Some(found) => max_distance.is_none_or(|max| distance_radians(found, *point) <= max),
            None => false,
        },
        Constraint::Within(region) => {
            actual.and_then(GeoPoint::from_value).is_some_and(|found| region.contains(found))
        }
        Constraint::PolygonContains(point) => {
            actual.and_then(polygon_vertices).is_some_and(|vertices| polygon_contains(&vertices, *point))
        }
        Constraint::InQuery(_)
        | Constraint::NotInQuery(_)
        | Constraint::Select { .. }
        | Constraint::DontSelect { .. } => false,
    }
}

/// The distance (radians) a `SortBy::DistanceFrom(from)` key orders `object` by; `None` when
/// there is no GeoPoint at `path`, which sorts like a missing value (after every distance
/// when ascending).
pub fn distance_for_sort(object: &Object, path: &FieldPath, from: GeoPoint) -> Option<f64> {
    lookup(object, path).and_then(GeoPoint::from_value).map(|found| distance_radians(found, from))
}

/// The case folding `EqIgnoringCase` compares with; adapters must fold the same way.
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

/// Equality, where an array field "equals" a scalar it contains, and `null` means absent.
fn equals_or_contains(actual: Option<&Value>, expected: &Value) -> bool {
    match (actual, expected) {
        (None, Value::Null) => true,
        (None, _) | (Some(_), Value::Null) => false,
        (Some(Value::Array(items)), expected) if !expected.is_array() => {
            items.iter().any(|item| values_equal(item, expected))
        }
        (Some(actual), expected) => values_equal(actual, expected),
    }
}

/// Orders two values of the same kind: numbers, strings, dates, booleans. `None` when they
/// cannot be compared (different kinds, or a missing value), which makes the constraint false.
pub fn compare(actual: Option<&Value>, bound: &Value) -> Option<Ordering> {
    let actual = actual?;
    match (actual, bound) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(compare_strings_or_dates(a, b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        _ => {
            let a = date_iso(actual).or_else(|| actual.as_str());
            let b = date_iso(bound).or_else(|| bound.as_str());
            if date_iso(actual).is_some() || date_iso(bound).is_some() {
                let (a, b) = (parse_date(a?).ok()?, parse_date(b?).ok()?);
                return Some(a.cmp(&b));
            }
            let (a, b) = (pointer_parts(actual)?, pointer_parts(bound)?);
            Some(a.cmp(&b))
        }
    }
}

fn compare_strings_or_dates(a: &str, b: &str) -> Ordering {
    a.cmp(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_where;
    use serde_json::json;

    fn check(where_clause: Value, object: Value, expected: bool) {
        let filter = parse_where(&where_clause).unwrap();
        let object = object.as_object().unwrap().clone();
        assert_eq!(matches(&filter, &object), expected, "{where_clause} on {object:?}");
    }

    #[test]
    fn matches_comparisons_and_sets() {
        let object = json!({"n": 5, "s": "abc", "tags": ["a", "b"], "o": {"x": 1},
            "d": {"__type": "Date", "iso": "2024-01-02T00:00:00.000Z"},
            "p": {"__type": "Pointer", "className": "A", "objectId": "x1"}});
        check(json!({"n": 5}), object.clone(), true);
        check(json!({"n": {"$gt": 4, "$lte": 5}}), object.clone(), true);
        check(json!({"n": {"$lt": 5}}), object.clone(), false);
        check(json!({"n": {"$in": [1, 5]}}), object.clone(), true);
        check(json!({"n": {"$nin": [1, 5]}}), object.clone(), false);
        check(json!({"tags": "a"}), object.clone(), true);
        check(json!({"tags": {"$all": ["a", "b"]}}), object.clone(), true);
        check(json!({"tags": {"$all": ["a", "c"]}}), object.clone(), false);
        check(json!({"tags": {"$containedBy": ["a", "b", "c"]}}), object.clone(), true);
        check(json!({"tags": {"$in": ["z", "b"]}}), object.clone(), true);
        check(json!({"o.x": 1}), object.clone(), true);
        check(json!({"missing": {"$exists": false}}), object.clone(), true);
        check(json!({"missing": null}), object.clone(), true);
        check(json!({"n": {"$ne": null}}), object.clone(), true);
        check(json!({"s": {"$regex": "^A", "$options": "i"}}), object.clone(), true);
        check(json!({"d": {"$gt": {"__type": "Date", "iso": "2024-01-01T00:00:00Z"}}}), object.clone(), true);
        check(json!({"p": {"__type": "Pointer", "className": "A", "objectId": "x1"}}), object.clone(), true);
        check(json!({"$or": [{"n": 1}, {"s": "abc"}]}), object.clone(), true);
        check(json!({"$nor": [{"n": 1}, {"s": "abc"}]}), object.clone(), false);
        check(json!({"n": {"$gt": "4"}}), object.clone(), false);
        let stamped = json!({"createdAt": "2024-01-02T00:00:00.000Z"});
        check(json!({"createdAt": {"__type": "Date", "iso": "2024-01-02T00:00:00Z"}}), stamped.clone(), true);
        check(
            json!({"createdAt": {"$lt": {"__type": "Date", "iso": "2024-01-03T00:00:00Z"}}}),
            stamped,
            true,
        );
        check(json!({"s": {"$regex": "^\\Qab\\E"}}), object.clone(), true);
        check(json!({"s": {"$regex": "\\Qa.c\\E"}}), object.clone(), false);
        check(json!({"s": {"$regex": "\\Qbc\\E$"}}), object, true);
    }

    #[test]
    fn matches_geo_constraints() {
        let geo = |latitude: f64, longitude: f64| json!({"__type": "GeoPoint", "latitude": latitude, "longitude": longitude});
        let object = json!({
            "loc": geo(0.0, 1.0),
            "o": {"inner": geo(10.0, 10.0)},
            "area": {"__type": "Polygon", "coordinates": [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]},
            "name": "x",
        });
        let near = |max: f64| json!({"loc": {"$nearSphere": geo(0.0, 0.0), "$maxDistance": max}});
        let one_degree = 1.0_f64.to_radians();
        check(near(one_degree), object.clone(), true);
        check(near(one_degree * 0.999_999), object.clone(), false);
        check(json!({"loc": {"$nearSphere": geo(80.0, 170.0)}}), object.clone(), true);
        check(json!({"missing": {"$nearSphere": geo(0.0, 0.0)}}), object.clone(), false);
        check(json!({"name": {"$nearSphere": geo(0.0, 0.0)}}), object.clone(), false);
        check(json!({"area": {"$nearSphere": geo(0.0, 0.0)}}), object.clone(), false);
        check(
            json!({"o.inner": {"$within": {"$box": [geo(0.0, 0.0), geo(10.0, 10.0)]}}}),
            object.clone(),
            true,
        );
        check(json!({"loc": {"$within": {"$box": [geo(0.5, 0.0), geo(10.0, 10.0)]}}}), object.clone(), false);
        check(json!({"loc": {"$geoWithin": {"$polygon": [[0, 0], [1, 0], [1, 1]]}}}), object.clone(), true);
        check(json!({"loc": {"$geoWithin": {"$polygon": [[0, 0], [0, 1], [1, 1]]}}}), object.clone(), false);
        check(json!({"loc": {"$geoWithin": {"$centerSphere": [[0, 0], one_degree]}}}), object.clone(), true);
        check(json!({"area": {"$geoIntersects": {"$point": geo(5.0, 5.0)}}}), object.clone(), true);
        check(json!({"area": {"$geoIntersects": {"$point": geo(10.0, 10.0)}}}), object.clone(), true);
        check(json!({"area": {"$geoIntersects": {"$point": geo(5.0, 11.0)}}}), object.clone(), false);
        check(json!({"loc": {"$geoIntersects": {"$point": geo(0.0, 1.0)}}}), object.clone(), false);
        check(
            json!({"$nor": [{"missing": {"$within": {"$box": [geo(0.0, 0.0), geo(1.0, 1.0)]}}}]}),
            object.clone(),
            true,
        );
        check(
            json!({"$or": [{"loc": {"$nearSphere": geo(0.0, 0.0), "$maxDistance": 0}}, {"name": "x"}]}),
            object,
            true,
        );
    }

    #[test]
    fn matches_text_searches_on_strings_only() {
        let object = json!({"s": "Coffee and cream", "n": 5, "o": {"t": "more coffee"}, "tags": ["coffee"]});
        let search = |term: &str| json!({"$text": {"$search": {"$term": term}}});
        check(json!({"s": search("coffees")}), object.clone(), true);
        check(json!({"s": search("tea")}), object.clone(), false);
        check(json!({"o.t": search("coffee")}), object.clone(), true);
        check(json!({"n": search("5")}), object.clone(), false);
        check(json!({"tags": search("coffee")}), object.clone(), false);
        check(json!({"missing": search("coffee")}), object.clone(), false);
        check(json!({"$nor": [{"s": search("cream")}]}), object, false);
        let stamped = json!({"createdAt": "2024-01-02T00:00:00.000Z"});
        check(json!({"createdAt": search("2024")}), stamped, false);
    }
}
