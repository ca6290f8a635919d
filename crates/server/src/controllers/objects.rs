//! `/classes`: create, read, update, delete and query objects.

use std::sync::Arc;

use rand::RngExt;
use reparse_core::access::Operation;
use reparse_core::acl::{Permissions, acl_from_permissions, permissions_from_acl};
use reparse_core::query::{Constraint, FieldPath, Filter};
use reparse_core::redact::redact_object;
use reparse_core::schema::{ClassSchema, FieldType, field_name_is_valid, infer_type, validate_class_name};
use reparse_core::update::{FieldUpdate, RelationChange, Updates, apply_updates, parse_field_update};
use reparse_core::value::{Object, date_iso, format_date, parse_date};
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::controllers::query::{self, FindRequest};
use crate::controllers::schema_writes::{class_for_write, ensure_fields};
use crate::controllers::triggers::{self, WriteTriggers};
use crate::controllers::{role_writes, sessions, user_writes};
use crate::error::ApiResult;
use crate::routes::ParseResponse;

/// Keys the server owns: clients cannot set them.
const SERVER_OWNED: [&str; 3] = ["objectId", "createdAt", "updatedAt"];

/// `POST /classes/:className`
pub async fn create(ctx: &Ctx<'_>, class_name: &str, body: Map<String, Value>) -> ApiResult<ParseResponse> {
    match class_name {
        "_User" => return user_writes::create(ctx, body).await,
        "_Session" => return sessions::create(ctx, body).await,
        "_Role" => role_writes::check_new_role(&body)?,
        _ => {}
    }
    ctx.auth.ensure_writable()?;
    let (body, triggers) = triggers::before_save(ctx, class_name, None, body).await?;
    let prepared = prepare_create(ctx, class_name, body).await?;
    prepared.store(ctx).await?;
    forget_roles_after_write(ctx, class_name);
    let location =
        format!("{}/classes/{class_name}/{}", ctx.app.config.public_server_url, prepared.object_id);
    let mut response = prepared.response(location);
    let written = WriteTriggers::client_form(ctx, &prepared.schema, &prepared.object);
    triggers.add_changed_fields(&mut response.body, &written);
    ctx.publish_live(class_name, None, Some(prepared.object.clone()));
    triggers.after_save(ctx, &prepared.schema, &prepared.object).await;
    Ok(response)
}

/// The object as stored, when LiveQuery subscribers need it (the object before an update or
/// delete, to tell which events it makes).
pub(crate) async fn stored_for_live_query(
    ctx: &Ctx<'_>,
    class_name: &str,
    object_id: &str,
) -> Option<Object> {
    if !ctx.app.live_query.has_subscribers(class_name) {
        return None;
    }
    let schema = ctx.schema(class_name).await.ok()??;
    let query = reparse_core::query::Query {
        limit: Some(1),
        ..reparse_core::query::Query::matching(by_id(object_id))
    };
    ctx.store.find(&schema, &query).await.ok()?.pop()
}

/// A create that passed every check, built but not yet stored.
pub(crate) struct PreparedCreate {
    pub schema: Arc<ClassSchema>,
    /// The object as it will be stored (with its id, timestamps and `_rperm`/`_wperm`).
    pub object: Object,
    pub object_id: String,
    write: WriteBody,
    /// Fields filled with their schema default, which the response reports.
    defaulted: Vec<String>,
}

/// Checks a create (permissions, names, types, required fields) and builds the object,
/// adding the fields it introduces to the schema.
pub(crate) async fn prepare_create(
    ctx: &Ctx<'_>,
    class_name: &str,
    mut body: Map<String, Value>,
) -> ApiResult<PreparedCreate> {
    ctx.auth.ensure_writable()?;
    validate_class_name(class_name)?;
    ctx.auth.may_access_class(Operation::Create, class_name)?;
    let object_id = take_custom_object_id(ctx, &mut body)?;
    let write = WriteBody::parse(body)?;
    let schema = class_for_write(ctx, class_name).await?;
    ctx.auth.class_scope(&schema, Operation::Create)?;
    let schema = ensure_fields(ctx, schema, &write.field_types()?).await?;

    let mut object = Object::new();
    apply_updates(&mut object, &write.updates)?;
    let defaulted = apply_defaults(&schema, &mut object);
    check_required(&schema, &object)?;
    let object_id = match object_id {
        Some(id) => id,
        None => new_object_id(ctx.app.config.object_id_size),
    };
    let now = format_date(ctx.now);
    object.insert("objectId".into(), json!(object_id));
    object.insert("createdAt".into(), json!(now));
    object.insert("updatedAt".into(), json!(now));
    apply_updates(&mut object, &write.permission_updates())?;
    Ok(PreparedCreate { schema, object, object_id, write, defaulted })
}

