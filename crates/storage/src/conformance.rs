//! The storage conformance suite: one set of behaviours every adapter must show, asserted
//! through the [`Storage`] trait only.
//!
//! Each `pub async fn` takes a fresh, empty store and panics on the first broken promise.
//! An adapter runs the whole suite with one line (ripgrep's `rgtest!` is the model):
//!
//! ```text
//! reparse_storage::storage_conformance_tests!(open_fresh_storage());
//! reparse_storage::storage_conformance_tests!(optional connect_or_skip()); // yields an Option
//! ```
//!
//! where the expression is evaluated once per test and awaited, and yields something that
//! dereferences to a `Storage` (a `Box<dyn Storage>`, or a fixture that also keeps a temporary
//! directory alive). [`write_durable_fixture`] and [`check_durable_fixture`] are run by
//! the adapter around a reopen, since reopening is not something the trait can do.
//!
//! Query semantics are not restated here: [`constraints_agree_with_the_matcher`] holds the
//! adapter's results equal to `reparse_core::matcher::matches` over a fixture set, and
//! [`text_searches_agree_with_the_matcher`] does the same for `$text` (with its scores equal to
//! the core's, [`scores_text_searches_like_the_core`]). The text fixtures keep to text that
//! PostgreSQL's parser splits as the core does (no hyphens, URLs, decimals or markup).

use std::time::Duration;

use std::cmp::Ordering;

use reparse_core::ErrorCode;
use reparse_core::aggregate::distinct_in_memory;
use reparse_core::geo::{GeoPoint, distance_radians};
use reparse_core::matcher::{distance_for_sort, lookup, matches};
use reparse_core::query::{
    Constraint, FieldPath, Filter, Query, SortBy, SortKey, nearness_order, parse_order, parse_where,
};
use reparse_core::schema::{ClassSchema, FieldSpec, FieldType};
use reparse_core::text::TEXT_SCORE_FIELD;
use reparse_core::update::{Updates, parse_field_update};
use reparse_core::value::{Object, values_equal};
use serde_json::{Value, json};

use crate::{Storage, Store};

