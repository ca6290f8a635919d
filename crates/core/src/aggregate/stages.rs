//! The stages of a pipeline: their AST, their parsing (every check happens here, before any
//! object is read) and what each does to one document.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::expression::{Expression, parse_field_name, parse_path};
use super::ordering::{compare_optional, identity, number_value};
use super::unsupported;
use crate::error::{ParseError, ParseResult};
use crate::matcher::lookup;
use crate::query::{FieldPath, Filter, SortKey, parse_where};
use crate::value::Object;

/// One stage of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `$match`: keeps the documents the filter matches (the `where` grammar).
    Match(Filter),
    /// `$project`: reshapes each document.
    Project(Projection),
    /// `$group`: one document per distinct key, with accumulated fields.
    Group(Group),
    /// `$sort`: missing and null values last on ascending keys, first on descending ones.
    Sort(Vec<SortKey>),
    /// `$skip`
    Skip(u64),
    /// `$limit` (at least 1)
    Limit(u64),
    /// `$unwind`: one document per element of an array field.
    Unwind(Unwind),
    /// `$count`: one document `{name: n}` (none when no document reaches it).
    Count(String),
}

/// MongoDB stages Reparse does not run; named in the error, which is better than the "invalid
/// stage" a typo gets.
const UNSUPPORTED_STAGES: [&str; 22] = [
    "$addFields",
    "$bucket",
    "$bucketAuto",
    "$changeStream",
    "$collStats",
    "$densify",
    "$facet",
    "$fill",
    "$geoNear",
    "$graphLookup",
    "$indexStats",
    "$lookup",
    "$merge",
    "$out",
    "$redact",
    "$replaceRoot",
    "$replaceWith",
    "$sample",
    "$set",
    "$setWindowFields",
    "$sortByCount",
    "$unset",
];

/// Parses one stage, `{name: spec}`.
pub(crate) fn parse_stage(name: &str, spec: &Value) -> ParseResult<Stage> {
    Ok(match name {
        "$match" => Stage::Match(parse_match(spec)?),
        "$project" => Stage::Project(Projection::parse(spec)?),
        "$group" => Stage::Group(Group::parse(spec)?),
        "$sort" => Stage::Sort(parse_sort(spec)?),
        "$skip" => Stage::Skip(parse_count_argument(name, spec, 0)?),
        "$limit" => Stage::Limit(parse_count_argument(name, spec, 1)?),
        "$unwind" => Stage::Unwind(Unwind::parse(spec)?),
        "$count" => Stage::Count(parse_count_stage(spec)?),
        _ if !name.starts_with('$') => {
            return Err(ParseError::invalid_query(format!("Invalid aggregate stage '{name}'.")));
        }
        _ if UNSUPPORTED_STAGES.contains(&name) => {
            return Err(unsupported(format!("Aggregate stage '{name}' is not supported.")));
        }
        _ => return Err(unsupported(format!("Unknown aggregate stage '{name}'."))),
    })
}

// ---------------------------------------------------------------------------------------------
// $match

/// `$match` takes the `where` grammar, with MongoDB's names of the base fields.
fn parse_match(spec: &Value) -> ParseResult<Filter> {
    let Value::Object(_) = spec else {
        return Err(ParseError::invalid_query("$match takes an object (a query)."));
    };
    let renamed = rename_match_keys(spec)?;
    // parse-server answers every failure inside a pipeline with 102 (its AggregateRouter wraps
    // what MongoDB refuses, a bad operator among them), where a `where` would get 105 or 107.
    let filter = parse_where(&renamed).map_err(|error| ParseError::invalid_query(error.message))?;
    if !filter.is_resolved() {
        return Err(unsupported(
            "$inQuery, $notInQuery, $select, $dontSelect and $relatedTo are not supported in $match; use where.",
        ));
    }
    Ok(filter)
}

