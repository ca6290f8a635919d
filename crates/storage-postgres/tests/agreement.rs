//! The three-way agreement of design.md §2: on generated objects and generated queries, the
//! SQLite adapter's SQL, the PostgreSQL adapter's SQL and the core's in-memory matcher select
//! the same objects, count them alike, and (for orders on typed columns) return them in the
//! same order.
//!
//! Values come from small domains so that equalities, ties, absent fields, type mismatches
//! (a string against a Number column, an array "equal" to a scalar it contains) and nested
//! paths all happen often. Queries are generated as `where` JSON and go through the real
//! parser, so the generated grammar is the clients' grammar.
//!
//! Each case makes one class in both databases and runs many queries on it, since creating
//! tables is what costs. PostgreSQL is the local server, in a schema of its own with distances
//! in plain SQL (`support::fresh_storage`; skipped when unreachable, except under `CI=true`).

use std::cmp::Ordering;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reparse_core::geo::{GeoPoint, distance_radians};
use reparse_core::matcher::{compare, lookup, matches};
use reparse_core::query::{FieldPath, Query, SortBy, SortKey, parse_order, parse_where};
use reparse_core::schema::{ClassSchema, FieldSpec, FieldType};
use reparse_core::value::Object;
use reparse_storage::Storage;
use reparse_storage_sqlite::SqliteStorage;
use serde_json::{Value, json};

mod support;

const OBJECTS_PER_CASE: std::ops::Range<usize> = 0..24;
const QUERIES_PER_CASE: usize = 48;
const CASES: u32 = 32;

fn schema(class_name: &str) -> ClassSchema {
    let mut schema = ClassSchema::new(class_name);
    for (name, field_type) in [
        ("s", FieldType::String),
        ("n", FieldType::Number),
        ("b", FieldType::Boolean),
        ("d", FieldType::Date),
        ("p", FieldType::Pointer { target_class: "Target".into() }),
        ("a", FieldType::Array),
        ("o", FieldType::Object),
        ("g", FieldType::GeoPoint),
    ] {
        schema.set_field(name, FieldSpec::of(field_type));
    }
    schema
}

// ---------------------------------------------------------------------------------------------
// Generated values

fn string_value() -> impl Strategy<Value = Value> {
    prop::sample::select(vec!["", "a", "ab", "abc", "b", "B", "ba", "é", "a.c", "2024-01-02T00:00:00.000Z"])
        .prop_map(|text| json!(text))
}

fn number_value() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![json!(-1), json!(0), json!(1), json!(1.5), json!(2), json!(10), json!(-0.5)])
}

fn date_value() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "2024-01-01T00:00:00.000Z",
        "2024-01-02T00:00:00.000Z",
        "2024-01-02T00:00:00.001Z",
        "2025-06-15T12:30:00.000Z",
    ])
    .prop_map(|iso| json!({"__type": "Date", "iso": iso}))
}

fn pointer_value() -> impl Strategy<Value = Value> {
    prop::sample::select(vec!["t1", "t2", "t3"])
        .prop_map(|id| json!({"__type": "Pointer", "className": "Target", "objectId": id}))
}

/// Points on a coarse grid, so that equal and symmetric distances happen.
fn geo_point() -> impl Strategy<Value = Value> {
    (prop::sample::select(vec![-10.0, 0.0, 5.0, 10.0, 20.0]), prop::sample::select(vec![-20.0, 0.0, 5.0, 10.0]))
        .prop_map(|(latitude, longitude)| json!({"__type": "GeoPoint", "latitude": latitude, "longitude": longitude}))
}