impl PreparedCreate {
    /// Whether the create gave the object an ACL.
    pub(crate) fn has_acl(&self) -> bool {
        self.write.permissions.is_some()
    }

    /// Stores the object with the relation rows saved with it.
    pub(crate) async fn store(&self, ctx: &Ctx<'_>) -> ApiResult<()> {
        insert_with_relations(
            ctx,
            &self.schema,
            &self.object,
            &self.object_id,
            &self.write.relation_updates(),
        )
        .await
    }

    /// parse-server's 201: the id, the creation time, and the values the server computed.
    pub(crate) fn response(&self, location: String) -> ParseResponse {
        let mut response = Map::new();
        response.insert("objectId".into(), json!(self.object_id));
        response.insert("createdAt".into(), self.object["createdAt"].clone());
        add_computed_fields(&mut response, &self.write.updates, &self.object);
        for field in &self.defaulted {
            if let Some(value) = self.object.get(field) {
                response.insert(field.clone(), value.clone());
            }
        }
        ParseResponse {
            status: 201,
            body: Value::Object(response),
            location: Some(location),
            headers: Vec::new(),
        }
    }
}

/// Inserts an object and the relation rows saved with it, both or neither: inside the batch's
/// transaction when there is one, else in a transaction of their own.
async fn insert_with_relations(
    ctx: &Ctx<'_>,
    schema: &ClassSchema,
    object: &Object,
    object_id: &str,
    relations: &Updates,
) -> ApiResult<()> {
    if relations.is_empty() {
        return Ok(ctx.store.insert(schema, object).await?);
    }
    let everything = Filter::everything();
    if ctx.in_transaction() {
        ctx.store.insert(schema, object).await?;
        ctx.store.update(schema, object_id, &everything, relations).await?;
        return Ok(());
    }
    let transaction = ctx.app.storage.begin().await?;
    transaction.insert(schema, object).await?;
    transaction.update(schema, object_id, &everything, relations).await?;
    Ok(transaction.commit().await?)
}

/// `PUT /classes/:className/:objectId`
pub async fn update(
    ctx: &Ctx<'_>,
    class_name: &str,
    object_id: &str,
    body: Map<String, Value>,
) -> ApiResult<ParseResponse> {
    match class_name {
        "_User" => return user_writes::update(ctx, object_id, body).await,
        "_Session" => return sessions::update(ctx, object_id, body).await,
        "_Role" => role_writes::check_role_update(ctx, object_id, &body).await?,
        _ => {}
    }
    ctx.auth.ensure_writable()?;
    let (body, triggers) = triggers::before_save(ctx, class_name, Some(object_id), body).await?;
    let original = stored_for_live_query(ctx, class_name, object_id).await;
    let (updated, response) =
        update_object(ctx, class_name, object_id, body, Vec::new(), Filter::everything()).await?;
    forget_roles_after_write(ctx, class_name);
    if original.is_some() {
        ctx.publish_live(class_name, original, Some(updated.clone()));
    }
    let mut response = Value::Object(response);
    if let Some(schema) = ctx.schema(class_name).await? {
        triggers.add_changed_fields(&mut response, &WriteTriggers::client_form(ctx, &schema, &updated));
        triggers.after_save(ctx, &schema, &updated).await;
    }
    Ok(ParseResponse::ok(response))
}

