//! The SQLite adapter of Reparse's [`Storage`] trait: the embedded default, one database file
//! per app.
//!
//! Layout (parse-server's PostgreSQL layout with SQLite types):
//! - `_SCHEMA` (`className` TEXT PRIMARY KEY, `schema` TEXT holding `ClassSchema::to_json`,
//!   `isParseClass` INTEGER);
//! - one table per class, named as the class: `objectId` TEXT PRIMARY KEY, `createdAt`,
//!   `updatedAt` (ISO text), `_rperm`, `_wperm` (JSON arrays), then one column per field (see
//!   `columns.rs` for each type's encoding);
//! - `_Join:<field>:<ownerClass>` (`relatedId`, `owningId`) per relation field, indexed on
//!   `owningId`.
//!
//! Code map: `connection.rs` opens the writer and the readers and runs blocking work (and
//! documents durability); `sql.rs` turns filters into SQL; `columns.rs` encodes values;
//! `functions.rs` holds the SQL functions we register; `objects.rs` and `schema_ops.rs` are the
//! operations themselves; this file routes each operation to a connection.
//!
//! Routing: reads outside a transaction go to a reader; every write goes to the single writer
//! connection in its own `BEGIN IMMEDIATE … COMMIT`. A [`Transaction`] holds the writer for its
//! whole life, so its reads see its writes, and each of its operations runs under a savepoint,
//! so a failed operation leaves the transaction as it was before it.

mod cache;
mod columns;
mod connection;
mod errors;
mod functions;
mod objects;
mod schema_ops;
mod sql;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use reparse_core::matcher;
use reparse_core::query::{FieldPath, Filter, Query};
use reparse_core::schema::ClassSchema;
use reparse_core::update::Updates;
use reparse_core::value::Object;
use reparse_core::{ParseError, ParseResult};
use reparse_storage::{Storage, Transaction};
use rusqlite::{Connection, TransactionBehavior};
use serde_json::Value;
use tokio::sync::OwnedMutexGuard;

use crate::cache::ObjectCache;
use crate::connection::{Database, SharedConnection};
use crate::errors::sqlite_error;

/// An app's data in one SQLite file.
pub struct SqliteStorage {
    database: Database,
}

impl SqliteStorage {
    /// Opens the database at `path`, creating the file and its parent directories if needed.
    pub fn open(path: &Path) -> ParseResult<SqliteStorage> {
        Ok(SqliteStorage { database: Database::open(path)? })
    }

    fn executor(&self) -> ParseResult<Executor<'_>> {
        Ok(Executor::Direct(&self.database))
    }
}

/// A transaction on a [`SqliteStorage`]: it holds the writer connection from `begin` until
/// `commit`, `rollback` or drop, so other writes wait for it (reads do not). A task holding a
/// transaction must write through it: a write through the storage itself would wait for the
/// transaction to end, which it never does.
pub struct SqliteTransaction {
    /// `None` once committed or rolled back.
    writer: Option<OwnedMutexGuard<SharedConnection>>,
    /// Evicted whole when the transaction commits.
    cache: Arc<ObjectCache>,
}

impl SqliteTransaction {
    fn executor(&self) -> ParseResult<Executor<'_>> {
        self.writer
            .as_deref()
            .map(Executor::InTransaction)
            .ok_or_else(|| ParseError::internal("the transaction is already finished"))
    }
}

