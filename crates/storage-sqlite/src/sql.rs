//! Translation of a resolved [`Filter`] (and a [`Query`]'s order, skip and limit) into SQLite
//! SQL. The in-memory matcher (`reparse_core::matcher`) is the reference: for every object, the
//! SQL selects it exactly when the matcher does.
//!
//! Rules the builder keeps:
//! - Every value is a bound parameter (`?N`, numbered so one value may be used twice); every
//!   identifier goes through [`quote_identifier`]. Nothing from a request is spliced into SQL.
//! - Every predicate is true only where the matcher says true. It may be NULL where the
//!   matcher says false; that is harmless under AND/OR, and every negation (`$ne`, `$nin`,
//!   `$nor`) wraps its operand in `COALESCE(…, 0)` so NULL never turns into true.
//! - What a column can never hold matches nothing (a string compared to a Number column, `$all`
//!   on a String column): no SQL error, no type coercion.
//! - A field the schema does not know is absent from every object, so its constraint is the
//!   constant the matcher gives for an absent value.
//!
//! How paths are read:
//! - Native columns (String, Number, Boolean, Date, Pointer, objectId, createdAt, updatedAt)
//!   are compared directly, which lets SQLite use indexes.
//! - JSON columns (Object, Array, File, GeoPoint, Polygon, Bytes, `_rperm`, `_wperm`) and
//!   nested paths (`o.x.y`) are read with `json_type`/`json_extract` at a bound JSON path. An
//!   array "equals" a scalar it contains, through `json_each`. Structured values are compared
//!   by `reparse_json_equal`, ordering inside JSON by `reparse_compare` (see `functions.rs`).
//! - Order: NULLs last on ascending keys and first on descending ones, PostgreSQL's default,
//!   so that both adapters (and parse-server on PostgreSQL) sort alike.
//! - Geo constraints and distance keys call the `reparse_geo_*` functions (`functions.rs`) on
//!   the value's JSON text (`doc -> path`, which keeps a string a JSON string), so they compute
//!   with `reparse_core::geo` itself.
//! - `$text` runs the core's search through `reparse_text_match` on String values (a column,
//!   or a JSON text); the text score (`keys=$score`, `order=$score`) through
//!   `reparse_text_score`, selected as a last column named `$score` that `decode_row` turns
//!   into the object's `score`.

use std::slice;

use reparse_core::geo::{GeoPoint, GeoRegion};
use reparse_core::matcher::matches;
use reparse_core::query::{Constraint, FieldPath, Filter, Query, SortBy, SortKey, TEXT_SCORE_KEY};
use reparse_core::schema::ClassSchema;
use reparse_core::text::TextSearch;
use reparse_core::value::{Object, date_iso, pointer_parts};
use reparse_core::{ParseError, ParseResult};
use rusqlite::types::Value as SqlValue;
use serde_json::Value;

use crate::columns::{Codec, READ_PERMISSIONS, WRITE_PERMISSIONS, canonical_iso, number_to_sql};

const TRUE: &str = "1";
const FALSE: &str = "0";
/// Every object's score when there is no `$text` search, or no String where it looks.
const NO_TEXT_SCORE: &str = "0.0";

/// Quotes an identifier (table, column, index name) for SQLite: double quotes, embedded double
/// quotes doubled. The only way identifiers enter SQL.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Parameters of a statement, bound by number (`?1`, `?2`, …).
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<SqlValue>);

impl Params {
    /// Adds a value and returns its placeholder.
    pub(crate) fn bind(&mut self, value: impl Into<SqlValue>) -> String {
        self.0.push(value.into());
        format!("?{}", self.0.len())
    }

    pub(crate) fn values(&self) -> &[SqlValue] {
        &self.0
    }

    /// Binds the values a filter's statement refers to, for `raw_query`/`raw_execute`. A filter
    /// may bind a value its SQL ends up not using (a JSON path bound before the constraint on it
    /// compiled to a constant), and SQLite counts parameters up to the highest `?N` in the text:
    /// values past that are left out instead of failing the statement.
    pub(crate) fn bind_to(&self, statement: &mut rusqlite::Statement<'_>) -> rusqlite::Result<()> {
        for (index, value) in self.0.iter().enumerate().take(statement.parameter_count()) {
            statement.raw_bind_parameter(index + 1, value)?;
        }
        Ok(())
    }
}

/// SQL text with its parameters.
#[derive(Debug)]
pub(crate) struct SqlStatement {
    pub(crate) sql: String,
    pub(crate) params: Params,
}