/// A `g` clause: every geo operator, and `$exists`.
fn geo_clause() -> impl Strategy<Value = Value> {
    let radius = prop::sample::select(vec![0.05, 0.1, 0.2, 0.5, 3.2]);
    let corner = (prop::sample::select(vec![-10.0, 0.0, 5.0]), prop::sample::select(vec![-20.0, 0.0, 5.0]));
    let constraint = prop_oneof![
        geo_point().prop_map(|point| json!({"$nearSphere": point})),
        (geo_point(), radius.clone())
            .prop_map(|(point, radius)| json!({"$nearSphere": point, "$maxDistanceInRadians": radius})),
        (corner, prop::sample::select(vec![5.0, 10.0, 30.0])).prop_map(|((lat, lng), size)| {
            let sw = json!({"__type": "GeoPoint", "latitude": lat, "longitude": lng});
            let ne = json!({"__type": "GeoPoint", "latitude": lat + size, "longitude": lng + size});
            json!({"$within": {"$box": [sw, ne]}})
        }),
        prop::collection::vec(geo_point(), 3..5)
            .prop_map(|points| json!({"$geoWithin": {"$polygon": points}})),
        (geo_point(), radius).prop_map(|(center, radius)| {
            json!({"$geoWithin": {"$centerSphere": [[center["longitude"], center["latitude"]], radius]}})
        }),
        any::<bool>().prop_map(|exists| json!({"$exists": exists})),
    ];
    constraint.prop_map(|constraint| json!({"g": constraint}))
}

/// What an Array or Object may hold: scalars of several kinds, so type tests matter.
fn element_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec!["a", "b", "c"]).prop_map(|text| json!(text)),
        prop::sample::select(vec![1, 2, 3]).prop_map(|number| json!(number)),
        any::<bool>().prop_map(Value::Bool),
    ]
}

fn array_value() -> impl Strategy<Value = Value> {
    prop::collection::vec(element_value(), 0..4).prop_map(Value::Array)
}

fn object_value() -> impl Strategy<Value = Value> {
    (prop::option::of(element_value()), prop::option::of(string_value())).prop_map(|(x, y)| {
        let mut map = serde_json::Map::new();
        if let Some(x) = x {
            map.insert("x".into(), x);
        }
        if let Some(y) = y {
            map.insert("y".into(), json!({"z": y}));
        }
        Value::Object(map)
    })
}

/// The fields of one object; each may be absent.
fn fields() -> impl Strategy<Value = Object> {
    (
        prop::option::of(string_value()),
        prop::option::of(number_value()),
        prop::option::of(any::<bool>()),
        prop::option::of(date_value()),
        prop::option::of(pointer_value()),
        prop::option::of(array_value()),
        prop::option::of(object_value()),
        prop::option::of(geo_point()),
    )
        .prop_map(|(s, n, b, d, p, a, o, g)| {
            let mut object = Object::new();
            let entries = [
                ("s", s),
                ("n", n),
                ("b", b.map(Value::Bool)),
                ("d", d),
                ("p", p),
                ("a", a),
                ("o", o),
                ("g", g),
            ];
            for (name, value) in entries {
                if let Some(value) = value {
                    object.insert(name.into(), value);
                }
            }
            object
        })
}

// ---------------------------------------------------------------------------------------------
// Generated queries

/// A value of any of the generated kinds, for operands that may not fit the field.
fn any_operand() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => string_value(),
        4 => number_value(),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => date_value(),
        2 => pointer_value(),
        1 => Just(Value::Null),
    ]
}

/// An operand that fits `field` most of the time.
fn operand_for(field: &'static str) -> BoxedStrategy<Value> {
    let fitting: BoxedStrategy<Value> = match field {
        "s" | "o.y.z" => string_value().boxed(),
        "n" => number_value().boxed(),
        "b" => any::<bool>().prop_map(Value::Bool).boxed(),
        "d" | "createdAt" => date_value().boxed(),
        "p" => pointer_value().boxed(),
        _ => element_value().boxed(),
    };
    prop_oneof![5 => fitting, 1 => any_operand()].boxed()
}

const PATHS: [&str; 10] = ["s", "n", "b", "d", "p", "a", "o.x", "o.y.z", "objectId", "createdAt"];

/// One `path: {operator}` clause.
fn clause() -> impl Strategy<Value = Value> {
    prop_oneof![9 => field_clause(), 1 => geo_clause()]
}

