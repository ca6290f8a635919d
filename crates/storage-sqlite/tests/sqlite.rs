//! SQLite-specific behaviour the shared suite cannot see: durability across reopening and
//! across a killed process, the on-disk layout, and transaction details.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reparse_core::ErrorCode;
use reparse_core::query::{Filter, Query};
use reparse_core::schema::{ClassSchema, FieldSpec, FieldType};
use reparse_storage::conformance::{check_durable_fixture, write_durable_fixture};
use reparse_storage::{Storage, Store};
use reparse_storage_sqlite::SqliteStorage;
use rusqlite::Connection;
use serde_json::{Value, json};

/// Set in the child process of [`acknowledged_writes_survive_an_abort`]: the database to write.
const ABORT_CHILD_DATABASE: &str = "REPARSE_TEST_ABORT_CHILD_DATABASE";

fn object(value: Value) -> reparse_core::value::Object {
    value.as_object().cloned().expect("a JSON object")
}

fn layout_schema() -> ClassSchema {
    let mut schema = ClassSchema::new("Layout");
    for (name, field_type) in [
        ("title", FieldType::String),
        ("score", FieldType::Number),
        ("done", FieldType::Boolean),
        ("due", FieldType::Date),
        ("owner", FieldType::Pointer { target_class: "_User".into() }),
        ("tags", FieldType::Array),
        ("links", FieldType::Relation { target_class: "Target".into() }),
    ] {
        schema.set_field(name, FieldSpec::of(field_type));
    }
    schema
}

#[tokio::test]
async fn writes_survive_reopening_the_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("nested/dirs/app.sqlite");
    {
        let storage = SqliteStorage::open(&path).unwrap();
        write_durable_fixture(&storage).await;
    }
    let storage = SqliteStorage::open(&path).unwrap();
    check_durable_fixture(&storage).await;
}

#[tokio::test]
async fn acknowledged_writes_survive_an_abort() {
    if let Ok(path) = std::env::var(ABORT_CHILD_DATABASE) {
        // Child: write, then die without destructors, checkpoints or a clean close.
        let storage = SqliteStorage::open(Path::new(&path)).unwrap();
        write_durable_fixture(&storage).await;
        std::process::abort();
    }
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("app.sqlite");
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "acknowledged_writes_survive_an_abort", "--test-threads=1"])
        .env(ABORT_CHILD_DATABASE, &path)
        .output()
        .unwrap()
        .status;
    assert!(!status.success(), "the child process must have aborted");
    let storage = SqliteStorage::open(&path).unwrap();
    check_durable_fixture(&storage).await;
}

#[tokio::test]
async fn layout_mirrors_parse_server_postgres_with_sqlite_types() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("app.sqlite");
    let storage = SqliteStorage::open(&path).unwrap();
    let schema = layout_schema();
    storage.create_class(&schema).await.unwrap();
    let stored = object(json!({
        "objectId": "a1", "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-01T00:00:00.000Z",
        "title": "t", "score": 1, "done": true, "due": {"__type": "Date", "iso": "2024-05-01T00:00:00.000Z"},
        "owner": {"__type": "Pointer", "className": "_User", "objectId": "u1"}, "tags": ["x"],
        "_rperm": ["*"],
    }));
    storage.insert(&schema, &stored).await.unwrap();
    storage.insert(&schema, &object(json!({"objectId": "a2", "score": 1.5}))).await.unwrap();

    let connection = Connection::open(&path).unwrap();
    let columns: Vec<(String, String)> = connection
        .prepare("SELECT name, type FROM pragma_table_info('Layout')")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected = [
        ("objectId", "TEXT"),
        ("createdAt", "TEXT"),
        ("updatedAt", "TEXT"),
        ("_rperm", "TEXT"),
        ("_wperm", "TEXT"),
        ("title", "TEXT"),
        ("score", "NUMERIC"),
        ("done", "INTEGER"),
        ("due", "TEXT"),
        ("owner", "TEXT"),
        ("tags", "TEXT"),
    ];
    let expected: Vec<(String, String)> =
        expected.iter().map(|(name, kind)| (name.to_string(), kind.to_string())).collect();
    assert_eq!(columns, expected);

    let row: (String, String, String, String, String) = connection
        .query_row(
            "SELECT owner, due, _rperm, typeof(score), tags FROM Layout WHERE objectId = 'a1'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        row,
        (
            "u1".into(),
            "2024-05-01T00:00:00.000Z".into(),
            "[\"*\"]".into(),
            "integer".into(),
            "[\"x\"]".into()
        )
    );
    let fraction: String = connection
        .query_row("SELECT typeof(score) FROM Layout WHERE objectId = 'a2'", [], |row| row.get(0))
        .unwrap();
    assert_eq!(fraction, "real");

    let join_columns: Vec<String> = connection
        .prepare("SELECT name FROM pragma_table_info('_Join:links:Layout')")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(join_columns, ["relatedId", "owningId"]);
    let (schema_json, is_parse_class): (String, i64) = connection
        .query_row("SELECT schema, isParseClass FROM _SCHEMA WHERE className = 'Layout'", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&schema_json).unwrap(), schema.to_json());
    assert_eq!(is_parse_class, 1);
    let journal_mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    assert_eq!(journal_mode, "wal");
}