/// Renames `_id`/`_created_at`/`_updated_at`/`_p_<field>` keys (also inside `$or`, `$and`,
/// `$nor`) and refuses MongoDB's top-level operators the query grammar does not have.
fn rename_match_keys(spec: &Value) -> ParseResult<Value> {
    let Value::Object(map) = spec else {
        return Ok(spec.clone());
    };
    let mut renamed = Map::with_capacity(map.len());
    for (key, value) in map {
        match key.as_str() {
            "$or" | "$and" | "$nor" => {
                let value = match value {
                    Value::Array(items) => {
                        Value::Array(items.iter().map(rename_match_keys).collect::<ParseResult<_>>()?)
                    }
                    other => other.clone(),
                };
                renamed.insert(key.clone(), value);
            }
            "$relatedTo" => {
                renamed.insert(key.clone(), value.clone());
            }
            operator if operator.starts_with('$') => {
                return Err(unsupported(format!("{operator} is not supported in $match.")));
            }
            _ => {
                let (first, rest) = match key.split_once('.') {
                    Some((first, rest)) => (first, Some(rest)),
                    None => (key.as_str(), None),
                };
                let first = parse_field_name(first);
                let key = match rest {
                    Some(rest) => format!("{first}.{rest}"),
                    None => first.to_string(),
                };
                renamed.insert(key, value.clone());
            }
        }
    }
    Ok(Value::Object(renamed))
}

// ---------------------------------------------------------------------------------------------
// $sort, $skip, $limit, $count

fn parse_sort(spec: &Value) -> ParseResult<Vec<SortKey>> {
    let Value::Object(map) = spec else {
        return Err(ParseError::invalid_query("$sort takes an object of fields and directions."));
    };
    if map.is_empty() {
        return Err(ParseError::invalid_query("$sort must have at least one key."));
    }
    let mut keys = Vec::with_capacity(map.len());
    for (field, direction) in map {
        let path = parse_path(field, "$sort")?;
        let descending = match direction.as_f64() {
            Some(1.0) => false,
            Some(-1.0) => true,
            _ if direction.get("$meta").is_some() => {
                return Err(unsupported("$meta sort keys are not supported in $sort."));
            }
            _ => {
                return Err(ParseError::invalid_query(format!(
                    "$sort key ordering must be 1 (for ascending) or -1 (for descending), not {direction} for {field}."
                )));
            }
        };
        keys.push(SortKey::value(path, descending));
    }
    Ok(keys)
}

/// `$skip` (at least 0) and `$limit` (at least 1): whole numbers.
fn parse_count_argument(name: &str, spec: &Value, minimum: u64) -> ParseResult<u64> {
    let number = spec.as_f64().filter(|number| number.fract() == 0.0 && *number >= minimum as f64);
    match number {
        Some(number) => Ok(number.min(u64::MAX as f64) as u64),
        None if minimum == 0 => {
            Err(ParseError::invalid_query(format!("{name} takes a non-negative whole number, not {spec}.")))
        }
        None => Err(ParseError::invalid_query(format!("{name} takes a positive whole number, not {spec}."))),
    }
}

fn parse_count_stage(spec: &Value) -> ParseResult<String> {
    match spec {
        Value::String(name) if !name.is_empty() && !name.starts_with('$') && !name.contains('.') => {
            Ok(name.clone())
        }
        _ => Err(ParseError::invalid_query(format!(
            "$count takes a field name (not empty, no '$' prefix, no '.'), not {spec}."
        ))),
    }
}

/// Sorts documents by `keys` (a stable sort: ties keep their order).
pub(crate) fn sort_documents(documents: &mut [Object], keys: &[SortKey]) {
    documents.sort_by(|a, b| {
        for key in keys {
            let order = compare_optional(lookup(a, &key.path), lookup(b, &key.path));
            let order = if key.descending { order.reverse() } else { order };
            if order.is_ne() {
                return order;
            }
        }
        std::cmp::Ordering::Equal
    });
}

// ---------------------------------------------------------------------------------------------
// $project

/// A `$project` stage.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    /// Keeps the listed paths (`None`: copied) or computes them (`Some`), and `objectId`
    /// unless `keep_object_id` is false.
    Include { keep_object_id: bool, fields: Vec<(FieldPath, Option<Expression>)> },
    /// Removes the listed paths (`objectId` among them when it is excluded).
    Exclude { paths: Vec<FieldPath> },
}

