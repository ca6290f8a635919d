//! The query AST: a Parse `where` clause parsed once into a closed, typed tree.
//!
//! Accepted grammar. Anything else fails at parse time with parse-server's code: 102
//! (`InvalidQuery`) for a malformed structure, 107 (`InvalidJson`) for a bad operator or operand,
//! 105 (`InvalidKeyName`) for a key outside `^[a-zA-Z][a-zA-Z0-9_.]*$`.
//!
//! ```text
//! where      := { clause* }
//! clause     := "$or"  : [where, …]          (at least one)
//!             | "$and" : [where, …]
//!             | "$nor" : [where, …]
//!             | "$relatedTo" : { "object": Pointer, "key": field }
//!             | path : value                  equality (array fields: "contains")
//!             | path : { op+ }                 several ops on one path are ANDed
//! path       := field ( "." subkey )*          subkeys reach into Object fields
//! op         := "$eq" | "$ne" | "$lt" | "$lte" | "$gt" | "$gte" : value
//!             | "$in" | "$nin" | "$all" | "$containedBy" : [value, …]
//!             | "$exists" : bool
//!             | "$regex" : string [ "$options" : "imxs"* ]
//!             | "$text" : { "$search": { "$term": string, "$language"?, "$caseSensitive"?,
//!                                        "$diacriticSensitive"? } }   (see `crate::text`;
//!                                                         at most one `$text` per `where`)
//!             | "$inQuery" | "$notInQuery" : subquery
//!             | "$select" | "$dontSelect" : { "query": subquery, "key": field }
//!             | "$nearSphere" : GeoPoint [ maxdist : number ≥ 0 ]   finds sort nearest first
//!             | "$within" : { "$box": [GeoPoint, GeoPoint] }     south-west, north-east
//!             | "$geoWithin" : { "$polygon": [point, point, point, …] | Polygon }
//!             | "$geoWithin" : { "$centerSphere": [point, radians] }
//!             | "$geoIntersects" : { "$point": GeoPoint }        a Polygon containing it
//! maxdist    := "$maxDistance" | "$maxDistanceInRadians"        (radians)
//!             | "$maxDistanceInMiles" | "$maxDistanceInKilometers"
//! point      := GeoPoint | [longitude, latitude]                 (GeoJSON's order, as parse-server)
//! subquery   := { "className": name, "where": where, "limit"?, "skip"?, "order"? }
//! order      := key ( "," key )*     key := "-"? path | "$score" | "-$score"
//! value      := JSON in Parse's REST encoding (Date, Pointer, GeoPoint, … by `__type`)
//! ```
//!
//! Geo operands are validated as parse-server does (see [`crate::geo`]): malformed ones are
//! 107, coordinates out of range are code 1 (parse-server throws a TypeError there). A
//! Polygon given to `$polygon` has its `coordinates` read as `[longitude, latitude]` too, as
//! parse-server reads them (a stored Polygon's are `[latitude, longitude]`).
//!
//! `$inQuery`, `$notInQuery`, `$select`, `$dontSelect` and `$relatedTo` need other queries run
//! first; the server resolves them into `$in`/`$nin` on concrete values before a query reaches
//! storage or the matcher (see [`Filter::is_resolved`]).

use serde_json::{Map, Value};

use crate::error::{ErrorCode, ParseError, ParseResult};
use crate::geo::{self, GeoPoint, GeoRegion};
use crate::text::TextSearch;

/// The `order` and `keys` entry that stands for the text score of the query's `$text`.
pub const TEXT_SCORE_KEY: &str = "$score";

/// A path to a value: a top-level field and an optional path inside an Object field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    pub field: String,
    pub subpath: Vec<String>,
}

impl FieldPath {
    pub fn top(field: &str) -> FieldPath {
        FieldPath { field: field.to_string(), subpath: Vec::new() }
    }

