//! The `Storage` trait: what Reparse needs from a database, and nothing Parse-shaped beyond the
//! core's types. Every adapter (SQLite today, PostgreSQL next) implements it and passes the
//! shared [`conformance`] suite.
//!
//! Contract shared by all adapters:
//! - Objects go in and come out in Parse's REST encoding ([`Object`]), with `objectId`,
//!   `createdAt` and `updatedAt` as plain strings and ACLs already turned into `_rperm`/`_wperm`
//!   arrays by the caller. Relation fields are never stored in objects: they live in join tables
//!   (`_Join:<field>:<class>`, columns `relatedId`, `owningId`), reached through the relation
//!   methods.
//! - Filters reaching an adapter are resolved (`Filter::is_resolved`); an unresolved one is an
//!   internal error, not a silent mismatch.
//! - The class schema is passed in by the caller, who owns the schema cache; the adapter keeps
//!   `_SCHEMA` (one row per class, the schema as JSON) and its tables in step with it.
//! - A write acknowledged by `Ok` is durable: it survives the process being killed.
//! - Unique-index violations are error 137 (`DuplicateValue`); a missing object for `update`
//!   is `Ok(None)`, not an error.

use async_trait::async_trait;
use reparse_core::query::{FieldPath, Filter, Query};
use reparse_core::schema::ClassSchema;
use reparse_core::update::Updates;
use reparse_core::value::Object;
use reparse_core::{ParseError, ParseResult};
use serde_json::Value;

pub mod conformance;

/// The columns every class table has in parse-server's layout, which both adapters keep.
pub mod columns {
    pub const OBJECT_ID: &str = "objectId";
    pub const CREATED_AT: &str = "createdAt";
    pub const UPDATED_AT: &str = "updatedAt";
    pub const READ_PERMISSIONS: &str = "_rperm";
    pub const WRITE_PERMISSIONS: &str = "_wperm";

    /// Columns every class table has, whatever its schema says.
    pub const BASE_COLUMNS: [&str; 5] =
        [OBJECT_ID, CREATED_AT, UPDATED_AT, READ_PERMISSIONS, WRITE_PERMISSIONS];
}

/// Data operations, available both directly on a [`Storage`] and inside a [`Transaction`].
#[async_trait]
pub trait Store: Send + Sync {
    /// Every class schema stored in `_SCHEMA`.
    async fn load_schemas(&self) -> ParseResult<Vec<ClassSchema>>;

    /// Creates the class's table (and join tables for relation fields) and its `_SCHEMA` row.
    /// Error 103 if it exists.
    async fn create_class(&self, schema: &ClassSchema) -> ParseResult<()>;

    /// Replaces the stored schema of an existing class with `schema`, adding columns, join
    /// tables and indexes for what is new and dropping those of fields and indexes that are
    /// gone (their data is deleted).
    async fn update_class(&self, schema: &ClassSchema) -> ParseResult<()>;

    /// Drops the class's table, its join tables and its `_SCHEMA` row.
    async fn delete_class(&self, class_name: &str) -> ParseResult<()>;

    /// Inserts a new object. Error 137 if its objectId (or a unique index) already exists.
    async fn insert(&self, schema: &ClassSchema, object: &Object) -> ParseResult<()>;

    /// Inserts many new objects of one class (a restore), as [`Store::insert`] would one by one
    /// but in as few statements as the database allows. On failure, the index of the object that
    /// failed and its error; the objects before it may have been inserted (inside a
    /// [`Transaction`], its rollback removes them), none after it were.
    async fn insert_many(&self, schema: &ClassSchema, objects: &[Object]) -> Result<(), (usize, ParseError)> {
        for (index, object) in objects.iter().enumerate() {
            self.insert(schema, object).await.map_err(|error| (index, error))?;
        }
        Ok(())
    }

    /// Atomically reads the one object with `object_id` that also matches `filter`, applies
    /// `updates` (with [`reparse_core::update::apply_updates`]) and writes it back, relation
    /// changes included. Returns the object after the update, or `None` when nothing matched.
    async fn update(
        &self,
        schema: &ClassSchema,
        object_id: &str,
        filter: &Filter,
        updates: &Updates,
    ) -> ParseResult<Option<Object>>;

    /// Deletes the objects matching `filter` (and their join-table rows); returns how many.
    async fn delete(&self, schema: &ClassSchema, filter: &Filter) -> ParseResult<u64>;

    /// Finds objects. `query.limit` of `None` means unbounded.
    async fn find(&self, schema: &ClassSchema, query: &Query) -> ParseResult<Vec<Object>>;

