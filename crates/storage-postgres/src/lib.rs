//! The PostgreSQL adapter of Reparse's [`Storage`] trait, in parse-server's own table layout,
//! so that a database parse-server wrote is read and written in place (and the reverse):
//!
//! - `_SCHEMA` (`"className"` varChar(120) primary key, `"schema"` jsonb, `"isParseClass"` bool);
//! - one table per class, named as the class: `"objectId"` varChar(120) primary key,
//!   `"createdAt"`/`"updatedAt"` timestamp with time zone, `"_rperm"`/`"_wperm"` text[], then
//!   one column per field typed as parse-server's PostgresStorageAdapter types it (see
//!   `columns.rs`), plus the class's internal columns (`reparse_core::schema::internal_fields`);
//! - `"_Join:<field>:<ownerClass>"` (`"relatedId"`, `"owningId"` varChar(120), both the primary
//!   key) per relation field;
//! - the system indexes under parse-server's names (`_User_unique_username`,
//!   `case_insensitive_username` on `lower("username")`, …).
//!
//! `_SCHEMA` rows parse-server wrote read as parse-server reads them, and parse-server reads
//! Reparse's (`schema_json.rs`); a schema change removes only what the replaced schema
//! described, so parse-server's own indexes stay. A user's `password` has no column (its hash
//! is `_hashed_password`, as in parse-server).
//!
//! Each app lives in its own PostgreSQL schema (default `public`): every table is qualified
//! with it. Two helper functions are created in that schema: `reparse_instant(text)` (a date
//! string's instant, NULL when it is not one) and `reparse_geo_distance(point, latitude,
//! longitude)` (the great-circle angle in radians, what `$nearSphere` and `$centerSphere`
//! compare and sort by).
//!
//! Geo queries need no extension. At connect the adapter looks for PostGIS in the database
//! (`CREATE EXTENSION postgis`, by whoever administers it; Reparse never installs it): when it
//! is there, `reparse_geo_distance` is PostGIS's `ST_DistanceSphere` (as parse-server computes
//! distances); otherwise it is the haversine formula in plain SQL, operation for operation the
//! one of `reparse_core::geo`. Boxes and polygons use PostgreSQL's own geometric operators
//! (`point <@ box`, `point <@ polygon`, `polygon @> point`) either way, as parse-server does;
//! the core ports their semantics, tolerance included. Results agree with the core's matcher
//! except, possibly, for a point at exactly the maximum distance (see `reparse_core::geo`).
//!
//! Connections come from a deadpool-postgres pool over tokio-postgres ([`PostgresDatabase`],
//! one per database, shared by the apps in it), TLS through rustls as libpq's `sslmode` or
//! parse-server's URL parameters ask (`options.rs`, `tls.rs`). Writes outside a transaction
//! run in their own `BEGIN … COMMIT`; a [`Transaction`] holds one pooled connection from
//! `BEGIN` to `COMMIT`/`ROLLBACK` (a drop rolls it back), and runs each operation under a
//! savepoint so that a failed one leaves the transaction as it was.

mod columns;
mod geo_sql;
mod options;
mod schema_json;
mod sql;
mod tls;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use async_trait::async_trait;
use deadpool_postgres::{
    ClientWrapper as Client, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime,
};
use reparse_core::aggregate::distinct_values;
use reparse_core::query::{FieldPath, Filter, Query};
use reparse_core::schema::{ClassSchema, FieldSpec, FieldType, system_indexes};
use reparse_core::update::{FieldUpdate, Updates, apply_updates};
use reparse_core::value::Object;
use reparse_core::{ErrorCode, ParseError, ParseResult};
use reparse_storage::{ClassCount, Storage, Transaction};
use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::columns::{BASE_COLUMNS, CREATED_AT, Codec, OBJECT_ID, UPDATED_AT, decode_row, encode_field};
use crate::schema_json::{schema_from_stored, stored_schema_json};
use crate::sql::{DistinctColumn, Params, SqlStatement, quote_identifier};

pub use crate::options::{DEFAULT_POOL_SIZE, PostgresOptions};
pub use crate::tls::SslMode;
pub use tokio_postgres::Config as PostgresConfig;

/// parse-server's message for a unique-constraint violation (code 137).
const DUPLICATE_VALUE_MESSAGE: &str = "A duplicate value for a field with unique values was provided";

/// Whether geo distances may use PostGIS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostgisUse {
    /// When the extension is installed in the database.
    IfInstalled,
    /// Never: plain SQL, even where PostGIS is installed (tests of that path).
    Never,
}

/// How this storage computes geo distances, decided at connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeoDistances {
    /// PostGIS's `ST_DistanceSphere`, the extension living in this PostgreSQL schema.
    Postgis { extension_schema: String },
    /// The haversine formula in plain SQL.
    PlainSql,
}

/// parse-server's message for `$diacriticSensitive: false` without the `unaccent` extension
/// (code 107).
const UNACCENT_MISSING_MESSAGE: &str =
    "bad $text: $diacriticSensitive - false not supported, install Postgres Unaccent Extension";

/// The body of `reparse_instant`, compared with the installed one so that an app schema is
/// only altered when it lacks the function or has another version of it.
const INSTANT_FUNCTION_BODY: &str = "
  BEGIN
    IF value IS NULL OR value !~ '^\\d{4}-\\d{2}-\\d{2}' THEN RETURN NULL; END IF;
    RETURN value::timestamptz;
  EXCEPTION WHEN others THEN RETURN NULL;
  END ";

/// Connections to one PostgreSQL database, shared by every app kept in it (one PostgreSQL
/// schema each): a pool over tokio-postgres, TLS through rustls.
#[derive(Clone)]
pub struct PostgresDatabase {
    pool: Pool,
}

/// What the server says about a connection, for start-up messages and checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSummary {
    /// `server_version`, e.g. `15.8 (Debian 15.8-0+deb12u1)`.
    pub server_version: String,
    /// The TLS version (`TLSv1.3`) when the connection is encrypted.
    pub tls_version: Option<String>,
    /// The session's `statement_timeout` (`0` when unlimited).
    pub statement_timeout: String,
}

impl PostgresDatabase {
    /// Builds the pool and opens one connection, so that a wrong host, password or
    /// certificate stops the start instead of failing the first request.
    pub async fn connect(options: &PostgresOptions) -> ParseResult<PostgresDatabase> {
        let tls = tls::client_config(
            options.ssl_mode,
            options.roots.as_deref().map(Vec::as_slice),
            options.identity.as_deref(),
        )?;
        let manager = Manager::from_config(
            options.connection_config(),
            MakeRustlsConnect::new(tls),
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(options.connection_timeout)
            .create_timeout(options.connection_timeout)
            .build()
            .map_err(|error| ParseError::internal(format!("PostgreSQL pool: {error}")))?;
        let database = PostgresDatabase { pool };
        drop(database.connection().await?);
        Ok(database)
    }

    async fn connection(&self) -> ParseResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }

