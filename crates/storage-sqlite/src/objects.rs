//! Object operations on one connection: insert, find, count, update, delete and relations.
//! They are synchronous; the caller decides which connection and which transaction they run in.

use std::collections::BTreeSet;

use reparse_core::aggregate::distinct_values;
use reparse_core::query::{FieldPath, Filter, Query};
use reparse_core::schema::{ClassSchema, FieldType};
use reparse_core::update::{FieldUpdate, Updates, apply_updates};
use reparse_core::value::Object;
use reparse_core::{ParseError, ParseResult};
use rusqlite::{CachedStatement, Connection, params_from_iter};
use serde_json::Value;

use crate::columns::{OBJECT_ID, decode_row, encode_field};
use crate::errors::{is_missing_table, sqlite_error};
use crate::schema_ops::{join_table_name, table_exists};
use crate::sql::{self, DistinctColumn, Params, SqlStatement, quote_identifier};

/// Prepares `sql`, or `None` when a table it reads does not exist.
fn prepare_if_tables_exist<'c>(
    connection: &'c Connection,
    sql: &str,
) -> ParseResult<Option<CachedStatement<'c>>> {
    match connection.prepare_cached(sql) {
        Ok(statement) => Ok(Some(statement)),
        Err(error) if is_missing_table(&error) => Ok(None),
        Err(error) => Err(sqlite_error(error)),
    }
}

fn check_resolved(filter: &Filter) -> ParseResult<()> {
    if filter.is_resolved() {
        Ok(())
    } else {
        Err(ParseError::internal("an unresolved filter reached storage"))
    }
}

pub(crate) fn insert(connection: &Connection, schema: &ClassSchema, object: &Object) -> ParseResult<()> {
    if !object.get(OBJECT_ID).is_some_and(Value::is_string) {
        return Err(ParseError::internal(format!(
            "cannot insert into {} an object without an objectId",
            schema.class_name
        )));
    }
    let mut params = Params::default();
    let mut columns = Vec::with_capacity(object.len());
    let mut placeholders = Vec::with_capacity(object.len());
    for (field, value) in object {
        if value.is_null() || is_stored_elsewhere(schema, field) {
            continue;
        }
        columns.push(quote_identifier(field));
        placeholders.push(params.bind(encode_field(schema, field, value)?));
    }
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quote_identifier(&schema.class_name),
        columns.join(", "),
        placeholders.join(", ")
    );
    let mut statement = connection.prepare_cached(&sql).map_err(sqlite_error)?;
    statement.execute(params_from_iter(params.values())).map_err(sqlite_error)?;
    Ok(())
}

/// Relation and ACL fields have no column: relations live in join tables and the ACL arrives
/// as `_rperm`/`_wperm`. A relation placeholder (`{"__type": "Relation"}`) in an object is
/// therefore skipped, not refused.
fn is_stored_elsewhere(schema: &ClassSchema, field: &str) -> bool {
    matches!(schema.field_type(field), Some(FieldType::Relation { .. } | FieldType::Acl))
}

pub(crate) fn find(connection: &Connection, schema: &ClassSchema, query: &Query) -> ParseResult<Vec<Object>> {
    check_resolved(&query.filter)?;
    query_objects(connection, schema, &sql::select_statement(schema, query)?)
}

fn query_objects(
    connection: &Connection,
    schema: &ClassSchema,
    statement: &SqlStatement,
) -> ParseResult<Vec<Object>> {
    let Some(mut prepared) = prepare_if_tables_exist(connection, &statement.sql)? else {
        return Ok(Vec::new());
    };
    statement.params.bind_to(&mut prepared).map_err(sqlite_error)?;
    let mut rows = prepared.raw_query();
    let mut objects = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        objects.push(decode_row(schema, row)?);
    }
    Ok(objects)
}

/// `EXPLAIN QUERY PLAN` of the find: one `{"QUERY PLAN": [{id, parent, detail}, …]}` row.
pub(crate) fn explain(connection: &Connection, schema: &ClassSchema, query: &Query) -> ParseResult<Value> {
    check_resolved(&query.filter)?;
    let statement = sql::select_statement(schema, query)?;
    let Some(mut prepared) =
        prepare_if_tables_exist(connection, &format!("EXPLAIN QUERY PLAN {}", statement.sql))?
    else {
        return Ok(Value::Array(Vec::new()));
    };
    statement.params.bind_to(&mut prepared).map_err(sqlite_error)?;
    let mut rows = prepared.raw_query();
    let mut steps = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        let (id, parent, detail): (i64, i64, String) = (
            row.get(0).map_err(sqlite_error)?,
            row.get(1).map_err(sqlite_error)?,
            row.get(3).map_err(sqlite_error)?,
        );
        steps.push(serde_json::json!({"id": id, "parent": parent, "detail": detail}));
    }
    Ok(serde_json::json!([{"QUERY PLAN": steps}]))
}