/// `SELECT *` of the objects a query asks for, ordered, skipped and limited.
pub(crate) fn select_statement(schema: &ClassSchema, query: &Query) -> ParseResult<SqlStatement> {
    let mut params = Params::default();
    let table = quote_identifier(&schema.class_name);
    let mut compiler = FilterCompiler::new(schema, &mut params);
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
    // SQLite reads a negative LIMIT as "no limit". The limit is written into the SQL rather
    // than bound: a bound LIMIT makes SQLite re-prepare the statement on every run (measured at
    // a quarter of a get's CPU), and the few distinct limits clients use keep the statement
    // cache small. It is an integer we formatted, so nothing a client sent reaches the SQL text.
    let limit = query.limit.map_or(-1, saturating_i64);
    let offset = params.bind(saturating_i64(query.skip));
    let sql =
        format!("SELECT *{score_column} FROM {table} WHERE {condition}{order} LIMIT {limit} OFFSET {offset}");
    Ok(SqlStatement { sql, params })
}

/// A page of a scan: the objects matching `filter` after object id `after`, in `objectId`
/// order (the primary key's, so the index serves it), `limit` at most.
pub(crate) fn scan_statement(
    schema: &ClassSchema,
    filter: &Filter,
    after: Option<&str>,
    limit: u64,
) -> ParseResult<SqlStatement> {
    let mut params = Params::default();
    let table = quote_identifier(&schema.class_name);
    let mut condition = FilterCompiler::new(schema, &mut params).filter(filter)?;
    let id = format!("{table}.\"objectId\"");
    if let Some(after) = after {
        condition = format!("({condition}) AND {id} > {}", params.bind(after.to_string()));
    }
    // The limit is a number we formatted (see `select_statement`).
    let limit = saturating_i64(limit);
    Ok(SqlStatement {
        sql: format!("SELECT * FROM {table} WHERE {condition} ORDER BY {id} LIMIT {limit}"),
        params,
    })
}

/// `SELECT COUNT(*)` of the objects matching a filter.
pub(crate) fn count_statement(schema: &ClassSchema, filter: &Filter) -> ParseResult<SqlStatement> {
    let mut params = Params::default();
    let table = quote_identifier(&schema.class_name);
    let condition = condition(schema, filter, &mut params)?;
    Ok(SqlStatement { sql: format!("SELECT COUNT(*) FROM {table} WHERE {condition}"), params })
}

/// How to read the one column of a [`distinct_statement`].
#[derive(Debug)]
pub(crate) enum DistinctColumn {
    /// A native column, read with its codec.
    Column(Codec),
    /// JSON text (`->`): the value at a path inside a JSON column.
    JsonText,
}

/// `SELECT DISTINCT` of the value at `path` among the objects matching `filter` (arrays whole;
/// `reparse_core::aggregate::distinct_values` unwinds them). `None` when no object can have a
/// value there.
pub(crate) fn distinct_statement(
    schema: &ClassSchema,
    filter: &Filter,
    path: &FieldPath,
) -> ParseResult<Option<(SqlStatement, DistinctColumn)>> {
    let mut params = Params::default();
    let table = quote_identifier(&schema.class_name);
    let mut compiler = FilterCompiler::new(schema, &mut params);
    let condition = compiler.filter(filter)?;
    let (value, column) = match compiler.target(path) {
        Target::Column { column, codec } => (column, DistinctColumn::Column(codec)),
        Target::Json { doc, path } => (format!("(({doc}) -> {path})"), DistinctColumn::JsonText),
        Target::Absent => return Ok(None),
    };
    let sql = format!("SELECT DISTINCT {value} FROM {table} WHERE ({condition}) AND {value} IS NOT NULL");
    Ok(Some((SqlStatement { sql, params }, column)))
}

/// The SQL condition for a filter on the class table, binding into `params`. Column references
/// are qualified with the table name, so the condition also works inside sub-selects.
pub(crate) fn condition(schema: &ClassSchema, filter: &Filter, params: &mut Params) -> ParseResult<String> {
    FilterCompiler::new(schema, params).filter(filter)
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn unresolved() -> ParseError {
    ParseError::internal("an unresolved filter ($relatedTo, $inQuery, $select…) reached storage")
}

fn negate(condition: &str) -> String {
    format!("NOT COALESCE(({condition}), 0)")
}

fn any_of(alternatives: Vec<String>) -> String {
    match alternatives.len() {
        0 => FALSE.to_string(),
        1 => alternatives.into_iter().next().unwrap_or_default(),
        _ => alternatives.iter().map(|part| format!("({part})")).collect::<Vec<_>>().join(" OR "),
    }
}

/// Where the value of a path lives.
enum Target {
    /// A column compared natively. `column` is the qualified, quoted column.
    Column { column: String, codec: Codec },
    /// A JSON value: `doc` is an SQL expression holding JSON text, `path` the placeholder of
    /// the JSON path inside it.
    Json { doc: String, path: String },
    /// A path no object has a value at.
    Absent,
}

/// The ordering operators.
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

/// The right-hand side of an ordering comparison on a native column.
enum ComparisonOperand {
    /// Compare the column itself with this value.
    Column(SqlValue),
    /// Compare the column read as a date (`reparse_instant`) with this canonical ISO text.
    ColumnAsDate(String),
    /// Every present value satisfies the comparison.
    AnyPresentValue,
    /// No value can satisfy it.
    Nothing,
}

/// A value to look for inside JSON, already bound.
enum JsonOperand {
    Null,
    True,
    False,
    Number(String),
    Text(String),
    /// An array or object (including Parse's typed values), as JSON text.
    Structured(String),
}

struct FilterCompiler<'a> {
    schema: &'a ClassSchema,
    table: String,
    params: &'a mut Params,
    /// The text score of the query's `$text` search, for `order` (`0.0` without one).
    text_score: String,
}

