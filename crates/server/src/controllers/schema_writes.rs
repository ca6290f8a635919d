//! Schema changes made on behalf of writes: creating a class on first save (when allowed) and
//! adding the fields a save introduces, with parse-server's errors for type mismatches.

use std::sync::Arc;

use reparse_core::schema::{
    ClassSchema, FieldSpec, FieldType, SYSTEM_CLASSES, type_mismatch, validate_class_name,
};
use reparse_core::{ErrorCode, ParseError};

use crate::context::Ctx;
use crate::error::ApiResult;
use crate::schema_cache::SchemaChangeGuard;

/// Runs `change` holding the schema change lock: the batch's if it holds one, else a new one.
macro_rules! with_change_lock {
    ($ctx:expr, |$guard:ident| $body:expr) => {{
        let owned_guard;
        let $guard: &SchemaChangeGuard = match $ctx.schema_guard {
            Some(guard) => guard,
            None => {
                owned_guard = $ctx.app.schemas.lock_changes().await;
                &owned_guard
            }
        };
        $body
    }};
}
pub(crate) use with_change_lock;

/// The schema of a class about to be written, creating the class when the caller may.
pub async fn class_for_write(ctx: &Ctx<'_>, class_name: &str) -> ApiResult<Arc<ClassSchema>> {
    validate_class_name(class_name)?;
    if let Some(schema) = ctx.schema(class_name).await? {
        return Ok(schema);
    }
    let may_create =
        ctx.auth.master || ctx.app.config.allow_client_class_creation || SYSTEM_CLASSES.contains(&class_name);
    if !may_create {
        return Err(ParseError::new(
            ErrorCode::OperationForbidden,
            format!("This user is not allowed to access non-existent class: {class_name}"),
        )
        .into());
    }
    with_change_lock!(ctx, |guard| {
        // Another request may have created it while we waited for the lock.
        if let Some(schema) = ctx.schema(class_name).await? {
            return Ok(schema);
        }
        let schema = ClassSchema::new(class_name);
        ctx.store.create_class(&schema).await?;
        Ok(ctx.record_schema(guard, schema))
    })
}

/// Makes sure every `(field, type)` is in the schema: 111 when a field exists with another
/// type, otherwise new fields are added. Returns the schema to write with.
pub async fn ensure_fields(
    ctx: &Ctx<'_>,
    schema: Arc<ClassSchema>,
    fields: &[(String, FieldType)],
) -> ApiResult<Arc<ClassSchema>> {
    if !needs_new_fields(&schema, fields)? {
        return Ok(schema);
    }
    ctx.auth.may_add_fields(&schema)?;
    with_change_lock!(ctx, |guard| {
        let current = ctx.schema(&schema.class_name).await?.ok_or_else(ParseError::object_not_found)?;
        if !needs_new_fields(&current, fields)? {
            return Ok(current);
        }
        let mut updated = (*current).clone();
        for (name, field_type) in fields {
            if updated.field(name).is_none() {
                updated.set_field(name, FieldSpec::of(field_type.clone()));
            }
        }
        ctx.store.update_class(&updated).await?;
        Ok(ctx.record_schema(guard, updated))
    })
}

/// Whether some field is new; 111 when one has another type already.
fn needs_new_fields(schema: &ClassSchema, fields: &[(String, FieldType)]) -> Result<bool, ParseError> {
    let mut missing = false;
    for (name, field_type) in fields {
        match schema.field_type(name) {
            Some(existing) if existing == field_type => {}
            Some(existing) => {
                return Err(type_mismatch(&schema.class_name, name, existing, field_type));
            }
            None => missing = true,
        }
    }
    Ok(missing)
}

/// The type each top-level field of an object introduces (server-built objects such as
/// sessions; internal `_` fields and the base fields are left out).
pub fn field_types_of(object: &reparse_core::value::Object) -> ApiResult<Vec<(String, FieldType)>> {
    let mut types = Vec::new();
    for (field, value) in object {
        if field.starts_with('_') || reparse_core::schema::BASE_FIELDS.contains(&field.as_str()) {
            continue;
        }
        if let Some(field_type) = reparse_core::schema::infer_type(value)? {
            types.push((field.clone(), field_type));
        }
    }
    Ok(types)
}