impl Projection {
    pub(crate) fn parse(spec: &Value) -> ParseResult<Projection> {
        let Value::Object(map) = spec else {
            return Err(ParseError::invalid_query("$project takes an object of fields."));
        };
        if map.is_empty() {
            return Err(ParseError::invalid_query("$project specification must have at least one field."));
        }
        let mut entries = Vec::new();
        flatten_projection(map, "", &mut entries)?;
        check_path_collisions(&entries)?;
        let mut keep_object_id = None;
        let mut included = Vec::new();
        let mut excluded = Vec::new();
        for (path, entry) in entries {
            match entry {
                ProjectEntry::Flag(flag) if path.field == "objectId" && !path.is_nested() => {
                    keep_object_id = Some(flag);
                }
                ProjectEntry::Flag(true) => included.push((path, None)),
                ProjectEntry::Flag(false) => excluded.push(path),
                ProjectEntry::Computed(expression) => included.push((path, Some(expression))),
            }
        }
        match (included.first(), excluded.first()) {
            (Some((inclusion, _)), Some(exclusion)) => Err(ParseError::invalid_query(format!(
                "Invalid $project: cannot exclude {exclusion} in a projection that includes {inclusion}."
            ))),
            (None, Some(_)) => {
                if keep_object_id == Some(false) {
                    excluded.push(FieldPath::top("objectId"));
                }
                Ok(Projection::Exclude { paths: excluded })
            }
            (_, None) if included.is_empty() && keep_object_id == Some(false) => {
                Ok(Projection::Exclude { paths: vec![FieldPath::top("objectId")] })
            }
            (_, None) => {
                Ok(Projection::Include { keep_object_id: keep_object_id != Some(false), fields: included })
            }
        }
    }

    /// The top-level fields the projection reads, or `None` when it keeps every field.
    pub(crate) fn fields_read(&self) -> Option<Vec<String>> {
        match self {
            Projection::Include { keep_object_id, fields } => {
                let mut read = Vec::new();
                if *keep_object_id {
                    read.push("objectId".to_string());
                }
                for (path, expression) in fields {
                    match expression {
                        None => read.push(path.field.clone()),
                        Some(expression) => expression.collect_fields(&mut read),
                    }
                }
                Some(read)
            }
            Projection::Exclude { .. } => None,
        }
    }

    pub(crate) fn apply(&self, document: Object) -> ParseResult<Object> {
        match self {
            Projection::Include { keep_object_id, fields } => {
                let mut projected = Object::new();
                if *keep_object_id && let Some(id) = document.get("objectId") {
                    projected.insert("objectId".into(), id.clone());
                }
                for (path, expression) in fields {
                    match expression {
                        None => {
                            let kept =
                                document.get(&path.field).and_then(|value| included(value, &path.subpath));
                            if let Some(kept) = kept {
                                match projected.get_mut(&path.field) {
                                    Some(existing) => merge(existing, kept),
                                    None => {
                                        projected.insert(path.field.clone(), kept);
                                    }
                                }
                            }
                        }
                        Some(expression) => {
                            if let Some(value) = expression.evaluate(&document)? {
                                set_path(&mut projected, path, value);
                            }
                        }
                    }
                }
                Ok(projected)
            }
            Projection::Exclude { paths } => {
                let mut document = document;
                for path in paths {
                    remove_path(&mut document, path);
                }
                Ok(document)
            }
        }
    }
}

/// What including the path `rest` keeps of `value`, in MongoDB's shape: an object keeps only
/// that path, an array keeps its object elements (each projected, `{}` when it lacks the path)
/// and drops the others.
fn included(value: &Value, rest: &[String]) -> Option<Value> {
    let Some((key, deeper)) = rest.split_first() else {
        return Some(value.clone());
    };
    match value {
        Value::Object(map) => {
            let kept = included(map.get(key)?, deeper)?;
            Some(Value::Object(Map::from_iter([(key.clone(), kept)])))
        }
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter(|item| item.is_object())
                .map(|item| included(item, rest).unwrap_or_else(|| Value::Object(Map::new())))
                .collect(),
        )),
        _ => None,
    }
}