#[tokio::test]
async fn a_failed_operation_leaves_its_transaction_usable() {
    let directory = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&directory.path().join("app.sqlite")).unwrap();
    let schema = layout_schema();
    storage.create_class(&schema).await.unwrap();

    let transaction = storage.begin().await.unwrap();
    transaction.insert(&schema, &object(json!({"objectId": "a1", "score": 1}))).await.unwrap();
    let duplicate = transaction.insert(&schema, &object(json!({"objectId": "a1", "score": 2}))).await;
    assert_eq!(duplicate.unwrap_err().code, ErrorCode::DuplicateValue);
    transaction.insert(&schema, &object(json!({"objectId": "a2", "score": 3}))).await.unwrap();
    transaction.commit().await.unwrap();

    let found = storage.find(&schema, &Query::matching(Filter::everything())).await.unwrap();
    let scores: Vec<&Value> = found.iter().map(|object| &object["score"]).collect();
    assert_eq!(scores, [&json!(1), &json!(3)]);
}

#[tokio::test]
async fn reads_proceed_while_a_transaction_holds_the_writer() {
    let directory = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&directory.path().join("app.sqlite")).unwrap();
    let schema = layout_schema();
    storage.create_class(&schema).await.unwrap();
    storage.insert(&schema, &object(json!({"objectId": "a1"}))).await.unwrap();

    let transaction = storage.begin().await.unwrap();
    transaction.insert(&schema, &object(json!({"objectId": "a2"}))).await.unwrap();
    let everything = Filter::everything();
    let read = storage.count(&schema, &everything);
    let count =
        tokio::time::timeout(Duration::from_secs(5), read).await.expect("reads do not wait for writers");
    assert_eq!(count.unwrap(), 1);
    transaction.commit().await.unwrap();
    assert_eq!(storage.count(&schema, &Filter::everything()).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_are_not_lost() {
    let directory = tempfile::tempdir().unwrap();
    let storage = std::sync::Arc::new(SqliteStorage::open(&directory.path().join("app.sqlite")).unwrap());
    let schema = std::sync::Arc::new(layout_schema());
    storage.create_class(&schema).await.unwrap();
    storage.insert(&schema, &object(json!({"objectId": "counter", "score": 0}))).await.unwrap();

    let increments = (0..50).map(|_| {
        let (storage, schema) = (storage.clone(), schema.clone());
        tokio::spawn(async move {
            let updates = vec![(
                reparse_core::query::FieldPath::top("score"),
                reparse_core::update::FieldUpdate::Increment(1.into()),
            )];
            storage.update(&schema, "counter", &Filter::everything(), &updates).await.unwrap();
        })
    });
    for increment in increments.collect::<Vec<_>>() {
        increment.await.unwrap();
    }
    let found = storage.find(&schema, &Query::matching(Filter::everything())).await.unwrap();
    assert_eq!(found[0]["score"], json!(50));
}

/// SQLite names ignore case: classes or fields that differ only in case would share a table or
/// a column, so they are refused and the first class keeps its data.
#[tokio::test]
async fn names_differing_only_in_case_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("case.sqlite")).unwrap();
    let mut game = ClassSchema::new("Game");
    game.set_field("score", FieldSpec::of(FieldType::Number));
    storage.create_class(&game).await.unwrap();
    storage.insert(&game, &object(json!({"objectId": "g1", "score": 10}))).await.unwrap();

    let error = storage.create_class(&ClassSchema::new("game")).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidClassName, "{error}");

    let mut widened = game.clone();
    widened.set_field("SCORE", FieldSpec::of(FieldType::String));
    let error = storage.update_class(&widened).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidSchemaOperation, "{error}");

    let found = storage.find(&game, &Query::matching(Filter::everything())).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["score"], json!(10));
    assert_eq!(storage.load_schemas().await.unwrap().len(), 1);
}

