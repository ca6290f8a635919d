//! Aggregation (`GET /aggregate/:className`): a pipeline of stages, or `distinct`, parsed once
//! into a closed AST (every check here, before any object is read) and evaluated over objects
//! in the REST encoding, so the answer is the same whatever the database.
//!
//! Accepted requests (parse-server's `AggregateRouter`; parameters come from the URL as JSON
//! text or from a `_method: GET` body):
//!
//! ```text
//! request   := { "pipeline": [stage, …] | { name: spec, … }, "where"?, option* }
//!            | { name: spec, …, "where"?, option* }        the parameters are the stages
//!            | { "distinct": field, "where"?, option* }
//! option    := "hint" | "readPreference" | "comment"       accepted, no effect (as on PostgreSQL)
//!            | "explain" | "rawValues" | "rawFieldNames"   false only: true is 102
//! stage     := { name: spec }                              exactly one key
//! $match    : where                     query.rs grammar; `_id`, `_created_at`, `_updated_at`
//!                                       are objectId, createdAt, updatedAt; a plain string is a
//!                                       date on a Date field, an object id on a Pointer field
//! $project  : { path: 0 | 1 | true | false | expr | { sub-projection }, … }
//! $group    : { "_id": expr, name: { accumulator: expr }, … }
//! accumulator := $sum | $avg | $min | $max | $push | $addToSet | $first | $last | $count ({})
//! $sort     : { path: 1 | -1, … }        missing/null last ascending, first descending
//! $skip     : n ≥ 0    $limit : n ≥ 1    $count : name
//! $unwind   : "$path" | { "path": "$path", "includeArrayIndex"?: name,
//!                         "preserveNullAndEmptyArrays"?: bool }
//! expr      := "$path" | literal | [expr, …] | { name: expr, … } | { "$literal": value }
//!            | { datePart: expr | [expr] | { "date": expr, "timezone"?: "UTC" } }
//!            | { "$add" | "$multiply": [expr, …] } | { "$subtract" | "$divide": [expr, expr] }
//! datePart  := $year | $month | $dayOfMonth | $hour | $minute | $second | $millisecond
//!            | $dayOfYear | $dayOfWeek | $week | $isoWeek | $isoWeekYear | $isoDayOfWeek
//! ```
//!
//! Any other stage, accumulator or operator is error 102 naming it. Names follow Parse, not
//! MongoDB: a group's `_id` comes out as `objectId` (null for an empty key, a pointer's object
//! id for a pointer), `createdAt`/`updatedAt` are ISO strings at the top level of a result,
//! other dates and pointers keep their REST encoding, and hidden keys (`_rperm`, …) are
//! dropped. `where` next to a pipeline filters before it (parse-server ignores it there).
//!
//! Evaluation ([`plan`], [`Evaluation`]): the leading `$match` stages become the storage
//! filter, and a `$sort` on plain columns followed by `$limit` becomes storage's order and
//! limit; the remaining stages run in memory on documents fed page by page, keeping only the
//! fields those stages read. Memory is then bounded by the page size for streaming stages,
//! by the number of groups for `$group`, and by every document that reaches a `$sort` that
//! could not be pushed down.

mod distinct;
mod evaluate;
mod expression;
mod ordering;
mod stages;

use std::collections::BTreeSet;

use serde_json::{Map, Value};

pub use distinct::{distinct_in_memory, distinct_values};
pub use evaluate::Evaluation;
pub use expression::{Arithmetic, DatePart, Expression};
pub use stages::{Accumulator, Group, Projection, Stage, Unwind};

use crate::error::{ErrorCode, ParseError, ParseResult};
use crate::query::{Constraint, FieldPath, Filter, Query, SortKey, parse_where};
use crate::schema::{ClassSchema, FieldType};
use crate::value::{date_value, parse_date, pointer_value};

