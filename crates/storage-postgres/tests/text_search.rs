//! `$text` where PostgreSQL alone decides: `$diacriticSensitive: false` needs the `unaccent`
//! extension. Without it the search fails with parse-server's error (107) instead of an
//! internal one; once installed, the same search works. Runs in a database of its own (the
//! conformance suite's database has the extension), skipped without PostgreSQL unless `CI=true`.

use std::time::{SystemTime, UNIX_EPOCH};

use reparse_core::ErrorCode;
use reparse_core::query::{Query, parse_where};
use reparse_core::schema::{ClassSchema, FieldSpec, FieldType};
use reparse_storage::Store;
use reparse_storage_postgres::{PostgresConfig, PostgresStorage};
use serde_json::json;

fn config(dbname: &str) -> PostgresConfig {
    let mut config = PostgresConfig::new();
    config.host("127.0.0.1").port(5432).user("postgres").dbname(dbname);
    config
}

async fn admin() -> Option<tokio_postgres::Client> {
    match config("postgres").connect(tokio_postgres::NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            Some(client)
        }
        Err(error) => {
            if std::env::var("CI").is_ok_and(|value| value == "true") {
                panic!("PostgreSQL at 127.0.0.1:5432 is required on CI: {error}");
            }
            eprintln!("skipped: PostgreSQL at 127.0.0.1:5432 is unreachable ({error})");
            None
        }
    }
}

#[tokio::test]
async fn folding_diacritics_needs_unaccent() {
    let Some(admin) = admin().await else { return };
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|time| time.subsec_nanos()).unwrap_or(0);
    let database = format!("reparse_text_{}_{nanos}", std::process::id());
    admin.batch_execute(&format!("CREATE DATABASE \"{database}\"")).await.expect("create database");

    let outcome = search_with_and_without_unaccent(&database).await;
    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)")).await;
    outcome.unwrap_or_else(|problem| panic!("{problem}"));
}

async fn search_with_and_without_unaccent(database: &str) -> Result<(), String> {
    let storage =
        PostgresStorage::connect(config(database), "public", 2).await.map_err(|error| error.to_string())?;
    let mut schema = ClassSchema::new("Menu");
    schema.set_field("dish", FieldSpec::of(FieldType::String));
    storage.create_class(&schema).await.map_err(|error| error.to_string())?;
    for (id, dish) in [("m1", "Café Con Leche"), ("m2", "Cafe con Leche"), ("m3", "Tea")] {
        let object = json!({"objectId": id, "createdAt": "2024-01-01T00:00:00.000Z",
            "updatedAt": "2024-01-01T00:00:00.000Z", "dish": dish});
        let object = object.as_object().cloned().unwrap_or_default();
        storage.insert(&schema, &object).await.map_err(|error| error.to_string())?;
    }
    let folded = parse_where(
        &json!({"dish": {"$text": {"$search": {"$term": "CAFÉ", "$diacriticSensitive": false}}}}),
    )
    .map_err(|error| error.to_string())?;

    let error = match storage.find(&schema, &Query::matching(folded.clone())).await {
        Ok(found) => return Err(format!("without unaccent the search must fail, found {found:?}")),
        Err(error) => error,
    };
    assert_eq!(error.code, ErrorCode::InvalidJson);
    assert_eq!(
        error.message,
        "bad $text: $diacriticSensitive - false not supported, install Postgres Unaccent Extension"
    );
    let counted = storage.count(&schema, &folded).await.map(|_| ()).map_err(|error| error.code);
    assert_eq!(counted, Err(ErrorCode::InvalidJson));

    let (client, connection) =
        config(database).connect(tokio_postgres::NoTls).await.map_err(|error| error.to_string())?;
    tokio::spawn(connection);
    client.batch_execute("CREATE EXTENSION unaccent").await.map_err(|error| error.to_string())?;
    let found = storage.find(&schema, &Query::matching(folded)).await.map_err(|error| error.to_string())?;
    let mut ids: Vec<&str> = found.iter().filter_map(|object| object.get("objectId")?.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["m1", "m2"]);
    Ok(())
}
