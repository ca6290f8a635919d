//! Object triggers around writes: `beforeSave`/`afterSave` and `beforeDelete`/`afterDelete`,
//! as parse-server runs them.
//!
//! - beforeSave gets the object as it will be (the stored object with the write's changes
//!   applied, or a new one) and may change it; what it leaves is what is written. Fields it
//!   changed are added to the write's response, so the SDK sees them. An error stops the write.
//! - afterSave and afterDelete run once the write is done and are awaited; their errors are
//!   logged, never returned (the write stands).
//! - beforeDelete gets the object; an error stops the delete.
//! - beforeFind gets the query (`Parse.Query`) and may change or replace it; afterFind gets the
//!   objects found and may change, filter or replace them.
//! - beforeLogin (an error refuses the log-in, no session is made), afterLogin, and afterLogout
//!   (with the session that ended).
//! - The objects triggers see are read with the caller's permissions (an update or delete of an
//!   object the caller cannot read is 101 before any trigger runs). One `context` goes from
//!   the request through the before-trigger to the after-trigger.

use std::sync::Arc;

use reparse_cloud::{CloudCode, Trigger, TriggerInput};
use reparse_core::ParseError;
use reparse_core::schema::ClassSchema;
use reparse_core::value::Object;
use serde_json::{Map, Value};

use crate::context::{Ctx, MASTER};
use crate::controllers::functions::call_context;
use crate::controllers::objects::{get, to_client_object};
use crate::error::ApiResult;

/// The triggers of one write: what the before-trigger decided, for the after-trigger and the
/// response.
#[derive(Default)]
pub(crate) struct WriteTriggers {
    /// Who runs afterSave, if anyone.
    after: Option<Arc<dyn CloudCode>>,
    /// The object before the write (client form), when a trigger needed it.
    original: Option<Map<String, Value>>,
    context: Map<String, Value>,
    /// Fields whose value the before-trigger set or changed.
    changed_by_trigger: Vec<String>,
}

/// Who runs `trigger` for the class: a webhook registered for it, else the app's cloud code
/// when it defines it.
pub(crate) async fn target(
    ctx: &Ctx<'_>,
    trigger: Trigger,
    class_name: &str,
) -> ApiResult<Option<Arc<dyn CloudCode>>> {
    if let Some(webhook) = ctx.app.webhooks.trigger(ctx, trigger, class_name).await? {
        return Ok(Some(webhook));
    }
    Ok(ctx.app.cloud.as_ref().filter(|cloud| cloud.hooks().has_trigger(trigger, class_name)).cloned())
}

/// The object as the caller may read it (client form); 101 when they cannot.
async fn readable_object(ctx: &Ctx<'_>, class_name: &str, object_id: &str) -> ApiResult<Map<String, Value>> {
    let response = get(ctx, class_name, object_id, Map::new()).await?;
    match response.body {
        Value::Object(object) => Ok(object),
        _ => Err(ParseError::object_not_found().into()),
    }
}