/// Expands to one `#[tokio::test]` per suite function. `$make_storage` is an expression whose
/// value, awaited, dereferences to a type implementing `Storage`; it is evaluated afresh for
/// every test.
#[macro_export]
macro_rules! storage_conformance_tests {
    // `optional`: the expression yields an `Option`; `None` (a database that is not there)
    // skips the test, so the adapter decides when that is allowed.
    (optional $make_storage:expr) => {
        $crate::storage_conformance_tests!(@each $make_storage;
            creates_classes_once,
            updates_class_fields_and_relations,
            updates_class_indexes,
            deletes_classes,
            round_trips_every_field_type,
            rejects_duplicate_object_ids,
            inserts_many_and_names_the_one_that_fails,
            rejects_fields_missing_from_the_schema,
            constraints_agree_with_the_matcher,
            geo_constraints_agree_with_the_matcher,
            text_searches_agree_with_the_matcher,
            scores_text_searches_like_the_core,
            orders_skips_and_limits,
            orders_by_distance,
            counts_like_find,
            explains_finds,
            updates_with_every_operator,
            update_of_a_non_matching_object_returns_none,
            failed_update_changes_nothing,
            deletes_by_filter_with_their_relations,
            tracks_relations,
            commits_transactions,
            rolls_back_transactions,
            dropped_transactions_roll_back,
            purges_objects_but_keeps_the_schema,
            keeps_system_classes_unique_and_internal_fields_stored,
            distinct_agrees_with_the_core,
            scans_every_matching_object_once,
        );
    };
    ($make_storage:expr) => {
        $crate::storage_conformance_tests!(optional async { Some($make_storage.await) });
    };
    (@each $make_storage:expr; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $name() {
                let Some(storage) = $make_storage.await else { return };
                $crate::conformance::$name(&*storage).await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn object(value: Value) -> Object {
    match value {
        Value::Object(map) => map,
        other => panic!("fixture objects are JSON objects, not {other}"),
    }
}

fn class_schema(class_name: &str, fields: &[(&str, FieldType)]) -> ClassSchema {
    let mut schema = ClassSchema::new(class_name);
    for (name, field_type) in fields {
        schema.set_field(name, FieldSpec::of(field_type.clone()));
    }
    schema
}

fn pointer_to(target_class: &str) -> FieldType {
    FieldType::Pointer { target_class: target_class.to_string() }
}

fn relation_to(target_class: &str) -> FieldType {
    FieldType::Relation { target_class: target_class.to_string() }
}

fn pointer(class_name: &str, object_id: &str) -> Value {
    json!({"__type": "Pointer", "className": class_name, "objectId": object_id})
}

fn date(iso: &str) -> Value {
    json!({"__type": "Date", "iso": iso})
}

fn filter(where_clause: Value) -> Filter {
    parse_where(&where_clause).unwrap_or_else(|error| panic!("bad where {where_clause}: {error}"))
}

fn updates(body: Value) -> Updates {
    object(body)
        .iter()
        .map(|(key, value)| {
            let update =
                parse_field_update(value).unwrap_or_else(|error| panic!("bad update {key}: {error}"));
            (FieldPath::parse(key), update)
        })
        .collect()
}

/// An object with the base fields set: createdAt/updatedAt derived from `day` (1–28) so that
/// creation order is known.
fn stored_object(object_id: &str, day: u32, fields: Value) -> Object {
    let mut stored = object(json!({
        "objectId": object_id,
        "createdAt": format!("2024-01-{day:02}T00:00:00.000Z"),
        "updatedAt": format!("2024-02-{day:02}T00:00:00.000Z"),
    }));
    stored.extend(object(fields));
    stored
}

fn id_of(object: &Object) -> String {
    object.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

async fn create(store: &dyn Store, schema: &ClassSchema) {
    store
        .create_class(schema)
        .await
        .unwrap_or_else(|error| panic!("create_class {}: {error}", schema.class_name));
}

async fn insert_all(store: &dyn Store, schema: &ClassSchema, objects: &[Object]) {
    for object in objects {
        store
            .insert(schema, object)
            .await
            .unwrap_or_else(|error| panic!("insert {}: {error}", id_of(object)));
    }
}

async fn find(store: &dyn Store, schema: &ClassSchema, query: Query) -> Vec<Object> {
    store.find(schema, &query).await.unwrap_or_else(|error| panic!("find {query:?}: {error}"))
}

async fn find_all(store: &dyn Store, schema: &ClassSchema) -> Vec<Object> {
    find(store, schema, Query::matching(Filter::everything())).await
}

async fn find_ids(store: &dyn Store, schema: &ClassSchema, where_clause: Value) -> Vec<String> {
    let objects = find(store, schema, Query::matching(filter(where_clause))).await;
    sorted(objects.iter().map(id_of).collect())
}

async fn find_by_id(store: &dyn Store, schema: &ClassSchema, object_id: &str) -> Option<Object> {
    let mut found = find(store, schema, Query::matching(filter(json!({"objectId": object_id})))).await;
    assert!(found.len() <= 1, "objectId {object_id} matched {} objects", found.len());
    found.pop()
}

async fn related(store: &dyn Store, owner_class: &str, field: &str, owning_id: &str) -> Vec<String> {
    let ids = store
        .related_ids(owner_class, field, "Target", owning_id)
        .await
        .unwrap_or_else(|error| panic!("related_ids {owner_class}.{field}: {error}"));
    sorted(ids)
}

async fn owning(store: &dyn Store, owner_class: &str, field: &str, related_ids: &[&str]) -> Vec<String> {
    let ids = store
        .owning_ids(owner_class, field, "Target", &strings(related_ids))
        .await
        .unwrap_or_else(|error| panic!("owning_ids {owner_class}.{field}: {error}"));
    sorted(ids)
}

async fn update(store: &dyn Store, schema: &ClassSchema, object_id: &str, body: Value) -> Option<Object> {
    store
        .update(schema, object_id, &Filter::everything(), &updates(body))
        .await
        .unwrap_or_else(|error| panic!("update {object_id}: {error}"))
}

async fn loaded_schema(store: &dyn Store, class_name: &str) -> Option<ClassSchema> {
    let schemas = store.load_schemas().await.unwrap_or_else(|error| panic!("load_schemas: {error}"));
    schemas.into_iter().find(|schema| schema.class_name == class_name)
}

fn add_relation(ids: &[&str]) -> Value {
    let objects: Vec<Value> = ids.iter().map(|id| pointer("Target", id)).collect();
    json!({"__op": "AddRelation", "objects": objects})
}

fn remove_relation(ids: &[&str]) -> Value {
    let objects: Vec<Value> = ids.iter().map(|id| pointer("Target", id)).collect();
    json!({"__op": "RemoveRelation", "objects": objects})
}

// ---------------------------------------------------------------------------------------------
// Schema operations

pub async fn creates_classes_once(storage: &dyn Storage) {
    let schema = class_schema(
        "Thing",
        &[("name", FieldType::String), ("owner", pointer_to("_User")), ("members", relation_to("_User"))],
    );
    create(storage, &schema).await;
    assert_eq!(loaded_schema(storage, "Thing").await, Some(schema.clone()));

    let error = storage.create_class(&schema).await.expect_err("a second create_class must fail");
    assert_eq!(error.code, ErrorCode::InvalidClassName);
    assert_eq!(error.message, "Class Thing already exists.");

    let users = ClassSchema::new("_User");
    create(storage, &users).await;
    assert_eq!(loaded_schema(storage, "_User").await, Some(users));
    assert_eq!(storage.load_schemas().await.expect("load_schemas").len(), 2);
}

pub async fn updates_class_fields_and_relations(storage: &dyn Storage) {
    let first = class_schema(
        "Evolving",
        &[("keep", FieldType::String), ("dropped", FieldType::Number), ("links", relation_to("Target"))],
    );
    create(storage, &first).await;
    insert_all(storage, &first, &[stored_object("e1", 1, json!({"keep": "k", "dropped": 5}))]).await;
    update(storage, &first, "e1", json!({"links": add_relation(&["t1"])})).await;
    assert_eq!(related(storage, "Evolving", "links", "e1").await, strings(&["t1"]));

    let second = class_schema(
        "Evolving",
        &[("keep", FieldType::String), ("added", FieldType::Boolean), ("others", relation_to("Target"))],
    );
    storage.update_class(&second).await.expect("update_class");
    assert_eq!(loaded_schema(storage, "Evolving").await, Some(second.clone()));
    let e1 = find_by_id(storage, &second, "e1").await.expect("e1 survives a schema change");
    assert_eq!(e1, stored_object("e1", 1, json!({"keep": "k"})));
    assert_eq!(find_ids(storage, &second, json!({"dropped": 5})).await, Vec::<String>::new());

    insert_all(storage, &second, &[stored_object("e2", 2, json!({"added": true}))]).await;
    let refused = storage.insert(&second, &stored_object("e3", 3, json!({"dropped": 1}))).await;
    assert_eq!(refused.expect_err("a removed field has no column").code, ErrorCode::InternalServerError);
    update(storage, &second, "e2", json!({"others": add_relation(&["t2"])})).await;
    assert_eq!(related(storage, "Evolving", "others", "e2").await, strings(&["t2"]));

    // Fields and relations that come back start empty: removing them deleted their data.
    storage.update_class(&first).await.expect("update_class back");
    let e1 = find_by_id(storage, &first, "e1").await.expect("e1");
    assert_eq!(e1, stored_object("e1", 1, json!({"keep": "k"})));
    assert_eq!(related(storage, "Evolving", "links", "e1").await, Vec::<String>::new());

    let missing = class_schema("NeverCreated", &[]);
    assert!(storage.update_class(&missing).await.is_err(), "update_class of a missing class");
}

pub async fn updates_class_indexes(storage: &dyn Storage) {
    let mut schema = class_schema("Indexed", &[("n", FieldType::Number), ("s", FieldType::String)]);
    create(storage, &schema).await;
    insert_all(
        storage,
        &schema,
        &[
            stored_object("i1", 1, json!({"n": 1, "s": "a"})),
            stored_object("i2", 2, json!({"n": 2, "s": "b"})),
        ],
    )
    .await;

    schema.indexes = object(json!({"_id_": {"_id": 1}, "by_n": {"n": 1}, "by_s_n": {"s": 1, "n": -1}}));
    storage.update_class(&schema).await.expect("adding indexes");
    assert_eq!(loaded_schema(storage, "Indexed").await, Some(schema.clone()));
    assert_eq!(find_ids(storage, &schema, json!({"n": {"$gt": 1}})).await, strings(&["i2"]));

    // An index can go, and so can a field once no index uses it.
    schema.indexes = object(json!({"by_s_n": {"s": 1, "n": -1}}));
    storage.update_class(&schema).await.expect("dropping an index");
    schema.indexes = object(json!({"by_s": {"s": -1}}));
    schema.remove_field("n");
    storage.update_class(&schema).await.expect("dropping an indexed field with its index");
    assert_eq!(loaded_schema(storage, "Indexed").await, Some(schema.clone()));
    assert_eq!(find_ids(storage, &schema, json!({"s": "b"})).await, strings(&["i2"]));
}

pub async fn deletes_classes(storage: &dyn Storage) {
    let schema = class_schema("Doomed", &[("n", FieldType::Number), ("links", relation_to("Target"))]);
    create(storage, &schema).await;
    insert_all(storage, &schema, &[stored_object("d1", 1, json!({"n": 1}))]).await;
    update(storage, &schema, "d1", json!({"links": add_relation(&["t1"])})).await;

    storage.delete_class("Doomed").await.expect("delete_class");
    assert_eq!(loaded_schema(storage, "Doomed").await, None);

    create(storage, &schema).await;
    assert!(find_all(storage, &schema).await.is_empty(), "a re-created class starts empty");
    assert_eq!(related(storage, "Doomed", "links", "d1").await, Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Objects

pub async fn round_trips_every_field_type(storage: &dyn Storage) {
    let schema = class_schema(
        "Everything",
        &[
            ("text", FieldType::String),
            ("integer", FieldType::Number),
            ("fraction", FieldType::Number),
            ("negative", FieldType::Number),
            ("flag", FieldType::Boolean),
            ("when", FieldType::Date),
            ("document", FieldType::Object),
            ("list", FieldType::Array),
            ("target", pointer_to("Target")),
            ("attachment", FieldType::File),
            ("bare_file", FieldType::File),
            ("place", FieldType::GeoPoint),
            ("area", FieldType::Polygon),
            ("payload", FieldType::Bytes),
            ("links", relation_to("Target")),
        ],
    );
    create(storage, &schema).await;
    let full = stored_object(
        "full",
        1,
        json!({
            "text": "héllo \"quoted\" 'single' \\ ; DROP TABLE x; --",
            "integer": 42,
            "fraction": 1.5,
            "negative": -7,
            "flag": false,
            "when": date("2024-03-01T10:20:30.123Z"),
            "document": {"nested": {"list": [1, "two", null, true]}, "at": date("2024-01-01T00:00:00.000Z")},
            "list": [1, "two", {"three": 3}, [4], pointer("Target", "t9")],
            "target": pointer("Target", "t1"),
            // The server stores a File by name (its URL is derived on every read, as
            // parse-server does), so adapters keep the name only.
            "attachment": {"__type": "File", "name": "f.txt"},
            "bare_file": {"__type": "File", "name": "g.txt"},
            "place": {"__type": "GeoPoint", "latitude": 40.5, "longitude": -73.25},
            "area": {"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1], [0, 0]]},
            "payload": {"__type": "Bytes", "base64": "AAEC"},
            "_rperm": ["*", "role:admin"],
            "_wperm": ["u1"],
        }),
    );
    let sparse = stored_object("sparse", 2, json!({"text": null, "flag": true}));
    insert_all(storage, &schema, &[full.clone(), sparse]).await;

    let found = find_by_id(storage, &schema, "full").await.expect("full object");
    assert_eq!(found, full);
    assert!(found["integer"].is_i64(), "integers come back as integers: {}", found["integer"]);
    assert!(found["fraction"].is_f64(), "fractions come back as floats: {}", found["fraction"]);
    assert_eq!(
        find_by_id(storage, &schema, "sparse").await.expect("sparse object"),
        stored_object("sparse", 2, json!({"flag": true})),
        "null and missing fields are omitted"
    );
}

pub async fn rejects_duplicate_object_ids(storage: &dyn Storage) {
    let schema = class_schema("Unique", &[("n", FieldType::Number)]);
    create(storage, &schema).await;
    let first = stored_object("same", 1, json!({"n": 1}));
    insert_all(storage, &schema, std::slice::from_ref(&first)).await;
    let error = storage
        .insert(&schema, &stored_object("same", 2, json!({"n": 2})))
        .await
        .expect_err("a duplicate objectId must fail");
    assert_eq!(error.code, ErrorCode::DuplicateValue);
    assert_eq!(error.message, "A duplicate value for a field with unique values was provided");
    assert_eq!(find_all(storage, &schema).await, vec![first]);
}

/// `insert_many` stores what `insert` would, over several statements where an adapter splits
/// them (objects with different fields among them), and names the object that fails.
pub async fn inserts_many_and_names_the_one_that_fails(storage: &dyn Storage) {
    let schema = class_schema("Restored", &[("n", FieldType::Number), ("s", FieldType::String)]);
    create(storage, &schema).await;
    let objects: Vec<Object> = (0..1234)
        .map(|i| {
            let fields = match i % 3 {
                0 => json!({"n": i}),
                1 => json!({"s": format!("s{i}")}),
                _ => json!({"n": i, "s": null}),
            };
            stored_object(&format!("r{i:04}"), 1 + (i % 28) as u32, fields)
        })
        .collect();
    storage
        .insert_many(&schema, &objects)
        .await
        .unwrap_or_else(|(index, error)| panic!("object {index}: {error}"));
    let mut stored = find_all(storage, &schema).await;
    stored.sort_by_key(|object| id_of(object).to_string());
    let expected: Vec<Object> = objects
        .iter()
        .map(|object| {
            object.iter().filter(|(_, value)| !value.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect()
        })
        .collect();
    assert_eq!(stored, expected);

    // In a transaction: the second object repeats an id; its index is named, and a rollback
    // leaves the class as it was.
    let transaction = storage.begin().await.expect("begin");
    let batch = [
        stored_object("fresh1", 1, json!({"n": 1})),
        objects[7].clone(),
        stored_object("fresh2", 1, json!({})),
    ];
    let (index, error) = transaction.insert_many(&schema, &batch).await.expect_err("a duplicate id fails");
    assert_eq!((index, error.code), (1, ErrorCode::DuplicateValue), "{}", error.message);
    transaction.rollback().await.expect("rollback");
    assert_eq!(storage.count(&schema, &Filter::everything()).await.expect("count"), 1234);
    assert!(find_ids(storage, &schema, json!({"objectId": "fresh2"})).await.is_empty());
}

pub async fn rejects_fields_missing_from_the_schema(storage: &dyn Storage) {
    let schema = class_schema("Strict", &[("n", FieldType::Number)]);
    create(storage, &schema).await;
    let error = storage
        .insert(&schema, &stored_object("s1", 1, json!({"n": 1, "ghost": "boo"})))
        .await
        .expect_err("a field missing from the schema must fail");
    assert_eq!(error.code, ErrorCode::InternalServerError);
    assert!(find_all(storage, &schema).await.is_empty());
}

/// The class and objects [`constraints_agree_with_the_matcher`] queries.
fn matcher_fixture() -> (ClassSchema, Vec<Object>) {
    let schema = class_schema(
        "Fixture",
        &[
            ("s", FieldType::String),
            ("n", FieldType::Number),
            ("b", FieldType::Boolean),
            ("d", FieldType::Date),
            ("o", FieldType::Object),
            ("a", FieldType::Array),
            ("p", pointer_to("Target")),
            ("f", FieldType::File),
            ("g", FieldType::GeoPoint),
        ],
    );
    let objects = vec![
        stored_object(
            "o01",
            1,
            json!({
                "s": "apple", "n": 1, "b": true, "d": date("2024-01-01T00:00:00.000Z"),
                "o": {"x": 1, "y": {"z": "deep"}, "tags": ["a", "b"], "when": date("2024-05-01T00:00:00.000Z")},
                "a": ["a", "b", 1], "p": pointer("Target", "t1"),
                "f": {"__type": "File", "name": "file.txt"},
                "_rperm": ["*", "role:Power Users"], "_wperm": ["u1"],
            }),
        ),
        stored_object(
            "o02",
            2,
            json!({
                "s": "banana", "n": 2.5, "b": false, "d": date("2024-02-01T00:00:00.000Z"),
                "o": {"x": 2, "flag": true}, "a": [1, 2, 3], "p": pointer("Target", "t2"), "_rperm": ["u1"],
            }),
        ),
        stored_object(
            "o03",
            3,
            json!({
                "s": "Cherry", "n": -3, "d": date("2023-12-31T23:59:59.999Z"), "o": {"x": "2"},
                "a": [{"k": 1}, pointer("Target", "t1"), "c"], "_rperm": ["u1", "u2"],
            }),
        ),
        stored_object("o04", 4, json!({"s": "apple pie", "n": 0, "b": true, "a": [], "o": {"s": "Nested"}})),
        stored_object("o05", 5, json!({"n": 10, "a": [true, false, null], "o": {"x": null, "arr": [1, 2]}})),
        stored_object(
            "o06",
            6,
            json!({
                "s": "", "n": 1.0, "a": ["a"], "o": {"y": {"z": 5}}, "d": date("2025-06-15T12:00:00.000Z"),
                "p": pointer("Target", "t3"), "g": {"__type": "GeoPoint", "latitude": 40.0, "longitude": -30.0},
                "_rperm": [],
            }),
        ),
        stored_object("o07", 7, json!({"s": "ÄPFEL"})),
        stored_object(
            "o08",
            8,
            json!({
                "s": "2024-01-15T00:00:00.000Z", "n": 10_000_000_000_i64, "a": [[1, 2], "x"], "o": {"x": [1, 2]}, "b": false,
                "_rperm": ["a\"b", "u"],
            }),
        ),
        stored_object(
            "o09",
            9,
            json!({
                "s": "Zebra\nline", "n": 3, "a": ["b", "c"], "o": {"x": 3.5, "y": {"z": "deeper"}},
                "g": {"__type": "GeoPoint", "latitude": -10.5, "longitude": 20.25},
            }),
        ),
    ];
    (schema, objects)
}

/// `where` clauses covering every constraint on every kind of column.
fn matcher_queries() -> Vec<Value> {
    let t1 = pointer("Target", "t1");
    let t3 = pointer("Target", "t3");
    vec![
        json!({}),
        // Strings
        json!({"s": "apple"}),
        json!({"s": {"$eq": "apple"}}),
        json!({"s": {"$ne": "apple"}}),
        json!({"s": null}),
        json!({"s": {"$ne": null}}),
        json!({"s": {"$exists": true}}),
        json!({"s": {"$exists": false}}),
        json!({"s": {"$gt": "b"}}),
        json!({"s": {"$lte": "apple pie"}}),
        json!({"s": {"$gte": "", "$lt": "b"}}),
        json!({"s": {"$in": ["apple", "Cherry", null]}}),
        json!({"s": {"$in": []}}),
        json!({"s": {"$nin": ["apple", "banana"]}}),
        json!({"s": {"$nin": []}}),
        json!({"s": {"$regex": "^a"}}),
        json!({"s": {"$regex": "^A", "$options": "i"}}),
        json!({"s": {"$regex": "^line", "$options": "m"}}),
        json!({"s": {"$regex": "^line"}}),
        json!({"s": {"$regex": "a.l", "$options": "s"}}),
        json!({"s": {"$regex": "p p", "$options": "x"}}),
        json!({"s": 1}),
        json!({"s": {"$gt": 1}}),
        json!({"s": {"$lt": date("2024-02-01T00:00:00.000Z")}}),
        json!({"s": {"$all": ["apple"]}}),
        // Numbers
        json!({"n": 1}),
        json!({"n": 1.0}),
        json!({"n": {"$gt": 0}}),
        json!({"n": {"$gte": 1, "$lt": 3}}),
        json!({"n": {"$gt": 5_000_000_000_i64}}),
        json!({"n": {"$in": [1, 2.5, "x"]}}),
        json!({"n": {"$nin": [1]}}),
        json!({"n": {"$ne": 1}}),
        json!({"n": "1"}),
        json!({"n": {"$lt": "z"}}),
        json!({"n": {"$regex": "1"}}),
        // Booleans
        json!({"b": true}),
        json!({"b": false}),
        json!({"b": {"$ne": true}}),
        json!({"b": {"$gt": false}}),
        json!({"b": {"$in": [true, null]}}),
        json!({"b": 1}),
        // Dates
        json!({"d": date("2024-01-01T00:00:00.000Z")}),
        json!({"d": date("2024-01-01T01:00:00+01:00")}),
        json!({"d": {"$gt": date("2024-01-15T00:00:00.000Z")}}),
        json!({"d": {"$lt": "2024-01-15T00:00:00Z"}}),
        json!({"d": {"$lte": date("2023-12-31T23:59:59.999Z")}}),
        json!({"d": {"$in": [date("2024-02-01T00:00:00.000Z"), date("2025-06-15T12:00:00.000Z")]}}),
        json!({"d": "2024-01-01T00:00:00.000Z"}),
        json!({"d": {"$exists": false}}),
        json!({"d": {"$gt": 5}}),
        json!({"d.iso": {"$gte": "2024-01-01T00:00:00.000Z"}}),
        // Base fields
        json!({"objectId": "o01"}),
        json!({"objectId": {"$in": ["o01", "o03", "nope"]}}),
        json!({"objectId": {"$nin": ["o01"]}}),
        json!({"objectId": {"$gt": "o05"}}),
        json!({"objectId": {"$regex": "^o0[12]"}}),
        json!({"createdAt": "2024-01-02T00:00:00.000Z"}),
        json!({"createdAt": {"$gte": date("2024-01-05T00:00:00.000Z")}}),
        json!({"createdAt": {"$lt": "2024-01-03"}}),
        json!({"updatedAt": {"$lte": date("2024-02-02T00:00:00Z")}}),
        // Pointers
        json!({"p": t1}),
        json!({"p": {"__type": "Object", "className": "Target", "objectId": "t1", "name": "full object"}}),
        json!({"p": pointer("Other", "t1")}),
        json!({"p": {"$in": [t1, t3]}}),
        json!({"p": {"$nin": [t1]}}),
        json!({"p": {"$ne": t1}}),
        json!({"p": {"$exists": true}}),
        json!({"p": "t1"}),
        json!({"p": {"$gt": t1}}),
        json!({"p": {"$gt": pointer("Aaa", "zzz")}}),
        json!({"p": {"$lte": pointer("Zzz", "a")}}),
        json!({"p": {"$lt": pointer("Aaa", "zzz")}}),
        json!({"p.objectId": "t1"}),
        json!({"p.className": "Target"}),
        // Arrays
        json!({"a": "a"}),
        json!({"a": 1}),
        json!({"a": 1.0}),
        json!({"a": true}),
        json!({"a": "1"}),
        json!({"a": ["a", "b", 1]}),
        json!({"a": ["b", "a", 1]}),
        json!({"a": [[1, 2], "x"]}),
        json!({"a": []}),
        json!({"a": {"k": 1}}),
        json!({"a": t1}),
        json!({"a": {"__type": "Object", "className": "Target", "objectId": "t1"}}),
        json!({"a": {"$in": ["c", 2]}}),
        json!({"a": {"$in": [[1, 2], "zz"]}}),
        json!({"a": {"$nin": ["a", 1]}}),
        json!({"a": {"$ne": "a"}}),
        json!({"a": {"$all": ["a", "b"]}}),
        json!({"a": {"$all": []}}),
        json!({"a": {"$all": [[1, 2]]}}),
        json!({"a": {"$all": [null]}}),
        json!({"a": {"$containedBy": ["a", "b", "c", 1]}}),
        json!({"a": {"$containedBy": []}}),
        json!({"a": {"$containedBy": [true, false, null]}}),
        json!({"a": {"$exists": true}}),
        json!({"a": null}),
        json!({"a": {"$gt": 0}}),
        json!({"a": {"$regex": "a"}}),
        // Objects and nested paths
        json!({"o": {"x": 2, "flag": true}}),
        json!({"o": {"flag": true, "x": 2}}),
        json!({"o": {}}),
        json!({"o": {"$exists": true}}),
        json!({"o.x": 1}),
        json!({"o.x": 2}),
        json!({"o.x": "2"}),
        json!({"o.x": null}),
        json!({"o.x": {"$exists": true}}),
        json!({"o.x": {"$in": [1, "2"]}}),
        json!({"o.x": {"$nin": [1]}}),
        json!({"o.x": {"$gt": 1}}),
        json!({"o.x": {"$gte": "1"}}),
        json!({"o.x": [1, 2]}),
        json!({"o.y.z": "deep"}),
        json!({"o.y.z": {"$regex": "^dee"}}),
        json!({"o.y": {"z": 5}}),
        json!({"o.tags": "a"}),
        json!({"o.tags": {"$all": ["a", "b"]}}),
        json!({"o.flag": true}),
        json!({"o.flag": 1}),
        json!({"o.when": date("2024-05-01T00:00:00Z")}),
        json!({"o.when": {"$gt": date("2024-01-01T00:00:00.000Z")}}),
        json!({"o.when": {"$lt": "2025-01-01T00:00:00Z"}}),
        json!({"o.arr": {"$containedBy": [1, 2, 3]}}),
        json!({"o.x.deeper": {"$exists": false}}),
        json!({"o.missing": {"$ne": 1}}),
        json!({"f": {"__type": "File", "name": "file.txt"}}),
        json!({"f": {"$exists": false}}),
        json!({"s": {"$regex": "^\\Qapple p\\E"}}),
        json!({"s": {"$regex": "\\Q.\\E|rry$"}}),
        json!({"f.name": "file.txt"}),
        json!({"g.latitude": {"$gt": 0}}),
        json!({"g": {"$exists": true}}),
        json!({"s.x": {"$exists": false}}),
        // Fields the schema does not know read as absent
        json!({"zzz": 1}),
        json!({"zzz": null}),
        json!({"zzz": {"$ne": 1}}),
        json!({"zzz": {"$exists": false}}),
        json!({"zzz": {"$lt": 3}}),
        json!({"zzz.q": {"$nin": [1]}}),
        json!({"zzz": {"$regex": "x"}}),
        // Combinations
        json!({"n": {"$gt": 0}, "s": {"$exists": true}}),
        json!({"$or": [{"n": 1}, {"s": "banana"}]}),
        json!({"$and": [{"n": {"$gt": 0}}, {"b": true}]}),
        json!({"$nor": [{"n": 1}, {"b": true}]}),
        json!({"$nor": [{"s": {"$regex": "^a"}}]}),
        json!({"$or": [{"zzz": 1}, {"a": "c"}]}),
        json!({"$or": [{"$nor": [{"a": "a"}]}, {"n": {"$lt": 0}}]}),
        json!({"$and": [{"$or": [{"n": 1}, {"n": 3}]}, {"$nor": [{"s": "apple"}]}]}),
    ]
}

/// Constraints a `where` cannot express: on `_rperm`/`_wperm` (the server adds them itself for
/// ACL enforcement) and case-insensitive equality (unique usernames), built as AST here.
fn server_only_queries() -> Vec<(String, Filter)> {
    let on = |field: &str, constraint: Constraint| {
        let label = format!("{field}: {constraint:?}");
        (label, Filter::Field { path: FieldPath::top(field), constraint })
    };
    vec![
        on("_rperm", Constraint::In(vec![Value::Null, json!("*"), json!("u2")])),
        on("_rperm", Constraint::In(vec![json!("u1"), json!("role:Power Users")])),
        on("_rperm", Constraint::In(vec![json!("u"), json!("role:")])),
        on("_wperm", Constraint::In(vec![Value::Null, json!("u1")])),
        on("_rperm", Constraint::In(vec![json!("a\"b"), json!("u2")])),
        on("_rperm", Constraint::In(vec![json!(1), json!("u1")])),
        // `b` ends another entity after an escaped quote: no match.
        on("_rperm", Constraint::In(vec![json!("b")])),
        on("_rperm", Constraint::Eq(json!("u1"))),
        on("_rperm", Constraint::Exists(false)),
        on("_rperm", Constraint::Nin(vec![json!("u1")])),
        on("_wperm", Constraint::All(vec![json!("u1")])),
        on("s", Constraint::EqIgnoringCase("APPLE".into())),
        on("s", Constraint::EqIgnoringCase("Äpfel".into())),
        on("o", Constraint::EqIgnoringCase("x".into())),
        (
            "o.s ignoring case".into(),
            Filter::Field {
                path: FieldPath::parse("o.s"),
                constraint: Constraint::EqIgnoringCase("NESTED".into()),
            },
        ),
    ]
}

/// For every query, the adapter returns (and counts) exactly the objects the in-memory matcher
/// selects from what the adapter stored.
pub async fn constraints_agree_with_the_matcher(storage: &dyn Storage) {
    let (schema, objects) = matcher_fixture();
    create(storage, &schema).await;
    insert_all(storage, &schema, &objects).await;
    let stored = find_all(storage, &schema).await;
    assert_eq!(stored.len(), objects.len());

    let queries = matcher_queries()
        .into_iter()
        .map(|where_clause| (where_clause.to_string(), filter(where_clause)))
        .chain(server_only_queries());
    let mut disagreements = Vec::new();
    for (where_clause, parsed) in queries {
        let expected: Vec<String> =
            sorted(stored.iter().filter(|object| matches(&parsed, object)).map(id_of).collect());
        let found = match storage.find(&schema, &Query::matching(parsed.clone())).await {
            Ok(found) => sorted(found.iter().map(id_of).collect()),
            Err(error) => {
                disagreements.push(format!("{where_clause}: find failed: {error}"));
                continue;
            }
        };
        if found != expected {
            disagreements.push(format!("{where_clause}: storage {found:?}, matcher {expected:?}"));
        }
        match storage.count(&schema, &parsed).await {
            Ok(count) if count == expected.len() as u64 => {}
            Ok(count) => {
                disagreements.push(format!("{where_clause}: count {count}, matcher {}", expected.len()))
            }
            Err(error) => disagreements.push(format!("{where_clause}: count failed: {error}")),
        }
    }
    assert!(disagreements.is_empty(), "storage and matcher disagree:\n{}", disagreements.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Geo queries

fn geo_point(latitude: f64, longitude: f64) -> Value {
    json!({"__type": "GeoPoint", "latitude": latitude, "longitude": longitude})
}

/// A Polygon as stored: `[latitude, longitude]` pairs, closed.
fn stored_polygon(pairs: &[(f64, f64)]) -> Value {
    let mut coordinates: Vec<Value> =
        pairs.iter().map(|(latitude, longitude)| json!([latitude, longitude])).collect();
    coordinates.push(coordinates[0].clone());
    json!({"__type": "Polygon", "coordinates": coordinates})
}

/// Places on a GeoPoint field `loc`, Polygons on `area`, geo values nested in an Object `o` and
/// an Array `a`, and objects without any.
fn geo_fixture() -> (ClassSchema, Vec<Object>) {
    let schema = class_schema(
        "Place",
        &[
            ("loc", FieldType::GeoPoint),
            ("area", FieldType::Polygon),
            ("o", FieldType::Object),
            ("a", FieldType::Array),
            ("name", FieldType::String),
            ("n", FieldType::Number),
        ],
    );
    let square = stored_polygon(&[(0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0)]);
    // Concave: the notch between (10, 10), (5, 5) and (0, 10) is outside.
    let notched = stored_polygon(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (5.0, 5.0), (0.0, 10.0)]);
    let far = stored_polygon(&[(40.0, -120.0), (40.0, -110.0), (45.0, -115.0)]);
    let objects = vec![
        stored_object(
            "g01",
            1,
            json!({"loc": geo_point(0.0, 0.0), "name": "origin", "n": 1, "area": square}),
        ),
        stored_object("g02", 2, json!({"loc": geo_point(0.0, 1.0), "n": 2, "area": notched})),
        stored_object("g03", 3, json!({"loc": geo_point(0.0, 2.0), "n": 3, "area": far})),
        stored_object("g04", 4, json!({"loc": geo_point(10.0, 10.0), "name": "corner", "n": 4})),
        stored_object("g05", 5, json!({"loc": geo_point(37.75, -122.68), "name": "San Francisco", "n": 5})),
        stored_object("g06", 6, json!({"loc": geo_point(38.52, -121.5), "name": "Sacramento", "n": 6})),
        stored_object("g07", 7, json!({"loc": geo_point(21.35, -157.93), "name": "Honolulu", "n": 7})),
        stored_object("g08", 8, json!({"name": "nowhere", "n": 8})),
        stored_object("g09", 9, json!({"loc": geo_point(-33.86, 151.2), "name": "Sydney"})),
        stored_object("g10", 10, json!({"loc": geo_point(89.9, 179.9), "n": 10})),
        // Half a micro-degree outside the square's edges: PostgreSQL's tolerance takes the
        // first in and leaves the second out (see `reparse_core::geo::polygon_contains`).
        stored_object("g11", 11, json!({"loc": geo_point(-0.000_000_5, 5.0), "n": 11})),
        stored_object("g12", 12, json!({"loc": geo_point(5.0, -0.000_000_5), "n": 12})),
        // Coordinates too small to square without underflow.
        stored_object("g13", 13, json!({"loc": geo_point(1e-300, -5e-324), "n": 13})),
        stored_object(
            "g14",
            14,
            json!({"o": {"inner": geo_point(1.0, 1.0), "shape": stored_polygon(&[(0.0, 0.0), (0.0, 5.0), (5.0, 5.0)])}}),
        ),
        stored_object("g15", 15, json!({"o": {"inner": "1,1", "shape": [[0, 0], [0, 5], [5, 5]]}})),
        stored_object(
            "g16",
            16,
            json!({"a": [geo_point(1.0, 1.0)], "o": {"inner": {"latitude": 1, "longitude": 1}}}),
        ),
        stored_object(
            "g17",
            17,
            json!({"o": {"shape": {"__type": "Polygon", "coordinates": [[0, 0], [0, "5"], [5, 5]]}}}),
        ),
    ];
    (schema, objects)
}

/// `where` clauses with every geo operator, their boundaries, and geo mixed with the rest.
fn geo_queries() -> Vec<Value> {
    let near = |latitude: f64, longitude: f64| json!({"$nearSphere": geo_point(latitude, longitude)});
    let near_within = |latitude: f64, longitude: f64, key: &str, max: f64| {
        let mut operators = near(latitude, longitude);
        operators[key] = json!(max);
        operators
    };
    let degree = 1.0_f64.to_radians();
    let box_of =
        |south_west: Value, north_east: Value| json!({"$within": {"$box": [south_west, north_east]}});
    let polygon = |points: Value| json!({"$geoWithin": {"$polygon": points}});
    let sphere = |center: Value, radius: f64| json!({"$geoWithin": {"$centerSphere": [center, radius]}});
    let contains =
        |latitude: f64, longitude: f64| json!({"$geoIntersects": {"$point": geo_point(latitude, longitude)}});
    let unit_square =
        json!([geo_point(0.0, 0.0), geo_point(0.0, 10.0), geo_point(10.0, 10.0), geo_point(10.0, 0.0)]);
    vec![
        // $nearSphere, with and without a maximum distance in each unit.
        json!({"loc": near(0.0, 0.0)}),
        json!({"loc": near_within(0.0, 0.0, "$maxDistance", 0.0)}),
        json!({"loc": near_within(0.0, 0.0, "$maxDistance", degree * 1.000_000_001)}),
        json!({"loc": near_within(0.0, 0.0, "$maxDistance", degree * 0.999_999_999)}),
        json!({"loc": near_within(0.0, 0.0, "$maxDistanceInRadians", 2.0 * degree * 1.000_000_001)}),
        json!({"loc": near_within(37.6189722, -122.3748889, "$maxDistanceInKilometers", 100.0)}),
        json!({"loc": near_within(37.6189722, -122.3748889, "$maxDistanceInKilometers", 3700.0)}),
        json!({"loc": near_within(37.6189722, -122.3748889, "$maxDistanceInKilometers", 4800.0)}),
        json!({"loc": near_within(37.6189722, -122.3748889, "$maxDistanceInMiles", 62.0)}),
        json!({"loc": near_within(37.6189722, -122.3748889, "$maxDistanceInMiles", 2200.0)}),
        json!({"loc": near_within(-89.9, -0.1, "$maxDistance", 3.1)}),
        json!({"loc": near_within(-89.9, -0.1, "$maxDistance", std::f64::consts::PI)}),
        json!({"loc": near_within(0.0, 180.0, "$maxDistance", degree * 178.5)}),
        json!({"o.inner": near_within(1.0, 1.0, "$maxDistance", 0.0)}),
        json!({"a": near(1.0, 1.0)}),
        json!({"area": near(0.0, 0.0)}),
        json!({"name": near(0.0, 0.0)}),
        json!({"zzz": near(0.0, 0.0)}),
        // $within $box: edges included, corners in either order, a degenerate box.
        json!({"loc": box_of(geo_point(0.0, 0.0), geo_point(10.0, 10.0))}),
        json!({"loc": box_of(geo_point(10.0, 0.0), geo_point(0.0, 10.0))}),
        json!({"loc": box_of(geo_point(0.0, 0.0), geo_point(0.0, 2.0))}),
        json!({"loc": box_of(geo_point(-0.000_000_1, -1.0), geo_point(5.0, 10.0))}),
        json!({"loc": box_of(geo_point(30.0, -160.0), geo_point(40.0, -120.0))}),
        json!({"o.inner": box_of(geo_point(0.0, 0.0), geo_point(1.0, 1.0))}),
        json!({"o": box_of(geo_point(-90.0, -180.0), geo_point(90.0, 180.0))}),
        json!({"area": box_of(geo_point(-90.0, -180.0), geo_point(90.0, 180.0))}),
        // $geoWithin $polygon: GeoPoints, [longitude, latitude] pairs, a Polygon, open or closed.
        json!({"loc": polygon(unit_square.clone())}),
        json!({"loc": polygon(json!([[0, 0], [1, 0], [1, 1]]))}),
        json!({"loc": polygon(json!([[0, 0], [0, 1], [1, 1]]))}),
        json!({"loc": polygon(json!({"__type": "Polygon", "coordinates": [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]}))}),
        json!({"loc": polygon(json!([[-125, 35], [-120, 35], [-120, 40], [-125, 40]]))}),
        json!({"loc": polygon(json!([[0, 0], [10, 0], [5, 5], [10, 10], [0, 10]]))}),
        json!({"o.inner": polygon(unit_square.clone())}),
        // $geoWithin $centerSphere, with a [longitude, latitude] pair or a GeoPoint.
        json!({"loc": sphere(json!([2, 0]), degree * 1.000_000_001)}),
        json!({"loc": sphere(geo_point(0.0, 2.0), degree * 0.999_999_999)}),
        json!({"loc": sphere(json!([-122.3748889, 37.6189722]), 200.0 / 6371.0)}),
        json!({"loc": sphere(json!([0, 0]), 0.0)}),
        // $geoIntersects: inside, on a vertex, on an edge, in a concave notch, outside.
        json!({"area": contains(5.0, 5.0)}),
        json!({"area": contains(10.0, 10.0)}),
        json!({"area": contains(0.0, 5.0)}),
        json!({"area": contains(7.0, 9.0)}),
        json!({"area": contains(42.0, -115.0)}),
        json!({"area": contains(-1.0, -1.0)}),
        json!({"o.shape": contains(1.0, 3.0)}),
        json!({"loc": contains(0.0, 0.0)}),
        json!({"name": contains(0.0, 0.0)}),
        // Mixed with other constraints, negated, nested.
        json!({"loc": near_within(0.0, 0.0, "$maxDistance", degree * 1.5), "n": {"$gt": 1}}),
        json!({"$or": [{"loc": box_of(geo_point(0.0, 0.0), geo_point(1.0, 1.0))}, {"name": "nowhere"}]}),
        json!({"$or": [{"loc": near_within(0.0, 0.0, "$maxDistance", 0.0)}, {"area": contains(42.0, -115.0)}]}),
        json!({"$and": [{"loc": polygon(unit_square.clone())}, {"$or": [{"n": {"$lt": 3}}, {"name": "corner"}]}]}),
        json!({"$nor": [{"loc": box_of(geo_point(0.0, 0.0), geo_point(10.0, 10.0))}]}),
        json!({"$nor": [{"area": contains(5.0, 5.0)}, {"loc": {"$exists": false}}]}),
        json!({"loc": {"$nearSphere": geo_point(0.0, 0.0), "$within": {"$box": [geo_point(0.0, 0.0), geo_point(10.0, 10.0)]}}}),
    ]
}

/// Every geo query selects and counts on storage exactly what the matcher selects.
pub async fn geo_constraints_agree_with_the_matcher(storage: &dyn Storage) {
    let (schema, objects) = geo_fixture();
    create(storage, &schema).await;
    insert_all(storage, &schema, &objects).await;
    let stored = find_all(storage, &schema).await;
    assert_eq!(stored.len(), objects.len());
    let mut disagreements = Vec::new();
    for where_clause in geo_queries() {
        let parsed = filter(where_clause.clone());
        let expected: Vec<String> =
            sorted(stored.iter().filter(|object| matches(&parsed, object)).map(id_of).collect());
        match storage.find(&schema, &Query::matching(parsed.clone())).await {
            Ok(found) => {
                let found = sorted(found.iter().map(id_of).collect());
                if found != expected {
                    disagreements.push(format!("{where_clause}: storage {found:?}, matcher {expected:?}"));
                }
            }
            Err(error) => disagreements.push(format!("{where_clause}: find failed: {error}")),
        }
        match storage.count(&schema, &parsed).await {
            Ok(count) if count == expected.len() as u64 => {}
            Ok(count) => {
                disagreements.push(format!("{where_clause}: count {count}, matcher {}", expected.len()))
            }
            Err(error) => disagreements.push(format!("{where_clause}: count failed: {error}")),
        }
    }
    assert!(disagreements.is_empty(), "storage and matcher disagree:\n{}", disagreements.join("\n"));

    // The matcher itself, on cases the fixture was built for.
    let ids = |where_clause: Value| -> Vec<String> {
        let parsed = filter(where_clause);
        sorted(stored.iter().filter(|object| matches(&parsed, object)).map(id_of).collect())
    };
    let degree = 1.0_f64.to_radians();
    assert_eq!(
        ids(json!({"loc": {"$nearSphere": geo_point(0.0, 0.0), "$maxDistance": degree * 1.000_000_001}})),
        strings(&["g01", "g02", "g13"])
    );
    assert_eq!(
        ids(json!({"loc": {"$within": {"$box": [geo_point(0.0, 0.0), geo_point(10.0, 10.0)]}}})),
        strings(&["g01", "g02", "g03", "g04"])
    );
    assert_eq!(
        ids(json!({"loc": {"$geoWithin": {"$polygon": [[0, 0], [10, 0], [10, 10], [0, 10]]}}})),
        strings(&["g01", "g02", "g03", "g04", "g11", "g13"])
    );
    assert_eq!(ids(json!({"area": {"$geoIntersects": {"$point": geo_point(7.0, 9.0)}}})), strings(&["g01"]));
    assert_eq!(
        ids(json!({"o.shape": {"$geoIntersects": {"$point": geo_point(1.0, 3.0)}}})),
        strings(&["g14"])
    );
}

/// The reference order of a query: `query.order` over the matcher's selection, for the keys
/// [`orders_by_distance`] uses (numbers and distances; a missing one last when ascending).
fn reference_order(objects: &[Object], query: &Query) -> Vec<String> {
    let mut selected: Vec<&Object> = objects.iter().filter(|object| matches(&query.filter, object)).collect();
    let sort_value = |object: &Object, key: &SortKey| -> Option<f64> {
        match &key.by {
            SortBy::Value => lookup(object, &key.path).and_then(Value::as_f64),
            SortBy::DistanceFrom(from) => distance_for_sort(object, &key.path, *from),
            SortBy::TextScore => None,
        }
    };
    selected.sort_by(|a, b| {
        for key in &query.order {
            let ordering = match (sort_value(a, key), sort_value(b, key)) {
                (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            let ordering = if key.descending { ordering.reverse() } else { ordering };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    });
    let ids: Vec<String> = selected.iter().map(|object| id_of(object)).collect();
    let skipped = ids.into_iter().skip(query.skip as usize);
    match query.limit {
        Some(limit) => skipped.take(limit as usize).collect(),
        None => skipped.collect(),
    }
}

/// `$nearSphere` sorts nearest first, after the explicit order (whose ties it breaks), with
/// `skip` and `limit` applied to that order; objects without a GeoPoint come last.
pub async fn orders_by_distance(storage: &dyn Storage) {
    let schema = class_schema(
        "Ranked",
        &[
            ("loc", FieldType::GeoPoint),
            ("o", FieldType::Object),
            ("group", FieldType::Number),
            ("rank", FieldType::Number),
            ("name", FieldType::String),
        ],
    );
    create(storage, &schema).await;
    let objects: Vec<Object> = [
        ("r1", 0.0, 5.0, 1),
        ("r2", 0.0, 1.0, 2),
        ("r3", 3.0, 0.0, 1),
        ("r4", -2.0, -2.0, 2),
        ("r5", 45.0, 90.0, 1),
        ("r6", -60.0, -170.0, 2),
    ]
    .iter()
    .enumerate()
    .map(|(rank, (id, latitude, longitude, group))| {
        let day = u32::try_from(rank).unwrap_or_default() + 1;
        let nested = geo_point(latitude / 2.0, longitude / 2.0);
        let fields = json!({"loc": geo_point(*latitude, *longitude), "o": {"at": nested}, "group": group, "rank": rank});
        stored_object(id, day, fields)
    })
    .chain([stored_object("r7", 7, json!({"group": 1, "rank": 6, "name": "nowhere"}))])
    .collect();
    insert_all(storage, &schema, &objects).await;

    let near_origin = json!({"loc": {"$nearSphere": geo_point(0.0, 0.0)}});
    let origin = GeoPoint { latitude: 0.0, longitude: 0.0 };
    let find_query = |where_clause: Value, order: &str, skip: u64, limit: Option<u64>| {
        Query::find(filter(where_clause), parse_order(order).expect("order"), skip, limit)
    };
    let cases: Vec<(Query, Vec<&str>)> = vec![
        (find_query(near_origin.clone(), "", 0, None), vec!["r2", "r4", "r3", "r1", "r5", "r6"]),
        (find_query(near_origin.clone(), "", 1, Some(2)), vec!["r4", "r3"]),
        (find_query(near_origin.clone(), "-group", 0, None), vec!["r2", "r4", "r6", "r3", "r1", "r5"]),
        (
            find_query(
                json!({"loc": {"$nearSphere": geo_point(0.0, 0.0), "$maxDistance": 0.1}}),
                "",
                0,
                None,
            ),
            vec!["r2", "r4", "r3", "r1"],
        ),
        (
            find_query(json!({"o.at": {"$nearSphere": geo_point(22.5, 45.0)}}), "", 0, Some(3)),
            vec!["r5", "r1", "r3"],
        ),
        // Under $or a $nearSphere filters without ordering: the explicit order alone.
        (
            find_query(json!({"$or": [near_origin.clone(), {"name": "nowhere"}]}), "-group,rank", 0, None),
            vec!["r2", "r4", "r6", "r1", "r3", "r5", "r7"],
        ),
        // A distance key asked directly, descending: missing distances first.
        (
            Query {
                filter: Filter::everything(),
                order: vec![SortKey {
                    descending: true,
                    ..SortKey::nearest_first(FieldPath::top("loc"), origin)
                }],
                skip: 0,
                limit: None,
                text_score: false,
            },
            vec!["r7", "r6", "r5", "r1", "r3", "r4", "r2"],
        ),
    ];
    for (query, expected) in cases {
        // The expectation is also the reference order computed from the matcher.
        assert_eq!(reference_order(&objects, &query), strings(&expected), "reference order of {query:?}");
        let found: Vec<String> = find(storage, &schema, query.clone()).await.iter().map(id_of).collect();
        assert_eq!(found, strings(&expected), "{query:?}");
    }
    assert_eq!(
        nearness_order(&filter(near_origin.clone())),
        vec![SortKey::nearest_first(FieldPath::top("loc"), origin)]
    );
    let count = storage.count(&schema, &filter(near_origin)).await.expect("count");
    assert_eq!(count, 6, "a count counts every object with a GeoPoint, ignoring the order");
    // Distances as the reference computes them, for the record of what "nearest" means here.
    assert!(
        distance_radians(GeoPoint { latitude: 0.0, longitude: 1.0 }, origin)
            < distance_radians(GeoPoint { latitude: -2.0, longitude: -2.0 }, origin)
    );
}

/// `distinct` (read with `SELECT DISTINCT`) gives, for every path and filter, the values the
/// core computes from the matching objects: arrays unwound, nulls dropped, each value once,
/// sorted. Nothing at all for a class without a table.
pub async fn distinct_agrees_with_the_core(storage: &dyn Storage) {
    let (schema, objects) = matcher_fixture();
    let ghost = class_schema("NeverCreated", &[("s", FieldType::String)]);
    let none = storage.distinct(&ghost, &Filter::everything(), &FieldPath::top("s")).await;
    assert_eq!(none.expect("distinct on a class without a table"), Vec::<Value>::new());
    create(storage, &schema).await;
    insert_all(storage, &schema, &objects).await;
    let paths = [
        "s",
        "n",
        "b",
        "d",
        "o",
        "a",
        "p",
        "f",
        "g",
        "objectId",
        "createdAt",
        "updatedAt",
        "o.x",
        "o.y",
        "o.y.z",
        "o.tags",
        "o.arr",
        "o.when",
        "o.flag",
        "p.objectId",
        "d.iso",
        "f.name",
        "g.latitude",
        "zzz",
        "s.x",
        "zzz.q",
    ];
    let filters = [json!({}), json!({"n": {"$gt": 0}}), json!({"s": {"$exists": false}}), json!({"a": "a"})];
    let mut disagreements = Vec::new();
    for where_clause in filters {
        let parsed = filter(where_clause.clone());
        let matching = find(storage, &schema, Query::matching(parsed.clone())).await;
        for path in paths {
            let path = FieldPath::parse(path);
            let expected = distinct_in_memory(&path, &matching);
            match storage.distinct(&schema, &parsed, &path).await {
                Ok(found)
                    if found.len() == expected.len()
                        && found
                            .iter()
                            .zip(&expected)
                            .all(|(found, expected)| values_equal(found, expected)) => {}
                Ok(found) => disagreements
                    .push(format!("{path} where {where_clause}: storage {found:?}, core {expected:?}")),
                Err(error) => disagreements.push(format!("{path} where {where_clause}: failed: {error}")),
            }
        }
    }
    assert!(disagreements.is_empty(), "distinct disagrees with the core:\n{}", disagreements.join("\n"));
}

/// Paging through `scan` (each page after the last id of the one before) returns every
/// matching object once, as `find` returns it, whatever the page size; no page is longer
/// than asked. Ids differ by case, so an order that ignored case would lose some.
pub async fn scans_every_matching_object_once(storage: &dyn Storage) {
    let schema = class_schema("Scanned", &[("n", FieldType::Number)]);
    let nothing = storage.scan(&schema, &Filter::everything(), None, 10).await;
    assert!(nothing.expect("scan of a class without a table").is_empty());
    create(storage, &schema).await;
    let ids = ["a1", "B2", "c3", "Z9", "aa", "AA", "0x", "zz", "Ab", "aB", "b", "9", "M5", "m5", "q", "Q"];
    let objects: Vec<Object> =
        ids.iter().enumerate().map(|(n, id)| stored_object(id, n as u32 + 1, json!({"n": n}))).collect();
    insert_all(storage, &schema, &objects).await;
    for where_clause in [json!({}), json!({"n": {"$gte": 5}}), json!({"n": -1})] {
        let parsed = filter(where_clause.clone());
        let mut expected = find(storage, &schema, Query::matching(parsed.clone())).await;
        expected.sort_by_key(id_of);
        for page_size in [1, 3, 7, 100] {
            let mut scanned: Vec<Object> = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = storage.scan(&schema, &parsed, after.as_deref(), page_size).await.expect("scan");
                assert!(page.len() as u64 <= page_size, "a page of {} for {page_size}", page.len());
                assert!(scanned.len() <= ids.len(), "the scan of {where_clause} goes round in circles");
                let Some(last) = page.last() else { break };
                after = Some(id_of(last));
                scanned.extend(page);
            }
            let scanned_ids: Vec<String> = scanned.iter().map(id_of).collect();
            let mut unique = sorted(scanned_ids.clone());
            unique.dedup();
            assert_eq!(
                unique.len(),
                scanned_ids.len(),
                "{where_clause} by {page_size}: repeated ids {scanned_ids:?}"
            );
            scanned.sort_by_key(id_of);
            assert_eq!(scanned, expected, "{where_clause} by {page_size}");
        }
    }
}

/// `_User` keeps usernames and emails unique ignoring case (137 on a duplicate, whatever the
/// schema says), stores the internal fields the schema does not list (password hash, tokens),
/// and finds a username ignoring case.
pub async fn keeps_system_classes_unique_and_internal_fields_stored(storage: &dyn Storage) {
    let schema = ClassSchema::new("_User");
    create(storage, &schema).await;
    let alice = stored_object(
        "alice",
        1,
        json!({"username": "Alice", "email": "a@example.com", "_hashed_password": "$2b$10$hash",
               "_failed_login_count": 2, "_password_history": ["$2b$10$old"]}),
    );
    insert_all(storage, &schema, std::slice::from_ref(&alice)).await;
    assert_eq!(find_by_id(storage, &schema, "alice").await.as_ref(), Some(&alice));
    for duplicate in [
        json!({"username": "Alice"}),
        json!({"username": "ALICE"}),
        json!({"username": "bob", "email": "A@Example.com"}),
    ] {
        let error = storage
            .insert(&schema, &stored_object("other", 2, duplicate.clone()))
            .await
            .expect_err("a duplicate username or email must fail");
        assert_eq!(error.code, ErrorCode::DuplicateValue, "{duplicate}");
    }
    insert_all(storage, &schema, &[stored_object("bob", 3, json!({"username": "bob"}))]).await;
    let ignoring_case = Filter::Field {
        path: FieldPath::top("username"),
        constraint: Constraint::EqIgnoringCase("ALICE".into()),
    };
    let found = find(storage, &schema, Query::matching(ignoring_case)).await;
    assert_eq!(found.iter().map(id_of).collect::<Vec<_>>(), strings(&["alice"]));
}

/// A `$text` operand: the term and the other `$search` options.
fn text(term: &str, options: Value) -> Value {
    let mut search = object(options);
    search.insert("$term".into(), json!(term));
    json!({"$text": {"$search": search}})
}

/// The class and objects [`text_searches_agree_with_the_matcher`] searches: parse-server's own
/// full-text fixture, then more languages, repetitions and places for text.
fn text_fixture() -> (ClassSchema, Vec<Object>) {
    let schema = class_schema(
        "Article",
        &[("subject", FieldType::String), ("body", FieldType::Object), ("n", FieldType::Number)],
    );
    let subjects = [
        "coffee",
        "Coffee Shopping",
        "Baking a cake",
        "baking",
        "Café Con Leche",
        "Сырники",
        "coffee and cream",
        "Cafe con Leche",
        "Coffee, coffee and more COFFEE: the best coffee shop in town",
        "A shop that sells cream cakes and coffee beans",
        "Straße und Kaffee über alles",
        "Le café crème est très bon",
        "Die Bäckerei backt Kuchen",
        "The running dogs ran quickly, running again",
        "Ñandú corre rápido",
    ];
    let mut objects: Vec<Object> = subjects
        .iter()
        .zip(1..)
        .map(|(subject, day)| stored_object(&format!("t{day:02}"), day, json!({"subject": subject})))
        .collect();
    objects.push(stored_object("t16", 16, json!({"body": {"text": "coffee in a nested object", "n": 5}})));
    objects.push(stored_object("t17", 17, json!({"subject": "", "n": 5, "body": {"text": 7}})));
    (schema, objects)
}

/// `$text` in every form, on every kind of place it can look.
fn text_queries() -> Vec<Value> {
    let none = json!({});
    let folded = json!({"$diacriticSensitive": false});
    vec![
        json!({"subject": text("coffee", none.clone())}),
        json!({"subject": text("coffees", none.clone())}),
        json!({"subject": text("Coffee", json!({"$caseSensitive": true}))}),
        json!({"subject": text("COFFEE", json!({"$caseSensitive": true, "$language": "en"}))}),
        json!({"subject": text("coffee cream", none.clone())}),
        json!({"subject": text("\"coffee shop\"", none.clone())}),
        json!({"subject": text("\"best coffee\" shop", none.clone())}),
        json!({"subject": text("\"cream and coffee\"", none.clone())}),
        json!({"subject": text("\"cream the coffee\"", none.clone())}),
        json!({"subject": text("\"Con Leche\"", json!({"$caseSensitive": true}))}),
        json!({"subject": text("coffee -cream", none.clone())}),
        json!({"subject": text("coffee -\"coffee shop\"", none.clone())}),
        json!({"subject": text("-coffee", none.clone())}),
        json!({"subject": text("the a and", none.clone())}),
        json!({"subject": text("bake", none.clone())}),
        json!({"subject": text("run", none.clone())}),
        json!({"subject": text("CAFÉ", json!({"$diacriticSensitive": true}))}),
        json!({"subject": text("CAFÉ", folded.clone())}),
        json!({"subject": text("cafe", folded.clone())}),
        json!({"subject": text("Cafe", json!({"$diacriticSensitive": false, "$caseSensitive": true}))}),
        json!({"subject": text("cafe", json!({"$language": "simple"}))}),
        json!({"subject": text("leche", json!({"$language": "spanish"}))}),
        json!({"subject": text("leche", json!({"$language": "es"}))}),
        json!({"subject": text("nandu", json!({"$language": "es", "$diacriticSensitive": false}))}),
        json!({"subject": text("kaffee", json!({"$language": "german"}))}),
        json!({"subject": text("strasse", json!({"$language": "german", "$diacriticSensitive": false}))}),
        json!({"subject": text("bäckerei", json!({"$language": "de"}))}),
        json!({"subject": text("crème", json!({"$language": "french"}))}),
        json!({"subject": text("сырник", json!({"$language": "russian"}))}),
        json!({"subject": text("running", json!({"$language": "none"}))}),
        json!({"body.text": text("coffee", none.clone())}),
        json!({"body.n": text("5", none.clone())}),
        json!({"n": text("5", none.clone())}),
        json!({"missing": text("coffee", none.clone())}),
        json!({"$or": [{"subject": text("cake", none.clone())}, {"n": 5}]}),
        json!({"$nor": [{"subject": text("coffee", none.clone())}]}),
        json!({"subject": {"$text": {"$search": {"$term": "coffee"}}, "$ne": "coffee"}}),
        json!({"subject": text("coffee", none), "objectId": {"$in": ["t01", "t07", "t16"]}}),
    ]
}

pub async fn text_searches_agree_with_the_matcher(storage: &dyn Storage) {
    let (schema, objects) = text_fixture();
    create(storage, &schema).await;
    insert_all(storage, &schema, &objects).await;
    for where_clause in text_queries() {
        let filter = filter(where_clause.clone());
        let expected: Vec<String> =
            sorted(objects.iter().filter(|object| matches(&filter, object)).map(id_of).collect());
        let found =
            sorted(find(storage, &schema, Query::matching(filter.clone())).await.iter().map(id_of).collect());
        assert_eq!(found, expected, "find {where_clause}");
        let count = storage
            .count(&schema, &filter)
            .await
            .unwrap_or_else(|error| panic!("count {where_clause}: {error}"));
        assert_eq!(count, expected.len() as u64, "count {where_clause}");
    }
    // The reference answers for parse-server's own fixture, which the matcher must give.
    let ids = |where_clause: Value| {
        let filter = filter(where_clause);
        objects.iter().filter(|object| matches(&filter, object)).map(id_of).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(json!({"subject": text("coffee", json!({}))})),
        strings(&["t01", "t02", "t07", "t09", "t10"])
    );
    assert_eq!(
        ids(json!({"subject": text("leche", json!({"$language": "spanish"}))})),
        strings(&["t05", "t08"])
    );
    assert_eq!(ids(json!({"subject": text("CAFÉ", json!({}))})), strings(&["t05", "t12"]));
}

pub async fn scores_text_searches_like_the_core(storage: &dyn Storage) {
    let schema = class_schema("Scored", &[("subject", FieldType::String), ("score", FieldType::Number)]);
    create(storage, &schema).await;
    let subjects = [
        ("s1", "coffee"),
        ("s2", "coffee, coffee"),
        ("s3", "coffee and cream and coffee and more coffee"),
        ("s4", "tea"),
        ("s5", "cream"),
        ("s6", "coffee shop with coffee cream"),
    ];
    let objects: Vec<Object> = subjects
        .iter()
        .zip(1..)
        .map(|((id, subject), day)| stored_object(id, day, json!({"subject": subject, "score": 100})))
        .collect();
    insert_all(storage, &schema, &objects).await;
    let subject_of =
        |id: &str| subjects.iter().find(|(known, _)| *known == id).map_or("", |(_, subject)| subject);

    // (where, order, expected ids in order)
    let cases: Vec<(Value, &str, Vec<&str>)> = vec![
        (json!({"subject": text("coffee", json!({}))}), "$score,objectId", vec!["s3", "s2", "s6", "s1"]),
        (json!({"subject": text("coffee", json!({}))}), "-$score,objectId", vec!["s3", "s2", "s6", "s1"]),
        (
            json!({"subject": text("coffee cream", json!({}))}),
            "$score,objectId",
            vec!["s3", "s6", "s2", "s1", "s5"],
        ),
        (json!({"subject": text("\"coffee and cream\"", json!({}))}), "$score", vec!["s3"]),
        (json!({"subject": text("\"coffee cream\" shop", json!({}))}), "$score", vec!["s6"]),
        (
            json!({"$or": [{"subject": text("coffee", json!({}))}, {"subject": "tea"}]}),
            "$score,objectId",
            vec!["s3", "s2", "s6", "s1", "s4"],
        ),
        (json!({"subject": text("coffee", json!({}))}), "objectId", vec!["s1", "s2", "s3", "s6"]),
    ];
    for (where_clause, order, expected) in cases {
        let filter = filter(where_clause.clone());
        let (_, search) = filter.text_search().expect("a $text constraint");
        let compiled = search.compile();
        let query = Query {
            order: parse_order(order).expect("order"),
            text_score: true,
            ..Query::matching(filter.clone())
        };
        let found = find(storage, &schema, query).await;
        assert_eq!(
            found.iter().map(id_of).collect::<Vec<_>>(),
            strings(&expected),
            "{where_clause} by {order}"
        );
        for object in &found {
            let id = id_of(object);
            let score = object.get(TEXT_SCORE_FIELD).and_then(Value::as_f64);
            // Bit for bit: both adapters compute PostgreSQL's ts_rank_cd as the core does.
            assert_eq!(score, Some(compiled.score(subject_of(&id))), "score of {id} for {where_clause}");
        }
    }

    // Ordering by score without returning it, with skip and limit; scores off leave the
    // stored `score` field alone.
    let by_score = |skip, limit| Query {
        order: parse_order("$score,objectId").expect("order"),
        skip,
        limit,
        ..Query::matching(filter(json!({"subject": text("coffee cream", json!({}))})))
    };
    let page: Vec<Object> = find(storage, &schema, by_score(1, Some(2))).await;
    assert_eq!(page.iter().map(id_of).collect::<Vec<_>>(), strings(&["s6", "s2"]));
    assert!(page.iter().all(|object| object.get("score") == Some(&json!(100))), "{page:?}");
    // Without a `$text` constraint there is nothing to score: every score is 0.
    let unscored = Query { text_score: true, ..Query::matching(filter(json!({"objectId": "s1"}))) };
    let found = find(storage, &schema, unscored).await;
    assert_eq!(found.first().and_then(|object| object.get(TEXT_SCORE_FIELD)), Some(&json!(0.0)));
}

pub async fn orders_skips_and_limits(storage: &dyn Storage) {
    let schema = class_schema(
        "Ordered",
        &[
            ("rank", FieldType::Number),
            ("name", FieldType::String),
            ("when", FieldType::Date),
            ("o", FieldType::Object),
        ],
    );
    create(storage, &schema).await;
    insert_all(
        storage,
        &schema,
        &[
            stored_object(
                "r1",
                1,
                json!({"rank": 3, "name": "c", "when": date("2024-03-01T00:00:00.000Z"), "o": {"k": 2}}),
            ),
            stored_object(
                "r2",
                2,
                json!({"rank": 1, "name": "a", "when": date("2024-01-01T00:00:00.000Z"), "o": {"k": 3}}),
            ),
            stored_object("r3", 3, json!({"rank": 2, "name": "b"})),
            stored_object(
                "r4",
                4,
                json!({"name": "d", "when": date("2024-02-01T00:00:00.000Z"), "o": {"k": 1}}),
            ),
            stored_object("r5", 5, json!({"rank": 1, "name": "e", "when": date("2024-05-01T00:00:00.000Z")})),
        ],
    )
    .await;
    let ordered = |order: &str, skip: u64, limit: Option<u64>| Query {
        filter: Filter::everything(),
        order: parse_order(order).expect("order"),
        skip,
        limit,
        text_score: false,
    };
    let cases: Vec<(Query, Vec<&str>)> = vec![
        // NULLs sort last ascending and first descending (PostgreSQL's default).
        (ordered("rank,objectId", 0, None), vec!["r2", "r5", "r3", "r1", "r4"]),
        (ordered("-rank,objectId", 0, None), vec!["r4", "r1", "r3", "r2", "r5"]),
        (ordered("when", 0, None), vec!["r2", "r4", "r1", "r5", "r3"]),
        (ordered("-createdAt", 0, None), vec!["r5", "r4", "r3", "r2", "r1"]),
        (ordered("o.k,objectId", 0, None), vec!["r4", "r1", "r2", "r3", "r5"]),
        (ordered("nothing,name", 0, None), vec!["r2", "r3", "r1", "r4", "r5"]),
        (ordered("name", 1, Some(2)), vec!["r3", "r1"]),
        (ordered("name", 3, None), vec!["r4", "r5"]),
        (ordered("name", 0, Some(0)), vec![]),
        (ordered("name", 10, Some(5)), vec![]),
    ];
    for (query, expected) in cases {
        let found: Vec<String> = find(storage, &schema, query.clone()).await.iter().map(id_of).collect();
        assert_eq!(found, strings(&expected), "{query:?}");
    }
}

pub async fn counts_like_find(storage: &dyn Storage) {
    let schema = class_schema("Counted", &[("n", FieldType::Number)]);
    create(storage, &schema).await;
    let objects: Vec<Object> = (1..=7).map(|n| stored_object(&format!("c{n}"), n, json!({"n": n}))).collect();
    insert_all(storage, &schema, &objects).await;
    for (where_clause, expected) in [
        (json!({}), 7),
        (json!({"n": {"$gt": 4}}), 3),
        (json!({"n": {"$in": [1, 2, 99]}}), 2),
        (json!({"n": "text"}), 0),
    ] {
        let count = storage.count(&schema, &filter(where_clause.clone())).await.expect("count");
        assert_eq!(count, expected, "{where_clause}");
    }
    // A small class's quick count is exact.
    let quick = storage.estimated_count(&schema).await.expect("estimated count");
    assert_eq!(quick, crate::ClassCount { objects: 7, estimated: false });
    // A missing class counts nothing and finds nothing.
    let missing = class_schema("NotThere", &[]);
    assert_eq!(storage.count(&missing, &Filter::everything()).await.expect("count"), 0);
    assert_eq!(storage.estimated_count(&missing).await.expect("estimated count").objects, 0);
    assert!(find_all(storage, &missing).await.is_empty());
}

/// `explain` answers the database's plan as `{"QUERY PLAN": …}` rows, for a query the adapter
/// can run, and nothing for a class without a table.
pub async fn explains_finds(storage: &dyn Storage) {
    let schema = class_schema("Explained", &[("n", FieldType::Number), ("s", FieldType::String)]);
    create(storage, &schema).await;
    let objects: Vec<Object> = (1..=5).map(|n| stored_object(&format!("e{n}"), n, json!({"n": n}))).collect();
    insert_all(storage, &schema, &objects).await;
    let query = Query {
        filter: filter(json!({"n": {"$gt": 2}, "s": {"$exists": false}})),
        order: parse_order("-n").expect("order"),
        skip: 1,
        limit: Some(2),
        text_score: false,
    };
    let plan = storage.explain(&schema, &query).await.expect("explain");
    let rows = plan.as_array().expect("a list of rows");
    assert!(!rows.is_empty(), "{plan}");
    for row in rows {
        assert!(row.get("QUERY PLAN").is_some_and(|step| !step.is_null()), "{plan}");
    }
    let missing = class_schema("NotThere", &[]);
    let none = storage.explain(&missing, &Query::matching(Filter::everything())).await.expect("explain");
    assert_eq!(none, json!([]));
}

pub async fn updates_with_every_operator(storage: &dyn Storage) {
    let schema = class_schema(
        "Updated",
        &[
            ("n", FieldType::Number),
            ("s", FieldType::String),
            ("a", FieldType::Array),
            ("o", FieldType::Object),
            ("b", FieldType::Boolean),
            ("d", FieldType::Date),
            ("p", pointer_to("Target")),
            ("links", relation_to("Target")),
        ],
    );
    create(storage, &schema).await;
    insert_all(
        storage,
        &schema,
        &[stored_object("u1", 1, json!({"n": 1, "s": "x", "a": [1], "o": {"x": 1}, "b": true}))],
    )
    .await;

    // (update body, fields it sets, fields it removes)
    let steps: Vec<(Value, Value, &[&str])> = vec![
        (
            json!({
                "n": {"__op": "Increment", "amount": 2},
                "s": "y",
                "b": {"__op": "Delete"},
                "o.y.z": 2,
                "o.x": {"__op": "Increment", "amount": 1},
                "a": {"__op": "Add", "objects": [2, 2]},
                "d": date("2024-03-01T00:00:00.000Z"),
                "p": pointer("Target", "t1"),
                "updatedAt": "2024-03-01T00:00:00.000Z",
                "_rperm": ["*"],
            }),
            json!({
                "n": 3, "s": "y", "o": {"x": 2, "y": {"z": 2}}, "a": [1, 2, 2],
                "d": date("2024-03-01T00:00:00.000Z"), "p": pointer("Target", "t1"),
                "updatedAt": "2024-03-01T00:00:00.000Z", "_rperm": ["*"],
            }),
            &["b"],
        ),
        (json!({"n": {"__op": "Increment", "amount": 0.5}}), json!({"n": 3.5}), &[]),
        (json!({"a": {"__op": "AddUnique", "objects": [2, 3]}}), json!({"a": [1, 2, 2, 3]}), &[]),
        (json!({"a": {"__op": "Remove", "objects": [2]}}), json!({"a": [1, 3]}), &[]),
        (json!({"s": null, "p": {"__op": "Delete"}}), json!({}), &["s", "p"]),
        (json!({"links": add_relation(&["t1", "t2"])}), json!({}), &[]),
    ];
    let mut expected = find_by_id(storage, &schema, "u1").await.expect("u1");
    for (body, sets, removes) in steps {
        expected.extend(object(sets));
        for field in removes {
            expected.remove(*field);
        }
        let updated = update(storage, &schema, "u1", body.clone()).await.expect("u1 matches");
        assert_eq!(updated, expected, "after {body}");
        assert_eq!(find_by_id(storage, &schema, "u1").await, Some(expected.clone()), "stored after {body}");
    }
    assert_eq!(related(storage, "Updated", "links", "u1").await, strings(&["t1", "t2"]));
    update(storage, &schema, "u1", json!({"links": remove_relation(&["t1"])})).await.expect("u1");
    assert_eq!(related(storage, "Updated", "links", "u1").await, strings(&["t2"]));
    let batch = json!({"__op": "Batch", "ops": [add_relation(&["t3"]), remove_relation(&["t2"])]});
    update(storage, &schema, "u1", json!({"links": batch})).await.expect("u1");
    assert_eq!(related(storage, "Updated", "links", "u1").await, strings(&["t3"]));
}

pub async fn update_of_a_non_matching_object_returns_none(storage: &dyn Storage) {
    let schema = class_schema("Guarded", &[("n", FieldType::Number), ("s", FieldType::String)]);
    create(storage, &schema).await;
    let original = stored_object("g1", 1, json!({"n": 1, "s": "x"}));
    insert_all(storage, &schema, std::slice::from_ref(&original)).await;

    let unmatched = storage
        .update(&schema, "g1", &filter(json!({"n": 100})), &updates(json!({"s": "changed"})))
        .await
        .expect("update");
    assert_eq!(unmatched, None);
    let missing = storage
        .update(&schema, "nope", &Filter::everything(), &updates(json!({"s": "changed"})))
        .await
        .expect("update");
    assert_eq!(missing, None);
    assert_eq!(find_by_id(storage, &schema, "g1").await, Some(original));

    let matched = storage
        .update(&schema, "g1", &filter(json!({"n": 1})), &updates(json!({"s": "changed"})))
        .await
        .expect("update");
    assert_eq!(matched.and_then(|object| object.get("s").cloned()), Some(json!("changed")));
}

pub async fn failed_update_changes_nothing(storage: &dyn Storage) {
    let schema = class_schema("Atomic", &[("n", FieldType::Number), ("s", FieldType::String)]);
    create(storage, &schema).await;
    let original = stored_object("a1", 1, json!({"n": 1, "s": "text"}));
    insert_all(storage, &schema, std::slice::from_ref(&original)).await;
    let error = storage
        .update(
            &schema,
            "a1",
            &Filter::everything(),
            &updates(json!({"n": 99, "s": {"__op": "Increment", "amount": 1}})),
        )
        .await
        .expect_err("incrementing a string must fail");
    assert_eq!(error.code, ErrorCode::IncorrectType);
    assert_eq!(find_by_id(storage, &schema, "a1").await, Some(original));
}

pub async fn deletes_by_filter_with_their_relations(storage: &dyn Storage) {
    let schema = class_schema("Deleted", &[("n", FieldType::Number), ("links", relation_to("Target"))]);
    create(storage, &schema).await;
    let objects: Vec<Object> = (1..=4).map(|n| stored_object(&format!("d{n}"), n, json!({"n": n}))).collect();
    insert_all(storage, &schema, &objects).await;
    update(storage, &schema, "d1", json!({"links": add_relation(&["t2"])})).await;
    update(storage, &schema, "d3", json!({"links": add_relation(&["t1"])})).await;

    let deleted = storage.delete(&schema, &filter(json!({"n": {"$gte": 3}}))).await.expect("delete");
    assert_eq!(deleted, 2);
    assert_eq!(find_ids(storage, &schema, json!({})).await, strings(&["d1", "d2"]));
    assert_eq!(related(storage, "Deleted", "links", "d3").await, Vec::<String>::new());
    assert_eq!(related(storage, "Deleted", "links", "d1").await, strings(&["t2"]));

    assert_eq!(storage.delete(&schema, &filter(json!({"n": 42}))).await.expect("delete"), 0);
    assert_eq!(storage.delete(&schema, &Filter::everything()).await.expect("delete"), 2);
    assert!(find_all(storage, &schema).await.is_empty());
}

pub async fn tracks_relations(storage: &dyn Storage) {
    let schema = class_schema("Owner", &[("links", relation_to("Target"))]);
    create(storage, &schema).await;
    insert_all(storage, &schema, &[stored_object("w1", 1, json!({})), stored_object("w2", 2, json!({}))])
        .await;
    update(storage, &schema, "w1", json!({"links": add_relation(&["t1", "t2"])})).await;
    update(storage, &schema, "w2", json!({"links": add_relation(&["t2", "t3"])})).await;
    // Adding what is already there changes nothing.
    update(storage, &schema, "w1", json!({"links": add_relation(&["t1"])})).await;

    assert_eq!(related(storage, "Owner", "links", "w1").await, strings(&["t1", "t2"]));
    assert_eq!(related(storage, "Owner", "links", "w2").await, strings(&["t2", "t3"]));
    assert_eq!(related(storage, "Owner", "links", "nobody").await, Vec::<String>::new());
    assert_eq!(owning(storage, "Owner", "links", &["t2"]).await, strings(&["w1", "w2"]));
    assert_eq!(owning(storage, "Owner", "links", &["t3", "t9"]).await, strings(&["w2"]));
    assert_eq!(owning(storage, "Owner", "links", &[]).await, Vec::<String>::new());
    let found = find_by_id(storage, &schema, "w1").await.expect("w1");
    assert!(!found.contains_key("links"), "relations are not stored in objects: {found:?}");

    // The whole relation, page by page, in (owningId, relatedId) order.
    let mut pairs = Vec::new();
    let mut after: Option<(String, String)> = None;
    loop {
        let page = storage.relation_pairs("Owner", "links", after.as_ref(), 3).await.expect("relation pairs");
        let Some(last) = page.last().cloned() else { break };
        pairs.extend(page);
        after = Some(last);
    }
    let expected = [("w1", "t1"), ("w1", "t2"), ("w2", "t2"), ("w2", "t3")];
    let expected: Vec<(String, String)> =
        expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(pairs, expected);
    let none =
        storage.relation_pairs("Owner", "missing", None, 10).await.expect("a relation without a table");
    assert!(none.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Transactions and purge

pub async fn commits_transactions(storage: &dyn Storage) {
    let schema = class_schema("Committed", &[("n", FieldType::Number)]);
    create(storage, &schema).await;
    insert_all(storage, &schema, &[stored_object("c1", 1, json!({"n": 1}))]).await;

    let transaction = storage.begin().await.expect("begin");
    insert_all(&*transaction, &schema, &[stored_object("c2", 2, json!({"n": 2}))]).await;
    update(&*transaction, &schema, "c1", json!({"n": 10})).await.expect("c1");
    assert_eq!(
        find_ids(&*transaction, &schema, json!({})).await,
        strings(&["c1", "c2"]),
        "a transaction sees its writes"
    );
    assert_eq!(find_ids(&*transaction, &schema, json!({"n": 10})).await, strings(&["c1"]));
    assert_eq!(find_ids(storage, &schema, json!({})).await, strings(&["c1"]), "others do not, before commit");
    transaction.commit().await.expect("commit");

    assert_eq!(find_ids(storage, &schema, json!({})).await, strings(&["c1", "c2"]));
    assert_eq!(find_ids(storage, &schema, json!({"n": 10})).await, strings(&["c1"]));
}

pub async fn rolls_back_transactions(storage: &dyn Storage) {
    let schema = class_schema("RolledBack", &[("n", FieldType::Number)]);
    create(storage, &schema).await;
    let original = stored_object("r1", 1, json!({"n": 1}));
    insert_all(storage, &schema, std::slice::from_ref(&original)).await;

    let transaction = storage.begin().await.expect("begin");
    insert_all(&*transaction, &schema, &[stored_object("r2", 2, json!({"n": 2}))]).await;
    update(&*transaction, &schema, "r1", json!({"n": 10})).await.expect("r1");
    let extra = class_schema("MadeInTransaction", &[]);
    create(&*transaction, &extra).await;
    transaction.rollback().await.expect("rollback");

    assert_eq!(find_all(storage, &schema).await, vec![original]);
    assert_eq!(loaded_schema(storage, "MadeInTransaction").await, None, "schema changes roll back too");
}

pub async fn dropped_transactions_roll_back(storage: &dyn Storage) {
    let schema = class_schema("Dropped", &[("n", FieldType::Number)]);
    create(storage, &schema).await;

    let transaction = storage.begin().await.expect("begin");
    insert_all(&*transaction, &schema, &[stored_object("x1", 1, json!({"n": 1}))]).await;
    drop(transaction);

    assert!(find_all(storage, &schema).await.is_empty());
    // The dropped transaction must not keep others from writing.
    let again = stored_object("x1", 1, json!({"n": 2}));
    let insert = storage.insert(&schema, &again);
    tokio::time::timeout(Duration::from_secs(10), insert)
        .await
        .expect("a write after a dropped transaction must not wait forever")
        .expect("insert after a dropped transaction");
    assert_eq!(find_ids(storage, &schema, json!({"n": 2})).await, strings(&["x1"]));
}

pub async fn purges_objects_but_keeps_the_schema(storage: &dyn Storage) {
    let schema = class_schema("Purged", &[("n", FieldType::Number), ("links", relation_to("Target"))]);
    create(storage, &schema).await;
    insert_all(
        storage,
        &schema,
        &[stored_object("p1", 1, json!({"n": 1})), stored_object("p2", 2, json!({"n": 2}))],
    )
    .await;
    update(storage, &schema, "p1", json!({"links": add_relation(&["t1"])})).await;

    storage.purge(&schema).await.expect("purge");
    assert!(find_all(storage, &schema).await.is_empty());
    assert_eq!(related(storage, "Purged", "links", "p1").await, Vec::<String>::new());
    assert_eq!(loaded_schema(storage, "Purged").await, Some(schema.clone()));
    insert_all(storage, &schema, &[stored_object("p1", 1, json!({"n": 3}))]).await;
    assert_eq!(find_ids(storage, &schema, json!({"n": 3})).await, strings(&["p1"]));
}

// ---------------------------------------------------------------------------------------------
// Durability, in two phases around a reopen the adapter performs

fn durable_schema() -> ClassSchema {
    class_schema("Durable", &[("n", FieldType::Number), ("links", relation_to("Target"))])
}

/// Writes what [`check_durable_fixture`] expects to find after the store is reopened (or
/// after the process that wrote it was killed).
pub async fn write_durable_fixture(storage: &dyn Storage) {
    let schema = durable_schema();
    create(storage, &schema).await;
    insert_all(
        storage,
        &schema,
        &[stored_object("k1", 1, json!({"n": 1})), stored_object("k2", 2, json!({"n": 2}))],
    )
    .await;
    update(
        storage,
        &schema,
        "k1",
        json!({"n": {"__op": "Increment", "amount": 41}, "links": add_relation(&["t1"])}),
    )
    .await;
    let transaction = storage.begin().await.expect("begin");
    insert_all(&*transaction, &schema, &[stored_object("k3", 3, json!({"n": 3}))]).await;
    transaction.commit().await.expect("commit");
}

/// Checks, on a reopened store, everything [`write_durable_fixture`] wrote.
pub async fn check_durable_fixture(storage: &dyn Storage) {
    let schema = durable_schema();
    assert_eq!(loaded_schema(storage, "Durable").await, Some(schema.clone()));
    assert_eq!(find_ids(storage, &schema, json!({})).await, strings(&["k1", "k2", "k3"]));
    assert_eq!(find_ids(storage, &schema, json!({"n": 42})).await, strings(&["k1"]));
    assert_eq!(related(storage, "Durable", "links", "k1").await, strings(&["t1"]));
}
