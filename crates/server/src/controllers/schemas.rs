//! `/schemas` and `/purge`: reading and changing class schemas (master key only).

use reparse_core::schema::{
    BASE_FIELDS, ClassSchema, FieldSpec, default_fields, field_name_is_valid, validate_class_name,
};
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::controllers::schema_writes::with_change_lock;
use crate::error::{ApiError, ApiResult};
use crate::routes::ParseResponse;
use crate::schema_cache::SchemaChangeGuard;

fn require_master(ctx: &Ctx<'_>) -> ApiResult<()> {
    if ctx.auth.master { Ok(()) } else { Err(ApiError::master_key_required()) }
}

fn require_writable_master(ctx: &Ctx<'_>, action: &str) -> ApiResult<()> {
    require_master(ctx)?;
    if ctx.auth.read_only {
        return Err(ParseError::new(
            ErrorCode::OperationForbidden,
            format!("read-only masterKey isn't allowed to {action}."),
        )
        .into());
    }
    Ok(())
}

fn class_missing(class_name: &str) -> ApiError {
    ParseError::new(ErrorCode::InvalidClassName, format!("Class {class_name} does not exist.")).into()
}

/// parse-server words index problems as invalid queries (102).
fn index_error(message: String) -> ApiError {
    ParseError::invalid_query(message).into()
}

fn class_name_mismatch(in_body: &str, in_url: &str) -> ApiError {
    let message = format!("Class name mismatch between {in_body} and {in_url}.");
    ParseError::new(ErrorCode::InvalidClassName, message).into()
}

fn schema_operation(message: String) -> ApiError {
    ParseError::new(ErrorCode::InvalidSchemaOperation, message).into()
}

/// `GET /schemas`
pub async fn list(ctx: &Ctx<'_>) -> ApiResult<ParseResponse> {
    require_master(ctx)?;
    let schemas = ctx.all_schemas().await?;
    let mut results: Vec<Value> = schemas
        .iter()
        .filter(|schema| !reparse_core::schema::UNLISTED_CLASSES.contains(&schema.class_name.as_str()))
        .map(|schema| schema.to_json())
        .collect();
    results.sort_by(|a, b| a["className"].as_str().cmp(&b["className"].as_str()));
    Ok(ParseResponse::ok(json!({"results": results})))
}

/// `GET /schemas/:className`
pub async fn get(ctx: &Ctx<'_>, class_name: &str) -> ApiResult<ParseResponse> {
    require_master(ctx)?;
    let schema = ctx.schema(class_name).await?.ok_or_else(|| class_missing(class_name))?;
    Ok(ParseResponse::ok(schema.to_json()))
}

/// `POST /schemas` and `POST /schemas/:className`
pub async fn create(
    ctx: &Ctx<'_>,
    url_class: Option<&str>,
    body: Map<String, Value>,
) -> ApiResult<ParseResponse> {
    require_writable_master(ctx, "create a schema")?;
    let body_class = body.get("className").and_then(Value::as_str);
    let class_name = match (url_class, body_class) {
        (Some(url), Some(body)) if url != body => {
            return Err(class_name_mismatch(body, url));
        }
        (Some(name), _) | (None, Some(name)) => name.to_string(),
        (None, None) => {
            return Err(ParseError::new(
                ErrorCode::MissingRequiredField,
                "POST /schemas needs a class name.",
            )
            .into());
        }
    };
    validate_class_name(&class_name)?;
    with_change_lock!(ctx, |guard| {
        if ctx.schema(&class_name).await?.is_some() {
            return Err(ParseError::new(
                ErrorCode::InvalidClassName,
                format!("Class {class_name} already exists."),
            )
            .into());
        }
        let mut schema = ClassSchema::new(&class_name);
        apply_schema_body(&mut schema, &body, false)?;
        ctx.store.create_class(&schema).await?;
        let schema = ctx.record_schema(guard, schema);
        Ok(ParseResponse::ok(schema.to_json()))
    })
}

/// `PUT /schemas/:className`
pub async fn update(ctx: &Ctx<'_>, class_name: &str, body: Map<String, Value>) -> ApiResult<ParseResponse> {
    require_writable_master(ctx, "update a schema")?;
    if let Some(body_class) = body.get("className").and_then(Value::as_str)
        && body_class != class_name
    {
        return Err(class_name_mismatch(body_class, class_name));
    }
    with_change_lock!(ctx, |guard| {
        let current = ctx.schema(class_name).await?.ok_or_else(|| class_missing(class_name))?;
        let mut schema = (*current).clone();
        apply_schema_body(&mut schema, &body, true)?;
        ctx.store.update_class(&schema).await?;
        let schema = ctx.record_schema(guard, schema);
        Ok(ParseResponse::ok(schema.to_json()))
    })
}

/// `DELETE /schemas/:className`: only an empty class can be dropped.
pub async fn delete(ctx: &Ctx<'_>, class_name: &str) -> ApiResult<ParseResponse> {
    require_writable_master(ctx, "delete a schema")?;
    validate_class_name(class_name)?;
    with_change_lock!(ctx, |guard| {
        let Some(schema) = ctx.schema(class_name).await? else {
            return Ok(ParseResponse::ok(json!({})));
        };
        let count = ctx.store.count(&schema, &reparse_core::query::Filter::everything()).await?;
        if count > 0 {
            return Err(schema_operation(format!(
                "Class {class_name} is not empty, contains {count} objects, cannot drop schema."
            )));
        }
        ctx.store.delete_class(class_name).await?;
        ctx.forget_schema(guard, class_name);
        Ok(ParseResponse::ok(json!({})))
    })
}