/// Merges what two included paths kept of one field (`a.b` and `a.c`): objects key by key,
/// arrays (the same array, projected twice) element by element.
fn merge(target: &mut Value, addition: Value) {
    match (target, addition) {
        (Value::Object(target), Value::Object(addition)) => {
            for (key, value) in addition {
                match target.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(target), Value::Array(addition)) if target.len() == addition.len() => {
            for (existing, value) in target.iter_mut().zip(addition) {
                merge(existing, value);
            }
        }
        (target, addition) => *target = addition,
    }
}

enum ProjectEntry {
    Flag(bool),
    Computed(Expression),
}

/// Flattens `{a: {b: 1}}` into `a.b: 1`; tells flags from computed values.
fn flatten_projection(
    map: &Map<String, Value>,
    prefix: &str,
    out: &mut Vec<(FieldPath, ProjectEntry)>,
) -> ParseResult<()> {
    for (key, value) in map {
        let full = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let path = parse_path(&full, "$project")?;
        match value {
            Value::Bool(flag) => out.push((path, ProjectEntry::Flag(*flag))),
            Value::Number(number) => out.push((path, ProjectEntry::Flag(number.as_f64() != Some(0.0)))),
            Value::Object(sub) if !sub.keys().any(|key| key.starts_with('$')) => {
                if sub.is_empty() {
                    return Err(ParseError::invalid_query(format!(
                        "An empty sub-projection is not a valid value in $project (at {full})."
                    )));
                }
                flatten_projection(sub, &full, out)?;
            }
            other => out.push((path, ProjectEntry::Computed(Expression::parse(other, "$project")?))),
        }
    }
    Ok(())
}

fn check_path_collisions(entries: &[(FieldPath, ProjectEntry)]) -> ParseResult<()> {
    let segments = |path: &FieldPath| -> Vec<String> {
        std::iter::once(path.field.clone()).chain(path.subpath.iter().cloned()).collect()
    };
    for (index, (first, _)) in entries.iter().enumerate() {
        for (second, _) in &entries[index + 1..] {
            let (a, b) = (segments(first), segments(second));
            let shorter = a.len().min(b.len());
            if a[..shorter] == b[..shorter] {
                return Err(ParseError::invalid_query(format!(
                    "Invalid $project: path collision at {second}."
                )));
            }
        }
    }
    Ok(())
}

/// Sets the value at a path, making the objects on the way (replacing what is not an object).
pub(crate) fn set_path(document: &mut Object, path: &FieldPath, value: Value) {
    let Some((last, parents)) = path.subpath.split_last() else {
        document.insert(path.field.clone(), value);
        return;
    };
    let mut current = document.entry(path.field.clone()).or_insert_with(|| Value::Object(Map::new()));
    for key in parents {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(map) = current else { return };
        current = map.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    if !current.is_object() {
        *current = Value::Object(Map::new());
    }
    if let Value::Object(map) = current {
        map.insert(last.clone(), value);
    }
}

fn remove_path(document: &mut Object, path: &FieldPath) {
    let Some((last, parents)) = path.subpath.split_last() else {
        document.remove(&path.field);
        return;
    };
    let mut current = document.get_mut(&path.field);
    for key in parents {
        current = match current {
            Some(Value::Object(map)) => map.get_mut(key),
            _ => return,
        };
    }
    if let Some(Value::Object(map)) = current {
        map.remove(last);
    }
}

// ---------------------------------------------------------------------------------------------
// $group

/// A `$group` stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The `_id` expression; its value (`objectId` in the output) identifies a group.
    pub key: Expression,
    /// Output fields: name, accumulator, and the expression accumulated.
    pub outputs: Vec<(String, Accumulator, Expression)>,
}

/// `$group` accumulators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accumulator {
    /// Sum of the numbers (others ignored); `{"$sum": 1}` counts, `{"$count": {}}` too.
    Sum,
    /// Mean of the numbers; null when there are none.
    Avg,
    /// Smallest/largest value (missing and null ignored); null when there are none.
    Min,
    Max,
    /// Every value, in input order (missing ones skipped).
    Push,
    /// Every distinct value, in the order first seen.
    AddToSet,
    /// The value of the first/last document (null when missing).
    First,
    Last,
}

impl Accumulator {
    fn parse(name: &str) -> Option<Accumulator> {
        Some(match name {
            "$sum" => Accumulator::Sum,
            "$avg" => Accumulator::Avg,
            "$min" => Accumulator::Min,
            "$max" => Accumulator::Max,
            "$push" => Accumulator::Push,
            "$addToSet" => Accumulator::AddToSet,
            "$first" => Accumulator::First,
            "$last" => Accumulator::Last,
            _ => return None,
        })
    }
}