    /// Splits `a.b.c` into field `a` and subpath `[b, c]`.
    pub fn parse(path: &str) -> FieldPath {
        let mut parts = path.split('.');
        let field = parts.next().unwrap_or_default().to_string();
        FieldPath { field, subpath: parts.map(str::to_string).collect() }
    }

    /// The path as written in a query (`a.b.c`).
    pub fn dotted(&self) -> String {
        let mut text = self.field.clone();
        for key in &self.subpath {
            text.push('.');
            text.push_str(key);
        }
        text
    }

    pub fn is_nested(&self) -> bool {
        !self.subpath.is_empty()
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.field)?;
        for part in &self.subpath {
            write!(f, ".{part}")?;
        }
        Ok(())
    }
}

/// A boolean tree of constraints.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// All must hold (`$and`, or several keys in one `where`). Empty matches everything.
    And(Vec<Filter>),
    /// At least one must hold (`$or`).
    Or(Vec<Filter>),
    /// None may hold (`$nor`).
    Nor(Vec<Filter>),
    /// A constraint on one path.
    Field { path: FieldPath, constraint: Constraint },
    /// Objects in the relation `key` of the object `owner` (`$relatedTo`). Unresolved form.
    RelatedTo { owner_class: String, owner_id: String, key: String },
}

impl Filter {
    /// The filter that matches every object.
    pub fn everything() -> Filter {
        Filter::And(Vec::new())
    }

    /// Whether no sub-query or relation lookup remains (storage and the matcher need this).
    pub fn is_resolved(&self) -> bool {
        match self {
            Filter::And(parts) | Filter::Or(parts) | Filter::Nor(parts) => {
                parts.iter().all(Filter::is_resolved)
            }
            Filter::Field { constraint, .. } => !matches!(
                constraint,
                Constraint::InQuery(_)
                    | Constraint::NotInQuery(_)
                    | Constraint::Select { .. }
                    | Constraint::DontSelect { .. }
            ),
            Filter::RelatedTo { .. } => false,
        }
    }

    /// The `$text` constraint, if any (a `where` holds at most one), with its path.
    pub fn text_search(&self) -> Option<(&FieldPath, &TextSearch)> {
        match self {
            Filter::And(parts) | Filter::Or(parts) | Filter::Nor(parts) => {
                parts.iter().find_map(Filter::text_search)
            }
            Filter::Field { path, constraint: Constraint::Text(search) } => Some((path, search)),
            Filter::Field { .. } | Filter::RelatedTo { .. } => None,
        }
    }

    fn count_text_searches(&self) -> usize {
        match self {
            Filter::And(parts) | Filter::Or(parts) | Filter::Nor(parts) => {
                parts.iter().map(Filter::count_text_searches).sum()
            }
            Filter::Field { constraint: Constraint::Text(_), .. } => 1,
            Filter::Field { .. } | Filter::RelatedTo { .. } => 0,
        }
    }

    /// Every constrained top-level field, for schema checks.
    pub fn fields(&self) -> Vec<&FieldPath> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a FieldPath>) {
        match self {
            Filter::And(parts) | Filter::Or(parts) | Filter::Nor(parts) => {
                parts.iter().for_each(|part| part.collect_fields(out))
            }
            Filter::Field { path, .. } => out.push(path),
            Filter::RelatedTo { .. } => {}
        }
    }
}

