//! Finding objects: request parameters (`where`, `order`, `limit`, `skip`, `keys`,
//! `excludeKeys`, `include`, `count`), resolution of sub-queries and relations into plain
//! filters, and the expansion of `include`d pointers.
//!
//! The text score of a `$text` search: `keys=$score` asks storage for it
//! (`Query::text_score`) and each object comes back with it as `score`; `order=$score` (or
//! `-$score`, the same for parse-server) puts the best first. Either without a `$text` in
//! `where` is error 102.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use reparse_core::access::Operation;
use reparse_core::query::{
    Constraint, FieldPath, Filter, Query, SortKey, SubQuery, TEXT_SCORE_KEY, parse_order, parse_where,
};
use reparse_core::schema::{ClassSchema, FieldType, SYSTEM_CLASSES};
use reparse_core::text::TEXT_SCORE_FIELD;
use reparse_core::value::{Object, pointer_parts, pointer_value};
use reparse_core::{ErrorCode, ParseError, ParseResult};
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::controllers::objects::to_client_object;
use reparse_core::redact::protected_fields;

/// Parameters `GET /classes/:className` accepts (parse-server's list; anything else is 102).
pub const FIND_PARAMS: &[&str] = &[
    "where",
    "limit",
    "skip",
    "order",
    "count",
    "keys",
    "excludeKeys",
    "include",
    "includeAll",
    "redirectClassNameForKey",
    "readPreference",
    "includeReadPreference",
    "subqueryReadPreference",
    "comment",
    "explain",
    // A MongoDB index hint; parse-server's PostgreSQL adapter ignores it, and so does Reparse
    // (both databases choose their own plans).
    "hint",
];
/// Parameters `GET /classes/:className/:objectId` accepts.
pub const GET_PARAMS: &[&str] =
    &["keys", "include", "excludeKeys", "readPreference", "includeReadPreference"];

/// Fields every result keeps whatever `keys` says.
const ALWAYS_SELECTED: [&str; 4] = ["objectId", "createdAt", "updatedAt", "ACL"];

const DEFAULT_LIMIT: u64 = 100;

/// A parsed find.
#[derive(Debug, Clone)]
pub struct FindRequest {
    /// `Find`, or `Get` for `GET /classes/:className/:objectId` (class-level permissions differ).
    pub operation: Operation,
    pub filter: Filter,
    pub order: Vec<SortKey>,
    pub skip: u64,
    pub limit: Option<u64>,
    pub count: bool,
    /// `keys` as given (dotted paths reach into included objects); `None`: every field.
    pub keys: Option<Vec<String>>,
    pub exclude_keys: HashSet<String>,
    pub include: Vec<Vec<String>>,
    pub include_all: bool,
    /// `explain`: answer the database's plan instead of the objects.
    pub explain: bool,
}