impl Group {
    fn parse(spec: &Value) -> ParseResult<Group> {
        let Value::Object(map) = spec else {
            return Err(ParseError::invalid_query("$group takes an object."));
        };
        // parse-server's AggregateRouter checks, with its messages.
        if map.contains_key("objectId") {
            return Err(ParseError::invalid_query("Cannot use 'objectId' in aggregation stage $group."));
        }
        let Some(key) = map.get("_id") else {
            return Err(ParseError::invalid_query("Invalid parameter for query: group. Missing key _id"));
        };
        let key = Expression::parse(key, "$group _id")?;
        let mut outputs = Vec::new();
        for (name, spec) in map.iter().filter(|(name, _)| name.as_str() != "_id") {
            if name.contains('.') || name.starts_with('$') || name.is_empty() {
                return Err(ParseError::invalid_query(format!(
                    "$group field name '{name}' cannot contain '.' or start with '$'."
                )));
            }
            let operator = match spec {
                Value::Object(accumulator) if accumulator.len() == 1 => accumulator.iter().next(),
                _ => None,
            };
            let Some((operator, argument)) = operator else {
                return Err(ParseError::invalid_query(format!(
                    "The $group field '{name}' must be an accumulator object, such as {{\"$sum\": \"$field\"}}."
                )));
            };
            let context = format!("$group field '{name}'");
            if operator == "$count" {
                if argument.as_object().is_none_or(|arguments| !arguments.is_empty()) {
                    return Err(ParseError::invalid_query(format!("$count in {context} takes {{}}.")));
                }
                outputs.push((name.clone(), Accumulator::Sum, Expression::Literal(Value::from(1))));
                continue;
            }
            let Some(accumulator) = Accumulator::parse(operator) else {
                return Err(unsupported(format!("Accumulator {operator} in {context} is not supported.")));
            };
            if argument.is_array() {
                return Err(ParseError::invalid_query(format!(
                    "The {operator} accumulator in {context} is a unary operator: give it one expression."
                )));
            }
            outputs.push((name.clone(), accumulator, Expression::parse(argument, &context)?));
        }
        Ok(Group { key, outputs })
    }

    /// The top-level fields the group reads.
    pub(crate) fn fields_read(&self) -> Vec<String> {
        let mut read = Vec::new();
        self.key.collect_fields(&mut read);
        for (_, _, expression) in &self.outputs {
            expression.collect_fields(&mut read);
        }
        read
    }
}

/// The value of a group key: empty keys (`null`, `""`, `{}`, `[]`, or nothing) are null, and
/// a pointer is its object id, as parse-server answers on both of its databases.
pub(crate) fn group_key(value: Option<Value>) -> Value {
    let value = value.map(pointer_to_id);
    match value {
        None => Value::Null,
        Some(Value::String(text)) if text.is_empty() => Value::Null,
        Some(Value::Object(map)) if map.is_empty() => Value::Null,
        Some(Value::Array(items)) if items.is_empty() => Value::Null,
        Some(Value::Object(map)) => {
            Value::Object(map.into_iter().map(|(key, value)| (key, pointer_to_id(value))).collect())
        }
        Some(value) => value,
    }
}

fn pointer_to_id(value: Value) -> Value {
    if crate::value::type_tag(&value) == Some("Pointer")
        && let Some(id) = value.get("objectId")
    {
        return id.clone();
    }
    value
}

/// What one accumulator has gathered so far.
#[derive(Debug, Clone)]
pub(crate) enum Accumulation {
    Sum { integer: i64, float: f64, is_float: bool },
    Avg { total: f64, count: u64 },
    Extreme { best: Option<Value>, keep_larger: bool },
    Push(Vec<Value>),
    AddToSet { values: Vec<Value>, seen: HashSet<String> },
    First(Option<Value>),
    Last(Value),
}

impl Accumulation {
    pub(crate) fn new(accumulator: Accumulator) -> Accumulation {
        match accumulator {
            Accumulator::Sum => Accumulation::Sum { integer: 0, float: 0.0, is_float: false },
            Accumulator::Avg => Accumulation::Avg { total: 0.0, count: 0 },
            Accumulator::Min => Accumulation::Extreme { best: None, keep_larger: false },
            Accumulator::Max => Accumulation::Extreme { best: None, keep_larger: true },
            Accumulator::Push => Accumulation::Push(Vec::new()),
            Accumulator::AddToSet => Accumulation::AddToSet { values: Vec::new(), seen: HashSet::new() },
            Accumulator::First => Accumulation::First(None),
            Accumulator::Last => Accumulation::Last(Value::Null),
        }
    }