/// One operator applied to a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// Equality; on an Array field it means "the array contains the value".
    Eq(Value),
    Ne(Value),
    Lt(Value),
    Lte(Value),
    Gt(Value),
    Gte(Value),
    /// On an Array field: the array contains at least one of them.
    In(Vec<Value>),
    /// On an Array field: the array contains none of them.
    Nin(Vec<Value>),
    Exists(bool),
    /// The array contains all of them.
    All(Vec<Value>),
    /// Every element of the array is one of them.
    ContainedBy(Vec<Value>),
    Regex {
        pattern: String,
        options: String,
    },
    /// A String value that the full-text search matches (`$text`).
    Text(TextSearch),
    /// A string equal to this one ignoring case (Unicode lower-casing on both sides). Never
    /// parsed from a `where`: the server uses it to keep usernames and emails unique ignoring
    /// case, as parse-server does.
    EqIgnoringCase(String),
    /// The pointer points at an object matched by the sub-query. Unresolved form.
    InQuery(Box<SubQuery>),
    NotInQuery(Box<SubQuery>),
    /// The value equals `key` of some object matched by the sub-query. Unresolved form.
    Select {
        query: Box<SubQuery>,
        key: String,
    },
    DontSelect {
        query: Box<SubQuery>,
        key: String,
    },
    /// `$nearSphere` (with its `$maxDistance…`): a GeoPoint at most `max_distance` radians
    /// from `point` (at any distance when `None`). A find also sorts by that distance, nearest
    /// first ([`Query::find`]).
    NearSphere {
        point: GeoPoint,
        max_distance: Option<f64>,
    },
    /// `$within: {$box}`, `$geoWithin: {$polygon | $centerSphere}`: a GeoPoint in the region.
    Within(GeoRegion),
    /// `$geoIntersects: {$point}`: a Polygon containing the point, its boundary included.
    PolygonContains(GeoPoint),
}

/// A query on another class, nested in a `where`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubQuery {
    pub class_name: String,
    pub filter: Filter,
    pub order: Vec<SortKey>,
    pub skip: u64,
    pub limit: Option<u64>,
}

/// One key of `order`.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub path: FieldPath,
    pub descending: bool,
    /// What is compared at `path`.
    pub by: SortBy,
}

/// What a [`SortKey`] compares.
#[derive(Debug, Clone, PartialEq)]
pub enum SortBy {
    /// The value itself (every key of a request's `order`).
    Value,
    /// The distance of the GeoPoint there from this point (what `$nearSphere` orders by); an
    /// object without a GeoPoint has no distance and sorts like a missing value.
    DistanceFrom(GeoPoint),
    /// The text score of the filter's `$text` (`order=$score`); the key's path is `$score`.
    TextScore,
}

impl SortKey {
    /// A key on the value at `path`.
    pub fn value(path: FieldPath, descending: bool) -> SortKey {
        SortKey { path, descending, by: SortBy::Value }
    }

    /// Nearest to `point` first.
    pub fn nearest_first(path: FieldPath, point: GeoPoint) -> SortKey {
        SortKey { path, descending: false, by: SortBy::DistanceFrom(point) }
    }
}

impl SortKey {
    /// Best text score first: what parse-server makes of both `$score` and `-$score`.
    pub fn text_score() -> SortKey {
        SortKey { path: FieldPath::top(TEXT_SCORE_KEY), descending: true, by: SortBy::TextScore }
    }

    /// Whether this key orders by the text score rather than by a field.
    pub fn is_text_score(&self) -> bool {
        self.by == SortBy::TextScore
    }
}

/// What storage is asked to find.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filter: Filter,
    pub order: Vec<SortKey>,
    pub skip: u64,
    /// `None`: no limit (internal callers only; requests always carry one).
    pub limit: Option<u64>,
    /// Whether each found object carries the text score of the filter's `$text` constraint
    /// in [`crate::text::TEXT_SCORE_FIELD`] (`keys=$score`); 0 without such a constraint.
    pub text_score: bool,
}

impl Query {
    pub fn matching(filter: Filter) -> Query {
        Query { filter, order: Vec::new(), skip: 0, limit: None, text_score: false }
    }