    /// The server's version, whether this connection is encrypted, and its statement timeout.
    pub async fn summary(&self) -> ParseResult<ConnectionSummary> {
        let client = self.connection().await?;
        let row = client
            .query_one(
                "SELECT current_setting('server_version'),
                        (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl),
                        current_setting('statement_timeout')",
                &[],
            )
            .await
            .map_err(pg_error)?;
        Ok(ConnectionSummary {
            server_version: row.try_get(0).map_err(pg_error)?,
            tls_version: row.try_get(1).map_err(pg_error)?,
            statement_timeout: row.try_get(2).map_err(pg_error)?,
        })
    }

    /// An app's storage in PostgreSQL schema `schema`, with PostGIS computing geo distances when
    /// it is installed: see [`PostgresDatabase::open_schema_with`].
    pub async fn open_schema(&self, schema: &str) -> ParseResult<PostgresStorage> {
        self.open_schema_with(schema, PostgisUse::IfInstalled).await
    }

    /// An app's storage in PostgreSQL schema `schema`: the schema, its `_SCHEMA` table and the
    /// helper functions are created when missing or not this version's (under an advisory lock,
    /// so that servers starting together do not race), and nothing is altered when they are
    /// there. `postgis` says whether geo distances may use PostGIS (detected, never installed).
    pub async fn open_schema_with(&self, schema: &str, postgis: PostgisUse) -> ParseResult<PostgresStorage> {
        let client = self.connection().await?;
        let geo_distances = match postgis {
            PostgisUse::IfInstalled => geo_sql::detect_postgis(&client).await.map_err(pg_error)?,
            PostgisUse::Never => GeoDistances::PlainSql,
        };
        if !schema_is_ready(&client, schema, &geo_distances).await? {
            client.batch_execute("BEGIN").await.map_err(pg_error)?;
            let prepared = async {
                client
                    .execute(
                        "SELECT pg_advisory_xact_lock(hashtext($1))",
                        &[&format!("reparse schema {schema}")],
                    )
                    .await
                    .map_err(pg_error)?;
                prepare_schema(&client, schema, &geo_distances).await
            }
            .await;
            let end = if prepared.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let ended = client.batch_execute(end).await.map_err(pg_error);
            prepared?;
            ended?;
        }
        Ok(PostgresStorage { pool: self.pool.clone(), schema: schema.to_string(), geo_distances })
    }

    /// Drops PostgreSQL schema `schema` with everything in it; `false` when there was none.
    pub async fn drop_schema(&self, schema: &str) -> ParseResult<bool> {
        let client = self.connection().await?;
        if !schema_exists(&client, schema).await? {
            return Ok(false);
        }
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_identifier(schema)))
            .await
            .map_err(pg_error)?;
        Ok(true)
    }
}

async fn schema_exists(client: &Client, schema: &str) -> ParseResult<bool> {
    let sql = "SELECT 1 FROM pg_namespace WHERE nspname = $1";
    Ok(client.query_opt(sql, &[&schema]).await.map_err(pg_error)?.is_some())
}

/// Whether the schema, its `_SCHEMA` table and this version of `reparse_instant` and of
/// `reparse_geo_distance` (for `distances`) are there.
async fn schema_is_ready(client: &Client, schema: &str, distances: &GeoDistances) -> ParseResult<bool> {
    let schema_name = quote_identifier(schema);
    let sql = "SELECT to_regclass($1) IS NOT NULL,
                      (SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure($2)),
                      (SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure($3))";
    let row = client
        .query_one(
            sql,
            &[
                &format!("{schema_name}.\"_SCHEMA\""),
                &format!("{schema_name}.reparse_instant(text)"),
                &format!("{schema_name}.reparse_geo_distance(point, float8, float8)"),
            ],
        )
        .await
        .map_err(pg_error)?;
    let has_schema_table: bool = row.try_get(0).map_err(pg_error)?;
    let instant_body: Option<String> = row.try_get(1).map_err(pg_error)?;
    let distance_body: Option<String> = row.try_get(2).map_err(pg_error)?;
    Ok(has_schema_table
        && instant_body.as_deref() == Some(INSTANT_FUNCTION_BODY)
        && distance_body == Some(geo_sql::distance_function_body(distances)))
}

async fn prepare_schema(client: &Client, schema: &str, distances: &GeoDistances) -> ParseResult<()> {
    let schema_name = quote_identifier(schema);
    // Only what is missing: CREATE … IF NOT EXISTS still needs the CREATE privilege, which a
    // user serving a database another role set up may lack.
    if !schema_exists(client, schema).await? {
        client.batch_execute(&format!("CREATE SCHEMA {schema_name}")).await.map_err(pg_error)?;
    }
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {schema_name}.\"_SCHEMA\" (\"className\" varChar(120), \"schema\" jsonb, \"isParseClass\" bool, PRIMARY KEY (\"className\"));
         CREATE OR REPLACE FUNCTION {schema_name}.reparse_instant(value text) RETURNS timestamptz
           LANGUAGE plpgsql IMMUTABLE AS $reparse${INSTANT_FUNCTION_BODY}$reparse$;
         {}",
        geo_sql::distance_function(&schema_name, distances)
    );
    client.batch_execute(&sql).await.map_err(pg_error)
}

/// An app's data in one PostgreSQL schema.
pub struct PostgresStorage {
    pool: Pool,
    schema: String,
    geo_distances: GeoDistances,
}

impl PostgresStorage {
    /// Connects with `config` (no TLS, `max_connections` connections) and opens schema
    /// `schema`, PostGIS computing distances if installed; see [`PostgresDatabase`].
    pub async fn connect(
        config: PostgresConfig,
        schema: &str,
        max_connections: usize,
    ) -> ParseResult<PostgresStorage> {
        PostgresStorage::connect_with(config, schema, max_connections, PostgisUse::IfInstalled).await
    }

    /// [`PostgresStorage::connect`], saying whether PostGIS may be used.
    pub async fn connect_with(
        config: PostgresConfig,
        schema: &str,
        max_connections: usize,
        postgis: PostgisUse,
    ) -> ParseResult<PostgresStorage> {
        let options = PostgresOptions::from_config(config).with_pool_size(max_connections);
        PostgresDatabase::connect(&options).await?.open_schema_with(schema, postgis).await
    }

    /// How geo distances are computed (decided when the schema was opened).
    pub fn geo_distances(&self) -> &GeoDistances {
        &self.geo_distances
    }