/// An error for something valid elsewhere (MongoDB) that Reparse does not run: 102, naming it.
fn unsupported(message: impl Into<String>) -> ParseError {
    ParseError::invalid_query(message)
}

/// What `GET /aggregate/:className` asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum AggregateRequest {
    /// Run `stages` over the objects `filter` (the `where` parameter) matches.
    Pipeline { stages: Vec<Stage>, filter: Filter },
    /// The distinct values at `path` among the objects `filter` matches.
    Distinct { path: FieldPath, filter: Filter },
}

/// Parameters that are options rather than stages.
const OPTIONS: [&str; 6] = ["hint", "readPreference", "comment", "explain", "rawValues", "rawFieldNames"];

/// Options parse-server passes to MongoDB that have no meaning here; only their "off" value is
/// accepted, so a client never gets a plain answer where it asked for something else.
const REFUSED_WHEN_SET: [(&str, &str); 3] = [
    ("explain", "explain is not supported by /aggregate."),
    ("rawValues", "rawValues (MongoDB Extended JSON in pipelines) is not supported."),
    ("rawFieldNames", "rawFieldNames (MongoDB field names in pipelines) is not supported."),
];

impl AggregateRequest {
    /// Reads the request parameters.
    pub fn from_params(params: &Map<String, Value>) -> ParseResult<AggregateRequest> {
        let params: Map<String, Value> =
            params.iter().map(|(key, value)| (key.clone(), decode_parameter(key, value))).collect();
        for (option, message) in REFUSED_WHEN_SET {
            if is_set(params.get(option)) {
                return Err(unsupported(message));
            }
        }
        let filter = match params.get("where") {
            None | Some(Value::Null) => Filter::everything(),
            Some(Value::String(_)) => return Err(ParseError::invalid_json("invalid JSON in where")),
            Some(clause) => parse_where(clause)?,
        };
        let stage_specs = stage_specs(&params)?;
        let distinct = match params.get("distinct") {
            None | Some(Value::Null) => None,
            Some(Value::String(field)) => Some(field.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(other) => {
                return Err(ParseError::invalid_query(format!("distinct takes a field name, not {other}.")));
            }
        };
        let Some(field) = distinct else {
            let stages = stage_specs
                .iter()
                .map(|(name, spec)| stages::parse_stage(name, spec))
                .collect::<ParseResult<Vec<_>>>()?;
            return Ok(AggregateRequest::Pipeline { stages, filter });
        };
        if let Some((name, _)) = stage_specs.first() {
            return Err(ParseError::invalid_query(format!(
                "distinct cannot be combined with pipeline stages ({name}); filter with where."
            )));
        }
        if !distinct_field_is_valid(&field) {
            return Err(ParseError::new(ErrorCode::InvalidKeyName, format!("Invalid key name: {field}")));
        }
        Ok(AggregateRequest::Distinct { path: FieldPath::parse(&field), filter })
    }
}

/// A URL parameter is JSON text (parse-server's `JSONFromQuery`); so may a body value be.
/// Text that is not JSON stays text; names (`distinct`, `$count`) always stay text.
fn decode_parameter(key: &str, value: &Value) -> Value {
    match value {
        Value::String(text)
            if !matches!(key, "distinct" | "$count" | "hint" | "readPreference" | "comment") =>
        {
            serde_json::from_str(text).unwrap_or_else(|_| value.clone())
        }
        other => other.clone(),
    }
}

fn is_set(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(number)) => number.as_f64() != Some(0.0),
        Some(Value::String(text)) => !text.is_empty(),
        Some(_) => true,
    }
}