    /// The query of a find: `order` as requested, then the distance from the point of each
    /// `$nearSphere` in [`nearness_order`], nearest first. An explicit order takes precedence
    /// over the distance, as the REST guide says (MongoDB's behaviour; parse-server's
    /// PostgreSQL adapter drops the explicit order instead); the distance still breaks its ties.
    pub fn find(filter: Filter, mut order: Vec<SortKey>, skip: u64, limit: Option<u64>) -> Query {
        order.extend(nearness_order(&filter));
        Query { filter, order, skip, limit, text_score: false }
    }
}

/// The distance keys a `$nearSphere` gives a find: one per `$nearSphere` that every result
/// satisfies, i.e. reached from the top through `$and`s (and a `where`'s keys) only, in the
/// order written. One under `$or` or `$nor` filters without ordering, as on parse-server
/// (MongoDB refuses it there; its PostgreSQL adapter ignores the ordering).
pub fn nearness_order(filter: &Filter) -> Vec<SortKey> {
    match filter {
        Filter::And(parts) => parts.iter().flat_map(nearness_order).collect(),
        Filter::Field { path, constraint: Constraint::NearSphere { point, .. } } => {
            vec![SortKey::nearest_first(path.clone(), *point)]
        }
        _ => Vec::new(),
    }
}

/// Parses a `where` object.
pub fn parse_where(value: &Value) -> ParseResult<Filter> {
    let Value::Object(map) = value else {
        return Err(ParseError::invalid_query("where must be an object"));
    };
    let filter = parse_where_map(map)?;
    // The text score belongs to one search (MongoDB allows one `$text` per query too).
    if filter.count_text_searches() > 1 {
        return Err(ParseError::invalid_query("bad $text: a query can have one $text constraint only"));
    }
    Ok(filter)
}

fn parse_where_map(map: &Map<String, Value>) -> ParseResult<Filter> {
    let mut parts = Vec::with_capacity(map.len());
    for (key, value) in map {
        parts.push(parse_clause(key, value)?);
    }
    Ok(if parts.len() == 1 { parts.pop().unwrap_or_else(Filter::everything) } else { Filter::And(parts) })
}

fn parse_clause(key: &str, value: &Value) -> ParseResult<Filter> {
    match key {
        "$or" | "$and" | "$nor" => {
            let Some(items) = value.as_array() else {
                return Err(ParseError::invalid_query(format!("Bad {key} format - use an array value.")));
            };
            if items.is_empty() {
                return Err(ParseError::invalid_query(format!(
                    "Bad {key} format - use an array of at least 1 value."
                )));
            }
            let subs = items.iter().map(parse_where).collect::<ParseResult<Vec<_>>>()?;
            Ok(match key {
                "$or" => Filter::Or(subs),
                "$and" => Filter::And(subs),
                _ => Filter::Nor(subs),
            })
        }
        "$relatedTo" => {
            let object = value.get("object");
            let owner = object.and_then(crate::value::pointer_parts);
            let relation_key = value.get("key").and_then(Value::as_str);
            match (owner, relation_key) {
                (Some((owner_class, owner_id)), Some(relation_key)) => Ok(Filter::RelatedTo {
                    owner_class: owner_class.to_string(),
                    owner_id: owner_id.to_string(),
                    key: relation_key.to_string(),
                }),
                _ => Err(ParseError::invalid_query("bad $relatedTo: needs object (a pointer) and key")),
            }
        }
        // parse-server's `validateQuery`: permissions are the server's filter, not the client's.
        "ACL" => Err(ParseError::invalid_query("Cannot query on ACL.")),
        _ if !query_key_is_valid(key) => {
            Err(ParseError::new(ErrorCode::InvalidKeyName, format!("Invalid key name: {key}")))
        }
        _ => parse_field_clause(key, value),
    }
}

/// parse-server's rule for keys in a `where`: `^[a-zA-Z][a-zA-Z0-9_.]*$`, no empty segment.
fn query_key_is_valid(key: &str) -> bool {
    key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !key.split('.').any(str::is_empty)
}