pub(crate) fn scan(
    connection: &Connection,
    schema: &ClassSchema,
    filter: &Filter,
    after: Option<&str>,
    limit: u64,
) -> ParseResult<Vec<Object>> {
    check_resolved(filter)?;
    query_objects(connection, schema, &sql::scan_statement(schema, filter, after, limit)?)
}

pub(crate) fn count(connection: &Connection, schema: &ClassSchema, filter: &Filter) -> ParseResult<u64> {
    check_resolved(filter)?;
    let statement = sql::count_statement(schema, filter)?;
    let Some(mut prepared) = prepare_if_tables_exist(connection, &statement.sql)? else {
        return Ok(0);
    };
    statement.params.bind_to(&mut prepared).map_err(sqlite_error)?;
    let count: i64 = match prepared.raw_query().next().map_err(sqlite_error)? {
        Some(row) => row.get(0).map_err(sqlite_error)?,
        None => 0,
    };
    Ok(u64::try_from(count).unwrap_or_default())
}

/// The distinct values at `path` among the objects matching `filter`, in the core's shape.
pub(crate) fn distinct(
    connection: &Connection,
    schema: &ClassSchema,
    filter: &Filter,
    path: &FieldPath,
) -> ParseResult<Vec<Value>> {
    check_resolved(filter)?;
    let Some((statement, column)) = sql::distinct_statement(schema, filter, path)? else {
        return Ok(Vec::new());
    };
    let Some(mut prepared) = prepare_if_tables_exist(connection, &statement.sql)? else {
        return Ok(Vec::new());
    };
    let mut rows = prepared.query(params_from_iter(statement.params.values())).map_err(sqlite_error)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        let cell = row.get_ref(0).map_err(sqlite_error)?;
        let value = match &column {
            DistinctColumn::Column(codec) => codec.decode(cell),
            DistinctColumn::JsonText => match cell.as_str_or_null() {
                Ok(Some(text)) => serde_json::from_str(text).map(Some).map_err(|error| error.to_string()),
                Ok(None) => Ok(None),
                Err(error) => Err(error.to_string()),
            },
        }
        .map_err(|problem| ParseError::internal(format!("{}.{path}: {problem}", schema.class_name)))?;
        found.extend(value);
    }
    Ok(distinct_values(path, found))
}

/// Read-modify-write of one object. The caller runs it inside a write transaction, which makes
/// the read, the update operators and the write atomic.
pub(crate) fn update(
    connection: &Connection,
    schema: &ClassSchema,
    object_id: &str,
    filter: &Filter,
    updates: &Updates,
) -> ParseResult<Option<Object>> {
    check_resolved(filter)?;
    let Some(mut object) = find_one(connection, schema, object_id, Some(filter))? else {
        return Ok(None);
    };
    apply_updates(&mut object, updates)?;

    let table = quote_identifier(&schema.class_name);
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
            let placeholder = params.bind(encode_field(schema, field, value)?);
            assignments.push(format!("{} = {placeholder}", quote_identifier(field)));
        }
        let id = params.bind(object_id.to_string());
        let sql = format!("UPDATE {table} SET {} WHERE \"objectId\" = {id}", assignments.join(", "));
        let mut statement = connection.prepare_cached(&sql).map_err(sqlite_error)?;
        statement.execute(params_from_iter(params.values())).map_err(sqlite_error)?;
    }

    for (path, update) in updates {
        let FieldUpdate::Relation(change) = update else {
            continue;
        };
        if !matches!(schema.field_type(&path.field), Some(FieldType::Relation { .. })) {
            return Err(ParseError::internal(format!(
                "{}.{} is not a relation field",
                schema.class_name, path.field
            )));
        }
        let join_table = quote_identifier(&join_table_name(&schema.class_name, &path.field));
        let add = format!("INSERT OR IGNORE INTO {join_table} (\"relatedId\", \"owningId\") VALUES (?1, ?2)");
        let remove = format!("DELETE FROM {join_table} WHERE \"relatedId\" = ?1 AND \"owningId\" = ?2");
        for (sql, related_ids) in [(add, &change.add), (remove, &change.remove)] {
            let mut statement = connection.prepare_cached(&sql).map_err(sqlite_error)?;
            for related_id in related_ids {
                statement.execute([related_id, object_id]).map_err(sqlite_error)?;
            }
        }
    }
    // Read back what is stored, so the answer shows exactly what a later find will.
    find_one(connection, schema, object_id, None)
}

