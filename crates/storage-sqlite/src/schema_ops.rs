//! Schema operations: `_SCHEMA`, class tables, `_Join` tables and indexes, kept in step with
//! the class schemas the caller passes in. All of it runs inside the writer's transaction, so
//! a schema change is all-or-nothing (SQLite DDL is transactional).
//!
//! Tables are reconciled with the schema rather than patched from a diff: the columns, join
//! tables and indexes the schema implies are compared with those SQLite reports, and the
//! difference is created or dropped. That way a table left behind by an interrupted or older
//! version converges too.

use std::collections::{BTreeMap, BTreeSet};

use reparse_core::schema::{ClassSchema, system_indexes};
use reparse_core::{ErrorCode, ParseError, ParseResult};
use rusqlite::OptionalExtension;
use rusqlite::{Connection, params};
use serde_json::Value;

use crate::columns::{BASE_COLUMNS, CREATED_AT, Codec, OBJECT_ID, UPDATED_AT};
use crate::errors::sqlite_error;
use crate::sql::quote_identifier;
use crate::storage_layout;

const SCHEMA_TABLE: &str = "_SCHEMA";

/// The join table of relation `field` of `owner_class`: `_Join:<field>:<ownerClass>`, as
/// parse-server names it.
pub(crate) fn join_table_name(owner_class: &str, field: &str) -> String {
    format!("_Join:{field}:{owner_class}")
}

/// Creates `_SCHEMA` if needed and brings system classes' tables up to this version's layout
/// (internal `_User` columns, system indexes), in case an older version created them.
pub(crate) fn ensure_schema_table(connection: &Connection) -> ParseResult<()> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (\"className\" TEXT PRIMARY KEY, \"schema\" TEXT NOT NULL, \"isParseClass\" INTEGER NOT NULL DEFAULT 1)",
        quote_identifier(SCHEMA_TABLE)
    );
    connection.execute_batch(&sql).map_err(sqlite_error)?;
    for schema in load_schemas(connection)? {
        if !system_indexes(&schema.class_name).is_empty() {
            reconcile_tables(connection, &schema)?;
        }
    }
    Ok(())
}

pub(crate) fn load_schemas(connection: &Connection) -> ParseResult<Vec<ClassSchema>> {
    let sql = format!("SELECT \"schema\" FROM {} ORDER BY rowid", quote_identifier(SCHEMA_TABLE));
    let mut statement = connection.prepare_cached(&sql).map_err(sqlite_error)?;
    let texts = statement
        .query_map([], |row| row.get::<_, String>(0))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(sqlite_error)?;
    texts
        .iter()
        .map(|text| {
            let json: Value = serde_json::from_str(text)
                .map_err(|error| ParseError::internal(format!("corrupt _SCHEMA row: {error}")))?;
            ClassSchema::from_json(&json)
        })
        .collect()
}

fn class_exists(connection: &Connection, class_name: &str) -> ParseResult<bool> {
    let sql = format!("SELECT 1 FROM {} WHERE \"className\" = ?1", quote_identifier(SCHEMA_TABLE));
    let mut statement = connection.prepare_cached(&sql).map_err(sqlite_error)?;
    statement.exists([class_name]).map_err(sqlite_error)
}

/// SQLite compares table and column names without regard to ASCII case, so `Game` and `game`
/// (or fields `score` and `Score`) would share one table (one column). Such names are refused
/// rather than mapped, to keep the layout parse-server's.
fn class_differing_in_case(connection: &Connection, class_name: &str) -> ParseResult<Option<String>> {
    let sql = format!(
        "SELECT \"className\" FROM {} WHERE \"className\" = ?1 COLLATE NOCASE AND \"className\" <> ?1",
        quote_identifier(SCHEMA_TABLE)
    );
    let mut statement = connection.prepare_cached(&sql).map_err(sqlite_error)?;
    statement.query_row([class_name], |row| row.get(0)).optional().map_err(sqlite_error)
}

fn check_field_names_distinct_ignoring_case(schema: &ClassSchema) -> ParseResult<()> {
    for (index, (name, _)) in schema.fields.iter().enumerate() {
        if let Some((other, _)) =
            schema.fields[..index].iter().find(|(other, _)| other.eq_ignore_ascii_case(name))
        {
            return Err(ParseError::new(
                ErrorCode::InvalidSchemaOperation,
                format!("Field {name} conflicts with field {other}: SQLite column names ignore case"),
            ));
        }
    }
    Ok(())
}