fn field_clause() -> impl Strategy<Value = Value> {
    prop::sample::select(PATHS.to_vec()).prop_flat_map(|path| {
        let operand = operand_for(path);
        let list = prop::collection::vec(operand_for(path), 0..4);
        let constraint = prop_oneof![
            3 => operand.clone(),
            1 => operand.clone().prop_map(|value| json!({"$eq": value})),
            2 => operand.clone().prop_map(|value| json!({"$ne": value})),
            2 => (prop::sample::select(vec!["$lt", "$lte", "$gt", "$gte"]), operand.clone())
                .prop_filter("ordering operators take no null", |(_, value)| !value.is_null())
                .prop_map(|(op, value)| json!({op: value})),
            2 => list.clone().prop_map(|values| json!({"$in": values})),
            1 => list.clone().prop_map(|values| json!({"$nin": values})),
            1 => list.clone().prop_map(|values| json!({"$all": values})),
            1 => list.prop_map(|values| json!({"$containedBy": values})),
            1 => any::<bool>().prop_map(|exists| json!({"$exists": exists})),
            1 => (prop::sample::select(vec!["^a", "b$", "a.c", "^$", "B", "^2024", "00Z$"]), prop::sample::select(vec!["", "i"]))
                .prop_map(|(pattern, options)| json!({"$regex": pattern, "$options": options})),
        ];
        constraint.prop_map(move |constraint| json!({path: constraint}))
    })
}

/// A `where`: clauses combined with `$and`/`$or`/`$nor`, two levels deep at most.
fn where_clause() -> impl Strategy<Value = Value> {
    clause().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|parts| json!({"$or": parts})),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|parts| json!({"$and": parts})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|parts| json!({"$nor": parts})),
            (inner.clone(), inner).prop_map(|(first, second)| {
                // Two keys in one object: an implicit AND, when they differ.
                let mut merged = first.as_object().cloned().unwrap_or_default();
                for (key, value) in second.as_object().cloned().unwrap_or_default() {
                    merged.entry(key).or_insert(value);
                }
                Value::Object(merged)
            }),
        ]
    })
}

/// An order on typed columns (where every adapter's order is defined). The run appends the
/// `$nearSphere` distances (as a find does) and then objectId, so that the order is total.
fn order() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (prop::sample::select(vec!["s", "n", "b", "d", "p", "createdAt"]), any::<bool>()),
        0..3,
    )
    .prop_map(|keys| {
        let terms: Vec<String> = keys
            .into_iter()
            .map(|(key, descending)| format!("{}{key}", if descending { "-" } else { "" }))
            .collect();
        terms.join(",")
    })
}

#[derive(Debug, Clone)]
struct Case {
    objects: Vec<Object>,
    queries: Vec<(Value, String, u64, Option<u64>)>,
}

fn case() -> impl Strategy<Value = Case> {
    let query = (where_clause(), order(), 0u64..4, prop::option::of(0u64..8));
    (prop::collection::vec(fields(), OBJECTS_PER_CASE), prop::collection::vec(query, QUERIES_PER_CASE))
        .prop_map(|(fields, queries)| {
            let objects = fields
                .into_iter()
                .enumerate()
                .map(|(index, mut object)| {
                    object.insert("objectId".into(), json!(format!("id{index:02}")));
                    // Creation times repeat, so ties on createdAt are broken by objectId.
                    let day = 1 + index % 3;
                    object.insert("createdAt".into(), json!(format!("2024-01-0{day}T00:00:00.000Z")));
                    object.insert("updatedAt".into(), json!("2024-03-01T00:00:00.000Z"));
                    object
                })
                .collect();
            Case { objects, queries }
        })
}

// ---------------------------------------------------------------------------------------------
// The reference: the matcher filters, a comparator orders

