//! A write cancelled inside its transaction (its request dropped when the client went away)
//! must not leave that transaction open on a pooled connection: the next operation on the
//! connection would run inside it, and its COMMIT would commit the half-done write.

use std::time::Duration;

use reparse_core::query::{FieldPath, Filter, Query};
use reparse_core::schema::{ClassSchema, FieldSpec, FieldType};
use reparse_core::update::parse_field_update;
use reparse_storage::Store;
use reparse_storage_postgres::PostgresStorage;
use serde_json::json;

mod support;

#[tokio::test]
async fn a_write_cancelled_inside_its_transaction_leaves_no_transaction_behind() {
    let Some(fixture) = support::fresh_storage().await else { return };
    // One connection, so the next operation gets the very connection the cancelled one had.
    let storage = PostgresStorage::connect(support::config(), &fixture.schema, 1).await.unwrap();
    let mut schema = ClassSchema::new("Locked");
    schema.set_field("n", FieldSpec::of(FieldType::Number));
    storage.create_class(&schema).await.unwrap();
    let object = json!({"objectId": "o1", "createdAt": "2024-01-01T00:00:00.000Z",
                        "updatedAt": "2024-01-01T00:00:00.000Z", "n": 1});
    storage.insert(&schema, object.as_object().unwrap()).await.unwrap();

    // Another session locks the row, so the update blocks inside its BEGIN … COMMIT.
    let (locker, connection) = support::config().connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let table = format!("\"{}\".\"Locked\"", fixture.schema);
    locker.batch_execute("BEGIN").await.unwrap();
    locker.batch_execute(&format!("SELECT * FROM {table} FOR UPDATE")).await.unwrap();
    let updates = vec![(FieldPath::top("n"), parse_field_update(&json!(2)).unwrap())];
    let everything = Filter::everything();
    let update = storage.update(&schema, "o1", &everything, &updates);
    assert!(tokio::time::timeout(Duration::from_millis(300), update).await.is_err(), "the update must block");
    locker.batch_execute("ROLLBACK").await.unwrap();

    // The next write commits on its own: another session sees it at once.
    let second = json!({"objectId": "o2", "createdAt": "2024-01-01T00:00:00.000Z",
                        "updatedAt": "2024-01-01T00:00:00.000Z", "n": 5});
    storage.insert(&schema, second.as_object().unwrap()).await.unwrap();
    let visible: i64 = locker.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0);
    assert_eq!(visible, 2, "the insert ran inside the cancelled update's transaction");
    let found = storage.find(&schema, &Query::matching(Filter::everything())).await.unwrap();
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|object| object["n"] != json!(2)), "the cancelled update was not applied");
}