    /// The PostgreSQL schema the app's tables live in.
    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    async fn connection(&self) -> ParseResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }

    fn executor(&self) -> ParseResult<Executor<'_>> {
        Ok(Executor { place: Place::Pool(self), pool: &self.pool, schema: &self.schema })
    }
}

/// A transaction: one pooled connection inside `BEGIN`.
pub struct PostgresTransaction {
    /// `None` once committed or rolled back.
    client: Option<deadpool_postgres::Object>,
    /// The storage's pool, whose statement caches a schema change clears.
    pool: Pool,
    schema: String,
}

impl PostgresTransaction {
    fn executor(&self) -> ParseResult<Executor<'_>> {
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| ParseError::internal("the transaction is already finished"))?;
        Ok(Executor { place: Place::Transaction(client), pool: &self.pool, schema: &self.schema })
    }
}

enum Place<'a> {
    Pool(&'a PostgresStorage),
    Transaction(&'a Client),
}

struct Executor<'a> {
    place: Place<'a>,
    pool: &'a Pool,
    schema: &'a str,
}

/// An object reaching an insert has its id (the server gives every object one first).
fn require_object_id(schema: &ClassSchema, object: &Object) -> ParseResult<()> {
    if object.get(OBJECT_ID).is_some_and(Value::is_string) {
        return Ok(());
    }
    Err(ParseError::internal(format!(
        "cannot insert into {} an object without an objectId",
        schema.class_name
    )))
}

/// The most rows one multi-row `INSERT` carries ([`Executor::insert_many`]).
const ROWS_PER_INSERT: usize = 500;
/// The most values one statement binds (PostgreSQL's protocol allows 65,535).
const PARAMS_PER_INSERT: usize = 60_000;

/// Tables estimated to hold at least this many rows are not counted for
/// [`Storage::estimated_count`]: the planner's figure is used.
const ESTIMATES_FROM: u64 = 100_000;

/// Runs `$body` with `$client` bound to a connection: outside a transaction, a pooled one (in
/// its own `BEGIN … COMMIT` when `$atomic`); inside, the transaction's, under a savepoint.
macro_rules! with_client {
    ($executor:expr, $atomic:expr, |$client:ident| $body:expr) => {{
        let checkout;
        let ($client, open, close, undo): (&Client, &str, &str, &str) = match &$executor.place {
            Place::Pool(storage) => {
                checkout = Some(Checkout::new(storage.connection().await?));
                let client = checkout.as_ref().map(Checkout::client).expect("checked out");
                if $atomic { (client, "BEGIN", "COMMIT", "ROLLBACK") } else { (client, "", "", "") }
            }
            Place::Transaction(client) => {
                checkout = None;
                (
                    *client,
                    "SAVEPOINT reparse_operation",
                    "RELEASE SAVEPOINT reparse_operation",
                    "ROLLBACK TO SAVEPOINT reparse_operation",
                )
            }
        };
        if !open.is_empty() {
            if let Some(checkout) = &checkout {
                checkout.enter_transaction();
            }
            $client.batch_execute(open).await.map_err(pg_error)?;
        }
        let result = $body;
        // Whether the transaction (if any) is over: a checkout not settled closes its connection.
        let settled = match &result {
            Ok(_) if !close.is_empty() => {
                if let Err(error) = $client.batch_execute(close).await {
                    if !undo.is_empty() {
                        let _ = $client.batch_execute(undo).await;
                    }
                    return Err(pg_error(error));
                }
                true
            }
            Err(_) if !undo.is_empty() => $client.batch_execute(undo).await.is_ok(),
            _ => true,
        };
        if let (true, Some(checkout)) = (settled, &checkout) {
            checkout.leave_transaction();
        }
        result
    }};
}

/// A pooled connection on loan to one operation. An operation may be dropped between its
/// `BEGIN` and its `COMMIT`/`ROLLBACK` (a request cancelled when its client disconnects, say):
/// the connection then still has the transaction open, and back in the pool the next operation
/// would run inside it and commit its half-done writes. So a checkout dropped inside a
/// transaction (or whose `COMMIT`/`ROLLBACK` failed) takes its connection out of the pool and
/// closes it; the server rolls the transaction back.
struct Checkout {
    object: Option<deadpool_postgres::Object>,
    in_transaction: AtomicBool,
}

impl Checkout {
    fn new(object: deadpool_postgres::Object) -> Checkout {
        Checkout { object: Some(object), in_transaction: AtomicBool::new(false) }
    }

    fn client(&self) -> &Client {
        self.object.as_deref().expect("a checkout holds its connection until dropped")
    }

    fn enter_transaction(&self) {
        self.in_transaction.store(true, AtomicOrdering::Relaxed);
    }

    fn leave_transaction(&self) {
        self.in_transaction.store(false, AtomicOrdering::Relaxed);
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if self.in_transaction.load(AtomicOrdering::Relaxed)
            && let Some(object) = self.object.take()
        {
            drop(deadpool_postgres::Object::take(object));
        }
    }
}

/// Maps a PostgreSQL failure: unique violations are 137, a statement canceled (past the
/// statement timeout) is 124, anything else internal.
fn pg_error(error: tokio_postgres::Error) -> ParseError {
    if error.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        return ParseError::new(ErrorCode::DuplicateValue, DUPLICATE_VALUE_MESSAGE);
    }
    if error.code() == Some(&SqlState::QUERY_CANCELED) {
        return ParseError::new(ErrorCode::Timeout, QUERY_CANCELED_MESSAGE);
    }
    // Only a `$text` search with `$diacriticSensitive: false` calls `unaccent`.
    if error.code() == Some(&SqlState::UNDEFINED_FUNCTION)
        && error.as_db_error().is_some_and(|db| db.message().contains("unaccent("))
    {
        return ParseError::invalid_json(UNACCENT_MISSING_MESSAGE);
    }
    match error.as_db_error() {
        Some(db) => ParseError::internal(format!("PostgreSQL: {}", db.message())),
        None => ParseError::internal(format!("PostgreSQL: {}", with_causes(&error))),
    }
}

/// An error and its causes, `outer: inner: …` (tokio-postgres's own text leaves the cause out:
/// "error performing TLS handshake" without what was wrong with the certificate).
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// What a client is told when PostgreSQL cancels a statement.
const QUERY_CANCELED_MESSAGE: &str =
    "The database canceled the query: it ran longer than the statement timeout allows.";

/// Maps a failure to get a pooled connection: waiting past `connectionTimeoutMillis` is 124.
fn pool_error(error: PoolError) -> ParseError {
    match error {
        PoolError::Timeout(_) => {
            ParseError::new(ErrorCode::Timeout, "Timed out waiting for a database connection.")
        }
        PoolError::Backend(error) => match error.as_db_error() {
            Some(_) => pg_error(error),
            None => ParseError::internal(format!("PostgreSQL connection: {}", with_causes(&error))),
        },
        other => ParseError::internal(format!("PostgreSQL connection: {}", with_causes(&other))),
    }
}

