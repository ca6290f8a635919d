//! Opens the storage adapter a `databaseURI` selects.

use std::sync::Arc;

use reparse_storage::Storage;
use reparse_storage_sqlite::SqliteStorage;

use crate::settings::Database;

pub(crate) fn open_storage(database: &Database) -> Result<Arc<dyn Storage>, String> {
    match database {
        Database::Sqlite(path) => SqliteStorage::open(path)
            .map(|storage| Arc::new(storage) as Arc<dyn Storage>)
            .map_err(|error| format!("cannot open SQLite database {}: {}", path.display(), error.message)),
    }
}