impl FindRequest {
    /// Reads the parameters of a find (from the URL or a `_method: GET` body).
    pub fn from_params(
        ctx: &Ctx<'_>,
        params: Map<String, Value>,
        allowed: &[&str],
    ) -> ParseResult<FindRequest> {
        if let Some(unknown) = params.keys().find(|key| !allowed.contains(&key.as_str())) {
            return Err(ParseError::invalid_query(format!("Invalid parameter for query: {unknown}")));
        }
        let filter = match params.get("where") {
            None | Some(Value::Null) => Filter::everything(),
            Some(Value::String(text)) => parse_where(
                &serde_json::from_str(text).map_err(|_| ParseError::invalid_json("invalid JSON in where"))?,
            )?,
            Some(value) => parse_where(value)?,
        };
        let order = match params.get("order") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(order)) => parse_order(order)?,
            Some(Value::Array(keys)) => {
                let joined: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
                parse_order(&joined.join(","))?
            }
            Some(_) => return Err(ParseError::invalid_query("order must be a string")),
        };
        let limit = match non_negative(&params, "limit")? {
            Some(limit) => limit,
            None => DEFAULT_LIMIT,
        };
        let limit = match ctx.app.config.max_limit {
            Some(max) => limit.min(max),
            None => limit,
        };
        let list = |key: &str| -> Vec<String> {
            match params.get(key) {
                Some(Value::String(text)) => {
                    text.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_string).collect()
                }
                Some(Value::Array(items)) => {
                    items.iter().filter_map(Value::as_str).map(str::to_string).collect()
                }
                _ => Vec::new(),
            }
        };
        let keys = params.contains_key("keys").then(|| list("keys"));
        let mut include_list = list("include");
        // Like parse-server, `keys=post.title` implies `include=post`.
        for key in keys.iter().flatten() {
            if let Some((parent, _)) = key.rsplit_once('.') {
                include_list.push(parent.to_string());
            }
        }
        Ok(FindRequest {
            operation: Operation::Find,
            filter,
            order,
            skip: non_negative(&params, "skip")?.unwrap_or(0),
            limit: Some(limit),
            count: truthy(params.get("count")),
            keys,
            exclude_keys: list("excludeKeys").iter().map(|key| top_field(key)).collect(),
            include_all: truthy(params.get("includeAll")) || include_list.iter().any(|path| path == "*"),
            explain: truthy(params.get("explain")),
            include: include_list
                .iter()
                .filter(|path| path.as_str() != "*")
                .map(|path| path.split('.').map(str::to_string).collect())
                .collect(),
        })
    }
}

fn top_field(key: &str) -> String {
    key.split('.').next().unwrap_or_default().to_string()
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(number)) => number.as_f64().is_some_and(|n| n != 0.0),
        Some(Value::String(text)) => !text.is_empty() && text != "0" && text != "false",
        _ => false,
    }
}

fn non_negative(params: &Map<String, Value>, key: &str) -> ParseResult<Option<u64>> {
    let value = match params.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
        Some(Value::Number(number)) => number.as_i64().or_else(|| number.as_f64().map(|f| f as i64)),
        Some(_) => None,
    };
    match value {
        Some(n) if n >= 0 => Ok(Some(n as u64)),
        _ => Err(ParseError::invalid_query(format!("Invalid {key}"))),
    }
}

/// Runs a find: results in client form, and the count when asked.
pub async fn find(
    ctx: &Ctx<'_>,
    class_name: &str,
    request: FindRequest,
) -> ParseResult<(Vec<Object>, Option<u64>)> {
    ctx.auth.may_access_class(request.operation, class_name)?;
    let text_score = request.keys.iter().flatten().any(|key| key == TEXT_SCORE_KEY);
    let ordered_by_score = request.order.iter().any(SortKey::is_text_score);
    if (text_score || ordered_by_score) && request.filter.text_search().is_none() {
        return Err(ParseError::invalid_query("$score needs a $text constraint in where"));
    }
    let Some(schema) = ctx.schema(class_name).await? else {
        let may_create = ctx.auth.master
            || ctx.app.config.allow_client_class_creation
            || SYSTEM_CLASSES.contains(&class_name);
        if !may_create {
            return Err(ParseError::new(
                ErrorCode::OperationForbidden,
                format!("This user is not allowed to access non-existent class: {class_name}"),
            ));
        }
        // parse-server answers queries on a class that does not exist with nothing.
        return Ok((Vec::new(), request.count.then_some(0)));
    };
    refuse_protected_probes(ctx, &schema, &request.filter, &request.order)?;
    // A count that fetches nothing (`limit=0`) is a count only, checked against `count` alone.
    let counting_only = request.count && request.limit == Some(0);
    let operation = if counting_only { Operation::Count } else { request.operation };
    if request.count && !counting_only {
        ctx.auth.class_scope(&schema, Operation::Count)?;
    }
    let filter = readable_filter(ctx, &schema, request.filter, operation).await?;
    let count = match request.count {
        true => Some(ctx.store.count(&schema, &filter).await?),
        false => None,
    };
    if request.limit == Some(0) {
        return Ok((Vec::new(), count));
    }
    // `$nearSphere` sorts by distance after the requested order (see `Query::find`).
    let mut query = Query::find(filter, request.order, request.skip, request.limit);
    query.text_score = text_score;
    let stored = ctx.store.find(&schema, &query).await?;
    let mut results: Vec<Object> =
        stored.into_iter().map(|object| to_client_object(ctx, &schema, object)).collect();
    let mut include = request.include.clone();
    if request.include_all {
        for (field, spec) in &schema.fields {
            if matches!(spec.field_type, FieldType::Pointer { .. }) {
                include.push(vec![field.clone()]);
            }
        }
    }
    for path in &include {
        include_path(ctx, &mut results, path).await?;
    }
    for object in &mut results {
        if let Some(keys) = &request.keys {
            select_keys(object, keys);
        }
        for key in &request.exclude_keys {
            if !ALWAYS_SELECTED[..3].contains(&key.as_str()) {
                object.remove(key);
            }
        }
    }
    Ok((results, count))
}