fn is_missing_table(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNDEFINED_TABLE)
}

fn check_resolved(filter: &Filter) -> ParseResult<()> {
    if filter.is_resolved() {
        Ok(())
    } else {
        Err(ParseError::internal("an unresolved filter reached storage"))
    }
}

/// The join table of relation `field` of `owner_class`, as parse-server names it.
fn join_table_name(owner_class: &str, field: &str) -> String {
    format!("_Join:{field}:{owner_class}")
}

/// A schema as its table stores it: with the class's internal columns.
fn storage_layout(schema: &ClassSchema) -> ClassSchema {
    let mut layout = schema.clone();
    for (name, field_type) in reparse_core::schema::internal_fields(&schema.class_name) {
        if layout.field(name).is_none() {
            layout.fields.push((name.to_string(), FieldSpec::of(field_type.field_type())));
        }
    }
    layout
}

impl Executor<'_> {
    fn table(&self, name: &str) -> String {
        format!("{}.{}", quote_identifier(self.schema), quote_identifier(name))
    }

    /// Runs a query built with [`Params`] through the connection's statement cache.
    async fn query_with(
        &self,
        client: &Client,
        sql: &str,
        params: &Params,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let mut retried = false;
        loop {
            let statement = params.prepare(client, sql).await?;
            match client.query(&statement, &params.values()).await {
                Err(error) if !retried && self.may_retry_stale_plan(client, &error) => retried = true,
                result => return result,
            }
        }
    }

    /// Executes a statement built with [`Params`]; returns the rows it changed.
    async fn execute_with(
        &self,
        client: &Client,
        sql: &str,
        params: &Params,
    ) -> Result<u64, tokio_postgres::Error> {
        let mut retried = false;
        loop {
            let statement = params.prepare(client, sql).await?;
            match client.execute(&statement, &params.values()).await {
                Err(error) if !retried && self.may_retry_stale_plan(client, &error) => retried = true,
                result => return result,
            }
        }
    }

    /// A cached `SELECT *` fails once its table gained or lost a column ("cached plan must not
    /// change result type"). This node clears every cache when it changes a schema
    /// ([`Executor::schema_changed`]); a change made by another node surfaces here: the
    /// connection's cache is cleared, and the statement may run again unless a transaction is
    /// open (the failure aborted it; the next request prepares afresh).
    fn may_retry_stale_plan(&self, client: &Client, error: &tokio_postgres::Error) -> bool {
        let stale = error.as_db_error().is_some_and(|db_error| {
            *db_error.code() == SqlState::FEATURE_NOT_SUPPORTED && db_error.message().contains("cached plan")
        });
        if stale {
            client.statement_cache.clear();
        }
        stale && matches!(self.place, Place::Pool(_))
    }

    /// Forgets every prepared statement of the pool: a class's table changed shape.
    fn schema_changed(&self) {
        self.pool.manager().statement_caches.clear();
    }

    // -----------------------------------------------------------------------------------------
    // Schema operations

    async fn load_schemas(&self) -> ParseResult<Vec<ClassSchema>> {
        let sql = format!("SELECT \"schema\" FROM {} ORDER BY \"className\"", self.table("_SCHEMA"));
        with_client!(self, false, |client| {
            let rows = client.query(&sql, &[]).await.map_err(pg_error)?;
            rows.iter()
                .map(|row| {
                    let json: Value = row.try_get(0).map_err(pg_error)?;
                    schema_from_stored(json)
                })
                .collect::<ParseResult<Vec<_>>>()
        })
    }

    /// The stored schema of a class, locked until the end of the transaction.
    async fn stored_schema(&self, client: &Client, class_name: &str) -> ParseResult<Option<ClassSchema>> {
        let sql =
            format!("SELECT \"schema\" FROM {} WHERE \"className\" = $1 FOR UPDATE", self.table("_SCHEMA"));
        match client.query_opt(&sql, &[&class_name]).await.map_err(pg_error)? {
            Some(row) => Ok(Some(schema_from_stored(row.try_get(0).map_err(pg_error)?)?)),
            None => Ok(None),
        }
    }

    async fn create_class(&self, schema: &ClassSchema) -> ParseResult<()> {
        let class_name = &schema.class_name;
        let changed = with_client!(self, true, |client| {
            async {
                if self.stored_schema(client, class_name).await?.is_some() {
                    return Err(ParseError::new(
                        ErrorCode::InvalidClassName,
                        format!("Class {class_name} already exists."),
                    ));
                }
                // IF NOT EXISTS: parse-server makes tables it lists in no `_SCHEMA` row
                // (`_Hooks`, `_GlobalConfig`, `_Audience`, …); such a table is adopted.
                let sql = format!(
                    "CREATE TABLE IF NOT EXISTS {} (\"objectId\" varChar(120) NOT NULL, \"createdAt\" timestamp with time zone, \"updatedAt\" timestamp with time zone, \"_rperm\" text[], \"_wperm\" text[], PRIMARY KEY (\"objectId\"))",
                    self.table(class_name)
                );
                client.batch_execute(&sql).await.map_err(pg_error)?;
                self.reconcile_tables(client, None, schema).await?;
                let sql = format!(
                    "INSERT INTO {} (\"className\", \"schema\", \"isParseClass\") VALUES ($1, $2, true)",
                    self.table("_SCHEMA")
                );
                client.execute(&sql, &[class_name, &stored_schema_json(schema)]).await.map_err(pg_error)?;
                Ok(())
            }
            .await
        });
        changed.inspect(|()| self.schema_changed())
    }

    async fn update_class(&self, schema: &ClassSchema) -> ParseResult<()> {
        let class_name = &schema.class_name;
        let changed = with_client!(self, true, |client| {
            async {
                let Some(previous) = self.stored_schema(client, class_name).await? else {
                    return Err(ParseError::new(
                        ErrorCode::InvalidClassName,
                        format!("Class {class_name} does not exist."),
                    ));
                };
                self.reconcile_tables(client, Some(&previous), schema).await?;
                let sql =
                    format!("UPDATE {} SET \"schema\" = $2 WHERE \"className\" = $1", self.table("_SCHEMA"));
                client.execute(&sql, &[class_name, &stored_schema_json(schema)]).await.map_err(pg_error)?;
                Ok(())
            }
            .await
        });
        changed.inspect(|()| self.schema_changed())
    }

    async fn delete_class(&self, class_name: &str) -> ParseResult<()> {
        let changed = with_client!(self, true, |client| {
            async {
                for join_table in self.existing_join_tables(client, class_name).await?.into_values() {
                    client
                        .batch_execute(&format!("DROP TABLE IF EXISTS {}", self.table(&join_table)))
                        .await
                        .map_err(pg_error)?;
                }
                client
                    .batch_execute(&format!("DROP TABLE IF EXISTS {}", self.table(class_name)))
                    .await
                    .map_err(pg_error)?;
                let sql = format!("DELETE FROM {} WHERE \"className\" = $1", self.table("_SCHEMA"));
                client.execute(&sql, &[&class_name]).await.map_err(pg_error)?;
                Ok(())
            }
            .await
        });
        changed.inspect(|()| self.schema_changed())
    }

    /// PostgreSQL's own estimate of the class's rows (the planner's statistics, kept up by
    /// autovacuum), where it has one for a table large enough that counting would be slow;
    /// the exact count otherwise (a table never analysed, or a small one whose estimate may be
    /// stale by a large fraction).
    async fn estimated_count(&self, schema: &ClassSchema) -> ParseResult<ClassCount> {
        let class_name = &schema.class_name;
        let estimate: Option<f32> = with_client!(self, false, |client| {
            client
                .query_opt(
                    "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1 AND c.relname = $2",
                    &[&self.schema, class_name],
                )
                .await
                .map(|row| row.map(|row| row.get::<_, f32>(0)))
                .map_err(pg_error)
        })?;
        match estimate {
            Some(rows) if rows >= ESTIMATES_FROM as f32 => {
                Ok(ClassCount { objects: rows as u64, estimated: true })
            }
            _ => {
                Ok(ClassCount { objects: self.count(schema, &Filter::everything()).await?, estimated: false })
            }
        }
    }

    async fn purge(&self, schema: &ClassSchema) -> ParseResult<()> {
        let class_name = &schema.class_name;
        with_client!(self, true, |client| {
            async {
                for join_table in self.existing_join_tables(client, class_name).await?.into_values() {
                    client
                        .batch_execute(&format!("DELETE FROM {}", self.table(&join_table)))
                        .await
                        .map_err(pg_error)?;
                }
                if self.table_exists(client, class_name).await? {
                    client
                        .batch_execute(&format!("DELETE FROM {}", self.table(class_name)))
                        .await
                        .map_err(pg_error)?;
                }
                Ok(())
            }
            .await
        })
    }

    async fn table_exists(&self, client: &Client, table: &str) -> ParseResult<bool> {
        let sql = "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2";
        Ok(!client.query(sql, &[&self.schema, &table]).await.map_err(pg_error)?.is_empty())
    }

    /// Relation field → join table name, for the join tables of `owner_class` that exist.
    async fn existing_join_tables(
        &self,
        client: &Client,
        owner_class: &str,
    ) -> ParseResult<BTreeMap<String, String>> {
        let sql = "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE '\\_Join:%'";
        let rows = client.query(sql, &[&self.schema]).await.map_err(pg_error)?;
        let suffix = format!(":{owner_class}");
        Ok(rows
            .iter()
            .filter_map(|row| {
                let name: String = row.get(0);
                let field = name.strip_prefix("_Join:")?.strip_suffix(&suffix)?;
                (!field.contains(':')).then(|| (field.to_string(), name.clone()))
            })
            .collect())
    }

    /// Makes the class table, its join tables and its indexes match `schema`. What is removed
    /// is only what `previous` (the stored schema being replaced) had and `schema` drops or
    /// retypes: columns, indexes and join tables Reparse never described (parse-server's own
    /// indexes such as `_email_verify_token`, an administrator's) are left alone.
    async fn reconcile_tables(
        &self,
        client: &Client,
        previous: Option<&ClassSchema>,
        schema: &ClassSchema,
    ) -> ParseResult<()> {
        let schema = &storage_layout(schema);
        let class_name = &schema.class_name;
        let table = self.table(class_name);
        let wanted_columns = column_codecs(schema);
        let wanted_indexes = self.wanted_indexes(schema, &wanted_columns)?;
        let wanted_relations: BTreeSet<&str> = schema.relation_fields().map(|(field, _)| field).collect();

        let mut removals = Vec::new();
        if let Some(previous) = previous.map(storage_layout) {
            for (name, keys) in &previous.indexes {
                if schema.indexes.get(name) != Some(keys) {
                    removals.push(format!("DROP INDEX IF EXISTS {}", self.table(name)));
                }
            }
            for (name, codec) in column_codecs(&previous) {
                if !wanted_columns
                    .iter()
                    .any(|(wanted, wanted_codec)| *wanted == name && *wanted_codec == codec)
                {
                    removals.push(format!(
                        "ALTER TABLE {table} DROP COLUMN IF EXISTS {}",
                        quote_identifier(name)
                    ));
                }
            }
            for (field, _) in previous.relation_fields() {
                if !wanted_relations.contains(field) {
                    let join_table = self.table(&join_table_name(class_name, field));
                    removals.push(format!("DROP TABLE IF EXISTS {join_table}"));
                }
            }
        }
        for statement in removals {
            client.batch_execute(&statement).await.map_err(pg_error)?;
        }

        // Read after the removals: a dropped column takes its indexes with it.
        let sql = "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2";
        let existing_columns: BTreeSet<String> = client
            .query(sql, &[&self.schema, class_name])
            .await
            .map_err(pg_error)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let sql = "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 AND tablename = $2";
        let existing_indexes: BTreeSet<String> = client
            .query(sql, &[&self.schema, class_name])
            .await
            .map_err(pg_error)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let existing_relations = self.existing_join_tables(client, class_name).await?;
        let mut additions = Vec::new();
        for (name, codec) in &wanted_columns {
            if !existing_columns.contains(*name) {
                additions.push(format!(
                    "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {} {}",
                    quote_identifier(name),
                    codec.sql_type()
                ));
            }
        }
        for (name, sql) in &wanted_indexes {
            if !existing_indexes.contains(name) {
                additions.push(sql.clone());
            }
        }
        for field in wanted_relations {
            if !existing_relations.contains_key(field) {
                additions.push(format!(
                    "CREATE TABLE IF NOT EXISTS {} (\"relatedId\" varChar(120), \"owningId\" varChar(120), PRIMARY KEY (\"relatedId\", \"owningId\"))",
                    self.table(&join_table_name(class_name, field))
                ));
            }
        }
        for statement in additions {
            client.batch_execute(&statement).await.map_err(pg_error)?;
        }
        Ok(())
    }

    /// Index name → its `CREATE INDEX` statement, for the schema's and the system's indexes.
    fn wanted_indexes(
        &self,
        schema: &ClassSchema,
        columns: &[(&str, Codec)],
    ) -> ParseResult<BTreeMap<String, String>> {
        let class_name = &schema.class_name;
        let table = self.table(class_name);
        let mut wanted = BTreeMap::new();
        for (index, keys) in &schema.indexes {
            let Some(keys) = keys.as_object().filter(|keys| !keys.is_empty()) else {
                return Err(ParseError::internal(format!("index {index} of {class_name} has no fields")));
            };
            let mut terms = Vec::new();
            for (field, direction) in keys {
                let column = match field.as_str() {
                    "_id" => OBJECT_ID,
                    "_created_at" => CREATED_AT,
                    "_updated_at" => UPDATED_AT,
                    other => other,
                };
                if !BASE_COLUMNS.contains(&column) && !columns.iter().any(|(name, _)| *name == column) {
                    return Err(ParseError::internal(format!(
                        "index {index} of {class_name}: {field} has no column"
                    )));
                }
                let order = if direction.as_f64().is_some_and(|value| value < 0.0) { "DESC" } else { "ASC" };
                terms.push(format!("{} {order}", quote_identifier(column)));
            }
            if terms.len() == 1 && terms[0].starts_with("\"objectId\"") {
                continue;
            }
            let sql = format!(
                "CREATE INDEX IF NOT EXISTS {} ON {table} ({})",
                quote_identifier(index),
                terms.join(", ")
            );
            wanted.insert(index.clone(), sql);
        }
        for index in system_indexes(class_name) {
            if !columns.iter().any(|(name, _)| *name == index.field) {
                continue;
            }
            let column = quote_identifier(index.field);
            let term =
                if index.case_insensitive { format!("lower({column}) varchar_pattern_ops") } else { column };
            let name = system_index_name(class_name, index);
            let sql = format!(
                "CREATE {}INDEX IF NOT EXISTS {} ON {table} ({term})",
                if index.unique { "UNIQUE " } else { "" },
                quote_identifier(&name),
            );
            wanted.insert(name, sql);
        }
        Ok(wanted)
    }

    // -----------------------------------------------------------------------------------------
    // Objects

    async fn insert(&self, schema: &ClassSchema, object: &Object) -> ParseResult<()> {
        let schema = storage_layout(schema);
        require_object_id(&schema, object)?;
        let mut params = Params::default();
        let mut columns = Vec::with_capacity(object.len());
        let mut values = Vec::with_capacity(object.len());
        for (field, value) in object {
            if value.is_null() || is_stored_elsewhere(&schema, field) {
                continue;
            }
            columns.push(quote_identifier(field));
            values.push(encode_field(&schema, field, value, &mut params)?);
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.table(&schema.class_name),
            columns.join(", "),
            values.join(", ")
        );
        with_client!(self, false, |client| {
            self.execute_with(client, &sql, &params).await.map(|_| ()).map_err(pg_error)
        })
    }

    /// Many objects per `INSERT … VALUES (…), (…)` statement (one round trip, one savepoint in
    /// a transaction, instead of one each): up to [`ROWS_PER_INSERT`] rows sharing the columns any
    /// of them has (NULL where one has none), fewer when their values would pass
    /// [`PARAMS_PER_INSERT`]. A statement that fails is rolled back whole and its objects are
    /// inserted one by one, to say which one fails.
    async fn insert_many(&self, schema: &ClassSchema, objects: &[Object]) -> Result<(), (usize, ParseError)> {
        let layout = storage_layout(schema);
        let mut start = 0;
        while start < objects.len() {
            let candidates = &objects[start..objects.len().min(start + ROWS_PER_INSERT)];
            let (sql, params, rows) =
                self.multi_row_insert(&layout, candidates).map_err(|error| (start, error))?;
            if self.execute(&sql, &params).await.is_err() {
                for (offset, object) in objects[start..start + rows].iter().enumerate() {
                    self.insert(schema, object).await.map_err(|error| (start + offset, error))?;
                }
            }
            start += rows;
        }
        Ok(())
    }

    /// Runs one statement (under a savepoint in a transaction, so a failure leaves it usable).
    async fn execute(&self, sql: &str, params: &Params) -> ParseResult<u64> {
        with_client!(self, false, |client| self.execute_with(client, sql, params).await.map_err(pg_error))
    }

    /// The statement inserting the first rows of `objects` (how many: the third value).
    fn multi_row_insert(
        &self,
        schema: &ClassSchema,
        objects: &[Object],
    ) -> ParseResult<(String, Params, usize)> {
        let mut columns: Vec<&str> = Vec::new();
        for object in objects {
            require_object_id(schema, object)?;
            for (field, value) in object {
                if !value.is_null()
                    && !is_stored_elsewhere(schema, field)
                    && !columns.contains(&field.as_str())
                {
                    columns.push(field);
                }
            }
        }
        let mut params = Params::default();
        let mut rows = Vec::with_capacity(objects.len());
        for object in objects {
            if !rows.is_empty() && params.len() + columns.len() > PARAMS_PER_INSERT {
                break;
            }
            let mut values = Vec::with_capacity(columns.len());
            for column in &columns {
                match object.get(*column) {
                    Some(value) if !value.is_null() => {
                        values.push(encode_field(schema, column, value, &mut params)?)
                    }
                    _ => values.push("NULL".to_string()),
                }
            }
            rows.push(format!("({})", values.join(", ")));
        }
        let quoted: Vec<String> = columns.iter().map(|column| quote_identifier(column)).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table(&schema.class_name),
            quoted.join(", "),
            rows.join(", ")
        );
        let count = rows.len();
        Ok((sql, params, count))
    }

    async fn query_objects(
        &self,
        client: &Client,
        schema: &ClassSchema,
        statement: &SqlStatement,
    ) -> ParseResult<Vec<Object>> {
        let rows = match self.query_with(client, &statement.sql, &statement.params).await {
            Ok(rows) => rows,
            Err(error) if is_missing_table(&error) => return Ok(Vec::new()),
            Err(error) => return Err(pg_error(error)),
        };
        rows.iter().map(|row| decode_row(schema, row)).collect()
    }

    async fn find(&self, schema: &ClassSchema, query: &Query) -> ParseResult<Vec<Object>> {
        check_resolved(&query.filter)?;
        let schema = storage_layout(schema);
        let statement = sql::select_statement(&self.table(&schema.class_name), &schema, query)?;
        with_client!(self, false, |client| self.query_objects(client, &schema, &statement).await)
    }

    /// `EXPLAIN (ANALYZE, FORMAT JSON)` of the find, as parse-server runs it: its rows, each
    /// `{"QUERY PLAN": […]}`.
    async fn explain(&self, schema: &ClassSchema, query: &Query) -> ParseResult<Value> {
        check_resolved(&query.filter)?;
        let schema = storage_layout(schema);
        let statement = sql::select_statement(&self.table(&schema.class_name), &schema, query)?;
        let sql = format!("EXPLAIN (ANALYZE, FORMAT JSON) {}", statement.sql);
        with_client!(self, false, |client| match self.query_with(client, &sql, &statement.params).await {
            Ok(rows) => Ok(Value::Array(
                rows.iter().map(|row| serde_json::json!({"QUERY PLAN": row.get::<_, Value>(0)})).collect(),
            )),
            Err(error) if is_missing_table(&error) => Ok(Value::Array(Vec::new())),
            Err(error) => Err(pg_error(error)),
        })
    }

    async fn scan(
        &self,
        schema: &ClassSchema,
        filter: &Filter,
        after: Option<&str>,
        limit: u64,
    ) -> ParseResult<Vec<Object>> {
        check_resolved(filter)?;
        let schema = storage_layout(schema);
        let statement = sql::scan_statement(&self.table(&schema.class_name), &schema, filter, after, limit)?;
        with_client!(self, false, |client| self.query_objects(client, &schema, &statement).await)
    }

    async fn count(&self, schema: &ClassSchema, filter: &Filter) -> ParseResult<u64> {
        check_resolved(filter)?;
        let schema = storage_layout(schema);
        let table = self.table(&schema.class_name);
        let mut params = Params::default();
        let condition = sql::condition(&table, &schema, filter, &mut params)?;
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {condition}");
        with_client!(self, false, |client| {
            match self.query_with(client, &sql, &params).await {
                Ok(rows) => {
                    Ok(rows.first().map_or(0, |row| u64::try_from(row.get::<_, i64>(0)).unwrap_or_default()))
                }
                Err(error) if is_missing_table(&error) => Ok(0),
                Err(error) => Err(pg_error(error)),
            }
        })
    }

    async fn distinct(
        &self,
        schema: &ClassSchema,
        filter: &Filter,
        path: &FieldPath,
    ) -> ParseResult<Vec<Value>> {
        check_resolved(filter)?;
        let schema = storage_layout(schema);
        let table = self.table(&schema.class_name);
        let Some((statement, column)) = sql::distinct_statement(&table, &schema, filter, path)? else {
            return Ok(Vec::new());
        };
        let found = with_client!(self, false, |client| {
            match client.query(&statement.sql, &statement.params.values()).await {
                Ok(rows) => rows
                    .iter()
                    .map(|row| {
                        let value = match &column {
                            DistinctColumn::Column(codec) => codec.decode(row, 0),
                            DistinctColumn::Json => row.try_get::<_, Option<Value>>(0).map_err(Into::into),
                        };
                        value.map_err(|problem| {
                            ParseError::internal(format!("{}.{path}: {problem}", schema.class_name))
                        })
                    })
                    .collect::<ParseResult<Vec<Option<Value>>>>(),
                Err(error) if is_missing_table(&error) => Ok(Vec::new()),
                Err(error) => Err(pg_error(error)),
            }
        })?;
        Ok(distinct_values(path, found.into_iter().flatten()))
    }

    async fn find_one(
        &self,
        client: &Client,
        schema: &ClassSchema,
        object_id: &str,
        filter: Option<&Filter>,
        lock: bool,
    ) -> ParseResult<Option<Object>> {
        let table = self.table(&schema.class_name);
        let mut params = Params::default();
        let id = params.text(object_id.to_string());
        let condition = match filter {
            Some(filter) => sql::condition(&table, schema, filter, &mut params)?,
            None => "true".to_string(),
        };
        let lock = if lock { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT * FROM {table} WHERE {table}.\"objectId\" = {id} AND ({condition}){lock}");
        Ok(self.query_objects(client, schema, &SqlStatement { sql, params }).await?.pop())
    }

    async fn update(
        &self,
        schema: &ClassSchema,
        object_id: &str,
        filter: &Filter,
        updates: &Updates,
    ) -> ParseResult<Option<Object>> {
        check_resolved(filter)?;
        let schema = &storage_layout(schema);
        let table = self.table(&schema.class_name);
        with_client!(self, true, |client| {
            async {
                let Some(mut object) = self.find_one(client, schema, object_id, Some(filter), true).await? else {
                    return Ok(None);
                };
                apply_updates(&mut object, updates)?;
                let changed_fields: BTreeSet<&str> = updates
                    .iter()
                    .filter(|(_, update)| !matches!(update, FieldUpdate::Relation(_)))
                    .map(|(path, _)| path.field.as_str())
                    .collect();
                if !changed_fields.is_empty() {
                    let mut params = Params::default();
                    let mut assignments = Vec::with_capacity(changed_fields.len());
                    for field in changed_fields {
                        let value = object.get(field).unwrap_or(&Value::Null);
                        let expression = encode_field(schema, field, value, &mut params)?;
                        assignments.push(format!("{} = {expression}", quote_identifier(field)));
                    }
                    let id = params.text(object_id.to_string());
                    let sql = format!("UPDATE {table} SET {} WHERE \"objectId\" = {id}", assignments.join(", "));
                    self.execute_with(client, &sql, &params).await.map_err(pg_error)?;
                }
                for (path, update) in updates {
                    let FieldUpdate::Relation(change) = update else { continue };
                    if !matches!(schema.field_type(&path.field), Some(FieldType::Relation { .. })) {
                        return Err(ParseError::internal(format!(
                            "{}.{} is not a relation field",
                            schema.class_name, path.field
                        )));
                    }
                    let join_table = self.table(&join_table_name(&schema.class_name, &path.field));
                    let add = format!(
                        "INSERT INTO {join_table} (\"relatedId\", \"owningId\") VALUES ($1, $2) ON CONFLICT DO NOTHING"
                    );
                    let remove = format!("DELETE FROM {join_table} WHERE \"relatedId\" = $1 AND \"owningId\" = $2");
                    for (sql, related_ids) in [(add, &change.add), (remove, &change.remove)] {
                        for related_id in related_ids {
                            client.execute(&sql, &[related_id, &object_id]).await.map_err(pg_error)?;
                        }
                    }
                }
                self.find_one(client, schema, object_id, None, false).await
            }
            .await
        })
    }

    async fn delete(&self, schema: &ClassSchema, filter: &Filter) -> ParseResult<u64> {
        check_resolved(filter)?;
        let schema = &storage_layout(schema);
        let table = self.table(&schema.class_name);
        let mut params = Params::default();
        let condition = sql::condition(&table, schema, filter, &mut params)?;
        with_client!(self, true, |client| {
            async {
                if !self.table_exists(client, &schema.class_name).await? {
                    return Ok(0);
                }
                for (field, _) in schema.relation_fields() {
                    let join_table = join_table_name(&schema.class_name, field);
                    if !self.table_exists(client, &join_table).await? {
                        continue;
                    }
                    let sql = format!(
                        "DELETE FROM {} WHERE \"owningId\" IN (SELECT {table}.\"objectId\" FROM {table} WHERE {condition})",
                        self.table(&join_table)
                    );
                    self.execute_with(client, &sql, &params).await.map_err(pg_error)?;
                }
                let sql = format!("DELETE FROM {table} WHERE {condition}");
                self.execute_with(client, &sql, &params).await.map_err(pg_error)
            }
            .await
        })
    }

    async fn related_ids(&self, owner_class: &str, field: &str, owning_id: &str) -> ParseResult<Vec<String>> {
        let sql = format!(
            "SELECT \"relatedId\"::text FROM {} WHERE \"owningId\" = $1 ORDER BY \"relatedId\"",
            self.table(&join_table_name(owner_class, field))
        );
        with_client!(self, false, |client| match client.query(&sql, &[&owning_id]).await {
            Ok(rows) => Ok(rows.iter().map(|row| row.get(0)).collect()),
            Err(error) if is_missing_table(&error) => Ok(Vec::new()),
            Err(error) => Err(pg_error(error)),
        })
    }

    async fn relation_pairs(
        &self,
        owner_class: &str,
        field: &str,
        after: Option<&(String, String)>,
        limit: u64,
    ) -> ParseResult<Vec<(String, String)>> {
        // Byte order (`COLLATE "C"`) for the comparison and the order alike, as SQLite's.
        let sql = format!(
            "SELECT \"owningId\"::text, \"relatedId\"::text FROM {} \
             WHERE $1::text IS NULL OR (\"owningId\" COLLATE \"C\", \"relatedId\" COLLATE \"C\") > ($1::text, $2::text) \
             ORDER BY \"owningId\" COLLATE \"C\", \"relatedId\" COLLATE \"C\" LIMIT {limit}",
            self.table(&join_table_name(owner_class, field))
        );
        let (owning, related) = (after.map(|pair| pair.0.as_str()), after.map(|pair| pair.1.as_str()));
        with_client!(self, false, |client| match client.query(&sql, &[&owning, &related]).await {
            Ok(rows) => Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect()),
            Err(error) if is_missing_table(&error) => Ok(Vec::new()),
            Err(error) => Err(pg_error(error)),
        })
    }

    async fn owning_ids(
        &self,
        owner_class: &str,
        field: &str,
        related_ids: &[String],
    ) -> ParseResult<Vec<String>> {
        let sql = format!(
            "SELECT DISTINCT \"owningId\"::text FROM {} WHERE \"relatedId\" = ANY($1::text[]) ORDER BY 1",
            self.table(&join_table_name(owner_class, field))
        );
        let related_ids = related_ids.to_vec();
        with_client!(self, false, |client| match client.query(&sql, &[&related_ids]).await {
            Ok(rows) => Ok(rows.iter().map(|row| row.get(0)).collect()),
            Err(error) if is_missing_table(&error) => Ok(Vec::new()),
            Err(error) => Err(pg_error(error)),
        })
    }
}