/// Runs beforeSave for a create (`object_id` `None`) or an update, returning the body to write.
pub(crate) async fn before_save(
    ctx: &Ctx<'_>,
    class_name: &str,
    object_id: Option<&str>,
    body: Map<String, Value>,
) -> ApiResult<(Map<String, Value>, WriteTriggers)> {
    let before = target(ctx, Trigger::BeforeSave, class_name).await?;
    let after = target(ctx, Trigger::AfterSave, class_name).await?;
    if before.is_none() && after.is_none() {
        return Ok((body, WriteTriggers::default()));
    }
    let original = match object_id {
        Some(object_id) => Some(readable_object(ctx, class_name, object_id).await?),
        None => None,
    };
    let call = call_context(ctx).await?;
    let mut triggers = WriteTriggers { after, original, ..WriteTriggers::default() };
    let Some(cloud) = before else {
        triggers.context = call.context;
        return Ok((body, triggers));
    };
    let input = TriggerInput {
        class_name: class_name.to_string(),
        object: None,
        original: triggers.original.clone(),
        changes: Some(body.clone()),
        ..TriggerInput::default()
    };
    let outcome = cloud.run_trigger(Trigger::BeforeSave, input, call).await?;
    triggers.context = outcome.context;
    let Some(mut changed) = outcome.changes else {
        return Ok((body, triggers));
    };
    // What the SDK's save JSON leaves out but the write needs: a create's own objectId.
    if let Some(object_id) = body.get("objectId").filter(|_| object_id.is_none()) {
        changed.entry("objectId").or_insert_with(|| object_id.clone());
    }
    triggers.changed_by_trigger = changed
        .iter()
        .filter(|(key, value)| body.get(key.as_str()) != Some(value) && key.as_str() != "objectId")
        .map(|(key, _)| key.clone())
        .collect();
    Ok((changed, triggers))
}

impl WriteTriggers {
    /// Adds the fields the before-trigger changed to a write's response, with their stored
    /// values, as parse-server does.
    pub(crate) fn add_changed_fields(&self, response: &mut Value, written: &Map<String, Value>) {
        let Value::Object(response) = response else { return };
        for key in &self.changed_by_trigger {
            if let Some(value) = written.get(key) {
                response.insert(key.clone(), value.clone());
            }
        }
    }

    /// Runs afterSave (if defined) for the stored object; failures are logged.
    pub(crate) async fn after_save(self, ctx: &Ctx<'_>, schema: &ClassSchema, stored: &Object) {
        let Some(cloud) = self.after else { return };
        let object = to_client_object(&ctx.with_auth(&MASTER), schema, stored.clone());
        let input = TriggerInput {
            class_name: schema.class_name.clone(),
            object: Some(object),
            original: self.original,
            changes: None,
            ..TriggerInput::default()
        };
        run_after(ctx, cloud.as_ref(), Trigger::AfterSave, input, self.context).await;
    }

    /// The stored object as the response and afterSave see it (client form, full).
    pub(crate) fn client_form(ctx: &Ctx<'_>, schema: &ClassSchema, stored: &Object) -> Map<String, Value> {
        to_client_object(&ctx.with_auth(&MASTER), schema, stored.clone())
    }
}

/// The triggers of a delete.
pub(crate) struct DeleteTriggers {
    /// Who runs afterDelete, if anyone.
    after: Option<Arc<dyn CloudCode>>,
    object: Map<String, Value>,
    context: Map<String, Value>,
}

/// Runs beforeDelete (if any delete trigger is defined, the object is read first).
pub(crate) async fn before_delete(
    ctx: &Ctx<'_>,
    class_name: &str,
    object_id: &str,
) -> ApiResult<Option<DeleteTriggers>> {
    let before = target(ctx, Trigger::BeforeDelete, class_name).await?;
    let after = target(ctx, Trigger::AfterDelete, class_name).await?;
    if before.is_none() && after.is_none() {
        return Ok(None);
    }
    let object = readable_object(ctx, class_name, object_id).await?;
    let call = call_context(ctx).await?;
    let Some(cloud) = before else {
        return Ok(Some(DeleteTriggers { after, object, context: call.context }));
    };
    let input = TriggerInput {
        class_name: class_name.to_string(),
        object: Some(object.clone()),
        original: None,
        changes: None,
        ..TriggerInput::default()
    };
    let outcome = cloud.run_trigger(Trigger::BeforeDelete, input, call).await?;
    Ok(Some(DeleteTriggers { after, object, context: outcome.context }))
}

impl DeleteTriggers {
    pub(crate) async fn after_delete(self, ctx: &Ctx<'_>, class_name: &str) {
        let Some(cloud) = self.after else { return };
        let input = TriggerInput {
            class_name: class_name.to_string(),
            object: Some(self.object),
            original: None,
            changes: None,
            ..TriggerInput::default()
        };
        run_after(ctx, cloud.as_ref(), Trigger::AfterDelete, input, self.context).await;
    }
}

