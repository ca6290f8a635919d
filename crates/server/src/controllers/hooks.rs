//! `/hooks/functions` and `/hooks/triggers` (master key): registering webhooks as parse-server's
//! HooksRouter does, in the `_Hooks` class, with its answers and its 143 errors.

use reparse_cloud::Trigger;
use reparse_core::query::{Constraint, FieldPath, Filter, Query};
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};

use crate::context::{Ctx, MASTER};
use crate::controllers::objects;
use crate::error::{ApiError, ApiResult};
use crate::routes::ParseResponse;
use crate::webhooks::Hook;

/// Which hook a route names: a function, or a class's trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookName {
    Function(String),
    Trigger { class_name: String, trigger_name: String },
}

fn webhook_error(message: impl Into<String>) -> ApiError {
    ParseError::new(ErrorCode::WEBHOOK_ERROR, message).into()
}

fn invalid_declaration() -> ApiError {
    webhook_error("invalid hook declaration")
}

fn not_found(name: &HookName) -> ApiError {
    match name {
        HookName::Function(function) => webhook_error(format!("no function named: {function} is defined")),
        HookName::Trigger { class_name, .. } => webhook_error(format!("class {class_name} does not exist")),
    }
}

fn require_master(ctx: &Ctx<'_>, action: &str) -> ApiResult<()> {
    if !ctx.auth.master {
        return Err(ApiError::master_key_required());
    }
    if ctx.auth.read_only && action != "read" {
        let message = format!("read-only masterKey isn't allowed to {action} a hook.");
        return Err(ParseError::new(ErrorCode::OperationForbidden, message).into());
    }
    Ok(())
}

/// The `_Hooks` rows naming `name` (its object ids).
async fn rows(ctx: &Ctx<'_>, name: &HookName) -> ApiResult<Vec<String>> {
    let master = ctx.with_auth(&MASTER);
    let Some(schema) = master.schema("_Hooks").await? else { return Ok(Vec::new()) };
    let equals = |field: &str, value: &str| Filter::Field {
        path: FieldPath::top(field),
        constraint: Constraint::Eq(json!(value)),
    };
    let filter = match name {
        HookName::Function(function) => equals("functionName", function),
        HookName::Trigger { class_name, trigger_name } => {
            Filter::And(vec![equals("className", class_name), equals("triggerName", trigger_name)])
        }
    };
    let found = master.store.find(&schema, &Query::matching(filter)).await?;
    Ok(found
        .iter()
        .filter_map(|row| row.get("objectId").and_then(Value::as_str).map(str::to_string))
        .collect())
}

/// `GET /hooks/functions`, `GET /hooks/triggers` (`name` `None`, `triggers` choosing the list),
/// and the single-hook GETs.
pub async fn get(ctx: &Ctx<'_>, triggers: bool, name: Option<HookName>) -> ApiResult<ParseResponse> {
    require_master(ctx, "read")?;
    ctx.app.webhooks.invalidate();
    let hooks = ctx.app.webhooks.hooks(ctx).await?;
    let matches = |hook: &&Hook| match &name {
        None if triggers => hook.class_name.is_some() && hook.trigger_name.is_some(),
        None => hook.function_name.is_some(),
        Some(HookName::Function(function)) => hook.function_name.as_deref() == Some(function),
        Some(HookName::Trigger { class_name, trigger_name }) => {
            hook.class_name.as_deref() == Some(class_name)
                && hook.trigger_name.as_deref() == Some(trigger_name)
        }
    };
    let found: Vec<Value> = hooks.iter().filter(matches).map(Hook::to_json).collect();
    match name {
        None => Ok(ParseResponse::ok(Value::Array(found))),
        Some(name) => found.into_iter().next().map(ParseResponse::ok).ok_or_else(|| not_found(&name)),
    }
}

/// `POST /hooks/functions` and `/hooks/triggers`: registers a new hook.
pub async fn create(ctx: &Ctx<'_>, body: Map<String, Value>) -> ApiResult<ParseResponse> {
    require_master(ctx, "create")?;
    let text =
        |key: &str| body.get(key).and_then(Value::as_str).filter(|text| !text.is_empty()).map(str::to_string);
    let (name, url) = match (text("functionName"), text("className"), text("triggerName")) {
        (Some(function), _, _) => (HookName::Function(function), text("url")),
        (None, Some(class_name), Some(trigger_name)) => {
            (HookName::Trigger { class_name, trigger_name }, text("url"))
        }
        _ => return Err(invalid_declaration()),
    };
    if !rows(ctx, &name).await?.is_empty() {
        return Err(match &name {
            HookName::Function(function) => {
                webhook_error(format!("function name: {function} already exists"))
            }
            HookName::Trigger { class_name, trigger_name } => {
                webhook_error(format!("class {class_name} already has trigger {trigger_name}"))
            }
        });
    }
    let hook = declared(name, url)?;
    let master = ctx.with_auth(&MASTER);
    let row = hook.to_json().as_object().cloned().unwrap_or_default();
    objects::create(&master, "_Hooks", row).await?;
    ctx.app.webhooks.invalidate();
    Ok(ParseResponse::ok(hook.to_json()))
}

/// `PUT /hooks/functions/:name` and `/hooks/triggers/:class/:trigger`: a new URL, or
/// `{"__op": "Delete"}` to remove the hook.
pub async fn update(ctx: &Ctx<'_>, name: HookName, body: Map<String, Value>) -> ApiResult<ParseResponse> {
    require_master(ctx, "modify")?;
    let master = ctx.with_auth(&MASTER);
    let existing = rows(ctx, &name).await?;
    if body.get("__op").and_then(Value::as_str) == Some("Delete") {
        for id in existing {
            objects::delete_object(&master, "_Hooks", &id, Filter::everything()).await?;
        }
        ctx.app.webhooks.invalidate();
        return Ok(ParseResponse::ok(json!({})));
    }
    let url = body.get("url").and_then(Value::as_str).filter(|url| !url.is_empty()).map(str::to_string);
    if url.is_none() {
        return Err(invalid_declaration());
    }
    let Some(id) = existing.first() else { return Err(not_found(&name)) };
    let hook = declared(name, url)?;
    objects::update_object(
        &master,
        "_Hooks",
        id,
        json!({"url": hook.url}).as_object().cloned().unwrap_or_default(),
        Vec::new(),
        Filter::everything(),
    )
    .await?;
    ctx.app.webhooks.invalidate();
    Ok(ParseResponse::ok(hook.to_json()))
}

/// A complete declaration: a URL, and for a trigger one of Parse's trigger names.
fn declared(name: HookName, url: Option<String>) -> ApiResult<Hook> {
    let url = url.ok_or_else(invalid_declaration)?;
    Ok(match name {
        HookName::Function(function) => {
            Hook { function_name: Some(function), class_name: None, trigger_name: None, url }
        }
        HookName::Trigger { class_name, trigger_name } => {
            if Trigger::from_name(&trigger_name).is_none() {
                return Err(invalid_declaration());
            }
            Hook { function_name: None, class_name: Some(class_name), trigger_name: Some(trigger_name), url }
        }
    })
}
