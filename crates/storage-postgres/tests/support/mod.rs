//! Test fixtures on the local PostgreSQL (127.0.0.1:5432, user `postgres`, trust auth):
//! storages in fresh schemas (dropped afterwards, best effort) of database `postgres` (geo
//! distances in plain SQL) or of `reparse_test_postgis`, created here with the PostGIS
//! extension. Unreachable PostgreSQL or missing PostGIS skip a test, except under `CI=true`.

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::ops::Deref;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use reparse_storage_postgres::{GeoDistances, PostgisUse, PostgresConfig, PostgresStorage};

/// The database of the PostGIS run.
pub(crate) const POSTGIS_DATABASE: &str = "reparse_test_postgis";

pub(crate) fn config() -> PostgresConfig {
    config_for("postgres")
}

pub(crate) fn config_for(database: &str) -> PostgresConfig {
    let mut config = PostgresConfig::new();
    config.host("127.0.0.1").port(5432).user("postgres").dbname(database);
    config
}

pub(crate) fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

/// Runs `work` to completion on a runtime of its own, on a thread of its own (tests run on
/// runtimes that must not be blocked, or that are shutting down).
pub(crate) fn on_own_runtime<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> Option<T> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        Some(runtime.block_on(work))
    })
    .join()
    .ok()
    .flatten()
}

/// A storage in its own schema, dropped with the fixture.
pub(crate) struct TemporaryStorage {
    storage: Option<PostgresStorage>,
    pub(crate) schema: String,
    pub(crate) database: &'static str,
}

impl Deref for TemporaryStorage {
    type Target = PostgresStorage;

    fn deref(&self) -> &PostgresStorage {
        self.storage.as_ref().expect("storage")
    }
}

impl Drop for TemporaryStorage {
    fn drop(&mut self) {
        let (schema, database) = (self.schema.clone(), self.database);
        // Best effort: the test's runtime is shutting down.
        on_own_runtime(async move {
            if let Ok((client, connection)) = config_for(database).connect(tokio_postgres::NoTls).await {
                tokio::spawn(connection);
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await;
            }
        });
    }
}

pub(crate) fn unique_schema_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|time| time.subsec_nanos()).unwrap_or(0);
    format!("reparse_test_{}_{nanos}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// `None` (after saying why) when PostgreSQL is not there and this is not CI.
pub(crate) async fn fresh_storage_in(
    database: &'static str,
    postgis: PostgisUse,
) -> Option<TemporaryStorage> {
    let schema = unique_schema_name();
    match PostgresStorage::connect_with(config_for(database), &schema, 4, postgis).await {
        Ok(storage) => {
            install_unaccent(database).await;
            Some(TemporaryStorage { storage: Some(storage), schema, database })
        }
        Err(error) => {
            if on_ci() {
                panic!("PostgreSQL at 127.0.0.1:5432 is required on CI: {error}");
            }
            eprintln!("skipped: PostgreSQL at 127.0.0.1:5432 is unreachable ({error})");
            None
        }
    }
}

/// Installs `unaccent` in a test database if it is missing. Tests run in parallel, so another
/// may install it at the same moment; whoever loses that race finds it installed.
async fn install_unaccent(database: &str) {
    let (client, connection) =
        config_for(database).connect(tokio_postgres::NoTls).await.expect("connect to PostgreSQL");
    tokio::spawn(connection);
    if let Err(error) = client.batch_execute("CREATE EXTENSION IF NOT EXISTS unaccent").await {
        let installed = client
            .query_one("SELECT count(*) FROM pg_extension WHERE extname = 'unaccent'", &[])
            .await
            .map(|row| row.get::<_, i64>(0) == 1);
        assert!(matches!(installed, Ok(true)), "the unaccent extension is needed: {error}");
    }
}

/// A storage whose geo distances are plain SQL.
pub(crate) async fn fresh_storage() -> Option<TemporaryStorage> {
    let storage = fresh_storage_in("postgres", PostgisUse::Never).await?;
    assert_eq!(storage.geo_distances(), &GeoDistances::PlainSql);
    Some(storage)
}

/// Whether the PostGIS database is ready: created once per process, with the extension.
/// `Err` says why it cannot be (PostgreSQL unreachable, PostGIS not available).
pub(crate) fn postgis_database() -> &'static Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY.get_or_init(|| {
        on_own_runtime(async {
            let (client, connection) =
                config().connect(tokio_postgres::NoTls).await.map_err(|error| error.to_string())?;
            tokio::spawn(connection);
            let available = client
                .query_opt("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'", &[])
                .await
                .map_err(|error| error.to_string())?;
            if available.is_none() {
                return Err("the PostGIS extension is not available on this server".to_string());
            }
            let exists = client
                .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&POSTGIS_DATABASE])
                .await
                .map_err(|error| error.to_string())?;
            if exists.is_none() {
                // Another test process may create it at the same time: its error is fine.
                let _ = client.batch_execute(&format!("CREATE DATABASE {POSTGIS_DATABASE}")).await;
            }
            let (client, connection) = config_for(POSTGIS_DATABASE)
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|error| error.to_string())?;
            tokio::spawn(connection);
            if let Err(error) = client.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis").await {
                // A concurrent CREATE EXTENSION may have won the race.
                let installed = client
                    .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'postgis'", &[])
                    .await
                    .map_err(|error| error.to_string())?;
                if installed.is_none() {
                    return Err(format!("CREATE EXTENSION postgis: {error}"));
                }
            }
            Ok(())
        })
        .unwrap_or_else(|| Err("could not run the setup".to_string()))
    })
}

/// A storage in the PostGIS database (so using PostGIS), or the reason it cannot be had
/// outside CI.
pub(crate) async fn fresh_storage_with_postgis() -> Option<TemporaryStorage> {
    if let Err(reason) = postgis_database() {
        if on_ci() {
            panic!("PostGIS is required on CI: {reason}");
        }
        eprintln!("skipped: {reason}");
        return None;
    }
    let storage = fresh_storage_in(POSTGIS_DATABASE, PostgisUse::IfInstalled).await?;
    assert!(
        matches!(storage.geo_distances(), GeoDistances::Postgis { .. }),
        "PostGIS is installed in {POSTGIS_DATABASE}, so it must be detected"
    );
    Some(storage)
}
