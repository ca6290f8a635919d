//! Translation of a resolved [`Filter`] (and a [`Query`]'s order, skip and limit) into
//! PostgreSQL. The in-memory matcher (`reparse_core::matcher`) is the reference.
//!
//! Rules, as in the SQLite builder: every value is a bound parameter with an explicit cast;
//! every identifier goes through [`quote_identifier`]; a predicate is true only where the
//! matcher says true (it may be NULL where the matcher says false, so every negation wraps its
//! operand in `COALESCE(…, false)`); what a column can never hold matches nothing; a field the
//! schema does not know is absent. Text compares bytewise (`COLLATE "C"`), as Rust strings do.
//!
//! Native columns compare directly. jsonb columns, nested paths and the structured types
//! (File, GeoPoint, Polygon seen as their REST encoding) are read as a jsonb expression, and
//! every operation on it that could fail on the wrong JSON type is guarded by a `CASE`.
//!
//! Geo constraints use the native `point` and `polygon` columns (and rebuild those types from
//! jsonb for GeoPoints and Polygons nested in Object fields): `<@ box`, `<@ polygon`,
//! `@>`, and the app schema's `reparse_geo_distance` (PostGIS or plain SQL, see `geo_sql.rs`).
//! `$text` is PostgreSQL's own text search, as parse-server does it: `to_tsvector(<config>,
//! text) @@ <query>`, the score `ts_rank_cd(…, 32)`. The term is split by the core
//! (`TermParts`) and every word and phrase is bound and read by `plainto_tsquery` /
//! `phraseto_tsquery`, so no term is ever a tsquery syntax error; the core's `text` module
//! defines how they combine, and this builder says the same in SQL. `$diacriticSensitive:
//! false` wraps both sides in `unaccent(…)` (the extension must be installed; otherwise the
//! query fails with parse-server's message). The configuration name is written into the SQL
//! as a literal (`'english'::regconfig`), not bound: it comes from the core's closed list of
//! languages, never from the request, and a literal lets the expression indexes parse-server
//! users create (`to_tsvector('english', "subject")`) serve the query.

use std::slice;

use chrono::{DateTime, Utc};
use reparse_core::geo::{GeoPoint, GeoRegion};
use reparse_core::matcher::{fold_case, matches};
use reparse_core::query::{Constraint, FieldPath, Filter, Query, SortBy, SortKey, TEXT_SCORE_KEY};
use reparse_core::schema::ClassSchema;
use reparse_core::text::TextSearch;
use reparse_core::value::{Object, date_iso, parse_date, pointer_parts};
use reparse_core::{ParseError, ParseResult};
use serde_json::Value;
use tokio_postgres::types::{ToSql, Type};

use crate::columns::Codec;
use crate::geo_sql::{point_from_jsonb, polygon_from_jsonb, polygon_text};

const TRUE: &str = "true";
const FALSE: &str = "false";
/// Every object's score when there is no `$text` search, or no String where it looks.
const NO_TEXT_SCORE: &str = "0::float8";

/// Quotes an identifier: double quotes, embedded double quotes doubled.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// How many prepared statements a connection keeps before its cache starts over.
const STATEMENT_CACHE_CAPACITY: usize = 256;

/// Statement parameters, bound by number with an explicit type.
///
/// The types are also declared when the statement is prepared ([`Params::prepare`]): a filter
/// may bind a value its SQL ends up not using (a JSON path bound before the constraint on it
/// compiled to a constant), and PostgreSQL accepts an unreferenced parameter only when its
/// type is given.
#[derive(Default)]
pub(crate) struct Params {
    values: Vec<Box<dyn ToSql + Sync + Send>>,
    types: Vec<Type>,
}

impl Params {
    fn push(&mut self, value: Box<dyn ToSql + Sync + Send>, cast: &str, sql_type: Type) -> String {
        self.values.push(value);
        self.types.push(sql_type);
        format!("${}::{cast}", self.values.len())
    }

    pub(crate) fn text(&mut self, value: String) -> String {
        self.push(Box::new(value), "text", Type::TEXT)
    }

    pub(crate) fn float(&mut self, value: f64) -> String {
        self.push(Box::new(value), "float8", Type::FLOAT8)
    }

    pub(crate) fn boolean(&mut self, value: bool) -> String {
        self.push(Box::new(value), "boolean", Type::BOOL)
    }

    pub(crate) fn time(&mut self, value: DateTime<Utc>) -> String {
        self.push(Box::new(value), "timestamptz", Type::TIMESTAMPTZ)
    }

    pub(crate) fn json(&mut self, value: Value) -> String {
        self.push(Box::new(value), "jsonb", Type::JSONB)
    }

    pub(crate) fn text_array(&mut self, value: Vec<String>) -> String {
        self.push(Box::new(value), "text[]", Type::TEXT_ARRAY)
    }

    pub(crate) fn integer(&mut self, value: i64) -> String {
        self.push(Box::new(value), "int8", Type::INT8)
    }