fn parse_field_clause(key: &str, value: &Value) -> ParseResult<Filter> {
    let path = FieldPath::parse(key);
    let operators = value.as_object().filter(|map| map.keys().next().is_some_and(|k| k.starts_with('$')));
    let Some(operators) = operators else {
        return Ok(Filter::Field { path, constraint: Constraint::Eq(value.clone()) });
    };
    let mut constraints = Vec::new();
    for (op, argument) in operators {
        if op == "$options" {
            if !operators.contains_key("$regex") {
                return Err(ParseError::invalid_json("bad constraint: $options"));
            }
            continue;
        }
        // The `$maxDistance…` keys belong to the `$nearSphere` beside them.
        if geo::is_max_distance_operator(op) {
            if !operators.contains_key("$nearSphere") {
                return Err(ParseError::invalid_query(format!("bad {op}: it needs $nearSphere")));
            }
            continue;
        }
        constraints.push(parse_operator(op, argument, operators)?);
    }
    let mut filters: Vec<Filter> =
        constraints.into_iter().map(|constraint| Filter::Field { path: path.clone(), constraint }).collect();
    Ok(if filters.len() == 1 { filters.remove(0) } else { Filter::And(filters) })
}

fn value_list(op: &str, argument: &Value) -> ParseResult<Vec<Value>> {
    argument.as_array().cloned().ok_or_else(|| ParseError::invalid_json(format!("bad {op} value")))
}

fn parse_operator(op: &str, argument: &Value, operators: &Map<String, Value>) -> ParseResult<Constraint> {
    Ok(match op {
        "$eq" => Constraint::Eq(argument.clone()),
        "$ne" => Constraint::Ne(argument.clone()),
        "$lt" => Constraint::Lt(comparable(op, argument)?),
        "$lte" => Constraint::Lte(comparable(op, argument)?),
        "$gt" => Constraint::Gt(comparable(op, argument)?),
        "$gte" => Constraint::Gte(comparable(op, argument)?),
        "$in" => Constraint::In(value_list(op, argument)?),
        "$nin" => Constraint::Nin(value_list(op, argument)?),
        "$all" => Constraint::All(value_list(op, argument)?),
        "$containedBy" => Constraint::ContainedBy(value_list(op, argument)?),
        "$exists" => match argument {
            Value::Bool(exists) => Constraint::Exists(*exists),
            _ => return Err(ParseError::invalid_json("bad $exists value")),
        },
        "$regex" => {
            let Some(pattern) = argument.as_str() else {
                return Err(ParseError::invalid_json("bad regex"));
            };
            let options = match operators.get("$options") {
                None => String::new(),
                Some(Value::String(options)) if options.chars().all(|c| "imxs".contains(c)) => {
                    options.clone()
                }
                Some(other) => {
                    let shown = other.as_str().map(str::to_string).unwrap_or_else(|| other.to_string());
                    return Err(ParseError::invalid_query(format!("Bad $options value for query: {shown}")));
                }
            };
            check_regex(pattern, &options)?;
            Constraint::Regex { pattern: pattern.to_string(), options }
        }
        "$text" => Constraint::Text(TextSearch::parse(argument)?),
        "$inQuery" => Constraint::InQuery(Box::new(parse_subquery(op, argument)?)),
        "$notInQuery" => Constraint::NotInQuery(Box::new(parse_subquery(op, argument)?)),
        "$select" | "$dontSelect" => {
            let (Some(query), Some(key)) =
                (argument.get("query"), argument.get("key").and_then(Value::as_str))
            else {
                return Err(ParseError::invalid_query(format!("improper usage of {op}")));
            };
            let query = Box::new(parse_subquery(op, query)?);
            let key = key.to_string();
            if op == "$select" {
                Constraint::Select { query, key }
            } else {
                Constraint::DontSelect { query, key }
            }
        }
        "$nearSphere" => {
            let (point, max_distance) = geo::parse_near_sphere(argument, operators)?;
            Constraint::NearSphere { point, max_distance }
        }
        "$within" => Constraint::Within(geo::parse_within(argument)?),
        "$geoWithin" => Constraint::Within(geo::parse_geo_within(argument)?),
        "$geoIntersects" => Constraint::PolygonContains(geo::parse_geo_intersects(argument)?),
        other => return Err(ParseError::invalid_json(format!("bad constraint: {other}"))),
    })
}