/// `explain`: the plan the database makes for the find a request describes (what the caller
/// may read of it, as `find` would run it). The master key only, as in parse-server 9 (whose
/// `allowPublicExplain` defaults to false): a plan tells how much data there is and where.
pub async fn explain(ctx: &Ctx<'_>, class_name: &str, request: FindRequest) -> ParseResult<Value> {
    if !ctx.auth.master {
        return Err(ParseError::invalid_query("Using the explain query parameter requires the master key"));
    }
    let Some(schema) = ctx.schema(class_name).await? else {
        return Ok(json!([]));
    };
    let filter = readable_filter(ctx, &schema, request.filter, request.operation).await?;
    let query = Query::find(filter, request.order, request.skip, request.limit);
    ctx.store.explain(&schema, &query).await
}

/// A request's filter, resolved and narrowed to what the caller may read of the class.
async fn readable_filter(
    ctx: &Ctx<'_>,
    schema: &ClassSchema,
    filter: Filter,
    operation: Operation,
) -> ParseResult<Filter> {
    let scope = read_scope(ctx, schema, operation)?;
    Ok(ctx.auth.readable(Filter::And(vec![resolve(ctx, schema, filter).await?, scope])))
}

/// Sessions are their users' business: a client without a session reads none (209), a user
/// only their own.
fn session_scope(ctx: &Ctx<'_>, class_name: &str) -> ParseResult<Filter> {
    if class_name != "_Session" || ctx.auth.master {
        return Ok(Filter::everything());
    }
    let user_id = ctx
        .auth
        .user_id()
        .ok_or_else(|| ParseError::new(ErrorCode::InvalidSessionToken, "Invalid session token"))?;
    Ok(crate::sessions::points_to_user("user", user_id))
}

/// What of a class a read may reach: the class-level permission (with pointer permissions)
/// and, for sessions, the caller's own. Every read path (find, sub-queries, include) uses it.
fn read_scope(ctx: &Ctx<'_>, schema: &ClassSchema, operation: Operation) -> ParseResult<Filter> {
    Ok(Filter::And(vec![ctx.auth.class_scope(schema, operation)?, session_scope(ctx, &schema.class_name)?]))
}