impl<'a> FilterCompiler<'a> {
    fn new(schema: &'a ClassSchema, params: &'a mut Params) -> FilterCompiler<'a> {
        FilterCompiler {
            schema,
            table: quote_identifier(&schema.class_name),
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
        if let Some(sql) = self.permission_membership(path, constraint) {
            return Ok(sql);
        }
        Ok(match self.target(path) {
            Target::Column { column, codec } => self.column_constraint(&column, &codec, constraint),
            Target::Json { doc, path } => self.json_constraint(&doc, &path, constraint),
            Target::Absent => {
                let filter = Filter::Field { path: path.clone(), constraint: constraint.clone() };
                let holds_when_absent = matches(&filter, &Object::new());
                (if holds_when_absent { TRUE } else { FALSE }).to_string()
            }
        })
    }

    /// The ACL filter every client query carries (`_rperm IN [null, "*", user, roles…]`), as
    /// plain substring tests on the stored JSON array instead of a `json_each` scan per row:
    /// it is evaluated on every row a client's query examines. Exact because this adapter writes
    /// the lists as compact JSON arrays of strings: an element starts right after `[` or `,`,
    /// which inside a string can never be followed by an unescaped quote, so `["X"` or `,"X"`
    /// is the element `X` and nothing else (`"X"` alone could be the tail of `…\"X"`). Entities
    /// with quotes, backslashes or control characters take the general path (`None`).
    fn permission_membership(&mut self, path: &FieldPath, constraint: &Constraint) -> Option<String> {
        if path.is_nested() || !matches!(path.field.as_str(), READ_PERMISSIONS | WRITE_PERMISSIONS) {
            return None;
        }
        let Constraint::In(options) = constraint else { return None };
        let plain = |text: &str| !text.chars().any(|c| c == '"' || c == '\\' || c.is_control());
        let entities: Vec<&str> = options.iter().filter_map(Value::as_str).collect();
        let others = options.iter().filter(|option| !option.is_null() && !option.is_string()).count();
        if others > 0 || !entities.iter().all(|entity| plain(entity)) {
            return None;
        }
        let column = format!("{}.{}", self.table, quote_identifier(&path.field));
        let mut alternatives = Vec::new();
        if options.iter().any(Value::is_null) {
            alternatives.push(format!("{column} IS NULL OR {column} = 'null'"));
        }
        for entity in entities {
            let first = self.params.bind(format!("[\"{entity}\""));
            let later = self.params.bind(format!(",\"{entity}\""));
            alternatives.push(format!("instr({column}, {first}) > 0 OR instr({column}, {later}) > 0"));
        }
        Some(any_of(alternatives))
    }