/// Ordering operators take scalars, dates or pointers, never lists or plain objects.
fn comparable(op: &str, argument: &Value) -> ParseResult<Value> {
    match argument {
        Value::Array(_) => Err(ParseError::invalid_json(format!("bad {op} value"))),
        Value::Object(map) if !map.contains_key("__type") => {
            Err(ParseError::invalid_json(format!("bad {op} value")))
        }
        _ => Ok(argument.clone()),
    }
}

/// Rejects patterns the engine cannot run, at parse time.
fn check_regex(pattern: &str, options: &str) -> ParseResult<()> {
    crate::matcher::compile_regex(pattern, options).map(|_| ())
}

fn parse_subquery(op: &str, value: &Value) -> ParseResult<SubQuery> {
    let Some(class_name) = value.get("className").and_then(Value::as_str) else {
        return Err(ParseError::invalid_query(format!("improper usage of {op}")));
    };
    let filter = match value.get("where") {
        Some(filter) => parse_where(filter)?,
        None => Filter::everything(),
    };
    let order = match value.get("order") {
        Some(Value::String(order)) => parse_order(order)?,
        _ => Vec::new(),
    };
    Ok(SubQuery {
        class_name: class_name.to_string(),
        filter,
        order,
        skip: value.get("skip").and_then(Value::as_u64).unwrap_or(0),
        limit: value.get("limit").and_then(Value::as_u64),
    })
}