/// A client may not constrain or sort by a field it may not see: the answer would tell it the
/// value (parse-server's `denyProtectedFields`, extended to nested `$and`/`$or` and to `order`).
fn refuse_protected_probes(
    ctx: &Ctx<'_>,
    schema: &ClassSchema,
    filter: &Filter,
    order: &[SortKey],
) -> ParseResult<()> {
    if ctx.auth.master {
        return Ok(());
    }
    let class_name = &schema.class_name;
    // Internal columns (password hash, tokens) and the ACL lists are no sort keys for clients:
    // an order is an oracle on the values it sorts by.
    let internal = |field: &str| {
        matches!(field, "_rperm" | "_wperm")
            || reparse_core::schema::internal_fields(class_name).iter().any(|(name, _)| *name == field)
    };
    if let Some(key) = order.iter().find(|key| internal(&key.path.field)) {
        return Err(ParseError::invalid_key_name(&key.path.field));
    }
    let protected = protected_fields(class_name, &schema.class_level_permissions, ctx.auth.viewer());
    if protected.is_empty() {
        return Ok(());
    }
    if let Some(path) = filter.fields().into_iter().find(|path| protected.contains(&path.field)) {
        let message = format!("This user is not allowed to query {} on class {class_name}", path.dotted());
        return Err(ParseError::new(ErrorCode::OperationForbidden, message));
    }
    if let Some(key) = order.iter().find(|key| protected.contains(&key.path.field)) {
        let message =
            format!("This user is not allowed to sort by {} on class {class_name}", key.path.dotted());
        return Err(ParseError::new(ErrorCode::OperationForbidden, message));
    }
    Ok(())
}

/// Keeps the fields `keys` names (and those always kept); `a.b` keeps `b` of the object
/// included at `a`.
pub(crate) fn select_keys(object: &mut Object, keys: &[String]) {
    let mut kept: HashSet<&str> = ALWAYS_SELECTED.iter().copied().collect();
    kept.extend(["__type", "className"]);
    let mut nested: HashMap<&str, Vec<String>> = HashMap::new();
    for key in keys {
        match key.split_once('.') {
            Some((field, rest)) => {
                kept.insert(field);
                nested.entry(field).or_default().push(rest.to_string());
            }
            // The text score storage added (see the module doc).
            None if key == TEXT_SCORE_KEY => {
                kept.insert(TEXT_SCORE_FIELD);
            }
            None => {
                kept.insert(key);
            }
        }
    }
    object.retain(|key, _| kept.contains(key.as_str()));
    for (field, sub_keys) in nested {
        if let Some(Value::Object(included)) = object.get_mut(field)
            && included.get("__type").and_then(Value::as_str) == Some("Object")
        {
            select_keys(included, &sub_keys);
        }
    }
}

/// The target class of relation `key` on `class_name`, if it is a relation.
pub async fn relation_target(ctx: &Ctx<'_>, class_name: &str, key: &str) -> ParseResult<Option<String>> {
    let schema = ctx.schema(class_name).await?;
    Ok(schema.and_then(|schema| match schema.field_type(key) {
        Some(FieldType::Relation { target_class }) => Some(target_class.clone()),
        _ => None,
    }))
}

type BoxedFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Replaces sub-queries, `$relatedTo` and relation-field equality with `$in`/`$nin` on
/// concrete values, so storage and the matcher see a plain filter.
pub(crate) fn resolve<'a>(
    ctx: &'a Ctx<'a>,
    schema: &'a ClassSchema,
    filter: Filter,
) -> BoxedFuture<'a, ParseResult<Filter>> {
    Box::pin(async move {
        Ok(match filter {
            Filter::And(parts) => Filter::And(resolve_all(ctx, schema, parts).await?),
            Filter::Or(parts) => Filter::Or(resolve_all(ctx, schema, parts).await?),
            Filter::Nor(parts) => Filter::Nor(resolve_all(ctx, schema, parts).await?),
            Filter::RelatedTo { owner_class, owner_id, key } => {
                let ids = match relation_target(ctx, &owner_class, &key).await? {
                    Some(target) if may_read_relation_owner(ctx, &owner_class, &owner_id, &key).await? => {
                        ctx.store.related_ids(&owner_class, &key, &target, &owner_id).await?
                    }
                    _ => Vec::new(),
                };
                id_in(ids)
            }
            Filter::Field { path, constraint } => resolve_field(ctx, schema, path, constraint).await?,
        })
    })
}

