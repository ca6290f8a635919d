//! The shared storage conformance suite, run on the local PostgreSQL (127.0.0.1:5432, user
//! `postgres`): each test gets a fresh schema with a random name, dropped at the end (best
//! effort), so tests run in parallel. When PostgreSQL is unreachable the tests are skipped,
//! unless `CI=true`, where that is a failure. The database gets the `unaccent` extension, which
//! `$text` with `$diacriticSensitive: false` needs (`tests/text_search.rs` covers its absence).

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use reparse_storage_postgres::{PostgresConfig, PostgresStorage};

fn config() -> PostgresConfig {
    let mut config = PostgresConfig::new();
    config.host("127.0.0.1").port(5432).user("postgres").dbname("postgres");
    config
}

/// A storage in its own schema, dropped with the fixture.
struct TemporaryStorage {
    storage: Option<PostgresStorage>,
    schema: String,
}

impl Deref for TemporaryStorage {
    type Target = PostgresStorage;

    fn deref(&self) -> &PostgresStorage {
        self.storage.as_ref().expect("storage")
    }
}

impl Drop for TemporaryStorage {
    fn drop(&mut self) {
        let schema = self.schema.clone();
        // Best effort, on a thread of its own: the test's runtime is shutting down.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok((client, connection)) = config().connect(tokio_postgres::NoTls).await {
                    tokio::spawn(connection);
                    let _ =
                        client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await;
                }
            });
        })
        .join();
    }
}

fn unique_schema_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|time| time.subsec_nanos()).unwrap_or(0);
    format!("reparse_test_{}_{nanos}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Installs `unaccent` in the test database if it is missing. Tests run in parallel, so another
/// may install it at the same moment; whoever loses that race finds it installed.
async fn install_unaccent() {
    let (client, connection) = config().connect(tokio_postgres::NoTls).await.expect("connect to PostgreSQL");
    tokio::spawn(connection);
    if let Err(error) = client.batch_execute("CREATE EXTENSION IF NOT EXISTS unaccent").await {
        let installed = client
            .query_one("SELECT count(*) FROM pg_extension WHERE extname = 'unaccent'", &[])
            .await
            .map(|row| row.get::<_, i64>(0) == 1);
        assert!(matches!(installed, Ok(true)), "the unaccent extension is needed: {error}");
    }
}

/// `None` (after saying why) when PostgreSQL is not there and this is not CI.
async fn fresh_storage() -> Option<TemporaryStorage> {
    let schema = unique_schema_name();
    match PostgresStorage::connect(config(), &schema, 4).await {
        Ok(storage) => {
            install_unaccent().await;
            Some(TemporaryStorage { storage: Some(storage), schema })
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

reparse_storage::storage_conformance_tests!(optional fresh_storage());