/// parse-server's names: `<class>_unique_<field>` for unique indexes (its `ensureUniqueness`),
/// the system index's own name otherwise (`case_insensitive_username`, …).
fn system_index_name(class_name: &str, index: &reparse_core::schema::SystemIndex) -> String {
    if index.unique && !index.case_insensitive {
        format!("{class_name}_unique_{}", index.field)
    } else if index.case_insensitive {
        index.name.to_string()
    } else {
        format!("{class_name}_{}", index.name)
    }
}

/// Relation and ACL fields have no column, nor has a user's `password` (only its hash,
/// `_hashed_password`, is stored; parse-server's `_User` table has no `password` column).
fn is_stored_elsewhere(schema: &ClassSchema, field: &str) -> bool {
    (schema.class_name == "_User" && field == "password")
        || matches!(schema.field_type(field), Some(FieldType::Relation { .. } | FieldType::Acl))
}

/// The columns a schema's fields need beyond the base columns, with their codecs.
fn column_codecs(schema: &ClassSchema) -> Vec<(&str, Codec)> {
    schema
        .fields
        .iter()
        .filter(|(name, _)| !BASE_COLUMNS.contains(&name.as_str()) && !is_stored_elsewhere(schema, name))
        .filter_map(|(name, spec)| Some((name.as_str(), Codec::for_type(&spec.field_type)?)))
        .collect()
}