/// A relation's members are the owner's data: listing them (`$relatedTo`) needs read access to
/// the owning object, and the relation must not be one of its protected fields. Otherwise the
/// relation answers nothing, as if empty, so its existence is not revealed either.
async fn may_read_relation_owner(
    ctx: &Ctx<'_>,
    owner_class: &str,
    owner_id: &str,
    key: &str,
) -> ParseResult<bool> {
    if ctx.auth.master {
        return Ok(true);
    }
    let Some(schema) = ctx.schema(owner_class).await? else {
        return Ok(false);
    };
    if protected_fields(owner_class, &schema.class_level_permissions, ctx.auth.viewer())
        .iter()
        .any(|f| f == key)
    {
        let message = format!("This user is not allowed to query {key} on class {owner_class}");
        return Err(ParseError::new(ErrorCode::OperationForbidden, message));
    }
    ctx.auth.may_access_class(Operation::Get, owner_class)?;
    let scope = match read_scope(ctx, &schema, Operation::Get) {
        Ok(scope) => scope,
        Err(_) => return Ok(false),
    };
    let by_id =
        Filter::Field { path: FieldPath::top("objectId"), constraint: Constraint::Eq(json!(owner_id)) };
    let filter = ctx.auth.readable(Filter::And(vec![by_id, scope]));
    Ok(ctx.store.count(&schema, &filter).await? > 0)
}

async fn resolve_all<'a>(
    ctx: &'a Ctx<'a>,
    schema: &'a ClassSchema,
    parts: Vec<Filter>,
) -> ParseResult<Vec<Filter>> {
    let mut resolved = Vec::with_capacity(parts.len());
    for part in parts {
        resolved.push(resolve(ctx, schema, part).await?);
    }
    Ok(resolved)
}

fn id_in(ids: Vec<String>) -> Filter {
    Filter::Field {
        path: FieldPath::top("objectId"),
        constraint: Constraint::In(ids.into_iter().map(Value::String).collect()),
    }
}

async fn resolve_field<'a>(
    ctx: &'a Ctx<'a>,
    schema: &'a ClassSchema,
    path: FieldPath,
    constraint: Constraint,
) -> ParseResult<Filter> {
    let field = |constraint| Filter::Field { path: path.clone(), constraint };
    Ok(match constraint {
        Constraint::InQuery(sub) => field(Constraint::In(pointers_matching(ctx, *sub).await?)),
        Constraint::NotInQuery(sub) => field(Constraint::Nin(pointers_matching(ctx, *sub).await?)),
        Constraint::Select { query, key } => field(Constraint::In(values_matching(ctx, *query, &key).await?)),
        Constraint::DontSelect { query, key } => {
            field(Constraint::Nin(values_matching(ctx, *query, &key).await?))
        }
        constraint => match (schema.field_type(&path.field), &constraint, path.is_nested()) {
            // `{relationField: pointer}`: objects whose relation holds that pointer.
            (Some(FieldType::Relation { target_class }), Constraint::Eq(_) | Constraint::In(_), false) => {
                let values = match &constraint {
                    Constraint::In(values) => values.clone(),
                    Constraint::Eq(value) => vec![value.clone()],
                    _ => Vec::new(),
                };
                let related: Vec<String> =
                    values.iter().filter_map(pointer_parts).map(|(_, id)| id.to_string()).collect();
                id_in(ctx.store.owning_ids(&schema.class_name, &path.field, target_class, &related).await?)
            }
            _ => field(constraint),
        },
    })
}

async fn run_subquery<'a>(ctx: &'a Ctx<'a>, sub: SubQuery) -> ParseResult<(String, Vec<Object>)> {
    ctx.auth.may_access_class(Operation::Find, &sub.class_name)?;
    let Some(schema) = ctx.schema(&sub.class_name).await? else {
        return Ok((sub.class_name, Vec::new()));
    };
    refuse_protected_probes(ctx, &schema, &sub.filter, &sub.order)?;
    let scope = read_scope(ctx, &schema, Operation::Find)?;
    let filter = ctx.auth.readable(Filter::And(vec![resolve(ctx, &schema, sub.filter).await?, scope]));
    let query = Query::find(filter, sub.order, sub.skip, sub.limit);
    // Sub-query results are used for their ids and `$select` keys only; they are redacted like
    // any answer so a `$select` on a secret or protected field finds nothing to compare.
    let found = ctx.store.find(&schema, &query).await?;
    Ok((sub.class_name, found.into_iter().map(|object| to_client_object(ctx, &schema, object)).collect()))
}

