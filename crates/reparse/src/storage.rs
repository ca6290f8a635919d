//! Opens the storage adapter a `databaseURI` selects.

use std::sync::Arc;

use reparse_storage::Storage;
use reparse_storage_postgres::{GeoDistances, PostgresStorage};
use reparse_storage_sqlite::SqliteStorage;

use crate::settings::Database;

/// Opens an app's database: SQLite files are opened in place; PostgreSQL is connected to (its
/// `_SCHEMA` table created if missing).
pub(crate) async fn open_storage(database: &Database) -> Result<Arc<dyn Storage>, String> {
    match database {
        Database::Sqlite(path) => open_sqlite(path),
        Database::Postgres(url) => PostgresStorage::connect_url(url)
            .await
            .map(|storage| {
                match storage.geo_distances() {
                    GeoDistances::Postgis { extension_schema } => {
                        tracing::info!(schema = %extension_schema, "geo distances computed by PostGIS")
                    }
                    GeoDistances::PlainSql => {
                        tracing::info!("geo distances computed in plain SQL (PostGIS is not installed)")
                    }
                }
                Arc::new(storage) as Arc<dyn Storage>
            })
            .map_err(|error| format!("cannot use PostgreSQL at {}: {}", redact_password(url), error.message)),
    }
}

/// Opens a SQLite database (the registry's apps, which are always SQLite files).
pub(crate) fn open_sqlite(path: &std::path::Path) -> Result<Arc<dyn Storage>, String> {
    SqliteStorage::open(path)
        .map(|storage| Arc::new(storage) as Arc<dyn Storage>)
        .map_err(|error| format!("cannot open SQLite database {}: {}", path.display(), error.message))
}

/// A connection URL fit for a log line: `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((credentials, host)) = rest.split_once('@') else { return url.to_string() };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redact_password("postgres://app:s3cret@db:5432/x"), "postgres://app:***@db:5432/x");
        assert_eq!(redact_password("postgres://db/x"), "postgres://db/x");
    }
}
