//! What only the PostgreSQL adapter does, against the local PostgreSQL (127.0.0.1:5432, user
//! `postgres`, trust authentication): TLS in each `sslmode` and parse-server's TLS parameters
//! (against the server's own certificate, which Debian makes self-signed for `localhost`), the
//! pool size and the two timeouts, apps in schemas of one database, and `_SCHEMA` rows and
//! indexes as parse-server leaves them.
//!
//! Skipped when PostgreSQL is unreachable or has TLS off, except under `CI=true`, where that is
//! a failure. Each test works in schemas of its own, dropped at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use reparse_core::ErrorCode;
use reparse_core::query::{Constraint, FieldPath};
use reparse_core::query::{Filter, Query};
use reparse_core::schema::{ClassSchema, FieldSpec, FieldType};
use reparse_core::update::{Updates, parse_field_update};
use reparse_storage::{ClassCount, Storage, Store};
use reparse_storage_postgres::{ConnectionSummary, PostgresDatabase, PostgresOptions, SslMode};
use serde_json::{Value, json};

const BASE: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

/// Says why a test does not run, or fails under CI.
fn skip(reason: &str) {
    assert!(!on_ci(), "required on CI: {reason}");
    eprintln!("skipped: {reason}");
}

fn unique_schema_name(purpose: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|time| time.subsec_nanos()).unwrap_or(0);
    format!("reparse_{purpose}_{}_{nanos}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

async fn database(url: &str) -> Option<PostgresDatabase> {
    match PostgresDatabase::connect(&PostgresOptions::from_url(url).unwrap()).await {
        Ok(database) => Some(database),
        Err(error) => {
            skip(&format!("PostgreSQL at 127.0.0.1:5432 is unreachable ({})", error.message));
            None
        }
    }
}

/// A direct connection, to do what the adapter never does (hold locks, write parse-server's
/// rows).
async fn raw_client() -> tokio_postgres::Client {
    let (client, connection) =
        BASE.parse::<tokio_postgres::Config>().unwrap().connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// The file of the server's certificate, when the server has TLS on and the file is readable.
async fn server_certificate() -> Option<String> {
    let client = raw_client().await;
    let row = client
        .query_one("SELECT current_setting('ssl'), current_setting('ssl_cert_file')", &[])
        .await
        .unwrap();
    let (ssl, file): (String, String) = (row.get(0), row.get(1));
    if ssl != "on" {
        skip("the local PostgreSQL has ssl = off");
        return None;
    }
    if std::fs::read(&file).is_err() {
        skip(&format!("the server's certificate {file} is not readable"));
        return None;
    }
    Some(file)
}

async fn summary_for(url: &str) -> Result<ConnectionSummary, String> {
    let options = PostgresOptions::from_url(url).map_err(|error| error.message)?;
    let database = PostgresDatabase::connect(&options).await.map_err(|error| error.message)?;
    database.summary().await.map_err(|error| error.message)
}

async fn encrypted(url: &str) -> bool {
    summary_for(url).await.unwrap_or_else(|error| panic!("{url}: {error}")).tls_version.is_some()
}

async fn refused(url: &str) -> String {
    match summary_for(url).await {
        Ok(summary) => panic!("{url} connected: {summary:?}"),
        Err(error) => error,
    }
}

#[tokio::test]
async fn each_sslmode_connects_as_libpq_would() {
    if database(BASE).await.is_none() {
        return;
    }
    let Some(certificate) = server_certificate().await else { return };
    let by_ip = "postgres://postgres@127.0.0.1:5432/postgres";
    let by_name = "postgres://postgres@localhost:5432/postgres";

    assert!(!encrypted(by_ip).await, "no TLS unless asked, as parse-server");
    assert!(!encrypted(&format!("{by_ip}?sslmode=disable")).await);
    assert!(encrypted(&format!("{by_ip}?sslmode=prefer")).await);
    assert!(encrypted(&format!("{by_ip}?sslmode=require")).await, "require checks nothing");
    // verify-ca: the chain, not the name (the certificate is for localhost, not 127.0.0.1).
    assert!(encrypted(&format!("{by_ip}?sslmode=verify-ca&sslrootcert={certificate}")).await);
    assert!(encrypted(&format!("{by_name}?sslmode=verify-full&sslrootcert={certificate}")).await);
    let error = refused(&format!("{by_ip}?sslmode=verify-full&sslrootcert={certificate}")).await;
    assert!(error.contains("not valid for name"), "{error}");
    // The default authorities (Mozilla's) do not vouch for a self-signed certificate.
    let error = refused(&format!("{by_name}?sslmode=verify-full")).await;
    assert!(error.contains("invalid peer certificate"), "{error}");
    let error = refused(&format!("{by_ip}?sslmode=verify-ca")).await;
    assert!(error.contains("invalid peer certificate"), "{error}");
}

#[tokio::test]
async fn parse_servers_tls_parameters_and_options_are_honoured() {
    if database(BASE).await.is_none() {
        return;
    }
    let Some(certificate) = server_certificate().await else { return };
    let by_ip = "postgres://postgres@127.0.0.1:5432/postgres";
    let by_name = "postgres://postgres@localhost:5432/postgres";
    assert!(encrypted(&format!("{by_name}?ssl=true&ca={certificate}")).await);
    assert!(encrypted(&format!("{by_name}?ca={certificate}")).await, "a ca alone asks for verified TLS");
    assert!(encrypted(&format!("{by_ip}?ssl=true&rejectUnauthorized=false")).await);
    let error = refused(&format!("{by_name}?ssl=true")).await;
    assert!(error.contains("invalid peer certificate"), "ssl=true verifies, as node does: {error}");

    // databaseOptions.ssl carries PEM text, as node's tls options do.
    let pem = std::fs::read_to_string(&certificate).unwrap();
    let mut options = PostgresOptions::from_url(by_name).unwrap();
    options.apply_database_options(json!({"ssl": {"ca": pem}}).as_object().unwrap()).unwrap();
    assert_eq!(options.ssl_mode(), SslMode::VerifyFull);
    let database = PostgresDatabase::connect(&options).await.unwrap();
    assert!(database.summary().await.unwrap().tls_version.is_some());
}

async fn index_names(client: &tokio_postgres::Client, schema_name: &str, table: &str) -> Vec<String> {
    let sql = "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY 1";
    let rows = client.query(sql, &[&schema_name, &table]).await.unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

fn thing_schema() -> ClassSchema {
    let mut schema = ClassSchema::new("Thing");
    schema.set_field("label", FieldSpec::of(FieldType::String));
    schema.set_field("count", FieldSpec::of(FieldType::Number));
    schema
}

fn by_id(object_id: &str) -> Filter {
    Filter::Field { path: FieldPath::top("objectId"), constraint: Constraint::Eq(json!(object_id)) }
}

async fn insert_thing(storage: &dyn Store, object_id: &str) {
    let object = json!({
        "objectId": object_id, "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-01T00:00:00.000Z",
        "label": "a", "count": 1,
    });
    storage.insert(&thing_schema(), object.as_object().unwrap()).await.unwrap();
}

fn increment() -> Updates {
    vec![(FieldPath::top("count"), parse_field_update(&json!({"__op": "Increment", "amount": 1})).unwrap())]
}

#[tokio::test]
async fn large_tables_are_counted_from_the_planners_statistics() {
    let Some(database) = database(BASE).await else { return };
    let schema_name = unique_schema_name("estimate");
    let storage = database.open_schema(&schema_name).await.unwrap();
    storage.create_class(&thing_schema()).await.unwrap();
    for id in ["a", "b", "c"] {
        insert_thing(&storage, id).await;
    }
    let small = storage.estimated_count(&thing_schema()).await.unwrap();
    assert_eq!(small, ClassCount { objects: 3, estimated: false }, "small tables are counted");
    // What autovacuum would record for a table of half a million rows.
    raw_client()
        .await
        .execute(
            "UPDATE pg_class SET reltuples = 500000 WHERE relname = 'Thing'
             AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)",
            &[&schema_name],
        )
        .await
        .unwrap();
    let large = storage.estimated_count(&thing_schema()).await.unwrap();
    assert_eq!(large, ClassCount { objects: 500_000, estimated: true });
    assert_eq!(storage.count(&thing_schema(), &Filter::everything()).await.unwrap(), 3);
    database.drop_schema(&schema_name).await.unwrap();
}

#[tokio::test]
async fn a_statement_past_the_statement_timeout_fails_with_code_124() {
    let url = format!("{BASE}?statement_timeout=300");
    let Some(database) = database(&url).await else { return };
    assert_eq!(database.summary().await.unwrap().statement_timeout, "300ms");
    let schema_name = unique_schema_name("timeout");
    let storage = database.open_schema(&schema_name).await.unwrap();
    storage.create_class(&thing_schema()).await.unwrap();
    insert_thing(&storage, "held").await;

    // A transaction holds the row; an update of it waits for the lock until the timeout.
    let transaction = storage.begin().await.unwrap();
    transaction.update(&thing_schema(), "held", &by_id("held"), &increment()).await.unwrap();
    let error = storage.update(&thing_schema(), "held", &by_id("held"), &increment()).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::Timeout, "{error:?}");
    transaction.rollback().await.unwrap();

    let updated = storage.update(&thing_schema(), "held", &by_id("held"), &increment()).await.unwrap();
    assert_eq!(updated.unwrap()["count"], json!(2), "the failed update changed nothing");
    assert!(database.drop_schema(&schema_name).await.unwrap());
}

#[tokio::test]
async fn the_pool_size_is_kept_and_waiting_past_the_connection_timeout_fails_with_code_124() {
    let url = format!("{BASE}?max=1&connectionTimeoutMillis=300");
    let Some(database) = database(&url).await else { return };
    let schema_name = unique_schema_name("pool");
    let storage = database.open_schema(&schema_name).await.unwrap();
    storage.create_class(&thing_schema()).await.unwrap();
    insert_thing(&storage, "one").await;

    let transaction = storage.begin().await.unwrap();
    let query = Query::matching(Filter::And(Vec::new()));
    let error = storage.find(&thing_schema(), &query).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::Timeout, "the only connection is the transaction's: {error:?}");
    transaction.rollback().await.unwrap();
    assert_eq!(storage.find(&thing_schema(), &query).await.unwrap().len(), 1);
    assert!(database.drop_schema(&schema_name).await.unwrap());
}