    fn target(&mut self, path: &FieldPath) -> Target {
        let Some(codec) = Codec::for_field(self.schema, &path.field) else {
            return Target::Absent;
        };
        let column = format!("{}.{}", self.table, quote_identifier(&path.field));
        if !path.is_nested() {
            return match codec {
                Codec::Json => Target::Json { doc: column, path: self.params.bind("$".to_string()) },
                codec => Target::Column { column, codec },
            };
        }
        let Some(json_path) = json_path(&path.subpath) else {
            return Target::Absent;
        };
        // Paths into a Date or Pointer reach into their REST encoding, as the matcher does.
        let doc = match codec {
            Codec::Json => column,
            Codec::Date => format!(
                "CASE WHEN {column} IS NULL THEN NULL ELSE json_object('__type', 'Date', 'iso', {column}) END"
            ),
            Codec::Pointer { target_class } => {
                let class_name = self.params.bind(target_class);
                format!(
                    "CASE WHEN {column} IS NULL THEN NULL ELSE json_object('__type', 'Pointer', 'className', {class_name}, 'objectId', {column}) END"
                )
            }
            Codec::Text | Codec::Number | Codec::Boolean | Codec::Timestamp => {
                return Target::Absent;
            }
        };
        Target::Json { doc, path: self.params.bind(json_path) }
    }

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
            // Only arrays satisfy these, and a native column never holds one.
            Constraint::All(_) | Constraint::ContainedBy(_) => FALSE.to_string(),
            // Timestamps are dates to queries, and a date never matches a regex.
            Constraint::Regex { pattern, options } => match codec {
                Codec::Text => {
                    let pattern = self.params.bind(pattern.clone());
                    let options = self.params.bind(options.clone());
                    format!("reparse_regex({column}, {pattern}, {options})")
                }
                _ => FALSE.to_string(),
            },
            Constraint::EqIgnoringCase(text) => match codec {
                Codec::Text => {
                    let folded = self.params.bind(reparse_core::matcher::fold_case(text));
                    format!("reparse_lower({column}) = {folded}")
                }
                _ => FALSE.to_string(),
            },
            // GeoPoints and Polygons are JSON columns; a native column never holds one.
            Constraint::NearSphere { .. } | Constraint::Within(_) | Constraint::PolygonContains(_) => {
                FALSE.to_string()
            }
            Constraint::Text(search) => match codec {
                Codec::Text => {
                    format!("reparse_text_match({column}, {})", self.text_search_arguments(search))
                }
                _ => FALSE.to_string(),
            },
            Constraint::InQuery(_)
            | Constraint::NotInQuery(_)
            | Constraint::Select { .. }
            | Constraint::DontSelect { .. } => FALSE.to_string(),
        }
    }

    /// The column equals one of `options` (`null` meaning absent).
    fn column_in(&mut self, column: &str, codec: &Codec, options: &[Value]) -> String {
        let mut alternatives = Vec::new();
        if options.iter().any(Value::is_null) {
            alternatives.push(format!("{column} IS NULL"));
        }
        let placeholders: Vec<String> = options
            .iter()
            .filter_map(|option| equality_operand(codec, option))
            .map(|operand| self.params.bind(operand))
            .collect();
        match placeholders.as_slice() {
            [] => {}
            [one] => alternatives.push(format!("{column} = {one}")),
            many => alternatives.push(format!("{column} IN ({})", many.join(", "))),
        }
        any_of(alternatives)
    }

    fn column_compare(
        &mut self,
        column: &str,
        codec: &Codec,
        comparison: Comparison,
        bound: &Value,
    ) -> String {
        let operator = comparison.operator();
        match comparison_operand(codec, comparison, bound) {
            ComparisonOperand::Column(value) => {
                format!("{column} {operator} {}", self.params.bind(value))
            }
            ComparisonOperand::ColumnAsDate(iso) => {
                format!("reparse_instant({column}) {operator} {}", self.params.bind(iso))
            }
            ComparisonOperand::AnyPresentValue => format!("{column} IS NOT NULL"),
            ComparisonOperand::Nothing => FALSE.to_string(),
        }
    }

    fn json_constraint(&mut self, doc: &str, path: &str, constraint: &Constraint) -> String {
        let json_type = format!("json_type({doc}, {path})");
        match constraint {
            Constraint::Eq(value) => self.json_in(doc, path, slice::from_ref(value)),
            Constraint::Ne(value) => negate(&self.json_in(doc, path, slice::from_ref(value))),
            Constraint::In(options) => self.json_in(doc, path, options),
            Constraint::Nin(options) => negate(&self.json_in(doc, path, options)),
            Constraint::Lt(bound) => self.json_compare(doc, path, Comparison::Lt, bound),
            Constraint::Lte(bound) => self.json_compare(doc, path, Comparison::Lte, bound),
            Constraint::Gt(bound) => self.json_compare(doc, path, Comparison::Gt, bound),
            Constraint::Gte(bound) => self.json_compare(doc, path, Comparison::Gte, bound),
            Constraint::Exists(true) => format!("COALESCE({json_type}, 'null') <> 'null'"),
            Constraint::Exists(false) => format!("COALESCE({json_type}, 'null') = 'null'"),
            Constraint::All(required) => {
                let mut parts = vec![format!("{json_type} = 'array'")];
                for wanted in required {
                    let operand = self.json_operand(wanted);
                    parts.push(array_contains(doc, path, slice::from_ref(&operand)));
                }
                parts.join(" AND ")
            }
            Constraint::ContainedBy(allowed) => {
                let operands: Vec<JsonOperand> =
                    allowed.iter().map(|option| self.json_operand(option)).collect();
                let allowed_element = any_of(
                    operands
                        .iter()
                        .map(|operand| json_equals("element.type", "element.value", operand))
                        .collect(),
                );
                format!(
                    "{json_type} = 'array' AND NOT EXISTS (SELECT 1 FROM json_each({doc}, {path}) AS element WHERE {})",
                    negate(&allowed_element)
                )
            }
            Constraint::Regex { pattern, options } => {
                let pattern = self.params.bind(pattern.clone());
                let options = self.params.bind(options.clone());
                format!(
                    "{json_type} = 'text' AND reparse_regex(json_extract({doc}, {path}), {pattern}, {options})"
                )
            }
            Constraint::EqIgnoringCase(text) => {
                let folded = self.params.bind(reparse_core::matcher::fold_case(text));
                format!("{json_type} = 'text' AND reparse_lower(json_extract({doc}, {path})) = {folded}")
            }
            Constraint::NearSphere { point, max_distance } => {
                let distance = self.distance(doc, path, *point);
                match max_distance {
                    Some(max_distance) => format!("{distance} <= {}", self.params.bind(*max_distance)),
                    None => format!("{distance} IS NOT NULL"),
                }
            }
            Constraint::Within(GeoRegion::Sphere { center, radius }) => {
                let distance = self.distance(doc, path, *center);
                format!("{distance} <= {}", self.params.bind(*radius))
            }
            Constraint::Within(GeoRegion::Box { west, south, east, north }) => {
                let corners = [west, south, east, north].map(|edge| self.params.bind(*edge));
                format!("reparse_geo_in_box(({doc}) -> {path}, {})", corners.join(", "))
            }
            Constraint::Within(GeoRegion::Polygon(vertices)) => {
                let polygon = self.params.bind(polygon_json(vertices));
                format!("reparse_geo_in_polygon(({doc}) -> {path}, {polygon})")
            }
            Constraint::PolygonContains(point) => {
                let latitude = self.params.bind(point.latitude);
                let longitude = self.params.bind(point.longitude);
                format!("reparse_polygon_contains(({doc}) -> {path}, {latitude}, {longitude})")
            }
            Constraint::Text(search) => {
                let arguments = self.text_search_arguments(search);
                format!(
                    "{json_type} = 'text' AND reparse_text_match(json_extract({doc}, {path}), {arguments})"
                )
            }
            Constraint::InQuery(_)
            | Constraint::NotInQuery(_)
            | Constraint::Select { .. }
            | Constraint::DontSelect { .. } => FALSE.to_string(),
        }
    }

    /// The JSON value equals one of `options`, where an array also "equals" a non-array value
    /// it contains and `null` means absent (missing or JSON null).
    fn json_in(&mut self, doc: &str, path: &str, options: &[Value]) -> String {
        let json_type = format!("json_type({doc}, {path})");
        let json_value = format!("json_extract({doc}, {path})");
        let mut alternatives = Vec::new();
        if options.iter().any(Value::is_null) {
            alternatives.push(format!("COALESCE({json_type}, 'null') = 'null'"));
        }
        let present: Vec<&Value> = options.iter().filter(|option| !option.is_null()).collect();
        let operands: Vec<JsonOperand> = present.iter().map(|option| self.json_operand(option)).collect();
        let containable: Vec<&JsonOperand> = present
            .iter()
            .zip(&operands)
            .filter(|(option, _)| !option.is_array())
            .map(|(_, operand)| operand)
            .collect();
        if !containable.is_empty() {
            let contained = any_of(
                containable
                    .iter()
                    .map(|operand| json_equals("element.type", "element.value", operand))
                    .collect(),
            );
            alternatives.push(format!(
                "{json_type} = 'array' AND EXISTS (SELECT 1 FROM json_each({doc}, {path}) AS element WHERE {contained})"
            ));
        }
        for operand in &operands {
            alternatives.push(json_equals(&json_type, &json_value, operand));
        }
        any_of(alternatives)
    }

    fn json_compare(&mut self, doc: &str, path: &str, comparison: Comparison, bound: &Value) -> String {
        let bound = self.params.bind(bound.to_string());
        format!("reparse_compare(({doc}) -> {path}, {bound}) {} 0", comparison.operator())
    }

    fn json_operand(&mut self, value: &Value) -> JsonOperand {
        match value {
            Value::Null => JsonOperand::Null,
            Value::Bool(true) => JsonOperand::True,
            Value::Bool(false) => JsonOperand::False,
            Value::Number(number) => JsonOperand::Number(self.params.bind(number_to_sql(number))),
            Value::String(text) => JsonOperand::Text(self.params.bind(text.clone())),
            Value::Array(_) | Value::Object(_) => {
                JsonOperand::Structured(self.params.bind(value.to_string()))
            }
        }
    }

    /// The distance (radians) of the GeoPoint at `path` in `doc` from `from`; NULL where there
    /// is none.
    fn distance(&mut self, doc: &str, path: &str, from: GeoPoint) -> String {
        let latitude = self.params.bind(from.latitude);
        let longitude = self.params.bind(from.longitude);
        format!("reparse_geo_distance(({doc}) -> {path}, {latitude}, {longitude})")
    }

    /// The placeholders of a search after the searched text in `reparse_text_match` and
    /// `reparse_text_score`: term, language, case and diacritic sensitivity.
    fn text_search_arguments(&mut self, search: &TextSearch) -> String {
        let term = self.params.bind(search.term.clone());
        let language = self.params.bind(search.language.config_name().to_string());
        let case_sensitive = self.params.bind(i64::from(search.case_sensitive));
        let diacritic_sensitive = self.params.bind(i64::from(search.diacritic_sensitive));
        format!("{term}, {language}, {case_sensitive}, {diacritic_sensitive}")
    }

    /// The score of `filter`'s `$text` search for each row: on the String it searches, 0 where
    /// there is none (as the core scores a missing or non-String value).
    fn text_score_expression(&mut self, filter: &Filter) -> String {
        let Some((path, search)) = filter.text_search() else {
            return NO_TEXT_SCORE.to_string();
        };
        let text = match self.target(path) {
            Target::Column { column, codec: Codec::Text } => column,
            Target::Json { doc, path } => {
                format!("CASE WHEN json_type({doc}, {path}) = 'text' THEN json_extract({doc}, {path}) END")
            }
            Target::Column { .. } | Target::Absent => return NO_TEXT_SCORE.to_string(),
        };
        format!("reparse_text_score({text}, {})", self.text_search_arguments(search))
    }

    /// ` ORDER BY …` (or nothing). Keys on paths no object has are dropped, and so are
    /// distances on native columns (which hold no GeoPoint: every distance would be NULL).
    fn order_by(&mut self, keys: &[SortKey]) -> String {
        let mut terms = Vec::new();
        for key in keys {
            if key.is_text_score() {
                terms.push(format!("{} DESC", self.text_score));
                continue;
            }
            let expression = match (self.target(&key.path), &key.by) {
                (Target::Column { column, .. }, SortBy::Value) => column,
                (Target::Json { doc, path }, SortBy::Value) => format!("json_extract({doc}, {path})"),
                (Target::Json { doc, path }, SortBy::DistanceFrom(from)) => self.distance(&doc, &path, *from),
                (Target::Column { .. }, SortBy::DistanceFrom(_))
                | (Target::Absent, _)
                | (_, SortBy::TextScore) => {
                    continue;
                }
            };
            let direction = if key.descending { "DESC NULLS FIRST" } else { "ASC NULLS LAST" };
            terms.push(format!("{expression} {direction}"));
        }
        if terms.is_empty() { String::new() } else { format!(" ORDER BY {}", terms.join(", ")) }
    }
}