/// The `(name, spec)` of every stage: from `pipeline` (an array of one-key objects, or one
/// object of stages), or else every parameter that is not `where`, `distinct` or an option.
fn stage_specs(params: &Map<String, Value>) -> ParseResult<Vec<(String, Value)>> {
    let Some(pipeline) = params.get("pipeline") else {
        return Ok(params
            .iter()
            .filter(|(key, _)| {
                !matches!(key.as_str(), "where" | "distinct") && !OPTIONS.contains(&key.as_str())
            })
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect());
    };
    if let Some(extra) = params.keys().find(|key| {
        !matches!(key.as_str(), "pipeline" | "where" | "distinct") && !OPTIONS.contains(&key.as_str())
    }) {
        return Err(ParseError::invalid_query(format!(
            "Invalid parameter for aggregate: {extra} (stages go in pipeline)."
        )));
    }
    match pipeline {
        Value::Object(stages) => Ok(stages.iter().map(|(key, value)| (key.clone(), value.clone())).collect()),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Object(stage) if stage.len() == 1 => Ok(stage
                    .iter()
                    .next()
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .unwrap_or_default()),
                Value::Object(stage) => Err(ParseError::invalid_query(format!(
                    "Pipeline stages should only have one key but found {}.",
                    stage.keys().cloned().collect::<Vec<_>>().join(", ")
                ))),
                other => Err(ParseError::invalid_query(format!("Pipeline stages are objects, not {other}."))),
            })
            .collect(),
        other => Err(ParseError::invalid_query(format!(
            "pipeline takes an array of stages or an object of stages, not {other}."
        ))),
    }
}

/// parse-server's rule for query keys: `^[a-zA-Z][a-zA-Z0-9_.]*$`, no empty segment.
fn distinct_field_is_valid(field: &str) -> bool {
    field.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !field.split('.').any(str::is_empty)
}

/// How a pipeline runs: what storage is asked for, and what is left to do in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The leading `$match` stages as one filter, and a leading `$sort` + `$skip`/`$limit`
    /// as order, skip and limit when storage sorts those keys as [`Stage::Sort`] does.
    pub query: Query,
    /// The stages left to run in memory.
    pub stages: Vec<Stage>,
    /// The top-level fields those stages read; `None` when results carry whole objects.
    pub needed_fields: Option<BTreeSet<String>>,
}

/// Splits a pipeline between storage and memory for a class with `schema`, and gives
/// `$match` operands their field's type (MongoDB compares a string to a Date field as a date,
/// and parse-server matches a Pointer field by object id).
pub fn plan(stages: Vec<Stage>, schema: &ClassSchema) -> Plan {
    let mut stages: Vec<Stage> = stages
        .into_iter()
        .map(|stage| match stage {
            Stage::Match(filter) => Stage::Match(typed_operands(filter, schema)),
            other => other,
        })
        .collect();
    let leading_matches = stages.iter().take_while(|stage| matches!(stage, Stage::Match(_))).count();
    let mut filters: Vec<Filter> = stages
        .drain(..leading_matches)
        .filter_map(|stage| match stage {
            Stage::Match(filter) => Some(filter),
            _ => None,
        })
        .collect();
    let filter = if filters.len() == 1 { filters.remove(0) } else { Filter::And(filters) };
    let mut query = Query::matching(filter);
    if let Some(Stage::Sort(keys)) = stages.first()
        && keys.iter().all(|key| storage_sorts_alike(key, schema))
        && let (skip, Some(limit), window) = skip_and_limit(&stages[1..])
    {
        query.order = keys.clone();
        query.skip = skip;
        query.limit = Some(limit);
        stages.drain(..1 + window);
    }
    let needed_fields = needed_fields(&stages);
    Plan { query, stages, needed_fields }
}

/// The skip and limit of the `$skip`/`$limit` stages at the start of `stages`, composed, and
/// how many stages that is.
fn skip_and_limit(stages: &[Stage]) -> (u64, Option<u64>, usize) {
    let (mut skip, mut limit, mut window) = (0u64, None::<u64>, 0);
    for stage in stages {
        match stage {
            Stage::Skip(count) => {
                limit = limit.map(|limit| limit.saturating_sub(*count));
                skip = skip.saturating_add(*count);
            }
            Stage::Limit(count) => limit = Some(limit.map_or(*count, |limit| limit.min(*count))),
            _ => break,
        }
        window += 1;
    }
    (skip, limit, window)
}