async fn pointers_matching<'a>(ctx: &'a Ctx<'a>, sub: SubQuery) -> ParseResult<Vec<Value>> {
    let (class_name, objects) = run_subquery(ctx, sub).await?;
    Ok(objects
        .iter()
        .filter_map(|object| object.get("objectId").and_then(Value::as_str))
        .map(|id| pointer_value(&class_name, id))
        .collect())
}

async fn values_matching<'a>(ctx: &'a Ctx<'a>, sub: SubQuery, key: &str) -> ParseResult<Vec<Value>> {
    let path = FieldPath::parse(key);
    let (_, objects) = run_subquery(ctx, sub).await?;
    Ok(objects.iter().filter_map(|object| reparse_core::matcher::lookup(object, &path).cloned()).collect())
}

/// Replaces the pointers at `path` (a field, then fields of the included objects) with the
/// objects they point to, in client form (`__type: "Object"`). Arrays of pointers too.
pub(crate) fn include_path<'a>(
    ctx: &'a Ctx<'a>,
    objects: &'a mut [Object],
    path: &'a [String],
) -> BoxedFuture<'a, ParseResult<()>> {
    Box::pin(async move {
        let Some((field, rest)) = path.split_first() else {
            return Ok(());
        };
        let mut wanted: HashMap<String, Vec<String>> = HashMap::new();
        for object in objects.iter() {
            for pointer in pointers_in(object.get(field)) {
                if let Some((class_name, id)) = pointer_parts(pointer) {
                    wanted.entry(class_name.to_string()).or_default().push(id.to_string());
                }
            }
        }
        let mut fetched: HashMap<(String, String), Value> = HashMap::new();
        for (class_name, ids) in wanted {
            ctx.auth.may_access_class(Operation::Find, &class_name)?;
            let Some(schema) = ctx.schema(&class_name).await? else {
                continue;
            };
            let scope = read_scope(ctx, &schema, Operation::Find)?;
            let filter = ctx.auth.readable(Filter::And(vec![id_in(ids), scope]));
            let found = ctx.store.find(&schema, &Query::matching(filter)).await?;
            let mut found: Vec<Object> =
                found.into_iter().map(|object| to_client_object(ctx, &schema, object)).collect();
            include_path(ctx, &mut found, rest).await?;
            for mut object in found {
                let id = object.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string();
                object.insert("__type".into(), json!("Object"));
                object.insert("className".into(), json!(class_name));
                fetched.insert((class_name.clone(), id), Value::Object(object));
            }
        }
        for object in objects.iter_mut() {
            if let Some(value) = object.get_mut(field) {
                replace_pointers(value, &fetched);
            }
        }
        Ok(())
    })
}

fn pointers_in(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().filter(|item| is_pointer(item)).collect(),
        Some(item) if is_pointer(item) => vec![item],
        _ => Vec::new(),
    }
}

fn is_pointer(value: &Value) -> bool {
    reparse_core::value::type_tag(value) == Some("Pointer")
}

fn replace_pointers(value: &mut Value, fetched: &HashMap<(String, String), Value>) {
    if let Value::Array(items) = value {
        items.iter_mut().for_each(|item| replace_pointers(item, fetched));
        return;
    }
    if !is_pointer(value) {
        return;
    }
    let key = pointer_parts(value).map(|(class_name, id)| (class_name.to_string(), id.to_string()));
    if let Some(object) = key.and_then(|key| fetched.get(&key)) {
        *value = object.clone();
    }
}