/// `DELETE /purge/:className`: removes every object, keeps the class.
pub async fn purge(ctx: &Ctx<'_>, class_name: &str) -> ApiResult<ParseResponse> {
    require_writable_master(ctx, "purge a class")?;
    validate_class_name(class_name)?;
    let Some(schema) = ctx.schema(class_name).await? else {
        return Ok(ParseResponse::ok(json!({})));
    };
    if ctx.in_transaction() {
        // Inside a transactional batch the purge must stay in its transaction.
        ctx.store.delete(&schema, &reparse_core::query::Filter::everything()).await?;
    } else {
        ctx.app.storage.purge(&schema).await?;
    }
    // Purged sessions (or their users) must stop working at once, not when the cache expires.
    if matches!(class_name, "_Session" | "_User") {
        ctx.app.sessions.clear();
    }
    if class_name == "_Role" {
        ctx.app.roles.clear();
    }
    Ok(ParseResponse::ok(json!({})))
}

/// Applies `fields`, `indexes` and `classLevelPermissions` of a schema body. On update,
/// `{"__op": "Delete"}` removes a field or index, and adding one that exists is 255.
fn apply_schema_body(schema: &mut ClassSchema, body: &Map<String, Value>, updating: bool) -> ApiResult<()> {
    if let Some(fields) = body.get("fields") {
        let fields =
            fields.as_object().ok_or_else(|| ParseError::invalid_json("fields must be an object"))?;
        for (name, spec) in fields {
            apply_field_change(schema, name, spec, updating)?;
        }
    }
    if let Some(permissions) = body.get("classLevelPermissions") {
        if !permissions.is_object() && !permissions.is_null() {
            return Err(ParseError::invalid_json("classLevelPermissions must be an object").into());
        }
        if let Value::Object(given) = permissions {
            // As parse-server stores them: an operation left out is granted to no one.
            let mut complete = given.clone();
            for operation in
                ["find", "count", "get", "create", "update", "delete", "addField", "protectedFields"]
            {
                complete.entry(operation).or_insert_with(|| json!({}));
            }
            schema.class_level_permissions = Value::Object(complete);
        }
    }
    if let Some(indexes) = body.get("indexes") {
        let indexes =
            indexes.as_object().ok_or_else(|| ParseError::invalid_json("indexes must be an object"))?;
        for (name, spec) in indexes {
            apply_index_change(schema, name, spec, updating)?;
        }
    }
    Ok(())
}

fn is_delete(spec: &Value) -> bool {
    spec.get("__op").and_then(Value::as_str) == Some("Delete")
}

fn apply_field_change(schema: &mut ClassSchema, name: &str, spec: &Value, updating: bool) -> ApiResult<()> {
    let is_default = BASE_FIELDS.contains(&name)
        || default_fields(&schema.class_name).iter().any(|(field, _)| field == name);
    if is_delete(spec) {
        if !updating || schema.field(name).is_none() {
            return Err(schema_operation(format!("Field {name} does not exist, cannot delete.")));
        }
        if is_default {
            return Err(ParseError::new(
                ErrorCode::InvalidFieldDefinition,
                format!("field {name} cannot be changed"),
            )
            .into());
        }
        schema.remove_field(name);
        schema.indexes.retain(|_, index| index.get(name).is_none());
        return Ok(());
    }
    if !field_name_is_valid(name) {
        return Err(ParseError::new(ErrorCode::InvalidKeyName, format!("invalid field name: {name}")).into());
    }
    let requested = FieldSpec::from_json(spec)?;
    if let Some(existing) = schema.field(name) {
        // parse-server 8 accepts re-declaring a field with the type it has.
        if existing.field_type == requested.field_type && !is_default {
            return Ok(());
        }
        if is_default && !updating {
            return Err(ParseError::new(
                ErrorCode::InvalidFieldDefinition,
                format!("field {name} cannot be added"),
            )
            .into());
        }
        return Err(schema_operation(format!("Field {name} exists, cannot update.")));
    }
    schema.set_field(name, requested);
    Ok(())
}

fn apply_index_change(schema: &mut ClassSchema, name: &str, spec: &Value, updating: bool) -> ApiResult<()> {
    if is_delete(spec) {
        if !updating || schema.indexes.remove(name).is_none() {
            return Err(index_error(format!("Index {name} does not exist, cannot delete.")));
        }
        return Ok(());
    }
    if schema.indexes.contains_key(name) {
        return Err(index_error(format!("Index {name} exists, cannot update.")));
    }
    let Some(keys) = spec.as_object().filter(|keys| !keys.is_empty()) else {
        return Err(ParseError::invalid_json(format!("index {name} must name its fields")).into());
    };
    for (field, direction) in keys {
        if schema.field(field).is_none() {
            return Err(index_error(format!("Field {field} does not exist, cannot add index.")));
        }
        if !matches!(direction.as_i64(), Some(1 | -1)) {
            return Err(ParseError::invalid_json(format!(
                "index {name}: direction of {field} must be 1 or -1"
            ))
            .into());
        }
    }
    schema.indexes.insert(name.to_string(), spec.clone());
    Ok(())
}