pub(crate) fn create_class(connection: &Connection, schema: &ClassSchema) -> ParseResult<()> {
    let class_name = &schema.class_name;
    if class_exists(connection, class_name)? {
        return Err(ParseError::new(
            ErrorCode::InvalidClassName,
            format!("Class {class_name} already exists."),
        ));
    }
    if let Some(existing) = class_differing_in_case(connection, class_name)? {
        return Err(ParseError::new(
            ErrorCode::InvalidClassName,
            format!("Class {class_name} conflicts with class {existing}: SQLite table names ignore case"),
        ));
    }
    check_field_names_distinct_ignoring_case(schema)?;
    let base_columns = "\"objectId\" TEXT PRIMARY KEY, \"createdAt\" TEXT, \"updatedAt\" TEXT, \"_rperm\" TEXT, \"_wperm\" TEXT";
    // No `IF NOT EXISTS`: a table that is there without a `_SCHEMA` row is someone else's.
    let sql = format!("CREATE TABLE {} ({base_columns})", quote_identifier(class_name));
    connection.execute_batch(&sql).map_err(sqlite_error)?;
    reconcile_tables(connection, schema)?;
    let sql = format!(
        "INSERT INTO {} (\"className\", \"schema\", \"isParseClass\") VALUES (?1, ?2, 1)",
        quote_identifier(SCHEMA_TABLE)
    );
    connection.execute(&sql, params![class_name, schema.to_json().to_string()]).map_err(sqlite_error)?;
    Ok(())
}

pub(crate) fn update_class(connection: &Connection, schema: &ClassSchema) -> ParseResult<()> {
    let class_name = &schema.class_name;
    check_field_names_distinct_ignoring_case(schema)?;
    if !class_exists(connection, class_name)? {
        return Err(ParseError::new(
            ErrorCode::InvalidClassName,
            format!("Class {class_name} does not exist."),
        ));
    }
    reconcile_tables(connection, schema)?;
    let sql =
        format!("UPDATE {} SET \"schema\" = ?2 WHERE \"className\" = ?1", quote_identifier(SCHEMA_TABLE));
    connection.execute(&sql, params![class_name, schema.to_json().to_string()]).map_err(sqlite_error)?;
    Ok(())
}

pub(crate) fn delete_class(connection: &Connection, class_name: &str) -> ParseResult<()> {
    for join_table in existing_join_tables(connection, class_name)?.into_values() {
        drop_table(connection, &join_table)?;
    }
    drop_table(connection, class_name)?;
    let sql = format!("DELETE FROM {} WHERE \"className\" = ?1", quote_identifier(SCHEMA_TABLE));
    connection.execute(&sql, [class_name]).map_err(sqlite_error)?;
    Ok(())
}

/// Deletes every object of the class and every relation it owns; the schema stays.
pub(crate) fn purge(connection: &Connection, schema: &ClassSchema) -> ParseResult<()> {
    let class_name = &schema.class_name;
    for join_table in existing_join_tables(connection, class_name)?.into_values() {
        delete_all_rows(connection, &join_table)?;
    }
    if table_exists(connection, class_name)? {
        delete_all_rows(connection, class_name)?;
    }
    Ok(())
}

fn drop_table(connection: &Connection, table: &str) -> ParseResult<()> {
    let sql = format!("DROP TABLE IF EXISTS {}", quote_identifier(table));
    connection.execute_batch(&sql).map_err(sqlite_error)
}

fn delete_all_rows(connection: &Connection, table: &str) -> ParseResult<()> {
    let sql = format!("DELETE FROM {}", quote_identifier(table));
    connection.execute_batch(&sql).map_err(sqlite_error)
}

pub(crate) fn table_exists(connection: &Connection, table: &str) -> ParseResult<bool> {
    let mut statement = connection
        .prepare_cached("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1")
        .map_err(sqlite_error)?;
    statement.exists([table]).map_err(sqlite_error)
}