    pub(crate) fn add(&mut self, value: Option<Value>) {
        match self {
            Accumulation::Sum { integer, float, is_float } => {
                let Some(Value::Number(number)) = &value else { return };
                match (number.as_i64(), *is_float) {
                    (Some(next), false) => match integer.checked_add(next) {
                        Some(sum) => *integer = sum,
                        None => {
                            *float = *integer as f64 + next as f64;
                            *is_float = true;
                        }
                    },
                    _ => {
                        if !*is_float {
                            *float = *integer as f64;
                            *is_float = true;
                        }
                        *float += number.as_f64().unwrap_or_default();
                    }
                }
            }
            Accumulation::Avg { total, count } => {
                if let Some(Value::Number(number)) = &value {
                    *total += number.as_f64().unwrap_or_default();
                    *count += 1;
                }
            }
            Accumulation::Extreme { best, keep_larger } => {
                let Some(value) = value.filter(|value| !value.is_null()) else { return };
                let replace = match best {
                    None => true,
                    Some(current) => {
                        let order = super::ordering::compare_values(&value, current);
                        if *keep_larger { order.is_gt() } else { order.is_lt() }
                    }
                };
                if replace {
                    *best = Some(value);
                }
            }
            Accumulation::Push(values) => values.extend(value),
            Accumulation::AddToSet { values, seen } => {
                if let Some(value) = value
                    && seen.insert(identity(&value))
                {
                    values.push(value);
                }
            }
            Accumulation::First(first) => {
                if first.is_none() {
                    *first = Some(value.unwrap_or(Value::Null));
                }
            }
            Accumulation::Last(last) => *last = value.unwrap_or(Value::Null),
        }
    }

    pub(crate) fn result(self) -> Value {
        match self {
            Accumulation::Sum { integer, is_float: false, .. } => Value::from(integer),
            Accumulation::Sum { float, .. } => number_value(float),
            Accumulation::Avg { count: 0, .. } => Value::Null,
            Accumulation::Avg { total, count } => number_value(total / count as f64),
            Accumulation::Extreme { best, .. } => best.unwrap_or(Value::Null),
            Accumulation::Push(values) | Accumulation::AddToSet { values, .. } => Value::Array(values),
            Accumulation::First(first) => first.unwrap_or(Value::Null),
            Accumulation::Last(last) => last,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// $unwind

/// An `$unwind` stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Unwind {
    pub path: FieldPath,
    /// A field to hold the element's index (null for a document kept whole).
    pub include_array_index: Option<String>,
    /// Keeps documents whose array is missing, null or empty (without the field's value).
    pub preserve_null_and_empty_arrays: bool,
}

impl Unwind {
    fn parse(spec: &Value) -> ParseResult<Unwind> {
        let (path, options) = match spec {
            Value::String(path) => (path, None),
            Value::Object(options) => match options.get("path") {
                Some(Value::String(path)) => (path, Some(options)),
                _ => return Err(ParseError::invalid_query("$unwind requires a path.")),
            },
            _ => {
                return Err(ParseError::invalid_query(
                    "$unwind takes a path (\"$field\") or an object with a path.",
                ));
            }
        };
        let Some(path) = path.strip_prefix('$') else {
            return Err(ParseError::invalid_query("$unwind path must be prefixed by '$'."));
        };
        let path = parse_path(path, "$unwind")?;
        let mut unwind = Unwind { path, include_array_index: None, preserve_null_and_empty_arrays: false };
        for (key, value) in options.into_iter().flatten() {
            match (key.as_str(), value) {
                ("path", _) => {}
                ("preserveNullAndEmptyArrays", Value::Bool(flag)) => {
                    unwind.preserve_null_and_empty_arrays = *flag
                }
                ("includeArrayIndex", Value::String(name))
                    if !name.is_empty() && !name.starts_with('$') && !name.contains('.') =>
                {
                    unwind.include_array_index = Some(name.clone());
                }
                (key, value) => {
                    return Err(ParseError::invalid_query(format!("Invalid $unwind option {key}: {value}.")));
                }
            }
        }
        Ok(unwind)
    }

    pub(crate) fn apply(&self, document: Object) -> Vec<Object> {
        let value = lookup(&document, &self.path).cloned();
        let with_index = |mut document: Object, index: Value| {
            if let Some(name) = &self.include_array_index {
                document.insert(name.clone(), index);
            }
            document
        };
        match value {
            Some(Value::Array(items)) if !items.is_empty() => items
                .into_iter()
                .enumerate()
                .map(|(index, item)| {
                    let mut copy = document.clone();
                    set_path(&mut copy, &self.path, item);
                    with_index(copy, Value::from(index as u64))
                })
                .collect(),
            // A value that is not an array is a one-element array (MongoDB's rule).
            Some(value) if !value.is_array() => vec![with_index(document, Value::Null)],
            _ if self.preserve_null_and_empty_arrays => {
                let mut document = document;
                if matches!(lookup(&document, &self.path), Some(Value::Array(_))) {
                    remove_path(&mut document, &self.path);
                }
                vec![with_index(document, Value::Null)]
            }
            _ => Vec::new(),
        }
    }
}