/// Updates an object with a client's `body` plus `server_updates` (fields the server sets,
/// which may be internal), on the objects `restriction` allows. Returns the updated object as
/// stored and parse-server's response (`updatedAt` and computed values).
pub(crate) async fn update_object(
    ctx: &Ctx<'_>,
    class_name: &str,
    object_id: &str,
    mut body: Map<String, Value>,
    server_updates: Updates,
    restriction: Filter,
) -> ApiResult<(Object, Map<String, Value>)> {
    ctx.auth.ensure_writable()?;
    validate_class_name(class_name)?;
    if body.get("objectId").is_some_and(|id| id.as_str() != Some(object_id)) {
        return Err(ParseError::new(ErrorCode::InvalidKeyName, "objectId is an invalid field name.").into());
    }
    body.remove("objectId");
    ctx.auth.may_access_class(Operation::Update, class_name)?;
    let write = WriteBody::parse(body)?;
    let schema = existing_class(ctx, class_name).await?;
    let scope = ctx.auth.class_scope(&schema, Operation::Update)?;
    let schema = ensure_fields(ctx, schema, &write.field_types()?).await?;
    for (path, update) in &write.updates {
        let clears = matches!(update, FieldUpdate::Delete | FieldUpdate::Set(Value::Null));
        if !path.is_nested() && clears && schema.field(&path.field).is_some_and(|spec| spec.required) {
            return Err(
                ParseError::new(ErrorCode::ValidationError, format!("{} is required", path.field)).into()
            );
        }
    }
    let now = format_date(ctx.now);
    let mut updates = write.updates.clone();
    updates.extend(write.permission_updates());
    updates.extend(server_updates);
    updates.push((FieldPath::top("updatedAt"), FieldUpdate::Set(json!(now))));
    let filter = ctx.auth.writable(Filter::And(vec![scope, restriction]));
    let updated = ctx
        .store
        .update(&schema, object_id, &filter, &updates)
        .await?
        .ok_or_else(ParseError::object_not_found)?;
    let mut response = Map::new();
    response.insert("updatedAt".into(), json!(now));
    add_computed_fields(&mut response, &write.updates, &updated);
    Ok((updated, response))
}

/// `DELETE /classes/:className/:objectId`
pub async fn delete(ctx: &Ctx<'_>, class_name: &str, object_id: &str) -> ApiResult<ParseResponse> {
    match class_name {
        "_User" => return user_writes::delete(ctx, object_id).await,
        "_Session" => return sessions::delete(ctx, object_id).await,
        _ => {}
    }
    ctx.auth.ensure_writable()?;
    let triggers = triggers::before_delete(ctx, class_name, object_id).await?;
    let original = stored_for_live_query(ctx, class_name, object_id).await;
    delete_object(ctx, class_name, object_id, Filter::everything()).await?;
    forget_roles_after_write(ctx, class_name);
    if original.is_some() {
        ctx.publish_live(class_name, original, None);
    }
    if let Some(triggers) = triggers {
        triggers.after_delete(ctx, class_name).await;
    }
    Ok(ParseResponse::ok(json!({})))
}

/// Any change to a role may change who holds which role: resolve again.
fn forget_roles_after_write(ctx: &Ctx<'_>, class_name: &str) {
    if class_name == "_Role" {
        ctx.app.roles.clear();
    }
}

/// Deletes one object the caller may delete, among those `restriction` allows; 101 if none.
pub(crate) async fn delete_object(
    ctx: &Ctx<'_>,
    class_name: &str,
    object_id: &str,
    restriction: Filter,
) -> ApiResult<()> {
    ctx.auth.ensure_writable()?;
    validate_class_name(class_name)?;
    ctx.auth.may_access_class(Operation::Delete, class_name)?;
    let schema = existing_class(ctx, class_name).await?;
    let scope = ctx.auth.class_scope(&schema, Operation::Delete)?;
    let filter = ctx.auth.writable(Filter::And(vec![by_id(object_id), scope, restriction]));
    let deleted = ctx.store.delete(&schema, &filter).await?;
    if deleted == 0 {
        return Err(ParseError::object_not_found().into());
    }
    Ok(())
}

/// `GET /classes/:className/:objectId`
pub async fn get(
    ctx: &Ctx<'_>,
    class_name: &str,
    object_id: &str,
    params: Map<String, Value>,
) -> ApiResult<ParseResponse> {
    validate_class_name(class_name)?;
    let mut params = params;
    params.insert("where".into(), json!({"objectId": object_id}));
    let mut params = triggers::before_find(ctx, class_name, params, true).await?;
    // The trigger may narrow the get (or widen its `where`): it still answers this id only.
    let narrowed = match params.remove("where") {
        Some(Value::Object(filter)) if filter.len() != 1 || !filter.contains_key("objectId") => {
            Some(reparse_core::query::parse_where(&Value::Object(filter))?)
        }
        _ => None,
    };
    for key in ["limit", "skip", "order", "count"] {
        params.remove(key);
    }
    let mut request = FindRequest::from_params(ctx, params, query::GET_PARAMS)?;
    request.filter = match narrowed {
        Some(filter) => Filter::And(vec![by_id(object_id), filter]),
        None => by_id(object_id),
    };
    request.limit = Some(1);
    request.operation = Operation::Get;
    let (results, _) = query::find(ctx, class_name, request).await?;
    let results = results.into_iter().map(Value::Object).collect();
    let mut results = triggers::after_find(ctx, class_name, results, true).await?;
    match results.pop() {
        Some(Value::Object(object)) => Ok(ParseResponse::ok(Value::Object(object))),
        _ => Err(ParseError::object_not_found().into()),
    }
}