/// Makes the class table, its join tables and its indexes match `schema`. Dropped fields lose
/// their data, as parse-server's field deletion does.
fn reconcile_tables(connection: &Connection, schema: &ClassSchema) -> ParseResult<()> {
    let schema = &storage_layout(schema);
    let class_name = &schema.class_name;
    let table = quote_identifier(class_name);

    // In declaration order, so the table reads like the schema.
    let wanted_columns: Vec<(&str, Codec)> = schema
        .fields
        .iter()
        .filter(|(name, _)| !BASE_COLUMNS.contains(&name.as_str()))
        .filter_map(|(name, spec)| Some((name.as_str(), Codec::for_type(&spec.field_type)?)))
        .collect();
    let existing_columns = existing_columns(connection, class_name)?;
    let wanted_indexes = wanted_indexes(schema, &wanted_columns)?;
    let existing_indexes = existing_indexes(connection, class_name)?;

    // Indexes go first: SQLite refuses to drop a column an index uses.
    for (name, sql) in &existing_indexes {
        if wanted_indexes.get(name) != Some(sql) {
            let drop = format!("DROP INDEX {}", quote_identifier(name));
            connection.execute_batch(&drop).map_err(sqlite_error)?;
        }
    }
    for column in &existing_columns {
        let wanted = wanted_columns.iter().any(|(name, _)| name == column);
        if !BASE_COLUMNS.contains(&column.as_str()) && !wanted {
            let drop = format!("ALTER TABLE {table} DROP COLUMN {}", quote_identifier(column));
            connection.execute_batch(&drop).map_err(sqlite_error)?;
        }
    }
    for (name, codec) in &wanted_columns {
        if !existing_columns.contains(*name) {
            let add =
                format!("ALTER TABLE {table} ADD COLUMN {} {}", quote_identifier(name), codec.sql_type());
            connection.execute_batch(&add).map_err(sqlite_error)?;
        }
    }
    for (name, sql) in &wanted_indexes {
        if existing_indexes.get(name) != Some(sql) {
            connection.execute_batch(sql).map_err(sqlite_error)?;
        }
    }

    let wanted_relations: BTreeSet<&str> = schema.relation_fields().map(|(field, _)| field).collect();
    let existing_relations = existing_join_tables(connection, class_name)?;
    for (field, join_table) in &existing_relations {
        if !wanted_relations.contains(field.as_str()) {
            drop_table(connection, join_table)?;
        }
    }
    for field in wanted_relations {
        if !existing_relations.contains_key(field) {
            create_join_table(connection, &join_table_name(class_name, field))?;
        }
    }
    Ok(())
}