/// Where an operation runs.
enum Executor<'a> {
    /// Outside a transaction: reads on a reader, each write in its own transaction.
    Direct(&'a Database),
    /// Inside a transaction: everything on its writer connection.
    InTransaction(&'a SharedConnection),
}

impl Executor<'_> {
    async fn read<T, F>(&self, job: F) -> ParseResult<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> ParseResult<T> + Send + 'static,
    {
        match self {
            Executor::Direct(database) => database.readers.run(job).await,
            Executor::InTransaction(writer) => writer.run(move |connection| job(connection)).await,
        }
    }

    /// Runs a write, then evicts what it may have changed from the object cache. (Inside a
    /// transaction the commit evicts instead: until then readers see the old objects anyway.)
    async fn write<T, F>(&self, evict: Evict<'_>, job: F) -> ParseResult<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> ParseResult<T> + Send + 'static,
    {
        match self {
            Executor::Direct(database) => {
                let writer = database.writer.lock().await;
                let result = writer.run(move |connection| in_own_transaction(connection, &job)).await;
                match evict {
                    Evict::Nothing => {}
                    Evict::Object { class_name, object_id } => database.cache.evict(class_name, object_id),
                    Evict::Class(class_name) => database.cache.evict_class(class_name),
                }
                result
            }
            Executor::InTransaction(writer) => {
                writer.run(move |connection| in_savepoint(connection, &job)).await
            }
        }
    }

    async fn load_schemas(&self) -> ParseResult<Vec<ClassSchema>> {
        self.read(schema_ops::load_schemas).await
    }

    async fn create_class(&self, schema: &ClassSchema) -> ParseResult<()> {
        let evict = Evict::Class(&schema.class_name);
        let schema = schema.clone();
        self.write(evict, move |connection| schema_ops::create_class(connection, &schema)).await
    }

    async fn update_class(&self, schema: &ClassSchema) -> ParseResult<()> {
        let evict = Evict::Class(&schema.class_name);
        let schema = schema.clone();
        self.write(evict, move |connection| schema_ops::update_class(connection, &schema)).await
    }

    async fn delete_class(&self, class_name: &str) -> ParseResult<()> {
        let evict = Evict::Class(class_name);
        let class_name = class_name.to_string();
        self.write(evict, move |connection| schema_ops::delete_class(connection, &class_name)).await
    }

    async fn purge(&self, schema: &ClassSchema) -> ParseResult<()> {
        let evict = Evict::Class(&schema.class_name);
        let schema = schema.clone();
        self.write(evict, move |connection| schema_ops::purge(connection, &schema)).await
    }

    async fn insert(&self, schema: &ClassSchema, object: &Object) -> ParseResult<()> {
        let (schema, object) = (layout_of(schema), object.clone());
        // A new object replaces nothing a read could have cached.
        self.write(Evict::Nothing, move |connection| objects::insert(connection, &schema, &object)).await
    }

    /// One job per object: a job is re-run whole when it overruns its inline budget
    /// (`connection.rs`), which a job of many inserts could not survive unharmed.
    async fn insert_many(&self, schema: &ClassSchema, objects: &[Object]) -> Result<(), (usize, ParseError)> {
        for (index, object) in objects.iter().enumerate() {
            self.insert(schema, object).await.map_err(|error| (index, error))?;
        }
        Ok(())
    }

    async fn update(
        &self,
        schema: &ClassSchema,
        object_id: &str,
        filter: &Filter,
        updates: &Updates,
    ) -> ParseResult<Option<Object>> {
        let evict = Evict::Object { class_name: &schema.class_name, object_id };
        let (schema, object_id) = (layout_of(schema), object_id.to_string());
        let (filter, updates) = (filter.clone(), updates.clone());
        self.write(evict, move |connection| {
            objects::update(connection, &schema, &object_id, &filter, &updates)
        })
        .await
    }

    async fn delete(&self, schema: &ClassSchema, filter: &Filter) -> ParseResult<u64> {
        let evict = Evict::Class(&schema.class_name);
        let (schema, filter) = (layout_of(schema), filter.clone());
        self.write(evict, move |connection| objects::delete(connection, &schema, &filter)).await
    }

    async fn find(&self, schema: &ClassSchema, query: &Query) -> ParseResult<Vec<Object>> {
        // Reads by id outside a transaction go through the object cache.
        let cached = match (self, cache::point_lookup(query)) {
            (Executor::Direct(database), Some(object_id)) => Some((database, object_id.to_string())),
            _ => None,
        };
        if let Some((database, object_id)) = &cached
            && let Some(object) = database.cache.get(&schema.class_name, object_id)
        {
            let visible = matcher::matches(&query.filter, &object);
            return Ok(if visible { vec![Object::clone(&object)] } else { Vec::new() });
        }
        let generation = cached.as_ref().map(|(database, _)| database.cache.generation());
        let (layout, owned_query) = (layout_of(schema), query.clone());
        let found = self.read(move |connection| objects::find(connection, &layout, &owned_query)).await?;
        if let (Some((database, object_id)), Some(generation), [object]) =
            (&cached, generation, found.as_slice())
        {
            database.cache.keep(&schema.class_name, object_id, object.clone(), generation);
        }
        Ok(found)
    }

    async fn scan(
        &self,
        schema: &ClassSchema,
        filter: &Filter,
        after: Option<&str>,
        limit: u64,
    ) -> ParseResult<Vec<Object>> {
        let (schema, filter, after) = (layout_of(schema), filter.clone(), after.map(str::to_string));
        self.read(move |connection| objects::scan(connection, &schema, &filter, after.as_deref(), limit))
            .await
    }

    async fn count(&self, schema: &ClassSchema, filter: &Filter) -> ParseResult<u64> {
        let (schema, filter) = (layout_of(schema), filter.clone());
        self.read(move |connection| objects::count(connection, &schema, &filter)).await
    }

    async fn explain(&self, schema: &ClassSchema, query: &Query) -> ParseResult<Value> {
        let (schema, query) = (layout_of(schema), query.clone());
        self.read(move |connection| objects::explain(connection, &schema, &query)).await
    }

    async fn distinct(
        &self,
        schema: &ClassSchema,
        filter: &Filter,
        path: &FieldPath,
    ) -> ParseResult<Vec<Value>> {
        let (schema, filter, path) = (layout_of(schema), filter.clone(), path.clone());
        self.read(move |connection| objects::distinct(connection, &schema, &filter, &path)).await
    }

    async fn related_ids(&self, owner_class: &str, field: &str, owning_id: &str) -> ParseResult<Vec<String>> {
        let (owner_class, field) = (owner_class.to_string(), field.to_string());
        let owning_id = owning_id.to_string();
        self.read(move |connection| objects::related_ids(connection, &owner_class, &field, &owning_id)).await
    }

    async fn relation_pairs(
        &self,
        owner_class: &str,
        field: &str,
        after: Option<&(String, String)>,
        limit: u64,
    ) -> ParseResult<Vec<(String, String)>> {
        let (owner_class, field, after) = (owner_class.to_string(), field.to_string(), after.cloned());
        self.read(move |connection| {
            objects::relation_pairs(connection, &owner_class, &field, after.as_ref(), limit)
        })
        .await
    }

    async fn owning_ids(
        &self,
        owner_class: &str,
        field: &str,
        related_ids: &[String],
    ) -> ParseResult<Vec<String>> {
        let (owner_class, field) = (owner_class.to_string(), field.to_string());
        let related_ids = related_ids.to_vec();
        self.read(move |connection| objects::owning_ids(connection, &owner_class, &field, &related_ids)).await
    }
}

/// What a write may have changed, to evict from the object cache once it ends.
enum Evict<'a> {
    Nothing,
    Object { class_name: &'a str, object_id: &'a str },
    Class(&'a str),
}

/// What data operations need of a schema: the class name and its fields. Jobs own their inputs
/// (they may move to the blocking pool), and leaving out the permissions and indexes makes
/// that copy a few small allocations on every request instead of a JSON tree.
fn layout_of(schema: &ClassSchema) -> ClassSchema {
    let mut layout = ClassSchema {
        class_name: schema.class_name.clone(),
        fields: schema.fields.clone(),
        class_level_permissions: serde_json::Value::Null,
        indexes: serde_json::Map::new(),
    };
    add_internal_fields(&mut layout);
    layout
}

/// A schema as its table stores it: with the class's internal columns (see
/// [`reparse_core::schema::internal_fields`]).
pub(crate) fn storage_layout(schema: &ClassSchema) -> ClassSchema {
    let mut layout = schema.clone();
    add_internal_fields(&mut layout);
    layout
}

fn add_internal_fields(schema: &mut ClassSchema) {
    for (name, field_type) in reparse_core::schema::internal_fields(&schema.class_name) {
        if schema.field(name).is_none() {
            let spec = reparse_core::schema::FieldSpec::of(field_type.field_type());
            schema.fields.push((name.to_string(), spec));
        }
    }
}

/// Runs a write outside any transaction as its own `BEGIN IMMEDIATE … COMMIT`; rolled back if
/// `job` fails.
fn in_own_transaction<T>(
    connection: &mut Connection,
    job: impl FnOnce(&Connection) -> ParseResult<T>,
) -> ParseResult<T> {
    roll_back_abandoned_transaction(connection);
    let transaction =
        connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    let result = job(&transaction)?;
    transaction.commit().map_err(sqlite_error)?;
    Ok(result)
}

/// Runs one operation of a transaction under a savepoint, undone if `job` fails.
fn in_savepoint<T>(
    connection: &mut Connection,
    job: impl FnOnce(&Connection) -> ParseResult<T>,
) -> ParseResult<T> {
    let savepoint = connection.savepoint().map_err(sqlite_error)?;
    let result = job(&savepoint)?;
    savepoint.commit().map_err(sqlite_error)?;
    Ok(result)
}

/// Whoever holds the writer lock outside a [`SqliteTransaction`] should find no transaction
/// open. One can only be left over when a transaction was dropped where its rollback could not
/// run (a runtime shutting down); it is rolled back before the connection is used again.
fn roll_back_abandoned_transaction(connection: &Connection) {
    if !connection.is_autocommit() {
        // Best effort: if even this fails, the BEGIN that follows reports the problem.
        let _ = connection.execute_batch("ROLLBACK");
    }
}

// The adapter and its transactions share one implementation and differ only in where
// operations run.
reparse_storage::store_through_executor!(SqliteStorage);
reparse_storage::store_through_executor!(SqliteTransaction);

#[async_trait]
impl Storage for SqliteStorage {
    async fn begin(&self) -> ParseResult<Box<dyn Transaction>> {
        let writer = Arc::clone(&self.database.writer).lock_owned().await;
        writer
            .run(|connection| {
                roll_back_abandoned_transaction(connection);
                connection.execute_batch("BEGIN IMMEDIATE").map_err(sqlite_error)
            })
            .await?;
        Ok(Box::new(SqliteTransaction { writer: Some(writer), cache: Arc::clone(&self.database.cache) }))
    }

    async fn purge(&self, schema: &ClassSchema) -> ParseResult<()> {
        self.executor()?.purge(schema).await
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}

#[async_trait]
impl Transaction for SqliteTransaction {
    async fn commit(mut self: Box<Self>) -> ParseResult<()> {
        let writer =
            self.writer.take().ok_or_else(|| ParseError::internal("the transaction is already finished"))?;
        let committed = writer
            .run(|connection| {
                connection.execute_batch("COMMIT").map_err(|error| {
                    roll_back_abandoned_transaction(connection);
                    sqlite_error(error)
                })
            })
            .await;
        // Whatever the transaction wrote is now what readers see.
        self.cache.evict_all();
        committed
    }

    async fn rollback(mut self: Box<Self>) -> ParseResult<()> {
        let writer =
            self.writer.take().ok_or_else(|| ParseError::internal("the transaction is already finished"))?;
        writer.run(|connection| connection.execute_batch("ROLLBACK").map_err(sqlite_error)).await
    }
}

impl Drop for SqliteTransaction {
    /// Rolls back a transaction dropped without `commit`. The writer lock moves into the
    /// rollback job, so the next writer starts only after the rollback.
    fn drop(&mut self) {
        let Some(writer) = self.writer.take() else {
            return;
        };
        let roll_back = move || {
            writer.run_here(|connection| roll_back_abandoned_transaction(connection));
            drop(writer);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(roll_back);
            }
            Err(_) => roll_back(),
        }
    }
}