#[tokio::test]
async fn apps_in_schemas_of_one_database_see_only_their_own_data() {
    let Some(database) = database(BASE).await else { return };
    let (first_name, second_name) = (unique_schema_name("first"), unique_schema_name("second"));
    // Opened concurrently, the first time: the advisory lock keeps the set-ups apart.
    let (first, second, again) = tokio::join!(
        database.open_schema(&first_name),
        database.open_schema(&second_name),
        database.open_schema(&first_name)
    );
    let (first, second, _again) = (first.unwrap(), second.unwrap(), again.unwrap());
    // Opening a schema that is ready changes nothing in it (the helper function stays as is).
    let client = raw_client().await;
    let function_version = || async {
        let sql = "SELECT xmin::text FROM pg_proc WHERE oid = to_regprocedure($1)";
        let function = format!("\"{first_name}\".reparse_instant(text)");
        client.query_one(sql, &[&function]).await.unwrap().get::<_, String>(0)
    };
    let before = function_version().await;
    database.open_schema(&first_name).await.unwrap();
    assert_eq!(function_version().await, before);
    for storage in [&first, &second] {
        storage.create_class(&thing_schema()).await.unwrap();
    }
    insert_thing(&first, "only-in-first").await;
    let everything = Query::matching(Filter::And(Vec::new()));
    assert_eq!(first.find(&thing_schema(), &everything).await.unwrap().len(), 1);
    assert!(second.find(&thing_schema(), &everything).await.unwrap().is_empty());
    assert_eq!(second.load_schemas().await.unwrap().len(), 1);

    assert!(database.drop_schema(&first_name).await.unwrap());
    assert!(!database.drop_schema(&first_name).await.unwrap(), "already gone");
    assert!(second.find(&thing_schema(), &everything).await.unwrap().is_empty());
    assert!(database.drop_schema(&second_name).await.unwrap());
}

