//! Prepared statements are cached per connection; a class whose table changes shape under a
//! cached `SELECT *` must still be readable, whether this storage changed it (its caches are
//! cleared) or another node did (the stale plan is detected and the statement prepared again).

use reparse_core::query::{Filter, Query};
use reparse_core::schema::{ClassSchema, FieldSpec, FieldType};
use reparse_storage::Store;
use reparse_storage_postgres::PostgresStorage;
use serde_json::json;

mod support;

#[tokio::test]
async fn a_table_changed_by_another_node_is_still_readable() {
    let Some(this_node) = support::fresh_storage().await else { return };
    let other_node = PostgresStorage::connect(support::config(), &this_node.schema, 1).await.unwrap();
    let mut schema = ClassSchema::new("Cached");
    schema.set_field("a", FieldSpec::of(FieldType::String));
    this_node.create_class(&schema).await.unwrap();
    let object = json!({"objectId": "o1", "createdAt": "2024-01-01T00:00:00.000Z",
                        "updatedAt": "2024-01-01T00:00:00.000Z", "a": "x"});
    this_node.insert(&schema, object.as_object().unwrap()).await.unwrap();
    let everything = Query::matching(Filter::everything());
    for _ in 0..2 {
        assert_eq!(this_node.find(&schema, &everything).await.unwrap().len(), 1);
    }

    // Another node adds a column: this node's cached `SELECT *` plan is now stale.
    let mut wider = schema.clone();
    wider.set_field("b", FieldSpec::of(FieldType::Number));
    other_node.update_class(&wider).await.unwrap();
    let found = this_node.find(&schema, &everything).await.expect("a stale plan is prepared again");
    assert_eq!(found[0]["a"], json!("x"));
    let found = this_node.find(&wider, &everything).await.unwrap();
    assert_eq!(found.len(), 1);

    // This node's own change clears its caches before any statement fails.
    let mut narrower = wider.clone();
    narrower.fields.retain(|(name, _)| name != "b");
    this_node.update_class(&narrower).await.unwrap();
    assert_eq!(this_node.find(&narrower, &everything).await.unwrap().len(), 1);
}