    /// One page of a scan of the objects matching `filter`: at most `limit`, the first ones
    /// after object id `after` in an order of the adapter's choosing, one its primary-key index
    /// serves. Asking again after the last id of each page reaches every matching object once
    /// (each page as of its own read: not a snapshot). Reads a whole class in bounded memory
    /// where `find` would sort it.
    async fn scan(
        &self,
        schema: &ClassSchema,
        filter: &Filter,
        after: Option<&str>,
        limit: u64,
    ) -> ParseResult<Vec<Object>>;

    /// Counts objects matching `filter`.
    async fn count(&self, schema: &ClassSchema, filter: &Filter) -> ParseResult<u64>;

    /// The database's plan for `find(schema, query)`, as parse-server's `explain` answers it:
    /// a list of `{"QUERY PLAN": …}` rows in the database's own terms (PostgreSQL's
    /// `EXPLAIN (ANALYZE, FORMAT JSON)`, SQLite's `EXPLAIN QUERY PLAN`). A class without a table
    /// has no plan: an empty list.
    async fn explain(&self, schema: &ClassSchema, query: &Query) -> ParseResult<Value>;

    /// The different values at `path` among the objects matching `filter` (`distinct`), read
    /// with the database's `SELECT DISTINCT` rather than whole objects, and returned in the
    /// shape of [`reparse_core::aggregate::distinct_values`]: an array's elements one by one,
    /// no nulls, each value once, sorted. Nested paths reach into objects, not through arrays.
    async fn distinct(
        &self,
        schema: &ClassSchema,
        filter: &Filter,
        path: &FieldPath,
    ) -> ParseResult<Vec<Value>>;

    /// Ids of the objects in relation `field` of `owner_class`'s object `owning_id`.
    async fn related_ids(
        &self,
        owner_class: &str,
        field: &str,
        target_class: &str,
        owning_id: &str,
    ) -> ParseResult<Vec<String>>;

    /// One page of relation `field`'s rows, `(owningId, relatedId)`, in that order (byte-wise),
    /// at most `limit` of them after the pair `after`: paging by the last pair reads a whole
    /// relation (an export) without a query per owning object. A relation without a join table
    /// has no rows.
    async fn relation_pairs(
        &self,
        owner_class: &str,
        field: &str,
        after: Option<&(String, String)>,
        limit: u64,
    ) -> ParseResult<Vec<(String, String)>>;

    /// Ids of the `owner_class` objects whose relation `field` holds any of `related_ids`.
    async fn owning_ids(
        &self,
        owner_class: &str,
        field: &str,
        target_class: &str,
        related_ids: &[String],
    ) -> ParseResult<Vec<String>>;
}

/// A database an app's data lives in.
#[async_trait]
pub trait Storage: Store {
    /// Starts an all-or-nothing unit of work. Dropping it without `commit` rolls it back.
    async fn begin(&self) -> ParseResult<Box<dyn Transaction>>;

    /// Removes every object of a class, keeping the class and its schema (`/purge`).
    async fn purge(&self, schema: &ClassSchema) -> ParseResult<()>;

    /// How many objects a class holds, quickly, for display (the dashboard's class list and
    /// grid): the database's own estimate where it keeps one for a large table (it may be off
    /// by the changes since the table's statistics were last gathered), else the exact count.
    async fn estimated_count(&self, schema: &ClassSchema) -> ParseResult<ClassCount> {
        Ok(ClassCount { objects: self.count(schema, &Filter::everything()).await?, estimated: false })
    }

    /// Adapter name for logs and `/serverInfo` (`"sqlite"`, `"postgres"`).
    fn kind(&self) -> &'static str;
}

/// How many objects a class holds, as [`Storage::estimated_count`] tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassCount {
    pub objects: u64,
    /// The database's estimate rather than a count.
    pub estimated: bool,
}

/// A transaction: the [`Store`] operations, seeing their own writes, committed together.
#[async_trait]
pub trait Transaction: Store {
    async fn commit(self: Box<Self>) -> ParseResult<()>;
    async fn rollback(self: Box<Self>) -> ParseResult<()>;
}

/// What [`store_through_executor!`] names, for adapters that do not import it all.
#[doc(hidden)]
pub mod macro_support {
    pub use async_trait::async_trait;
    pub use reparse_core::query::{FieldPath, Filter, Query};
    pub use reparse_core::schema::ClassSchema;
    pub use reparse_core::update::Updates;
    pub use reparse_core::value::Object;
    pub use reparse_core::{ParseError, ParseResult};
    pub use serde_json::Value;
}