    /// How many values are bound.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    pub(crate) fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values.iter().map(|value| value.as_ref() as &(dyn ToSql + Sync)).collect()
    }

    /// Prepares `sql` with these parameters' types declared, through the connection's
    /// statement cache (a get by id is then one round trip, not two). Query shapes are many
    /// (an `$in` of each length is a statement), so a full cache starts over rather than grow.
    pub(crate) async fn prepare(
        &self,
        client: &deadpool_postgres::ClientWrapper,
        sql: &str,
    ) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
        if client.statement_cache.size() >= STATEMENT_CACHE_CAPACITY {
            client.statement_cache.clear();
        }
        client.prepare_typed_cached(sql, &self.types).await
    }
}

pub(crate) struct SqlStatement {
    pub(crate) sql: String,
    pub(crate) params: Params,
}

/// `SELECT *` of the objects a query asks for.
pub(crate) fn select_statement(
    table: &str,
    schema: &ClassSchema,
    query: &Query,
) -> ParseResult<SqlStatement> {
    let mut params = Params::default();
    let mut compiler = FilterCompiler::new(table, schema, &mut params);
    let condition = compiler.filter(&query.filter)?;
    // Bound only when used: PostgreSQL refuses parameters a statement does not read.
    if query.text_score || query.order.iter().any(SortKey::is_text_score) {
        compiler.text_score = compiler.text_score_expression(&query.filter);
    }
    let score_column = match query.text_score {
        true => format!(", {} AS {}", compiler.text_score, quote_identifier(TEXT_SCORE_KEY)),
        false => String::new(),
    };
    let order = compiler.order_by(&query.order);
    let mut sql = format!("SELECT *{score_column} FROM {table} WHERE {condition}{order}");
    if let Some(limit) = query.limit {
        sql.push_str(&format!(" LIMIT {}", saturating_i64(limit)));
    }
    if query.skip > 0 {
        let offset = params.integer(saturating_i64(query.skip));
        sql.push_str(&format!(" OFFSET {offset}"));
    }
    Ok(SqlStatement { sql, params })
}

/// A page of a scan: the objects matching `filter` after object id `after`, `limit` at most,
/// in `objectId` order. Compared and ordered in the column's own collation (not `"C"`, as
/// queries are) so that the primary key's index serves the page instead of a sort of every
/// matching row; the scan only needs the order to be one and the same for both.
pub(crate) fn scan_statement(
    table: &str,
    schema: &ClassSchema,
    filter: &Filter,
    after: Option<&str>,
    limit: u64,
) -> ParseResult<SqlStatement> {
    let mut params = Params::default();
    let mut condition = FilterCompiler::new(table, schema, &mut params).filter(filter)?;
    let id = format!("{table}.\"objectId\"");
    if let Some(after) = after {
        condition = format!("({condition}) AND {id} > {}", params.text(after.to_string()));
    }
    let limit = saturating_i64(limit);
    Ok(SqlStatement {
        sql: format!("SELECT * FROM {table} WHERE {condition} ORDER BY {id} LIMIT {limit}"),
        params,
    })
}

/// How to read the one column of a [`distinct_statement`].
#[derive(Debug)]
pub(crate) enum DistinctColumn {
    /// A column, read with its codec.
    Column(Codec),
    /// A jsonb expression: the value at a path inside a structured column.
    Json,
}

/// `SELECT DISTINCT` of the value at `path` among the objects matching `filter` (arrays whole;
/// `reparse_core::aggregate::distinct_values` unwinds them). `None` when no object can have a
/// value there.
pub(crate) fn distinct_statement(
    table: &str,
    schema: &ClassSchema,
    filter: &Filter,
    path: &FieldPath,
) -> ParseResult<Option<(SqlStatement, DistinctColumn)>> {
    let mut params = Params::default();
    let mut compiler = FilterCompiler::new(table, schema, &mut params);
    let condition = compiler.filter(filter)?;
    let (value, column, deduplicated) = if path.is_nested() {
        match compiler.target(path) {
            Target::Json(expression) => (expression, DistinctColumn::Json, true),
            Target::Column { column, codec } => (column, DistinctColumn::Column(codec), true),
            Target::Absent => return Ok(None),
        }
    } else {
        let Some(codec) = Codec::for_field(schema, &path.field) else {
            return Ok(None);
        };
        // `point` and `polygon` have no equality operator for DISTINCT: their values come one
        // per row and the core removes the repeats.
        let deduplicated = !matches!(codec, Codec::GeoPoint | Codec::Polygon);
        (format!("{table}.{}", quote_identifier(&path.field)), DistinctColumn::Column(codec), deduplicated)
    };
    let select = if deduplicated { "SELECT DISTINCT" } else { "SELECT" };
    let sql = format!("{select} {value} FROM {table} WHERE ({condition}) AND {value} IS NOT NULL");
    Ok(Some((SqlStatement { sql, params }, column)))
}

/// The condition for `filter` on `table` (the qualified, quoted table name).
pub(crate) fn condition(
    table: &str,
    schema: &ClassSchema,
    filter: &Filter,
    params: &mut Params,
) -> ParseResult<String> {
    FilterCompiler::new(table, schema, params).filter(filter)
}