/// `EXISTS` an element of the JSON array at `path` equal to one of `operands`.
fn array_contains(doc: &str, path: &str, operands: &[JsonOperand]) -> String {
    let element_matches = any_of(
        operands.iter().map(|operand| json_equals("element.type", "element.value", operand)).collect(),
    );
    format!("EXISTS (SELECT 1 FROM json_each({doc}, {path}) AS element WHERE {element_matches})")
}

/// A JSON value, given as its `json_type` and its SQL value, equals `operand`. The type test
/// keeps `1` from equalling `true` or `"1"`, as in the matcher.
fn json_equals(json_type: &str, json_value: &str, operand: &JsonOperand) -> String {
    match operand {
        JsonOperand::Null => format!("{json_type} = 'null'"),
        JsonOperand::True => format!("{json_type} = 'true'"),
        JsonOperand::False => format!("{json_type} = 'false'"),
        JsonOperand::Number(placeholder) => {
            format!("{json_type} IN ('integer', 'real') AND {json_value} = {placeholder}")
        }
        JsonOperand::Text(placeholder) => {
            format!("{json_type} = 'text' AND {json_value} = {placeholder}")
        }
        JsonOperand::Structured(placeholder) => {
            format!("{json_type} IN ('array', 'object') AND reparse_json_equal({json_value}, {placeholder})")
        }
    }
}