/// `GET /classes/:className`
pub async fn find(ctx: &Ctx<'_>, class_name: &str, params: Map<String, Value>) -> ApiResult<ParseResponse> {
    validate_class_name(class_name)?;
    let redirect_key = params.get("redirectClassNameForKey").and_then(Value::as_str).map(str::to_string);
    let params = triggers::before_find(ctx, class_name, params, false).await?;
    let request = FindRequest::from_params(ctx, params, query::FIND_PARAMS)?;
    // A relation query names the owning class and the relation key; it runs on the target.
    let queried = match redirect_key {
        Some(key) => query::relation_target(ctx, class_name, &key).await?,
        None => None,
    };
    let queried_class = queried.as_deref().unwrap_or(class_name);
    if request.explain {
        return Ok(ParseResponse::ok(json!({"results": query::explain(ctx, queried_class, request).await?})));
    }
    let (results, count) = query::find(ctx, queried_class, request).await?;
    let results = results.into_iter().map(Value::Object).collect();
    let results = triggers::after_find(ctx, queried_class, results, false).await?;
    let mut body = json!({"results": results});
    if let Some(count) = count {
        body["count"] = json!(count);
    }
    if let Some(target) = queried {
        body["className"] = json!(target);
    }
    Ok(ParseResponse::ok(body))
}

pub(crate) fn by_id(object_id: &str) -> Filter {
    Filter::Field { path: FieldPath::top("objectId"), constraint: Constraint::Eq(json!(object_id)) }
}

/// The class of an update or delete; a missing class means a missing object (or 119 for
/// clients who could not have created it).
async fn existing_class(ctx: &Ctx<'_>, class_name: &str) -> ApiResult<Arc<ClassSchema>> {
    match ctx.schema(class_name).await? {
        Some(schema) => Ok(schema),
        None if !ctx.auth.master && !ctx.app.config.allow_client_class_creation => Err(ParseError::new(
            ErrorCode::OperationForbidden,
            format!("This user is not allowed to access non-existent class: {class_name}"),
        )
        .into()),
        None => Err(ParseError::object_not_found().into()),
    }
}

fn take_custom_object_id(ctx: &Ctx<'_>, body: &mut Map<String, Value>) -> ApiResult<Option<String>> {
    let given = body.remove("objectId");
    if !ctx.app.config.allow_custom_object_id {
        if given.is_some_and(|id| !id.is_null()) {
            return Err(
                ParseError::new(ErrorCode::InvalidKeyName, "objectId is an invalid field name.").into()
            );
        }
        if body.contains_key("id") {
            return Err(ParseError::new(ErrorCode::InvalidKeyName, "id is an invalid field name.").into());
        }
        return Ok(None);
    }
    match given {
        None => Ok(None),
        Some(Value::String(id)) if !id.is_empty() => Ok(Some(id)),
        Some(_) => {
            Err(ParseError::new(ErrorCode::MissingObjectId, "objectId must not be empty, null or undefined")
                .into())
        }
    }
}

/// A write's body, parsed: field updates in order, plus the ACL if one was given.
struct WriteBody {
    updates: Updates,
    permissions: Option<Permissions>,
}

impl WriteBody {
    fn parse(body: Map<String, Value>) -> ApiResult<WriteBody> {
        let mut updates = Vec::with_capacity(body.len());
        let mut permissions = None;
        for (key, value) in body {
            if SERVER_OWNED.contains(&key.as_str()) {
                continue;
            }
            if key == "ACL" {
                permissions = Some(permissions_from_acl(&value)?);
                continue;
            }
            let path = FieldPath::parse(&key);
            if !field_name_is_valid(&path.field) || path.subpath.iter().any(String::is_empty) {
                return Err(ParseError::invalid_key_name(&key).into());
            }
            let value = normalize_value(&key, value)?;
            // Rejects malformed typed values and impossible target classes up front.
            infer_type(&value)?;
            let update = match parse_field_update(&value)? {
                // A `{"__type": "Relation"}` marker declares the field; it holds no data.
                FieldUpdate::Set(marker) if reparse_core::value::type_tag(&marker) == Some("Relation") => {
                    let target_class = marker.get("className").and_then(Value::as_str).unwrap_or_default();
                    FieldUpdate::Relation(RelationChange {
                        target_class: target_class.to_string(),
                        ..RelationChange::default()
                    })
                }
                update => update,
            };
            updates.push((path, update));
        }
        Ok(WriteBody { updates, permissions })
    }