/// NULLs (absent values) last on ascending keys and first on descending ones, as both adapters
/// order; present values by the matcher's `compare`.
fn reference_order(keys: &[SortKey], left: &Object, right: &Object) -> Ordering {
    for key in keys {
        let (a, b) = (sort_value(left, key), sort_value(right, key));
        let ordering = match (a, b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => compare(Some(&a), &b).unwrap_or(Ordering::Equal),
        };
        let ordering = if key.descending { ordering.reverse() } else { ordering };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// The value a key sorts by: the field's, or for a `$nearSphere` key the distance of the
/// GeoPoint there (in radians, by the core's formula).
fn sort_value(object: &Object, key: &SortKey) -> Option<Value> {
    let value = lookup(object, &key.path)?;
    match &key.by {
        SortBy::Value => Some(value.clone()),
        SortBy::DistanceFrom(point) => Some(json!(distance_radians(GeoPoint::from_value(value)?, *point))),
        // Generated queries have no `$text`.
        SortBy::TextScore => None,
    }
}

fn ids(objects: &[Object]) -> Vec<String> {
    objects.iter().map(|object| object["objectId"].as_str().unwrap_or_default().to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// Running a case on both databases

async fn load(storage: &dyn Storage, schema: &ClassSchema, objects: &[Object]) {
    storage.create_class(schema).await.expect("create class");
    for object in objects {
        storage.insert(schema, object).await.expect("insert");
    }
}

async fn run_case(
    databases: &[(&str, &dyn Storage)],
    class_name: &str,
    case: &Case,
) -> Result<(), TestCaseError> {
    let schema = schema(class_name);
    for (_, storage) in databases {
        load(*storage, &schema, &case.objects).await;
    }
    let mut failures = Vec::new();
    for (where_json, order_text, skip, limit) in &case.queries {
        let filter =
            parse_where(where_json).map_err(|error| TestCaseError::fail(format!("{where_json}: {error}")))?;
        let requested = parse_order(order_text).expect("generated orders parse");
        let mut query = Query::find(filter.clone(), requested, *skip, *limit);
        query.order.push(SortKey::value(FieldPath::top("objectId"), false));
        let order = query.order.clone();
        let mut expected: Vec<Object> =
            case.objects.iter().filter(|object| matches(&filter, object)).cloned().collect();
        let expected_count = expected.len() as u64;
        expected.sort_by(|left, right| reference_order(&order, left, right));
        let expected: Vec<String> = ids(&expected)
            .into_iter()
            .skip(*skip as usize)
            .take(limit.map_or(usize::MAX, |limit| limit as usize))
            .collect();
        for (name, storage) in databases {
            match storage.find(&schema, &query).await {
                Ok(found) if ids(&found) == expected => {}
                Ok(found) => failures.push(format!(
                    "{name}: where {where_json} order {order_text} skip {skip} limit {limit:?}: got {:?}, matcher {expected:?}",
                    ids(&found)
                )),
                Err(error) => failures.push(format!("{name}: where {where_json}: find failed: {error}")),
            }
            match storage.count(&schema, &filter).await {
                Ok(count) if count == expected_count => {}
                Ok(count) => failures
                    .push(format!("{name}: where {where_json}: count {count}, matcher {expected_count}")),
                Err(error) => failures.push(format!("{name}: where {where_json}: count failed: {error}")),
            }
        }
    }
    for (_, storage) in databases {
        storage.delete_class(class_name).await.expect("drop class");
    }
    if failures.is_empty() {
        return Ok(());
    }
    let objects: Vec<String> =
        case.objects.iter().map(|object| Value::Object(object.clone()).to_string()).collect();
    Err(TestCaseError::fail(format!("{}\nobjects:\n{}", failures.join("\n"), objects.join("\n"))))
}

#[test]
fn sqlite_postgres_and_the_matcher_agree() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let Some(postgres) = runtime.block_on(support::fresh_storage()) else { return };
    let directory = tempfile::tempdir().expect("temporary directory");
    let sqlite = SqliteStorage::open(&directory.path().join("agreement.sqlite")).expect("sqlite");
    let databases: [(&str, &dyn Storage); 2] = [("sqlite", &sqlite), ("postgres", &*postgres)];
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(CASES);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    static CLASS_COUNTER: AtomicU64 = AtomicU64::new(0);
    let outcome = runner.run(&case(), |case| {
        let class_name = format!("Generated{}", CLASS_COUNTER.fetch_add(1, AtomicOrdering::Relaxed));
        runtime.block_on(run_case(&databases, &class_name, &case))
    });
    if let Err(error) = outcome {
        panic!("{error}");
    }
}