reparse_storage::store_through_executor!(PostgresStorage);
reparse_storage::store_through_executor!(PostgresTransaction);

#[async_trait]
impl Storage for PostgresStorage {
    async fn begin(&self) -> ParseResult<Box<dyn Transaction>> {
        let client = self.connection().await?;
        client.batch_execute("BEGIN").await.map_err(pg_error)?;
        Ok(Box::new(PostgresTransaction {
            client: Some(client),
            pool: self.pool.clone(),
            schema: self.schema.clone(),
        }))
    }

    async fn purge(&self, schema: &ClassSchema) -> ParseResult<()> {
        self.executor()?.purge(schema).await
    }

    async fn estimated_count(&self, schema: &ClassSchema) -> ParseResult<ClassCount> {
        self.executor()?.estimated_count(schema).await
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}

#[async_trait]
impl Transaction for PostgresTransaction {
    async fn commit(mut self: Box<Self>) -> ParseResult<()> {
        let client =
            self.client.take().ok_or_else(|| ParseError::internal("the transaction is already finished"))?;
        match client.batch_execute("COMMIT").await {
            Ok(()) => Ok(()),
            Err(error) => {
                // A failed COMMIT leaves nothing to keep: close the connection.
                drop(deadpool_postgres::Object::take(client));
                Err(pg_error(error))
            }
        }
    }

    async fn rollback(mut self: Box<Self>) -> ParseResult<()> {
        let client =
            self.client.take().ok_or_else(|| ParseError::internal("the transaction is already finished"))?;
        match client.batch_execute("ROLLBACK").await {
            Ok(()) => Ok(()),
            Err(error) => {
                drop(deadpool_postgres::Object::take(client));
                Err(pg_error(error))
            }
        }
    }
}

impl Drop for PostgresTransaction {
    /// Rolls back a transaction dropped without `commit`: on the runtime when there is one
    /// (the connection returns to the pool only after the rollback), otherwise by closing the
    /// connection, which makes the server roll back.
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        drop(deadpool_postgres::Object::take(client));
                    }
                });
            }
            Err(_) => drop(deadpool_postgres::Object::take(client)),
        }
    }
}