/// The helper function `name` in the schema of `table` (a qualified, quoted
/// `"schema"."table"`).
fn schema_function(table: &str, name: &str) -> String {
    let schema_end = table.find("\".\"").map_or(0, |at| at + 1);
    format!("{}.{name}", &table[..schema_end])
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn unresolved() -> ParseError {
    ParseError::internal("an unresolved filter ($relatedTo, $inQuery, $select…) reached storage")
}

fn negate(condition: &str) -> String {
    format!("NOT COALESCE(({condition}), false)")
}

fn any_of(alternatives: Vec<String>) -> String {
    match alternatives.len() {
        0 => FALSE.to_string(),
        1 => alternatives.into_iter().next().unwrap_or_default(),
        _ => alternatives.iter().map(|part| format!("({part})")).collect::<Vec<_>>().join(" OR "),
    }
}

fn canonical(iso: &str) -> Option<DateTime<Utc>> {
    parse_date(iso).ok()
}

enum Target {
    Column {
        column: String,
        codec: Codec,
    },
    /// A jsonb expression (NULL where the object has no value).
    Json(String),
    Absent,
}

#[derive(Clone, Copy)]
enum Comparison {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Comparison {
    fn operator(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Lte => "<=",
            Comparison::Gt => ">",
            Comparison::Gte => ">=",
        }
    }

    fn holds_for_greater_values(self) -> bool {
        matches!(self, Comparison::Gt | Comparison::Gte)
    }
}

struct FilterCompiler<'a> {
    /// The qualified name of the app schema's `reparse_instant` function.
    instant: String,
    /// The qualified name of the app schema's `reparse_geo_distance` function.
    distance: String,
    schema: &'a ClassSchema,
    table: &'a str,
    params: &'a mut Params,
    /// The text score of the query's `$text` search, for `order` (0 without one).
    text_score: String,
}