    /// The type each top-level field gets from this write (nested keys make an Object field).
    fn field_types(&self) -> ApiResult<Vec<(String, FieldType)>> {
        let mut types = Vec::new();
        for (path, update) in &self.updates {
            let field_type = if path.is_nested() {
                Some(FieldType::Object)
            } else {
                match update {
                    FieldUpdate::Set(value) => infer_type(value)?,
                    FieldUpdate::Delete => None,
                    FieldUpdate::Increment(_) => Some(FieldType::Number),
                    FieldUpdate::Add(_) | FieldUpdate::AddUnique(_) | FieldUpdate::Remove(_) => {
                        Some(FieldType::Array)
                    }
                    FieldUpdate::Relation(change) => {
                        Some(FieldType::Relation { target_class: change.target_class.clone() })
                    }
                }
            };
            if let Some(field_type) = field_type {
                types.push((path.field.clone(), field_type));
            }
        }
        Ok(types)
    }

    /// The ACL as the stored `_rperm`/`_wperm` lists (nothing when no ACL was given).
    fn permission_updates(&self) -> Updates {
        let Some(permissions) = &self.permissions else { return Vec::new() };
        vec![
            (FieldPath::top("_rperm"), FieldUpdate::Set(json!(permissions.read))),
            (FieldPath::top("_wperm"), FieldUpdate::Set(json!(permissions.write))),
        ]
    }

    fn relation_updates(&self) -> Updates {
        self.updates
            .iter()
            .filter(|(_, update)| {
                matches!(update, FieldUpdate::Relation(change) if !change.add.is_empty() || !change.remove.is_empty())
            })
            .cloned()
            .collect()
    }
}

/// Rejects malformed typed values (a bad date, an out-of-range GeoPoint, a polygon of fewer
/// than three points) and brings the rest to their stored form: a File keeps only its name (its
/// URL is derived on every read, as parse-server does), a Polygon is closed.
fn normalize_value(key: &str, mut value: Value) -> ApiResult<Value> {
    if let Some(iso) = date_iso(&value) {
        parse_date(iso)?;
    }
    match reparse_core::value::type_tag(&value) {
        Some("File") => {
            if let Some(file) = value.as_object_mut() {
                file.remove("url");
            }
        }
        Some("Polygon") => close_polygon(key, &mut value)?,
        _ => {}
    }
    check_geo_point(key, &value)?;
    Ok(value)
}

fn close_polygon(key: &str, polygon: &mut Value) -> ApiResult<()> {
    let Some(Value::Array(points)) = polygon.get_mut("coordinates") else {
        return Err(ParseError::invalid_json(format!("Polygon {key} needs coordinates")).into());
    };
    let valid = points.iter().all(|point| {
        point.as_array().is_some_and(|pair| pair.len() == 2 && pair.iter().all(Value::is_number))
    });
    if !valid || points.len() < 3 {
        return Err(ParseError::invalid_json(format!(
            "Polygon {key} must have at least 3 points of [latitude, longitude]"
        ))
        .into());
    }
    if points.first() != points.last() {
        let first = points[0].clone();
        points.push(first);
    }
    Ok(())
}

fn check_geo_point(key: &str, value: &Value) -> ApiResult<()> {
    if reparse_core::value::type_tag(value) == Some("GeoPoint") {
        let latitude = value.get("latitude").and_then(Value::as_f64);
        let longitude = value.get("longitude").and_then(Value::as_f64);
        match (latitude, longitude) {
            (Some(lat), Some(lng)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng) => {}
            _ => {
                return Err(
                    ParseError::new(ErrorCode::InvalidJson, format!("invalid GeoPoint for {key}")).into()
                );
            }
        }
    }
    Ok(())
}

/// Fills fields with their schema default; returns the fields it filled.
fn apply_defaults(schema: &ClassSchema, object: &mut Object) -> Vec<String> {
    let mut filled = Vec::new();
    for (name, spec) in &schema.fields {
        if let Some(default) = &spec.default_value
            && object.get(name).is_none_or(Value::is_null)
        {
            object.insert(name.clone(), default.clone());
            filled.push(name.clone());
        }
    }
    filled
}

