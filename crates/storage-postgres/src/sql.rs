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

use std::slice;

use chrono::{DateTime, Utc};
use reparse_core::matcher::{fold_case, matches};
use reparse_core::query::{Constraint, FieldPath, Filter, Query, SortKey};
use reparse_core::schema::ClassSchema;
use reparse_core::value::{Object, date_iso, parse_date, pointer_parts};
use reparse_core::{ParseError, ParseResult};
use serde_json::Value;
use tokio_postgres::types::ToSql;

use crate::columns::Codec;

const TRUE: &str = "true";
const FALSE: &str = "false";

/// Quotes an identifier: double quotes, embedded double quotes doubled.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Statement parameters, bound by number with an explicit type.
#[derive(Default)]
pub(crate) struct Params(Vec<Box<dyn ToSql + Sync + Send>>);

impl Params {
    fn push(&mut self, value: Box<dyn ToSql + Sync + Send>, cast: &str) -> String {
        self.0.push(value);
        format!("${}::{cast}", self.0.len())
    }

    pub(crate) fn text(&mut self, value: String) -> String {
        self.push(Box::new(value), "text")
    }

    pub(crate) fn float(&mut self, value: f64) -> String {
        self.push(Box::new(value), "float8")
    }

    pub(crate) fn boolean(&mut self, value: bool) -> String {
        self.push(Box::new(value), "boolean")
    }

    pub(crate) fn time(&mut self, value: DateTime<Utc>) -> String {
        self.push(Box::new(value), "timestamptz")
    }

    pub(crate) fn json(&mut self, value: Value) -> String {
        self.push(Box::new(value), "jsonb")
    }

    pub(crate) fn text_array(&mut self, value: Vec<String>) -> String {
        self.push(Box::new(value), "text[]")
    }

    pub(crate) fn integer(&mut self, value: i64) -> String {
        self.push(Box::new(value), "int8")
    }

    pub(crate) fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(|value| value.as_ref() as &(dyn ToSql + Sync)).collect()
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
    let mut compiler =
        FilterCompiler { instant: instant_function(table), schema, table, params: &mut params };
    let condition = compiler.filter(&query.filter)?;
    let order = compiler.order_by(&query.order);
    let mut sql = format!("SELECT * FROM {table} WHERE {condition}{order}");
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
    let mut condition =
        FilterCompiler { instant: instant_function(table), schema, table, params: &mut params }
            .filter(filter)?;
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
    let mut compiler =
        FilterCompiler { instant: instant_function(table), schema, table, params: &mut params };
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
    FilterCompiler { instant: instant_function(table), schema, table, params }.filter(filter)
}

/// `reparse_instant` in the schema of `table` (a qualified, quoted `"schema"."table"`).
fn instant_function(table: &str) -> String {
    let schema_end = table.find("\".\"").map_or(0, |at| at + 1);
    format!("{}.reparse_instant", &table[..schema_end])
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
    schema: &'a ClassSchema,
    table: &'a str,
    params: &'a mut Params,
}

impl FilterCompiler<'_> {
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

    /// ` ORDER BY …` (or nothing). Keys on paths no object has are dropped.
    fn order_by(&mut self, keys: &[SortKey]) -> String {
        let mut terms = Vec::new();
        for key in keys {
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