fn create_join_table(connection: &Connection, join_table: &str) -> ParseResult<()> {
    let table = quote_identifier(join_table);
    let index = quote_identifier(&format!("{join_table}:owningId"));
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {table} (\"relatedId\" TEXT NOT NULL, \"owningId\" TEXT NOT NULL, PRIMARY KEY (\"relatedId\", \"owningId\"));
         CREATE INDEX IF NOT EXISTS {index} ON {table} (\"owningId\");"
    );
    connection.execute_batch(&sql).map_err(sqlite_error)
}

fn existing_columns(connection: &Connection, table: &str) -> ParseResult<BTreeSet<String>> {
    let mut statement =
        connection.prepare_cached("SELECT name FROM pragma_table_info(?1)").map_err(sqlite_error)?;
    statement.query_map([table], |row| row.get(0)).and_then(|rows| rows.collect()).map_err(sqlite_error)
}

/// Relation field → join table name, for the join tables of `owner_class` that exist.
fn existing_join_tables(connection: &Connection, owner_class: &str) -> ParseResult<BTreeMap<String, String>> {
    let mut statement = connection
        .prepare_cached(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND substr(name, 1, 6) = '_Join:'",
        )
        .map_err(sqlite_error)?;
    let names: Vec<String> =
        statement.query_map([], |row| row.get(0)).and_then(|rows| rows.collect()).map_err(sqlite_error)?;
    let suffix = format!(":{owner_class}");
    Ok(names
        .into_iter()
        .filter_map(|name| {
            let field = name.strip_prefix("_Join:")?.strip_suffix(&suffix)?;
            // Field and class names never contain ':', so this is exactly our class's table.
            (!field.contains(':')).then(|| (field.to_string(), name.clone()))
        })
        .collect())
}

/// The name SQLite knows a schema index by: prefixed with its class, because index names are
/// shared by all tables of a database.
fn index_name(class_name: &str, index: &str) -> String {
    format!("{class_name}:{index}")
}

/// Index name → the exact `CREATE INDEX` statement for the indexes the schema declares.
fn wanted_indexes(schema: &ClassSchema, columns: &[(&str, Codec)]) -> ParseResult<BTreeMap<String, String>> {
    let class_name = &schema.class_name;
    let mut wanted = BTreeMap::new();
    for (index, keys) in &schema.indexes {
        let Some(keys) = keys.as_object().filter(|keys| !keys.is_empty()) else {
            return Err(ParseError::internal(format!("index {index} of {class_name} has no fields")));
        };
        let mut terms = Vec::new();
        for (field, direction) in keys {
            // Mongo-style names, as parse-server's default `_id_` index uses.
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
        // The primary key already indexes objectId.
        if terms.len() == 1 && terms[0].starts_with("\"objectId\"") {
            continue;
        }
        let name = index_name(class_name, index);
        let sql = format!(
            "CREATE INDEX {} ON {} ({})",
            quote_identifier(&name),
            quote_identifier(class_name),
            terms.join(", ")
        );
        wanted.insert(name, sql);
    }
    for index in system_indexes(class_name) {
        if !columns.iter().any(|(name, _)| *name == index.field) {
            continue;
        }
        let column = quote_identifier(index.field);
        let term = if index.case_insensitive { format!("reparse_lower({column})") } else { column };
        let name = index_name(class_name, &format!("system:{}", index.name));
        let sql = format!(
            "CREATE {}INDEX {} ON {} ({term})",
            if index.unique { "UNIQUE " } else { "" },
            quote_identifier(&name),
            quote_identifier(class_name),
        );
        wanted.insert(name, sql);
    }
    Ok(wanted)
}

/// Index name → its `CREATE INDEX` statement, for the schema indexes of the class's table.
fn existing_indexes(connection: &Connection, class_name: &str) -> ParseResult<BTreeMap<String, String>> {
    let mut statement = connection
        .prepare_cached(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL",
        )
        .map_err(sqlite_error)?;
    let indexes: Vec<(String, String)> = statement
        .query_map([class_name], |row| Ok((row.get(0)?, row.get(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(sqlite_error)?;
    let prefix = index_name(class_name, "");
    Ok(indexes.into_iter().filter(|(name, _)| name.starts_with(&prefix)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reparse_core::schema::{FieldSpec, FieldType};
    use serde_json::json;

    fn indexed_schema() -> ClassSchema {
        let mut schema = ClassSchema::new("Game");
        schema.set_field("score", FieldSpec::of(FieldType::Number));
        schema.set_field("name", FieldSpec::of(FieldType::String));
        schema.indexes =
            json!({"_id_": {"_id": 1}, "by_score": {"score": -1, "name": 1}}).as_object().cloned().unwrap();
        schema
    }

    #[test]
    fn reconciling_twice_leaves_indexes_alone() {
        let connection = Connection::open_in_memory().unwrap();
        ensure_schema_table(&connection).unwrap();
        let schema = indexed_schema();
        create_class(&connection, &schema).unwrap();
        let columns: Vec<(&str, Codec)> = vec![("score", Codec::Number), ("name", Codec::Text)];
        let wanted = wanted_indexes(&schema, &columns).unwrap();
        // SQLite keeps the statement text as written, so an unchanged index compares equal and
        // is not rebuilt.
        assert_eq!(existing_indexes(&connection, "Game").unwrap(), wanted);
        assert_eq!(
            wanted.keys().collect::<Vec<_>>(),
            ["Game:by_score"],
            "the objectId index is the primary key's"
        );
    }

    #[test]
    fn indexes_on_fields_without_columns_are_refused() {
        let mut schema = indexed_schema();
        schema.indexes = json!({"bad": {"ghost": 1}}).as_object().cloned().unwrap();
        assert!(wanted_indexes(&schema, &[]).is_err());
    }

    #[test]
    fn join_tables_are_found_by_exact_owner_class() {
        let connection = Connection::open_in_memory().unwrap();
        create_join_table(&connection, &join_table_name("Game", "players")).unwrap();
        create_join_table(&connection, &join_table_name("OtherGame", "players")).unwrap();
        let found = existing_join_tables(&connection, "Game").unwrap();
        assert_eq!(found.keys().collect::<Vec<_>>(), ["players"]);
    }
}