/// Implements [`Store`] for `$type` by forwarding every method to `self.executor()?`, the one
/// executor type an adapter uses both directly and inside a transaction (its inherent methods
/// have the trait's signatures, except that relation lookups take no target class: join tables
/// are named by owner class and field). Both adapters are shaped this way.
#[macro_export]
macro_rules! store_through_executor {
    ($type:ty) => {
        #[$crate::macro_support::async_trait]
        impl $crate::Store for $type {
            async fn load_schemas(
                &self,
            ) -> $crate::macro_support::ParseResult<Vec<$crate::macro_support::ClassSchema>> {
                self.executor()?.load_schemas().await
            }

            async fn create_class(
                &self,
                schema: &$crate::macro_support::ClassSchema,
            ) -> $crate::macro_support::ParseResult<()> {
                self.executor()?.create_class(schema).await
            }

            async fn update_class(
                &self,
                schema: &$crate::macro_support::ClassSchema,
            ) -> $crate::macro_support::ParseResult<()> {
                self.executor()?.update_class(schema).await
            }

            async fn delete_class(&self, class_name: &str) -> $crate::macro_support::ParseResult<()> {
                self.executor()?.delete_class(class_name).await
            }

            async fn insert(
                &self,
                schema: &$crate::macro_support::ClassSchema,
                object: &$crate::macro_support::Object,
            ) -> $crate::macro_support::ParseResult<()> {
                self.executor()?.insert(schema, object).await
            }

            async fn insert_many(
                &self,
                schema: &$crate::macro_support::ClassSchema,
                objects: &[$crate::macro_support::Object],
            ) -> Result<(), (usize, $crate::macro_support::ParseError)> {
                self.executor().map_err(|error| (0, error))?.insert_many(schema, objects).await
            }

            async fn update(
                &self,
                schema: &$crate::macro_support::ClassSchema,
                object_id: &str,
                filter: &$crate::macro_support::Filter,
                updates: &$crate::macro_support::Updates,
            ) -> $crate::macro_support::ParseResult<Option<$crate::macro_support::Object>> {
                self.executor()?.update(schema, object_id, filter, updates).await
            }

            async fn delete(
                &self,
                schema: &$crate::macro_support::ClassSchema,
                filter: &$crate::macro_support::Filter,
            ) -> $crate::macro_support::ParseResult<u64> {
                self.executor()?.delete(schema, filter).await
            }

            async fn find(
                &self,
                schema: &$crate::macro_support::ClassSchema,
                query: &$crate::macro_support::Query,
            ) -> $crate::macro_support::ParseResult<Vec<$crate::macro_support::Object>> {
                self.executor()?.find(schema, query).await
            }

            async fn scan(
                &self,
                schema: &$crate::macro_support::ClassSchema,
                filter: &$crate::macro_support::Filter,
                after: Option<&str>,
                limit: u64,
            ) -> $crate::macro_support::ParseResult<Vec<$crate::macro_support::Object>> {
                self.executor()?.scan(schema, filter, after, limit).await
            }

            async fn count(
                &self,
                schema: &$crate::macro_support::ClassSchema,
                filter: &$crate::macro_support::Filter,
            ) -> $crate::macro_support::ParseResult<u64> {
                self.executor()?.count(schema, filter).await
            }

            async fn explain(
                &self,
                schema: &$crate::macro_support::ClassSchema,
                query: &$crate::macro_support::Query,
            ) -> $crate::macro_support::ParseResult<$crate::macro_support::Value> {
                self.executor()?.explain(schema, query).await
            }

            async fn distinct(
                &self,
                schema: &$crate::macro_support::ClassSchema,
                filter: &$crate::macro_support::Filter,
                path: &$crate::macro_support::FieldPath,
            ) -> $crate::macro_support::ParseResult<Vec<$crate::macro_support::Value>> {
                self.executor()?.distinct(schema, filter, path).await
            }

            async fn relation_pairs(
                &self,
                owner_class: &str,
                field: &str,
                after: Option<&(String, String)>,
                limit: u64,
            ) -> $crate::macro_support::ParseResult<Vec<(String, String)>> {
                self.executor()?.relation_pairs(owner_class, field, after, limit).await
            }

            /// The join table is named by owner class and field; `target_class` is not needed.
            async fn related_ids(
                &self,
                owner_class: &str,
                field: &str,
                _target_class: &str,
                owning_id: &str,
            ) -> $crate::macro_support::ParseResult<Vec<String>> {
                self.executor()?.related_ids(owner_class, field, owning_id).await
            }

            async fn owning_ids(
                &self,
                owner_class: &str,
                field: &str,
                _target_class: &str,
                related_ids: &[String],
            ) -> $crate::macro_support::ParseResult<Vec<String>> {
                self.executor()?.owning_ids(owner_class, field, related_ids).await
            }
        }
    };
}