/// The column value equal to `value` in the matcher's sense, or `None` when no value of this
/// column can be (a string against a Number column, a pointer to another class…).
fn equality_operand(codec: &Codec, value: &Value) -> Option<SqlValue> {
    match (codec, value) {
        (Codec::Text, Value::String(text)) => Some(SqlValue::Text(text.clone())),
        // Timestamps are stored canonical; a string equals one when it is the same instant.
        (Codec::Timestamp, Value::String(text)) => canonical_iso(text).map(SqlValue::Text),
        (Codec::Number, Value::Number(number)) => Some(number_to_sql(number)),
        (Codec::Boolean, Value::Bool(flag)) => Some(SqlValue::Integer(i64::from(*flag))),
        // A Date value equals a stored date at the same instant. For createdAt/updatedAt this
        // is parse-server's behaviour; the matcher, which sees them as plain strings, differs.
        (Codec::Date | Codec::Timestamp, value) => {
            date_iso(value).and_then(canonical_iso).map(SqlValue::Text)
        }
        (Codec::Pointer { target_class }, value) => pointer_parts(value)
            .filter(|(class_name, _)| class_name == target_class)
            .map(|(_, object_id)| SqlValue::Text(object_id.to_string())),
        _ => None,
    }
}

/// How an ordering operator compares a native column with `bound`, following
/// `reparse_core::matcher::compare`.
fn comparison_operand(codec: &Codec, comparison: Comparison, bound: &Value) -> ComparisonOperand {
    let as_date = |iso: Option<&str>| match iso.and_then(canonical_iso) {
        Some(iso) => ComparisonOperand::Column(SqlValue::Text(iso)),
        None => ComparisonOperand::Nothing,
    };
    match (codec, bound) {
        (Codec::Text, Value::String(text)) => ComparisonOperand::Column(SqlValue::Text(text.clone())),
        // A string against a Date bound is compared as a date when it parses as one.
        (Codec::Text, bound) => match date_iso(bound).map(canonical_iso) {
            Some(Some(iso)) => ComparisonOperand::ColumnAsDate(iso),
            _ => ComparisonOperand::Nothing,
        },
        // Timestamps are stored canonical, so comparing their text compares instants.
        (Codec::Timestamp, bound) => as_date(date_iso(bound).or_else(|| bound.as_str())),
        (Codec::Number, Value::Number(number)) => ComparisonOperand::Column(number_to_sql(number)),
        (Codec::Boolean, Value::Bool(flag)) => ComparisonOperand::Column(SqlValue::Integer(i64::from(*flag))),
        (Codec::Date, bound) => as_date(date_iso(bound).or_else(|| bound.as_str())),
        // Pointers order by (className, objectId); every stored one has the target class.
        (Codec::Pointer { target_class }, bound) => match pointer_parts(bound) {
            Some((class_name, object_id)) => match class_name.cmp(target_class.as_str()) {
                std::cmp::Ordering::Equal => ComparisonOperand::Column(SqlValue::Text(object_id.to_string())),
                std::cmp::Ordering::Less if comparison.holds_for_greater_values() => {
                    ComparisonOperand::AnyPresentValue
                }
                std::cmp::Ordering::Greater if !comparison.holds_for_greater_values() => {
                    ComparisonOperand::AnyPresentValue
                }
                _ => ComparisonOperand::Nothing,
            },
            None => ComparisonOperand::Nothing,
        },
        _ => ComparisonOperand::Nothing,
    }
}