/// Whether storage's `ORDER BY` on this key orders as [`Stage::Sort`] does: a column of one
/// scalar type (text compared bytewise, NULLs last ascending), or a field no object has.
fn storage_sorts_alike(key: &SortKey, schema: &ClassSchema) -> bool {
    if key.path.is_nested() {
        return false;
    }
    if matches!(key.path.field.as_str(), "objectId" | "createdAt" | "updatedAt") {
        return true;
    }
    match schema.field_type(&key.path.field) {
        None => true,
        Some(field_type) => matches!(
            field_type,
            FieldType::String
                | FieldType::Number
                | FieldType::Boolean
                | FieldType::Date
                | FieldType::Pointer { .. }
        ),
    }
}

/// The top-level fields the in-memory stages read before the first stage that reshapes
/// documents; `None` when documents reach the results whole.
fn needed_fields(stages: &[Stage]) -> Option<BTreeSet<String>> {
    let mut read = BTreeSet::new();
    for stage in stages {
        match stage {
            Stage::Match(filter) => read.extend(filter.fields().into_iter().map(|path| path.field.clone())),
            Stage::Sort(keys) => read.extend(keys.iter().map(|key| key.path.field.clone())),
            Stage::Unwind(unwind) => {
                read.insert(unwind.path.field.clone());
            }
            Stage::Skip(_) | Stage::Limit(_) => {}
            Stage::Project(projection) => {
                // An exclusion keeps every other field, so reading goes on past it.
                if let Some(fields) = projection.fields_read() {
                    read.extend(fields);
                    return Some(read);
                }
            }
            Stage::Group(group) => {
                read.extend(group.fields_read());
                return Some(read);
            }
            Stage::Count(_) => return Some(read),
        }
    }
    None
}

/// Gives plain-string operands of `$match` the type of their field: dates on Date fields and
/// timestamps, pointers on Pointer fields.
fn typed_operands(filter: Filter, schema: &ClassSchema) -> Filter {
    match filter {
        Filter::And(parts) => {
            Filter::And(parts.into_iter().map(|part| typed_operands(part, schema)).collect())
        }
        Filter::Or(parts) => Filter::Or(parts.into_iter().map(|part| typed_operands(part, schema)).collect()),
        Filter::Nor(parts) => {
            Filter::Nor(parts.into_iter().map(|part| typed_operands(part, schema)).collect())
        }
        Filter::Field { path, constraint } if !path.is_nested() => {
            let field_type = match path.field.as_str() {
                "createdAt" | "updatedAt" => Some(FieldType::Date),
                field => schema.field_type(field).cloned(),
            };
            let convert = |value: Value| -> Value {
                match (&field_type, value) {
                    (Some(FieldType::Date), Value::String(iso)) if parse_date(&iso).is_ok() => {
                        date_value(&iso)
                    }
                    (Some(FieldType::Pointer { target_class }), Value::String(id)) => {
                        pointer_value(target_class, &id)
                    }
                    (_, value) => value,
                }
            };
            let constraint = match constraint {
                Constraint::Eq(value) => Constraint::Eq(convert(value)),
                Constraint::Ne(value) => Constraint::Ne(convert(value)),
                Constraint::Lt(value) => Constraint::Lt(convert(value)),
                Constraint::Lte(value) => Constraint::Lte(convert(value)),
                Constraint::Gt(value) => Constraint::Gt(convert(value)),
                Constraint::Gte(value) => Constraint::Gte(convert(value)),
                Constraint::In(values) => Constraint::In(values.into_iter().map(convert).collect()),
                Constraint::Nin(values) => Constraint::Nin(values.into_iter().map(convert).collect()),
                other => other,
            };
            Filter::Field { path, constraint }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests;