/// Reads by id are served from the object cache after the first; every kind of write must be
/// seen by the next read, and the permission filter still applies to a cached object.
#[tokio::test]
async fn reads_by_id_see_every_write_through_the_object_cache() {
    use reparse_core::acl::read_filter;
    use reparse_core::query::{Constraint, FieldPath};
    use reparse_core::update::FieldUpdate;

    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("cache.sqlite")).unwrap();
    let mut schema = ClassSchema::new("Cached");
    schema.set_field("n", FieldSpec::of(FieldType::Number));
    storage.create_class(&schema).await.unwrap();
    storage.insert(&schema, &object(json!({"objectId": "c1", "n": 1, "_rperm": ["*"]}))).await.unwrap();

    let by_id = Filter::Field { path: FieldPath::top("objectId"), constraint: Constraint::Eq(json!("c1")) };
    let read = |filter: Filter| {
        let (storage, schema) = (&storage, &schema);
        async move {
            let query = Query { filter, order: Vec::new(), skip: 0, limit: Some(1), text_score: false };
            storage.find(schema, &query).await.unwrap().first().map(|object| object["n"].clone())
        }
    };
    let increment = vec![(FieldPath::top("n"), FieldUpdate::Increment(1.into()))];

    assert_eq!(read(by_id.clone()).await, Some(json!(1)));
    assert_eq!(read(by_id.clone()).await, Some(json!(1)), "served again (from the cache)");
    storage.update(&schema, "c1", &Filter::everything(), &increment).await.unwrap();
    assert_eq!(read(by_id.clone()).await, Some(json!(2)), "an update is seen");

    let transaction = storage.begin().await.unwrap();
    transaction.update(&schema, "c1", &Filter::everything(), &increment).await.unwrap();
    transaction.rollback().await.unwrap();
    assert_eq!(read(by_id.clone()).await, Some(json!(2)), "a rolled-back update is not");
    let transaction = storage.begin().await.unwrap();
    transaction.update(&schema, "c1", &Filter::everything(), &increment).await.unwrap();
    transaction.commit().await.unwrap();
    assert_eq!(read(by_id.clone()).await, Some(json!(3)), "a committed one is");

    let hidden = vec![(FieldPath::top("_rperm"), FieldUpdate::Set(json!([])))];
    storage.update(&schema, "c1", &Filter::everything(), &hidden).await.unwrap();
    assert_eq!(read(by_id.clone()).await, Some(json!(3)), "the master path has no filter");
    let guarded = Filter::And(vec![by_id.clone(), read_filter(&["*".to_string()])]);
    assert_eq!(read(guarded).await, None, "the permission filter applies to a cached object");

    storage.delete(&schema, &by_id).await.unwrap();
    assert_eq!(read(by_id).await, None, "a delete is seen");
}

/// The object cache is exact only with one writer, so a database is served by one process at a
/// time: a second open is refused while the first holds it, and allowed once it is closed.
#[tokio::test]
async fn a_database_is_opened_by_one_owner_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("owned.sqlite");
    let first = SqliteStorage::open(&path).unwrap();
    let error = SqliteStorage::open(&path).err().expect("a second open is refused");
    assert!(error.message.contains("already open"), "{}", error.message);
    drop(first);
    SqliteStorage::open(&path).expect("free again once closed");
}