/// A class as parse-server 8 leaves it: its `_SCHEMA` row without the default fields, with
/// `_rperm`/`_wperm`, no permissions stored; and an index parse-server made that no schema
/// lists. Reparse reads the row as parse-server does and keeps the index when it changes the
/// class.
#[tokio::test]
async fn parse_servers_schema_rows_read_as_parse_server_reads_them_and_its_indexes_stay() {
    let Some(database) = database(BASE).await else { return };
    let schema_name = unique_schema_name("layout");
    let storage = database.open_schema(&schema_name).await.unwrap();
    let client = raw_client().await;
    let quoted = format!("\"{schema_name}\"");
    client
        .batch_execute(&format!(
            "CREATE TABLE {quoted}.\"Gadget\" (\"objectId\" varChar(120) PRIMARY KEY, \"createdAt\" timestamptz,
                 \"updatedAt\" timestamptz, \"_rperm\" text[], \"_wperm\" text[], \"name\" text);
             CREATE INDEX \"_by_name_for_parse_server\" ON {quoted}.\"Gadget\" (\"name\");"
        ))
        .await
        .unwrap();
    let row = json!({"className": "Gadget", "fields": {
        "name": {"type": "String"},
        "_rperm": {"type": "Array", "contents": {"type": "String"}},
        "_wperm": {"type": "Array", "contents": {"type": "String"}},
        "objectId": {"type": "String"}, "createdAt": {"type": "Date"}, "updatedAt": {"type": "Date"}
    }});
    client
        .execute(
            &format!("INSERT INTO {quoted}.\"_SCHEMA\" (\"className\", \"schema\", \"isParseClass\") VALUES ($1, $2, true)"),
            &[&"Gadget", &row],
        )
        .await
        .unwrap();

    let schemas = storage.load_schemas().await.unwrap();
    let gadget = schemas.iter().find(|schema| schema.class_name == "Gadget").unwrap();
    let names: Vec<&str> = gadget.fields.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["objectId", "createdAt", "updatedAt", "ACL", "name"]);
    assert_eq!(gadget.class_level_permissions, reparse_core::schema::default_class_level_permissions());

    let mut changed = gadget.clone();
    changed.set_field("weight", FieldSpec::of(FieldType::Number));
    changed.indexes.insert("by_weight".into(), json!({"weight": 1}));
    storage.update_class(&changed).await.unwrap();
    assert_eq!(
        index_names(&client, &schema_name, "Gadget").await,
        ["Gadget_pkey", "_by_name_for_parse_server", "by_weight"]
    );
    // An index the schema drops is dropped; the one no schema listed stays.
    changed.indexes.remove("by_weight");
    storage.update_class(&changed).await.unwrap();
    assert_eq!(
        index_names(&client, &schema_name, "Gadget").await,
        ["Gadget_pkey", "_by_name_for_parse_server"]
    );
    let stored: Value = client
        .query_one(
            &format!("SELECT \"schema\" FROM {quoted}.\"_SCHEMA\" WHERE \"className\" = 'Gadget'"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored["fields"]["weight"], json!({"type": "Number"}));
    assert!(database.drop_schema(&schema_name).await.unwrap());
}