/// Parses `order` (`"score,-name"`).
pub fn parse_order(order: &str) -> ParseResult<Vec<SortKey>> {
    let mut keys = Vec::new();
    for raw in order.split(',').map(str::trim).filter(|key| !key.is_empty()) {
        if raw.strip_prefix('-').unwrap_or(raw) == TEXT_SCORE_KEY {
            keys.push(SortKey::text_score());
            continue;
        }
        let (descending, name) = match raw.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, raw),
        };
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !valid {
            return Err(ParseError::invalid_key_name(name));
        }
        keys.push(SortKey::value(FieldPath::parse(name), descending));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(path: &str, constraint: Constraint) -> Filter {
        Filter::Field { path: FieldPath::parse(path), constraint }
    }

    #[test]
    fn parses_equality_and_operators() {
        let filter = parse_where(&json!({"a": 1, "b": {"$gt": 2, "$lt": 5}})).unwrap();
        assert_eq!(
            filter,
            Filter::And(vec![
                field("a", Constraint::Eq(json!(1))),
                Filter::And(vec![field("b", Constraint::Gt(json!(2))), field("b", Constraint::Lt(json!(5)))]),
            ])
        );
        let typed = json!({"__type": "Pointer", "className": "A", "objectId": "x"});
        assert_eq!(parse_where(&json!({"p": typed})).unwrap(), field("p", Constraint::Eq(typed)));
        assert_eq!(
            parse_where(&json!({"o.x.y": {"$exists": true}})).unwrap(),
            Filter::Field {
                path: FieldPath { field: "o".into(), subpath: vec!["x".into(), "y".into()] },
                constraint: Constraint::Exists(true)
            }
        );
    }

    #[test]
    fn parses_boolean_combinators_and_subqueries() {
        let filter = parse_where(&json!({"$or": [{"a": 1}, {"b": 2}]})).unwrap();
        assert!(matches!(filter, Filter::Or(ref parts) if parts.len() == 2));
        let sub =
            parse_where(&json!({"post": {"$inQuery": {"className": "Post", "where": {"n": 1}}}})).unwrap();
        assert!(!sub.is_resolved());
        let select =
            parse_where(&json!({"t": {"$select": {"query": {"className": "A"}, "key": "k"}}})).unwrap();
        assert!(matches!(select, Filter::Field { constraint: Constraint::Select { .. }, .. }));
        let related = parse_where(&json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "A", "objectId": "x"}, "key": "r"}})).unwrap();
        assert!(!related.is_resolved());
    }

    #[test]
    fn rejects_bad_queries_with_parse_server_codes() {
        let cases = [
            (json!({"a": {"$bogus": 1}}), ErrorCode::InvalidJson),
            (json!({"$or": {}}), ErrorCode::InvalidQuery),
            (json!({"$or": []}), ErrorCode::InvalidQuery),
            (json!({"a": {"$in": 3}}), ErrorCode::InvalidJson),
            (json!({"a": {"$exists": "yes"}}), ErrorCode::InvalidJson),
            (json!({"a": {"$regex": "("}}), ErrorCode::InvalidQuery),
            (json!({"a": {"$regex": "x", "$options": "z"}}), ErrorCode::InvalidQuery),
            (json!({"$where": "1"}), ErrorCode::InvalidKeyName),
            (json!({"_rperm": "x"}), ErrorCode::InvalidKeyName),
            (json!({"a..b": 1}), ErrorCode::InvalidKeyName),
            (json!({"a": {"$gt": [1]}}), ErrorCode::InvalidJson),
            (json!({"a": {"$inQuery": {"where": {}}}}), ErrorCode::InvalidQuery),
            (json!({"a": {"$nearSphere": {}}}), ErrorCode::InvalidJson),
            (json!({"a": {"$maxDistance": 1}}), ErrorCode::InvalidQuery),
            (json!({"a": {"$nearSphere": geo_point(0.0, 0.0), "$maxDistance": -1}}), ErrorCode::InvalidJson),
            (json!({"a": {"$nearSphere": geo_point(0.0, 0.0), "$maxDistance": "1"}}), ErrorCode::InvalidJson),
            (
                json!({"a": {"$nearSphere": geo_point(0.0, 0.0), "$maxDistance": 1, "$maxDistanceInMiles": 1}}),
                ErrorCode::InvalidQuery,
            ),
            (json!({"a": {"$nearSphere": geo_point(91.0, 0.0)}}), ErrorCode::InternalServerError),
            (json!({"a": {"$within": 5}}), ErrorCode::InvalidJson),
            (json!({"a": {"$geoWithin": {"$polygon": []}}}), ErrorCode::InvalidJson),
            (json!({"a": {"$geoIntersects": {}}}), ErrorCode::InvalidJson),
            (json!("nope"), ErrorCode::InvalidQuery),
        ];
        for (bad, code) in cases {
            let error = parse_where(&bad).unwrap_err();
            assert_eq!(error.code, code, "{bad}");
        }
    }

    fn geo_point(latitude: f64, longitude: f64) -> Value {
        json!({"__type": "GeoPoint", "latitude": latitude, "longitude": longitude})
    }

    #[test]
    fn parses_geo_operators() {
        let center = GeoPoint { latitude: 10.0, longitude: 20.0 };
        let near = |max: Value| {
            parse_where(
                &json!({"loc": {"$nearSphere": geo_point(10.0, 20.0), "$maxDistanceInKilometers": max}}),
            )
        };
        assert_eq!(
            near(json!(6371)).unwrap(),
            field("loc", Constraint::NearSphere { point: center, max_distance: Some(1.0) })
        );
        let miles =
            parse_where(&json!({"loc": {"$nearSphere": geo_point(10.0, 20.0), "$maxDistanceInMiles": 3959}}));
        assert_eq!(
            miles.unwrap(),
            field("loc", Constraint::NearSphere { point: center, max_distance: Some(1.0) })
        );
        let bare = parse_where(&json!({"loc": {"$nearSphere": geo_point(10.0, 20.0)}})).unwrap();
        assert_eq!(bare, field("loc", Constraint::NearSphere { point: center, max_distance: None }));
        let both = parse_where(&json!({"loc": {
            "$within": {"$box": [geo_point(0.0, 0.0), geo_point(1.0, 1.0)]},
            "$geoWithin": {"$centerSphere": [[20, 10], 0.5]},
        }}))
        .unwrap();
        assert_eq!(
            both,
            Filter::And(vec![
                field(
                    "loc",
                    Constraint::Within(GeoRegion::Box { west: 0.0, south: 0.0, east: 1.0, north: 1.0 })
                ),
                field("loc", Constraint::Within(GeoRegion::Sphere { center, radius: 0.5 })),
            ])
        );
        let contains =
            parse_where(&json!({"area": {"$geoIntersects": {"$point": geo_point(10.0, 20.0)}}})).unwrap();
        assert_eq!(contains, field("area", Constraint::PolygonContains(center)));
    }

    #[test]
    fn finds_sort_by_distance_after_the_explicit_order() {
        let filter = parse_where(&json!({
            "loc": {"$nearSphere": geo_point(1.0, 2.0)},
            "$and": [{"other": {"$nearSphere": geo_point(3.0, 4.0)}}],
            "$or": [{"ignored": {"$nearSphere": geo_point(5.0, 6.0)}}, {"n": 1}],
            "$nor": [{"ignored": {"$nearSphere": geo_point(5.0, 6.0)}}],
        }))
        .unwrap();
        let query = Query::find(filter, parse_order("-n").unwrap(), 0, Some(10));
        let first = GeoPoint { latitude: 1.0, longitude: 2.0 };
        let second = GeoPoint { latitude: 3.0, longitude: 4.0 };
        assert_eq!(
            query.order,
            vec![
                SortKey::value(FieldPath::top("n"), true),
                SortKey::nearest_first(FieldPath::top("loc"), first),
                SortKey::nearest_first(FieldPath::top("other"), second),
            ]
        );
        assert!(Query::find(parse_where(&json!({"n": 1})).unwrap(), Vec::new(), 0, None).order.is_empty());
    }

    #[test]
    fn parses_order() {
        let keys = parse_order("score,-createdAt").unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys[1].descending);
        assert_eq!(parse_order("bad key").unwrap_err().code, crate::error::ErrorCode::InvalidKeyName);
        let by_score = parse_order("$score,-$score,name").unwrap();
        assert_eq!(by_score[..2], [SortKey::text_score(), SortKey::text_score()]);
        assert!(by_score[0].is_text_score() && by_score[0].descending && !by_score[2].is_text_score());
        assert_eq!(parse_order("$other").unwrap_err().code, crate::error::ErrorCode::InvalidKeyName);
    }

    #[test]
    fn parses_one_text_search_per_where() {
        let text = json!({"$text": {"$search": {"$term": "coffee", "$language": "es"}}});
        let filter = parse_where(&json!({"$or": [{"subject": text}, {"n": 1}]})).unwrap();
        let (path, search) = filter.text_search().expect("the $text constraint");
        assert_eq!((path.dotted().as_str(), search.term.as_str()), ("subject", "coffee"));
        assert_eq!(search.language, crate::text::Language::Spanish);
        assert_eq!(parse_where(&json!({"n": 1})).unwrap().text_search(), None);
        let twice = parse_where(&json!({"a": text, "$or": [{"b": text}]})).unwrap_err();
        assert_eq!(twice.code, ErrorCode::InvalidQuery);
        let bad = parse_where(&json!({"a": {"$text": {"$search": "coffee"}}})).unwrap_err();
        assert_eq!(
            (bad.code, bad.message.as_str()),
            (ErrorCode::InvalidJson, "bad $text: $search, should be object")
        );
    }
}