/// Runs an after-trigger; its failure is logged (the write it follows stands).
async fn run_after(
    ctx: &Ctx<'_>,
    cloud: &dyn CloudCode,
    trigger: Trigger,
    input: TriggerInput,
    context: Map<String, Value>,
) {
    let class_name = input.class_name.clone();
    let call = match call_context(ctx).await {
        Ok(mut call) => {
            call.context = context;
            call
        }
        Err(error) => {
            tracing::warn!(target: "cloud", app = %ctx.app.config.app_id, %trigger, class_name, ?error, "trigger not run");
            return;
        }
    };
    if let Err(error) = cloud.run_trigger(trigger, input, call).await {
        tracing::warn!(
            target: "cloud",
            app = %ctx.app.config.app_id,
            "{trigger} for {class_name} failed: {} ({})",
            error.message,
            error.code.number()
        );
    }
}

/// The query parameters beforeFind sees and may change.
const QUERY_KEYS: [&str; 8] = ["where", "limit", "skip", "order", "keys", "include", "excludeKeys", "count"];

/// Runs beforeFind: returns the find's parameters as the trigger left them.
pub(crate) async fn before_find(
    ctx: &Ctx<'_>,
    class_name: &str,
    mut params: Map<String, Value>,
    is_get: bool,
) -> ApiResult<Map<String, Value>> {
    let Some(cloud) = target(ctx, Trigger::BeforeFind, class_name).await? else { return Ok(params) };
    let mut query = Map::new();
    for key in QUERY_KEYS {
        let value = match params.get(key) {
            // A `where` sent in a URL is JSON text; the SDK's query wants the object.
            Some(Value::String(text)) if key == "where" => {
                serde_json::from_str(text).map_err(|_| ParseError::invalid_json("invalid JSON in where"))?
            }
            Some(Value::String(text)) if matches!(key, "limit" | "skip" | "count") => {
                match text.parse::<i64>() {
                    Ok(number) => Value::from(number),
                    Err(_) => Value::String(text.clone()),
                }
            }
            Some(value) => value.clone(),
            None => continue,
        };
        query.insert(key.to_string(), value);
    }
    let input = TriggerInput {
        class_name: class_name.to_string(),
        query: Some(query),
        is_get,
        ..TriggerInput::default()
    };
    let outcome = cloud.run_trigger(Trigger::BeforeFind, input, call_context(ctx).await?).await?;
    let Some(returned) = outcome.query else { return Ok(params) };
    for key in QUERY_KEYS {
        params.remove(key);
    }
    for (key, value) in returned {
        if QUERY_KEYS.contains(&key.as_str()) && !value.is_null() {
            params.insert(key, value);
        }
    }
    Ok(params)
}

/// Runs afterFind: returns the objects as the trigger left them.
pub(crate) async fn after_find(
    ctx: &Ctx<'_>,
    class_name: &str,
    objects: Vec<Value>,
    is_get: bool,
) -> ApiResult<Vec<Value>> {
    let Some(cloud) = target(ctx, Trigger::AfterFind, class_name).await? else { return Ok(objects) };
    let input = TriggerInput {
        class_name: class_name.to_string(),
        objects: Some(objects.clone()),
        is_get,
        ..TriggerInput::default()
    };
    let outcome = cloud.run_trigger(Trigger::AfterFind, input, call_context(ctx).await?).await?;
    Ok(outcome.objects.unwrap_or(objects))
}

