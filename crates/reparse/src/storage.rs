//! Opens the storage adapter a `databaseURI` selects, and the apps database of registry mode.

use std::sync::Arc;

use futures::TryStreamExt;

use reparse_files::{FilesAdapter, LocalFiles, S3Files};
use reparse_storage::Storage;
use reparse_storage_postgres::{GeoDistances, PostgresDatabase, PostgresOptions};
use reparse_storage_sqlite::SqliteStorage;

use crate::files_config::FilesBackend;
use crate::settings::Database;

/// Opens an app's database: SQLite files are opened in place; PostgreSQL is connected to (its
/// `_SCHEMA` table created if missing) and described for the start-up message.
pub(crate) async fn open_storage(database: &Database) -> Result<(Arc<dyn Storage>, String), String> {
    match database {
        Database::Sqlite(path) => Ok((open_sqlite(path)?, path.display().to_string())),
        Database::Postgres(options) => {
            let database = connect_postgres(options).await?;
            let storage = database.open_schema("public").await.map_err(|error| {
                format!("cannot use PostgreSQL at {}: {}", options.describe(), error.message)
            })?;
            let mut description = describe_postgres(options, &database).await;
            description.push_str(match storage.geo_distances() {
                GeoDistances::Postgis { .. } => ", geo distances by PostGIS",
                GeoDistances::PlainSql => ", geo distances in plain SQL (PostGIS is not installed)",
            });
            Ok((Arc::new(storage), description))
        }
    }
}

/// Connects to a PostgreSQL database, naming it (never its password) when that fails.
pub(crate) async fn connect_postgres(options: &PostgresOptions) -> Result<PostgresDatabase, String> {
    PostgresDatabase::connect(options)
        .await
        .map_err(|error| format!("cannot use PostgreSQL at {}: {}", options.describe(), error.message))
}

/// `PostgreSQL 15.8 at host:5432/db, TLS (TLSv1.3, verify-full), 16 connections, statement timeout 5s`.
pub(crate) async fn describe_postgres(options: &PostgresOptions, database: &PostgresDatabase) -> String {
    let mut text = String::from("PostgreSQL");
    let summary = database.summary().await.ok();
    if let Some(summary) = &summary {
        text.push(' ');
        text.push_str(summary.server_version.split_whitespace().next().unwrap_or_default());
    }
    text.push_str(&format!(" at {}", options.describe()));
    match summary.as_ref().and_then(|summary| summary.tls_version.as_deref()) {
        Some(version) => text.push_str(&format!(", TLS ({version}, sslmode {})", options.ssl_mode())),
        None => text.push_str(", without TLS"),
    }
    text.push_str(&format!(", {} connections", options.pool_size()));
    if let Some(summary) = summary.filter(|summary| summary.statement_timeout != "0") {
        text.push_str(&format!(", statement timeout {}", summary.statement_timeout));
    }
    text
}

/// Opens an app's files: a local folder (created if missing) or an S3 bucket (nothing is sent
/// until the first request).
pub(crate) fn open_files(backend: &FilesBackend) -> Result<Arc<dyn FilesAdapter>, String> {
    match backend {
        FilesBackend::Local(folder) => LocalFiles::open(folder)
            .map(|files| Arc::new(files) as Arc<dyn FilesAdapter>)
            .map_err(|error| format!("cannot open the files folder {}: {error}", folder.display())),
        FilesBackend::S3(options) => {
            S3Files::open(options.as_ref().clone()).map(|files| Arc::new(files) as Arc<dyn FilesAdapter>)
        }
    }
}

/// Deletes every file of `backend` (an app's part of shared storage, when the app is deleted);
/// returns how many there were.
pub(crate) async fn remove_all_files(backend: &FilesBackend) -> Result<u64, String> {
    let files = open_files(backend)?;
    let names: Vec<String> = files
        .list()
        .map_ok(|info| info.name)
        .try_collect()
        .await
        .map_err(|error| format!("cannot list the app's files: {}", error.message))?;
    for name in &names {
        files.delete(name).await.map_err(|error| format!("cannot delete file {name}: {}", error.message))?;
    }
    if let FilesBackend::Local(folder) = backend {
        let _ = std::fs::remove_dir_all(folder);
    }
    Ok(names.len() as u64)
}

/// Opens a SQLite database (a registry app's file).
pub(crate) fn open_sqlite(path: &std::path::Path) -> Result<Arc<dyn Storage>, String> {
    SqliteStorage::open(path)
        .map(|storage| Arc::new(storage) as Arc<dyn Storage>)
        .map_err(|error| format!("cannot open SQLite database {}: {}", path.display(), error.message))
}

/// The PostgreSQL schema a registry app's data lives in: `app_` and its application id, which
/// the registry makes of 20 letters and digits. Anything else is refused rather than mangled,
/// so that two apps can never share a schema.
pub(crate) fn app_schema_name(app_id: &str) -> Result<String, String> {
    let usable = !app_id.is_empty()
        && app_id.len() <= 59
        && app_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if usable {
        Ok(format!("app_{app_id}"))
    } else {
        Err(format!(
            "app id {app_id:?} cannot name a PostgreSQL schema (letters, digits, '_', '-'; at most 59)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_schemas_are_named_after_app_ids() {
        assert_eq!(app_schema_name("AbC123xyz").unwrap(), "app_AbC123xyz");
        assert!(app_schema_name("a\"b").is_err());
        assert!(app_schema_name("").is_err());
        assert!(app_schema_name(&"x".repeat(60)).is_err());
    }
}