impl<'a> FilterCompiler<'a> {
    fn new(table: &'a str, schema: &'a ClassSchema, params: &'a mut Params) -> FilterCompiler<'a> {
        FilterCompiler {
            instant: schema_function(table, "reparse_instant"),
            distance: schema_function(table, "reparse_geo_distance"),
            schema,
            table,
            params,
            text_score: NO_TEXT_SCORE.to_string(),
        }
    }

    fn filter(&mut self, filter: &Filter) -> ParseResult<String> {
        match filter {
            Filter::And(parts) => self.combine(parts, " AND ", TRUE),
            Filter::Or(parts) => self.combine(parts, " OR ", FALSE),
            Filter::Nor(parts) => Ok(negate(&self.combine(parts, " OR ", FALSE)?)),
            Filter::Field { path, constraint } => self.field(path, constraint),
            Filter::RelatedTo { .. } => Err(unresolved()),
        }
    }

    fn combine(&mut self, parts: &[Filter], separator: &str, empty: &str) -> ParseResult<String> {
        let mut compiled = Vec::with_capacity(parts.len());
        for part in parts {
            compiled.push(format!("({})", self.filter(part)?));
        }
        Ok(if compiled.is_empty() { empty.to_string() } else { compiled.join(separator) })
    }

    fn field(&mut self, path: &FieldPath, constraint: &Constraint) -> ParseResult<String> {
        if matches!(
            constraint,
            Constraint::InQuery(_)
                | Constraint::NotInQuery(_)
                | Constraint::Select { .. }
                | Constraint::DontSelect { .. }
        ) {
            return Err(unresolved());
        }
        if let Some(sql) = self.geo_constraint(path, constraint) {
            return Ok(sql);
        }
        Ok(match self.target(path) {
            Target::Column { column, codec: Codec::Permissions } => self.permissions(&column, constraint),
            Target::Column { column, codec } => self.column_constraint(&column, &codec, constraint),
            Target::Json(value) => self.json_constraint(&value, constraint),
            Target::Absent => {
                let filter = Filter::Field { path: path.clone(), constraint: constraint.clone() };
                (if matches(&filter, &Object::new()) { TRUE } else { FALSE }).to_string()
            }
        })
    }

    fn target(&mut self, path: &FieldPath) -> Target {
        let Some(codec) = Codec::for_field(self.schema, &path.field) else {
            return Target::Absent;
        };
        let column = format!("{}.{}", self.table, quote_identifier(&path.field));
        let guard =
            |expression: String| format!("CASE WHEN {column} IS NULL THEN NULL ELSE {expression} END");
        // The REST encoding of the structured types, for paths into them.
        let document = match &codec {
            Codec::Json => column.clone(),
            Codec::File => guard(format!("jsonb_build_object('__type', 'File', 'name', {column})")),
            Codec::GeoPoint => guard(format!(
                "jsonb_build_object('__type', 'GeoPoint', 'latitude', {column}[1], 'longitude', {column}[0])"
            )),
            Codec::Polygon => guard("jsonb_build_object('__type', 'Polygon')".to_string()),
            Codec::Date if path.is_nested() => guard(format!(
                "jsonb_build_object('__type', 'Date', 'iso', to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))"
            )),
            Codec::Pointer { target_class } if path.is_nested() => {
                let class_name = self.params.text(target_class.clone());
                guard(format!(
                    "jsonb_build_object('__type', 'Pointer', 'className', {class_name}, 'objectId', {column})"
                ))
            }
            _ if path.is_nested() => return Target::Absent,
            _ => return Target::Column { column, codec },
        };
        if !path.is_nested() {
            return Target::Json(document);
        }
        let keys = self.params.text_array(path.subpath.clone());
        Target::Json(format!("(({document}) #> {keys})"))
    }

    // -----------------------------------------------------------------------------------------
    // Native columns

    fn column_constraint(&mut self, column: &str, codec: &Codec, constraint: &Constraint) -> String {
        match constraint {
            Constraint::Eq(value) => self.column_in(column, codec, slice::from_ref(value)),
            Constraint::Ne(value) => negate(&self.column_in(column, codec, slice::from_ref(value))),
            Constraint::In(options) => self.column_in(column, codec, options),
            Constraint::Nin(options) => negate(&self.column_in(column, codec, options)),
            Constraint::Lt(bound) => self.column_compare(column, codec, Comparison::Lt, bound),
            Constraint::Lte(bound) => self.column_compare(column, codec, Comparison::Lte, bound),
            Constraint::Gt(bound) => self.column_compare(column, codec, Comparison::Gt, bound),
            Constraint::Gte(bound) => self.column_compare(column, codec, Comparison::Gte, bound),
            Constraint::Exists(true) => format!("{column} IS NOT NULL"),
            Constraint::Exists(false) => format!("{column} IS NULL"),
            Constraint::All(_) | Constraint::ContainedBy(_) => FALSE.to_string(),
            Constraint::Regex { pattern, options } => match codec {
                Codec::Text => {
                    let pattern = self.params.text(regex_with_options(pattern, options));
                    format!("{column} ~ {pattern}")
                }
                _ => FALSE.to_string(),
            },
            Constraint::EqIgnoringCase(text) => match codec {
                Codec::Text => format!("lower({column}) = {}", self.params.text(fold_case(text))),
                _ => FALSE.to_string(),
            },
            // Compiled by `geo_constraint` before a target is chosen.
            Constraint::NearSphere { .. } | Constraint::Within(_) | Constraint::PolygonContains(_) => {
                FALSE.to_string()
            }
            Constraint::Text(search) => match codec {
                Codec::Text => self.text_match(column, search),
                _ => FALSE.to_string(),
            },
            Constraint::InQuery(_)
            | Constraint::NotInQuery(_)
            | Constraint::Select { .. }
            | Constraint::DontSelect { .. } => FALSE.to_string(),
        }
    }

    fn column_in(&mut self, column: &str, codec: &Codec, options: &[Value]) -> String {
        let mut alternatives = Vec::new();
        if options.iter().any(Value::is_null) {
            alternatives.push(format!("{column} IS NULL"));
        }
        let placeholders: Vec<String> =
            options.iter().filter_map(|option| self.equality_operand(codec, option)).collect();
        match placeholders.as_slice() {
            [] => {}
            [one] => alternatives.push(format!("{column} = {one}")),
            many => alternatives.push(format!("{column} IN ({})", many.join(", "))),
        }
        any_of(alternatives)
    }

    /// The bound column value equal to `value` in the matcher's sense, if any can be.
    fn equality_operand(&mut self, codec: &Codec, value: &Value) -> Option<String> {
        match (codec, value) {
            (Codec::Text, Value::String(text)) => Some(self.params.text(text.clone())),
            (Codec::Number, Value::Number(number)) => Some(self.params.float(number.as_f64()?)),
            (Codec::Boolean, Value::Bool(flag)) => Some(self.params.boolean(*flag)),
            (Codec::Timestamp, Value::String(text)) => Some(self.params.time(canonical(text)?)),
            (Codec::Date | Codec::Timestamp, value) => {
                let time = canonical(date_iso(value)?)?;
                Some(self.params.time(time))
            }
            (Codec::Pointer { target_class }, value) => {
                let (class_name, object_id) = pointer_parts(value)?;
                (class_name == target_class).then(|| self.params.text(object_id.to_string()))
            }
            _ => None,
        }
    }

    fn column_compare(
        &mut self,
        column: &str,
        codec: &Codec,
        comparison: Comparison,
        bound: &Value,
    ) -> String {
        let instant = self.instant.clone();
        let operator = comparison.operator();
        match (codec, bound) {
            (Codec::Text, Value::String(text)) => {
                format!("{column} COLLATE \"C\" {operator} {}", self.params.text(text.clone()))
            }
            // A string against a Date bound compares as a date when it reads as one.
            (Codec::Text, bound) => match date_iso(bound).and_then(canonical) {
                Some(time) => format!("{instant}({column}) {operator} {}", self.params.time(time)),
                None => FALSE.to_string(),
            },
            (Codec::Number, Value::Number(number)) => match number.as_f64() {
                Some(number) => format!("{column} {operator} {}", self.params.float(number)),
                None => FALSE.to_string(),
            },
            (Codec::Boolean, Value::Bool(flag)) => {
                format!("{column} {operator} {}", self.params.boolean(*flag))
            }
            (Codec::Date | Codec::Timestamp, bound) => {
                match date_iso(bound).or_else(|| bound.as_str()).and_then(canonical) {
                    Some(time) => format!("{column} {operator} {}", self.params.time(time)),
                    None => FALSE.to_string(),
                }
            }
            (Codec::Pointer { target_class }, bound) => match pointer_parts(bound) {
                Some((class_name, object_id)) => match class_name.cmp(target_class.as_str()) {
                    std::cmp::Ordering::Equal => format!(
                        "{column} COLLATE \"C\" {operator} {}",
                        self.params.text(object_id.to_string())
                    ),
                    std::cmp::Ordering::Less if comparison.holds_for_greater_values() => {
                        format!("{column} IS NOT NULL")
                    }
                    std::cmp::Ordering::Greater if !comparison.holds_for_greater_values() => {
                        format!("{column} IS NOT NULL")
                    }
                    _ => FALSE.to_string(),
                },
                None => FALSE.to_string(),
            },
            _ => FALSE.to_string(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Geo constraints

    /// The SQL of a geo constraint (`None` for other constraints). GeoPoint and Polygon
    /// columns are compared natively; a GeoPoint or Polygon inside jsonb is rebuilt as a
    /// `point`/`polygon` (NULL when it is not one); any other column holds none.
    fn geo_constraint(&mut self, path: &FieldPath, constraint: &Constraint) -> Option<String> {
        let sql = match constraint {
            Constraint::NearSphere { point, max_distance } => match self.point_at(path) {
                Some(location) => match max_distance {
                    Some(max_distance) => {
                        let distance = self.distance(&location, *point);
                        format!("{distance} <= {}", self.params.float(*max_distance))
                    }
                    None => format!("{location} IS NOT NULL"),
                },
                None => FALSE.to_string(),
            },
            Constraint::Within(region) => match self.point_at(path) {
                Some(location) => self.within(&location, region),
                None => FALSE.to_string(),
            },
            Constraint::PolygonContains(point) => match self.polygon_at(path) {
                Some(polygon) => {
                    let longitude = self.params.float(point.longitude);
                    let latitude = self.params.float(point.latitude);
                    format!("{polygon} @> point({longitude}, {latitude})")
                }
                None => FALSE.to_string(),
            },
            _ => return None,
        };
        Some(sql)
    }

    fn within(&mut self, location: &str, region: &GeoRegion) -> String {
        match region {
            GeoRegion::Box { west, south, east, north } => {
                let [west, south, east, north] =
                    [west, south, east, north].map(|edge| self.params.float(*edge));
                format!("{location} <@ box(point({west}, {south}), point({east}, {north}))")
            }
            GeoRegion::Polygon(vertices) => {
                format!("{location} <@ {}::polygon", self.params.text(polygon_text(vertices)))
            }
            GeoRegion::Sphere { center, radius } => {
                let distance = self.distance(location, *center);
                format!("{distance} <= {}", self.params.float(*radius))
            }
        }
    }

    /// `reparse_geo_distance(location, …)` from `from`, in radians.
    fn distance(&mut self, location: &str, from: GeoPoint) -> String {
        let latitude = self.params.float(from.latitude);
        let longitude = self.params.float(from.longitude);
        format!("{}({location}, {latitude}, {longitude})", self.distance)
    }

    /// The `point` at `path`, if the path can hold a GeoPoint.
    fn point_at(&mut self, path: &FieldPath) -> Option<String> {
        match (Codec::for_field(self.schema, &path.field)?, path.is_nested()) {
            (Codec::GeoPoint, false) => Some(format!("{}.{}", self.table, quote_identifier(&path.field))),
            (Codec::Json, _) | (_, true) => match self.target(path) {
                Target::Json(value) => Some(point_from_jsonb(&value)),
                Target::Column { .. } | Target::Absent => None,
            },
            _ => None,
        }
    }

    /// The `polygon` at `path`, if the path can hold a Polygon.
    fn polygon_at(&mut self, path: &FieldPath) -> Option<String> {
        match (Codec::for_field(self.schema, &path.field)?, path.is_nested()) {
            (Codec::Polygon, false) => Some(format!("{}.{}", self.table, quote_identifier(&path.field))),
            (Codec::Json, _) | (_, true) => match self.target(path) {
                Target::Json(value) => Some(polygon_from_jsonb(&value)),
                Target::Column { .. } | Target::Absent => None,
            },
            _ => None,
        }
    }

    // -----------------------------------------------------------------------------------------
    // `_rperm` / `_wperm` (text[])

    fn permissions(&mut self, column: &str, constraint: &Constraint) -> String {
        let strings = |values: &[Value]| -> Vec<String> {
            values.iter().filter_map(Value::as_str).map(str::to_string).collect()
        };
        match constraint {
            Constraint::Eq(value) => self.permissions_in(column, slice::from_ref(value)),
            Constraint::Ne(value) => negate(&self.permissions_in(column, slice::from_ref(value))),
            Constraint::In(options) => self.permissions_in(column, options),
            Constraint::Nin(options) => negate(&self.permissions_in(column, options)),
            Constraint::Exists(true) => format!("{column} IS NOT NULL"),
            Constraint::Exists(false) => format!("{column} IS NULL"),
            Constraint::All(required) => {
                if required.iter().all(Value::is_string) {
                    format!("{column} @> {}", self.params.text_array(strings(required)))
                } else {
                    FALSE.to_string()
                }
            }
            Constraint::ContainedBy(allowed) => {
                format!("{column} <@ {}", self.params.text_array(strings(allowed)))
            }
            _ => FALSE.to_string(),
        }
    }

    fn permissions_in(&mut self, column: &str, options: &[Value]) -> String {
        let mut alternatives = Vec::new();
        if options.iter().any(Value::is_null) {
            alternatives.push(format!("{column} IS NULL"));
        }
        let entities: Vec<String> = options.iter().filter_map(Value::as_str).map(str::to_string).collect();
        if !entities.is_empty() {
            alternatives.push(format!("{column} && {}", self.params.text_array(entities)));
        }
        for option in options.iter().filter_map(Value::as_array) {
            let whole: Option<Vec<String>> =
                option.iter().map(|entry| entry.as_str().map(str::to_string)).collect();
            if let Some(whole) = whole {
                alternatives.push(format!("{column} = {}", self.params.text_array(whole)));
            }
        }
        any_of(alternatives)
    }

    // -----------------------------------------------------------------------------------------
    // jsonb values

    fn json_constraint(&mut self, value: &str, constraint: &Constraint) -> String {
        let json_type = format!("jsonb_typeof({value})");
        match constraint {
            Constraint::Eq(expected) => self.json_in(value, slice::from_ref(expected)),
            Constraint::Ne(expected) => negate(&self.json_in(value, slice::from_ref(expected))),
            Constraint::In(options) => self.json_in(value, options),
            Constraint::Nin(options) => negate(&self.json_in(value, options)),
            Constraint::Lt(bound) => self.json_compare(value, Comparison::Lt, bound),
            Constraint::Lte(bound) => self.json_compare(value, Comparison::Lte, bound),
            Constraint::Gt(bound) => self.json_compare(value, Comparison::Gt, bound),
            Constraint::Gte(bound) => self.json_compare(value, Comparison::Gte, bound),
            Constraint::Exists(true) => format!("COALESCE({json_type}, 'null') <> 'null'"),
            Constraint::Exists(false) => format!("COALESCE({json_type}, 'null') = 'null'"),
            Constraint::All(required) => {
                let mut parts = Vec::new();
                for wanted in required {
                    let element = self.json_equals("element", wanted);
                    parts.push(format!(
                        "EXISTS (SELECT 1 FROM jsonb_array_elements({value}) AS element WHERE {element})"
                    ));
                }
                let all = if parts.is_empty() { TRUE.to_string() } else { parts.join(" AND ") };
                format!("CASE WHEN {json_type} = 'array' THEN {all} ELSE false END")
            }
            Constraint::ContainedBy(allowed) => {
                let allowed_element =
                    any_of(allowed.iter().map(|option| self.json_equals("element", option)).collect());
                format!(
                    "CASE WHEN {json_type} = 'array' THEN NOT EXISTS (SELECT 1 FROM jsonb_array_elements({value}) AS element WHERE {}) ELSE false END",
                    negate(&allowed_element)
                )
            }
            Constraint::Regex { pattern, options } => {
                let pattern = self.params.text(regex_with_options(pattern, options));
                format!(
                    "CASE WHEN {json_type} = 'string' THEN ({value} #>> '{{}}') ~ {pattern} ELSE false END"
                )
            }
            Constraint::EqIgnoringCase(text) => {
                let folded = self.params.text(fold_case(text));
                format!(
                    "CASE WHEN {json_type} = 'string' THEN lower({value} #>> '{{}}') = {folded} ELSE false END"
                )
            }
            // Compiled by `geo_constraint` before a target is chosen.
            Constraint::NearSphere { .. } | Constraint::Within(_) | Constraint::PolygonContains(_) => {
                FALSE.to_string()
            }
            Constraint::Text(search) => {
                let text = json_string(value);
                self.text_match(&text, search)
            }
            Constraint::InQuery(_)
            | Constraint::NotInQuery(_)
            | Constraint::Select { .. }
            | Constraint::DontSelect { .. } => FALSE.to_string(),
        }
    }

    /// The jsonb value equals one of `options`; an array also "equals" a non-array value it
    /// contains; `null` means absent.
    fn json_in(&mut self, value: &str, options: &[Value]) -> String {
        let json_type = format!("jsonb_typeof({value})");
        let mut alternatives = Vec::new();
        if options.iter().any(Value::is_null) {
            alternatives.push(format!("COALESCE({json_type}, 'null') = 'null'"));
        }
        let present: Vec<&Value> = options.iter().filter(|option| !option.is_null()).collect();
        let containable: Vec<String> = present
            .iter()
            .filter(|option| !option.is_array())
            .map(|option| self.json_equals("element", option))
            .collect();
        if !containable.is_empty() {
            alternatives.push(format!(
                "CASE WHEN {json_type} = 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements({value}) AS element WHERE {}) ELSE false END",
                any_of(containable)
            ));
        }
        for option in present {
            alternatives.push(self.json_equals(value, option));
        }
        any_of(alternatives)
    }

    /// A jsonb expression equals `expected` by `values_equal`: pointers by class and id, dates
    /// by instant, numbers by value, objects whatever their key order.
    fn json_equals(&mut self, value: &str, expected: &Value) -> String {
        let instant = self.instant.clone();
        if let Some((class_name, object_id)) = pointer_parts(expected) {
            let class_name = self.params.text(class_name.to_string());
            let object_id = self.params.text(object_id.to_string());
            return format!(
                "CASE WHEN jsonb_typeof({value}) = 'object' THEN {value} ->> '__type' IN ('Pointer', 'Object') AND {value} ->> 'className' = {class_name} AND {value} ->> 'objectId' = {object_id} ELSE false END"
            );
        }
        if let Some(iso) = date_iso(expected)
            && let Some(time) = canonical(iso)
        {
            let time = self.params.time(time);
            return format!(
                "CASE WHEN jsonb_typeof({value}) = 'object' AND {value} ->> '__type' = 'Date' THEN {instant}({value} ->> 'iso') = {time} ELSE false END"
            );
        }
        if expected.is_null() {
            return format!("jsonb_typeof({value}) = 'null'");
        }
        format!("{value} = {}", self.params.json(expected.clone()))
    }

    fn json_compare(&mut self, value: &str, comparison: Comparison, bound: &Value) -> String {
        let instant = self.instant.clone();
        let operator = comparison.operator();
        let json_type = format!("jsonb_typeof({value})");
        let date_of_value = format!(
            "CASE WHEN {json_type} = 'string' THEN {instant}({value} #>> '{{}}') WHEN {json_type} = 'object' AND {value} ->> '__type' = 'Date' THEN {instant}({value} ->> 'iso') END"
        );
        match bound {
            Value::Number(number) => match number.as_f64() {
                Some(number) => {
                    let bound = self.params.float(number);
                    format!(
                        "CASE WHEN {json_type} = 'number' THEN ({value})::float8 {operator} {bound} ELSE false END"
                    )
                }
                None => FALSE.to_string(),
            },
            Value::Bool(flag) => {
                let bound = self.params.boolean(*flag);
                format!(
                    "CASE WHEN {json_type} = 'boolean' THEN ({value})::boolean {operator} {bound} ELSE false END"
                )
            }
            Value::String(text) => {
                let as_text = self.params.text(text.clone());
                let as_date = match canonical(text) {
                    Some(time) => format!(
                        "WHEN {json_type} = 'object' AND {value} ->> '__type' = 'Date' THEN {instant}({value} ->> 'iso') {operator} {}",
                        self.params.time(time)
                    ),
                    None => String::new(),
                };
                format!(
                    "CASE WHEN {json_type} = 'string' THEN ({value} #>> '{{}}') COLLATE \"C\" {operator} {as_text} {as_date} ELSE false END"
                )
            }
            bound => {
                if let Some(iso) = date_iso(bound) {
                    return match canonical(iso) {
                        Some(time) => {
                            format!(
                                "COALESCE(({date_of_value}) {operator} {}, false)",
                                self.params.time(time)
                            )
                        }
                        None => FALSE.to_string(),
                    };
                }
                if let Some((class_name, object_id)) = pointer_parts(bound) {
                    let class_name = self.params.text(class_name.to_string());
                    let object_id = self.params.text(object_id.to_string());
                    return format!(
                        "CASE WHEN {json_type} = 'object' AND {value} ->> '__type' IN ('Pointer', 'Object') THEN ({value} ->> 'className' COLLATE \"C\", {value} ->> 'objectId' COLLATE \"C\") {operator} ({class_name}, {object_id}) ELSE false END"
                    );
                }
                FALSE.to_string()
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // `$text`

    /// Whether the text expression `text` matches `search`, as `CompiledSearch::matches`.
    fn text_match(&mut self, text: &str, search: &TextSearch) -> String {
        let parts = search.parts();
        let text = TextSql::new(text, search);
        // Words are alternatives: one tsquery ORing them, unless each must also be checked
        // for its case. Phrases must all occur, each on its own (an all-stop-word phrase
        // is an empty tsquery, which matches nothing, as in the core).
        let wanted = if parts.phrases.is_empty() {
            self.any_occurs(&text, &parts.words, &[])
        } else {
            let phrases: Vec<String> =
                parts.phrases.iter().map(|phrase| self.occurs(&text, phrase, Unit::Phrase)).collect();
            phrases.iter().map(|phrase| format!("({phrase})")).collect::<Vec<_>>().join(" AND ")
        };
        if parts.excluded_words.is_empty() && parts.excluded_phrases.is_empty() {
            return wanted;
        }
        let excluded = self.any_occurs(&text, &parts.excluded_words, &parts.excluded_phrases);
        format!("({wanted}) AND {}", negate(&excluded))
    }

    /// Any of the words or phrases occurs in the text.
    fn any_occurs(&mut self, text: &TextSql, words: &[String], phrases: &[String]) -> String {
        let units = words
            .iter()
            .map(|word| (word, Unit::Word))
            .chain(phrases.iter().map(|phrase| (phrase, Unit::Phrase)));
        if text.case_sensitive {
            let alternatives: Vec<String> =
                units.map(|(written, unit)| self.occurs(text, written, unit)).collect();
            return any_of(alternatives);
        }
        let queries: Vec<String> = units.map(|(written, unit)| self.tsquery(text, written, unit)).collect();
        if queries.is_empty() {
            return FALSE.to_string();
        }
        format!("{} @@ ({})", text.vector, queries.join(" || "))
    }

    /// One word or phrase occurs in the text (with its case, for a case-sensitive search).
    fn occurs(&mut self, text: &TextSql, written: &str, unit: Unit) -> String {
        let query = self.tsquery(text, written, unit);
        let occurs = format!("{} @@ {query}", text.vector);
        if !text.case_sensitive {
            return occurs;
        }
        let written = text.fold(&self.params.text(written.to_string()));
        format!("{occurs} AND strpos({}, {written}) > 0", text.document)
    }

    /// The tsquery of a word or phrase, read by PostgreSQL with the search's configuration.
    fn tsquery(&mut self, text: &TextSql, written: &str, unit: Unit) -> String {
        let function = match unit {
            Unit::Word => "plainto_tsquery",
            Unit::Phrase => "phraseto_tsquery",
        };
        let written = text.fold(&self.params.text(written.to_string()));
        format!("{function}({}, {written})", text.config)
    }

    /// The score of `filter`'s `$text` search for each row: `ts_rank_cd` of the text against
    /// any word or phrase of the term, 0 where there is no String to score.
    fn text_score_expression(&mut self, filter: &Filter) -> String {
        let Some((path, search)) = filter.text_search() else {
            return NO_TEXT_SCORE.to_string();
        };
        let text = match self.target(path) {
            Target::Column { column, codec: Codec::Text } => column,
            Target::Json(value) => json_string(&value),
            Target::Column { .. } | Target::Absent => return NO_TEXT_SCORE.to_string(),
        };
        let parts = search.parts();
        let text = TextSql::new(&text, search);
        let words = parts.words.iter().map(|word| (word, Unit::Word));
        let units = words.chain(parts.phrases.iter().map(|phrase| (phrase, Unit::Phrase)));
        let queries: Vec<String> = units.map(|(written, unit)| self.tsquery(&text, written, unit)).collect();
        if queries.is_empty() {
            return NO_TEXT_SCORE.to_string();
        }
        format!("COALESCE(ts_rank_cd({}, {}, 32)::float8, 0)", text.vector, queries.join(" || "))
    }

    /// ` ORDER BY …` (or nothing). Keys on paths no object has are dropped, and so are
    /// distances where no GeoPoint can be (every distance would be NULL).
    fn order_by(&mut self, keys: &[SortKey]) -> String {
        let mut terms = Vec::new();
        for key in keys {
            if key.is_text_score() {
                terms.push(format!("{} DESC", self.text_score));
                continue;
            }
            if let SortBy::DistanceFrom(from) = &key.by {
                let Some(location) = self.point_at(&key.path) else { continue };
                let distance = self.distance(&location, *from);
                let direction = if key.descending { "DESC NULLS FIRST" } else { "ASC NULLS LAST" };
                terms.push(format!("{distance} {direction}"));
                continue;
            }
            let expression = match self.target(&key.path) {
                Target::Column { column, codec: Codec::Text | Codec::Pointer { .. } } => {
                    format!("{column} COLLATE \"C\"")
                }
                Target::Column { column, .. } => column,
                Target::Json(value) => value,
                Target::Absent => continue,
            };
            let direction = if key.descending { "DESC NULLS FIRST" } else { "ASC NULLS LAST" };
            terms.push(format!("{expression} {direction}"));
        }
        if terms.is_empty() { String::new() } else { format!(" ORDER BY {}", terms.join(", ")) }
    }
}

/// The text of a jsonb expression when it is a JSON string, NULL otherwise.
fn json_string(value: &str) -> String {
    format!("CASE WHEN jsonb_typeof({value}) = 'string' THEN {value} #>> '{{}}' END")
}

/// A word of a term, or a quoted phrase.
#[derive(Clone, Copy)]
enum Unit {
    Word,
    Phrase,
}

/// The SQL pieces of one search over one text expression.
struct TextSql {
    /// `'<config>'::regconfig`.
    config: String,
    /// The searched text, diacritics folded when the search folds them.
    document: String,
    /// `to_tsvector(config, document)`.
    vector: String,
    case_sensitive: bool,
    fold_diacritics: bool,
}

impl TextSql {
    fn new(text: &str, search: &TextSearch) -> TextSql {
        // A name from the core's closed list of languages (see the module doc).
        let config = format!("'{}'::regconfig", search.language.config_name());
        let fold_diacritics = !search.diacritic_sensitive;
        let document = if fold_diacritics { format!("unaccent({text})") } else { text.to_string() };
        let vector = format!("to_tsvector({config}, {document})");
        TextSql { config, document, vector, case_sensitive: search.case_sensitive, fold_diacritics }
    }

    /// `expression` with diacritics folded when the search folds them.
    fn fold(&self, expression: &str) -> String {
        if self.fold_diacritics { format!("unaccent({expression})") } else { expression.to_string() }
    }
}

/// A `$regex` with Parse's options as a PostgreSQL advanced regular expression: the options
/// become embedded flags. Parse's default (`.` stops at newlines, `^`/`$` at the ends only) is
/// ARE's `p`; `m` gives `n` (or `w` with `s`); `s` alone is ARE's default `s`.
fn regex_with_options(pattern: &str, options: &str) -> String {
    let multiline = options.contains('m');
    let dot_all = options.contains('s');
    let mut flags = String::from(match (multiline, dot_all) {
        (false, false) => "p",
        (true, false) => "n",
        (false, true) => "s",
        (true, true) => "w",
    });
    if options.contains('i') {
        flags.push('i');
    }
    if options.contains('x') {
        flags.push('x');
    }
    // PostgreSQL's regexes have no `\Q…\E`; the SDKs quote with it.
    format!("(?{flags}){}", reparse_core::matcher::expand_literal_quotes(pattern))
}