/// A query polygon as the JSON of a REST Polygon (`[latitude, longitude]` pairs), for
/// `reparse_geo_in_polygon`; serde writes each coordinate so that it parses back exactly.
fn polygon_json(vertices: &[GeoPoint]) -> String {
    let coordinates: Vec<Value> =
        vertices.iter().map(|vertex| serde_json::json!([vertex.latitude, vertex.longitude])).collect();
    serde_json::json!({"__type": "Polygon", "coordinates": coordinates}).to_string()
}

/// The SQLite JSON path of a subpath: `["x", "y"]` → `$."x"."y"`. Keys are quoted so any
/// character is a label; a key holding a double quote cannot be expressed and reads as absent.
fn json_path(subpath: &[String]) -> Option<String> {
    let mut path = String::from("$");
    for key in subpath {
        if key.contains('"') {
            return None;
        }
        path.push_str(".\"");
        path.push_str(key);
        path.push('"');
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reparse_core::query::{parse_order, parse_where};
    use reparse_core::schema::{FieldSpec, FieldType};
    use serde_json::json;

    fn schema() -> ClassSchema {
        let mut schema = ClassSchema::new("Game");
        for (name, field_type) in [
            ("name", FieldType::String),
            ("score", FieldType::Number),
            ("tags", FieldType::Array),
            ("owner", FieldType::Pointer { target_class: "_User".into() }),
        ] {
            schema.set_field(name, FieldSpec::of(field_type));
        }
        schema
    }

    fn compile(where_clause: Value) -> (String, Vec<SqlValue>) {
        let mut params = Params::default();
        let sql = condition(&schema(), &parse_where(&where_clause).unwrap(), &mut params).unwrap();
        (sql, params.0)
    }

    #[test]
    fn identifiers_are_quoted_with_doubled_quotes() {
        assert_eq!(quote_identifier("Game"), "\"Game\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_identifier("_Join:users:_Role"), "\"_Join:users:_Role\"");
    }

    #[test]
    fn native_equality_binds_its_value() {
        let (sql, params) = compile(json!({"name": "x'; DROP TABLE \"Game\"; --"}));
        assert_eq!(sql, "\"Game\".\"name\" = ?1");
        assert_eq!(params, vec![SqlValue::Text("x'; DROP TABLE \"Game\"; --".into())]);
    }

    #[test]
    fn in_with_null_also_matches_absent_and_drops_mismatched_types() {
        let (sql, params) = compile(json!({"score": {"$in": [null, 1, "one", 2.5]}}));
        assert_eq!(sql, "(\"Game\".\"score\" IS NULL) OR (\"Game\".\"score\" IN (?1, ?2))");
        assert_eq!(params, vec![SqlValue::Integer(1), SqlValue::Real(2.5)]);
    }

    #[test]
    fn negations_treat_null_as_false() {
        let (sql, _) = compile(json!({"name": {"$ne": "a"}}));
        assert_eq!(sql, "NOT COALESCE((\"Game\".\"name\" = ?1), 0)");
    }

    #[test]
    fn type_mismatches_and_unknown_fields_are_constants() {
        assert_eq!(compile(json!({"score": "high"})).0, "0");
        assert_eq!(compile(json!({"score": {"$gt": "a"}})).0, "0");
        assert_eq!(compile(json!({"name": {"$all": ["a"]}})).0, "0");
        assert_eq!(compile(json!({"unknown": 1})).0, "0");
        assert_eq!(compile(json!({"unknown": null})).0, "1");
        assert_eq!(compile(json!({"unknown": {"$ne": 1}})).0, "1");
        assert_eq!(compile(json!({"name.sub": {"$exists": false}})).0, "1");
    }

    #[test]
    fn pointers_compare_by_object_id_of_their_target_class() {
        let pointer = json!({"__type": "Pointer", "className": "_User", "objectId": "u1"});
        let (sql, params) = compile(json!({"owner": pointer}));
        assert_eq!(sql, "\"Game\".\"owner\" = ?1");
        assert_eq!(params, vec![SqlValue::Text("u1".into())]);
        let elsewhere = json!({"__type": "Pointer", "className": "Other", "objectId": "u1"});
        assert_eq!(compile(json!({"owner": elsewhere})).0, "0");
    }

    #[test]
    fn arrays_contain_scalars_through_json_each() {
        let (sql, params) = compile(json!({"tags": "a"}));
        assert!(sql.contains("json_each(\"Game\".\"tags\", ?1) AS element"), "{sql}");
        assert!(sql.contains("element.type = 'text' AND element.value = ?2"), "{sql}");
        assert_eq!(params, vec![SqlValue::Text("$".into()), SqlValue::Text("a".into())]);
    }

    #[test]
    fn nested_paths_are_bound_json_paths() {
        let mut schema = schema();
        schema.set_field("o", FieldSpec::of(FieldType::Object));
        let mut params = Params::default();
        let filter = parse_where(&json!({"o.x.y": {"$exists": true}})).unwrap();
        let sql = condition(&schema, &filter, &mut params).unwrap();
        assert_eq!(sql, "COALESCE(json_type(\"Game\".\"o\", ?1), 'null') <> 'null'");
        assert_eq!(params.0, vec![SqlValue::Text("$.\"x\".\"y\"".into())]);
    }

    #[test]
    fn select_orders_skips_and_limits() {
        let query = Query {
            filter: Filter::everything(),
            order: parse_order("-score,name,unknown").unwrap(),
            skip: 5,
            limit: None,
            text_score: false,
        };
        let statement = select_statement(&schema(), &query).unwrap();
        assert_eq!(
            statement.sql,
            "SELECT * FROM \"Game\" WHERE 1 ORDER BY \"Game\".\"score\" DESC NULLS FIRST, \"Game\".\"name\" ASC NULLS LAST LIMIT -1 OFFSET ?1"
        );
        assert_eq!(statement.params.0, vec![SqlValue::Integer(5)]);
    }

    #[test]
    fn text_searches_bind_their_term_and_select_their_score() {
        let (sql, params) = compile(json!({"name": {"$text": {"$search": {"$term": "x'; --"}}}}));
        assert_eq!(sql, "reparse_text_match(\"Game\".\"name\", ?1, ?2, ?3, ?4)");
        assert_eq!(
            params,
            vec![
                SqlValue::Text("x'; --".into()),
                SqlValue::Text("english".into()),
                SqlValue::Integer(0),
                SqlValue::Integer(1)
            ]
        );
        assert_eq!(compile(json!({"score": {"$text": {"$search": {"$term": "x"}}}})).0, "0");
        let filter = parse_where(&json!({"name": {"$text": {"$search": {"$term": "x"}}}})).unwrap();
        let query =
            Query { order: parse_order("$score").unwrap(), text_score: true, ..Query::matching(filter) };
        let statement = select_statement(&schema(), &query).unwrap();
        assert!(
            statement.sql.starts_with(
                "SELECT *, reparse_text_score(\"Game\".\"name\", ?5, ?6, ?7, ?8) AS \"$score\" FROM"
            ),
            "{}",
            statement.sql
        );
        assert!(
            statement.sql.contains("ORDER BY reparse_text_score(\"Game\".\"name\", ?5, ?6, ?7, ?8) DESC"),
            "{}",
            statement.sql
        );
    }

    #[test]
    fn unresolved_filters_are_internal_errors() {
        let filter = parse_where(&json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "A", "objectId": "x"}, "key": "r"}})).unwrap();
        let error = condition(&schema(), &filter, &mut Params::default()).unwrap_err();
        assert_eq!(error.code, reparse_core::ErrorCode::InternalServerError);
    }
}