/// Runs beforeLogin (a user whose password or provider checked out) or
/// beforePasswordResetRequest (the user a reset e-mail is for); an error stops it.
pub(crate) async fn before_user_action(
    ctx: &Ctx<'_>,
    trigger: Trigger,
    user: &Map<String, Value>,
) -> ApiResult<()> {
    let Some(cloud) = target(ctx, trigger, "_User").await? else { return Ok(()) };
    let input =
        TriggerInput { class_name: "_User".into(), object: Some(user.clone()), ..TriggerInput::default() };
    cloud.run_trigger(trigger, input, call_context(ctx).await?).await?;
    Ok(())
}

/// Runs afterLogin (`_User`) or afterLogout (`_Session`) with `object`; failures are logged.
pub(crate) async fn after_session_change(ctx: &Ctx<'_>, trigger: Trigger, object: Map<String, Value>) {
    let class_name = if trigger == Trigger::AfterLogout { "_Session" } else { "_User" };
    let Ok(Some(cloud)) = target(ctx, trigger, class_name).await else { return };
    let input =
        TriggerInput { class_name: class_name.into(), object: Some(object), ..TriggerInput::default() };
    let context = match call_context(ctx).await {
        Ok(call) => call.context,
        Err(_) => Map::new(),
    };
    run_after(ctx, cloud.as_ref(), trigger, input, context).await;
}

/// The class parse-server keeps file triggers under (`Parse.Cloud.beforeSave(Parse.File, …)`).
const FILE_CLASS: &str = "@File";

/// An upload as file triggers see it (not its bytes, which stream to storage).
#[derive(Debug, Clone)]
pub(crate) struct FileDescription {
    pub name: String,
    pub content_type: Option<String>,
    pub size: Option<u64>,
    pub url: Option<String>,
    pub metadata: Map<String, Value>,
    pub tags: Map<String, Value>,
}

impl FileDescription {
    fn to_json(&self) -> Map<String, Value> {
        let value = serde_json::json!({
            "name": self.name, "contentType": self.content_type, "size": self.size, "url": self.url,
            "metadata": self.metadata, "tags": self.tags,
        });
        value.as_object().cloned().unwrap_or_default()
    }
}

/// Runs beforeSave(Parse.File): the upload as the trigger left it (name, metadata, tags), and
/// the context for afterSave. An error refuses the upload before a byte is stored.
pub(crate) async fn before_save_file(
    ctx: &Ctx<'_>,
    mut file: FileDescription,
) -> ApiResult<(FileDescription, Map<String, Value>)> {
    let Some(cloud) = target(ctx, Trigger::BeforeSave, FILE_CLASS).await? else {
        return Ok((file, Map::new()));
    };
    let input = TriggerInput {
        class_name: FILE_CLASS.into(),
        object: Some(file.to_json()),
        ..TriggerInput::default()
    };
    let outcome = cloud.run_trigger(Trigger::BeforeSave, input, call_context(ctx).await?).await?;
    if let Some(mut changed) = outcome.changes {
        if let Some(Value::String(name)) = changed.remove("name") {
            file.name = name;
        }
        if let Some(Value::Object(metadata)) = changed.remove("metadata") {
            file.metadata = metadata;
        }
        if let Some(Value::Object(tags)) = changed.remove("tags") {
            file.tags = tags;
        }
    }
    Ok((file, outcome.context))
}

/// Runs afterSave, beforeDelete or afterDelete on a file; before-trigger errors are returned,
/// after-trigger errors logged.
pub(crate) async fn file_trigger(
    ctx: &Ctx<'_>,
    trigger: Trigger,
    file: &FileDescription,
    context: Map<String, Value>,
) -> ApiResult<()> {
    let Some(cloud) = target(ctx, trigger, FILE_CLASS).await? else { return Ok(()) };
    let input = TriggerInput {
        class_name: FILE_CLASS.into(),
        object: Some(file.to_json()),
        ..TriggerInput::default()
    };
    if trigger == Trigger::BeforeDelete {
        cloud.run_trigger(trigger, input, call_context(ctx).await?).await?;
    } else {
        run_after(ctx, cloud.as_ref(), trigger, input, context).await;
    }
    Ok(())
}