fn find_one(
    connection: &Connection,
    schema: &ClassSchema,
    object_id: &str,
    filter: Option<&Filter>,
) -> ParseResult<Option<Object>> {
    let table = quote_identifier(&schema.class_name);
    let mut params = Params::default();
    let id = params.bind(object_id.to_string());
    let condition = match filter {
        Some(filter) => sql::condition(schema, filter, &mut params)?,
        None => "1".to_string(),
    };
    let sql = format!("SELECT * FROM {table} WHERE {table}.\"objectId\" = {id} AND ({condition})");
    Ok(query_objects(connection, schema, &SqlStatement { sql, params })?.pop())
}

/// Deletes the matching objects and the relations they own; returns how many objects.
pub(crate) fn delete(connection: &Connection, schema: &ClassSchema, filter: &Filter) -> ParseResult<u64> {
    check_resolved(filter)?;
    let table = quote_identifier(&schema.class_name);
    let mut params = Params::default();
    let condition = sql::condition(schema, filter, &mut params)?;
    if !table_exists(connection, &schema.class_name)? {
        return Ok(0);
    }
    for (field, _) in schema.relation_fields() {
        let join_table = join_table_name(&schema.class_name, field);
        if !table_exists(connection, &join_table)? {
            continue;
        }
        let sql = format!(
            "DELETE FROM {} WHERE \"owningId\" IN (SELECT {table}.\"objectId\" FROM {table} WHERE {condition})",
            quote_identifier(&join_table)
        );
        let mut statement = connection.prepare_cached(&sql).map_err(sqlite_error)?;
        params.bind_to(&mut statement).map_err(sqlite_error)?;
        statement.raw_execute().map_err(sqlite_error)?;
    }
    let sql = format!("DELETE FROM {table} WHERE {condition}");
    let mut statement = connection.prepare_cached(&sql).map_err(sqlite_error)?;
    params.bind_to(&mut statement).map_err(sqlite_error)?;
    let deleted = statement.raw_execute().map_err(sqlite_error)?;
    Ok(deleted as u64)
}

/// The ids in relation `field` of `owner_class`'s object `owning_id`. A relation that has no
/// join table (yet) is empty.
pub(crate) fn related_ids(
    connection: &Connection,
    owner_class: &str,
    field: &str,
    owning_id: &str,
) -> ParseResult<Vec<String>> {
    let sql = format!(
        "SELECT \"relatedId\" FROM {} WHERE \"owningId\" = ?1 ORDER BY rowid",
        quote_identifier(&join_table_name(owner_class, field))
    );
    let Some(mut statement) = prepare_if_tables_exist(connection, &sql)? else {
        return Ok(Vec::new());
    };
    statement.query_map([owning_id], |row| row.get(0)).and_then(|rows| rows.collect()).map_err(sqlite_error)
}

/// A page of the relation's `(owningId, relatedId)` rows after `after`, in that order.
pub(crate) fn relation_pairs(
    connection: &Connection,
    owner_class: &str,
    field: &str,
    after: Option<&(String, String)>,
    limit: u64,
) -> ParseResult<Vec<(String, String)>> {
    let sql = format!(
        "SELECT \"owningId\", \"relatedId\" FROM {} WHERE ?1 IS NULL OR (\"owningId\", \"relatedId\") > (?1, ?2) \
         ORDER BY \"owningId\", \"relatedId\" LIMIT {limit}",
        quote_identifier(&join_table_name(owner_class, field))
    );
    let Some(mut statement) = prepare_if_tables_exist(connection, &sql)? else {
        return Ok(Vec::new());
    };
    let (owning, related) = (after.map(|pair| pair.0.as_str()), after.map(|pair| pair.1.as_str()));
    statement
        .query_map(rusqlite::params![owning, related], |row| Ok((row.get(0)?, row.get(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(sqlite_error)
}

/// The ids of `owner_class` objects whose relation `field` holds any of `related_ids`.
pub(crate) fn owning_ids(
    connection: &Connection,
    owner_class: &str,
    field: &str,
    related_ids: &[String],
) -> ParseResult<Vec<String>> {
    // The ids travel as one JSON array parameter, so the statement is the same for any count.
    let sql = format!(
        "SELECT DISTINCT \"owningId\" FROM {} WHERE \"relatedId\" IN (SELECT value FROM json_each(?1)) ORDER BY \"owningId\"",
        quote_identifier(&join_table_name(owner_class, field))
    );
    let Some(mut statement) = prepare_if_tables_exist(connection, &sql)? else {
        return Ok(Vec::new());
    };
    let ids = Value::from(related_ids.to_vec()).to_string();
    statement.query_map([ids], |row| row.get(0)).and_then(|rows| rows.collect()).map_err(sqlite_error)
}