fn check_required(schema: &ClassSchema, object: &Object) -> ApiResult<()> {
    for (name, spec) in &schema.fields {
        if spec.required && object.get(name).is_none_or(|v| v.is_null() || v == "") {
            return Err(ParseError::new(ErrorCode::ValidationError, format!("{name} is required")).into());
        }
    }
    Ok(())
}

/// parse-server answers a write with the values its operators computed (an `Increment`'s new
/// total, an `Add`'s whole array), so SDKs learn them without a fetch.
fn add_computed_fields(response: &mut Map<String, Value>, updates: &Updates, object: &Object) {
    for (path, update) in updates {
        let computed = matches!(
            update,
            FieldUpdate::Increment(_)
                | FieldUpdate::Add(_)
                | FieldUpdate::AddUnique(_)
                | FieldUpdate::Remove(_)
        );
        if computed
            && !path.is_nested()
            && let Some(value) = object.get(&path.field)
        {
            response.insert(path.field.clone(), value.clone());
        }
    }
}

/// A new random objectId of `size` alphanumerics.
pub(crate) fn new_object_id(size: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..size).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// Turns a stored object into what clients see: `ACL` from `_rperm`/`_wperm`, relation fields
/// as `{"__type": "Relation"}` markers, File URLs under the app's public server URL, and no
/// secrets (see `reparse_core::redact`).
pub fn to_client_object(ctx: &Ctx<'_>, schema: &ClassSchema, mut object: Object) -> Object {
    let read = object.remove("_rperm");
    let write = object.remove("_wperm");
    if read.is_some() || write.is_some() {
        let list = |value: Option<Value>| -> Vec<String> {
            value.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
        };
        object.insert("ACL".into(), acl_from_permissions(&list(read), &list(write)));
    }
    for (field, target_class) in schema.relation_fields() {
        object.insert(field.to_string(), json!({"__type": "Relation", "className": target_class}));
    }
    for value in object.values_mut() {
        add_file_urls(ctx, value);
    }
    redact_object(&schema.class_name, &schema.class_level_permissions, &mut object, ctx.auth.viewer());
    object
}

/// Gives every File value (at any depth) its URL, the way parse-server's files controller
/// does: `<publicServerURL>/files/<appId>/<encoded name>`.
pub(crate) fn add_file_urls(ctx: &Ctx<'_>, value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|item| add_file_urls(ctx, item)),
        Value::Object(map) if map.get("__type").and_then(Value::as_str) == Some("File") => {
            if let Some(name) = map.get("name").and_then(Value::as_str) {
                let url = file_url(ctx.app, name);
                map.insert("url".into(), Value::String(url));
            }
        }
        Value::Object(map) => map.values_mut().for_each(|inner| add_file_urls(ctx, inner)),
        _ => {}
    }
}

/// encodeURIComponent's set: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` is escaped.
const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Where clients read a stored file: the storage's own URL when it serves files directly (a
/// public bucket), else Reparse's file URL under `publicServerURL`.
pub(crate) fn file_url(app: &crate::App, name: &str) -> String {
    match app.files.as_ref().and_then(|files| files.direct_url(name)) {
        Some(url) => url,
        None => server_file_url(&app.config.public_server_url, &app.config.app_id, name),
    }
}

fn server_file_url(server_url: &str, app_id: &str, name: &str) -> String {
    let name = percent_encoding::utf8_percent_encode(name, URI_COMPONENT);
    format!("{server_url}/files/{app_id}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_alphanumeric_of_the_configured_size() {
        let id = new_object_id(10);
        assert_eq!(id.len(), 10);
        assert!(reparse_core::value::object_id_is_valid(&id));
    }

    #[test]
    fn file_urls_encode_names_like_encode_uri_component() {
        assert_eq!(
            server_file_url("http://h/parse", "app", "a b/ü(1).txt"),
            "http://h/parse/files/app/a%20b%2F%C3%BC(1).txt"
        );
    }

    #[test]
    fn polygons_are_closed_and_checked() {
        let mut open = json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1]]});
        close_polygon("p", &mut open).unwrap();
        assert_eq!(open["coordinates"].as_array().unwrap().len(), 4);
        let mut short = json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1]]});
        assert!(close_polygon("p", &mut short).is_err());
    }
}
