//! The shared storage conformance suite, run on SQLite: one fresh database file per test.

use std::ops::Deref;

use reparse_storage_sqlite::SqliteStorage;
use tempfile::TempDir;

/// A store in a temporary directory that lives exactly as long as the store.
struct TemporaryStorage {
    storage: SqliteStorage,
    _directory: TempDir,
}

impl Deref for TemporaryStorage {
    type Target = SqliteStorage;

    fn deref(&self) -> &SqliteStorage {
        &self.storage
    }
}

async fn fresh_storage() -> TemporaryStorage {
    let directory = tempfile::tempdir().expect("temporary directory");
    let storage = SqliteStorage::open(&directory.path().join("app.sqlite")).expect("open");
    TemporaryStorage { storage, _directory: directory }
}

reparse_storage::storage_conformance_tests!(fresh_storage());
