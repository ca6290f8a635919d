//! parse-server's webhooks: cloud functions and triggers served by an external HTTP endpoint,
//! registered through `/hooks/functions` and `/hooks/triggers` (master key) and kept in the
//! `_Hooks` class.
//!
//! A call is a `POST` of the request as JSON (`params` or `object`/`original` with their
//! `className`, `master`, `user`, `installationId`, `headers`, `ip`, `triggerName` or
//! `functionName`, `context`) with `X-Parse-Webhook-Key` when `webhookKey` is set; the endpoint
//! answers `{"success": …}` or `{"error": …}`. A beforeSave webhook answers the object to save.
//! A webhook takes precedence over cloud code defining the same function or trigger.
//!
//! Each server reads `_Hooks` at most once per [`REFRESH_AFTER`], so a hook registered on one
//! node reaches the others within that time; the node that registered it sees it at once.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reparse_cloud::{CallContext, CloudCode, Hooks, Trigger, TriggerInput, TriggerOutcome};
use reparse_core::query::{FieldPath, Filter, Query};
use reparse_core::update::{apply_updates, parse_field_update};
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};

use crate::context::{Ctx, MASTER};

/// How long a server trusts its copy of `_Hooks`.
pub const REFRESH_AFTER: Duration = Duration::from_secs(1);

/// How long an endpoint may take to answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One registered hook (a `_Hooks` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub function_name: Option<String>,
    pub class_name: Option<String>,
    pub trigger_name: Option<String>,
    pub url: String,
}

impl Hook {
    fn from_object(object: &Map<String, Value>) -> Option<Hook> {
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
        Some(Hook {
            function_name: text("functionName"),
            class_name: text("className"),
            trigger_name: text("triggerName"),
            url: text("url")?,
        })
    }

    /// As `/hooks` answers it.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        if let Some(name) = &self.function_name {
            object.insert("functionName".into(), json!(name));
        }
        if let Some(class) = &self.class_name {
            object.insert("className".into(), json!(class));
        }
        if let Some(trigger) = &self.trigger_name {
            object.insert("triggerName".into(), json!(trigger));
        }
        object.insert("url".into(), json!(self.url));
        Value::Object(object)
    }
}

/// An app's webhooks: a cached copy of `_Hooks` and the HTTP client that calls them.
pub struct Webhooks {
    cached: RwLock<Option<(Instant, Arc<Vec<Hook>>)>>,
    client: reqwest::Client,
    key: Option<String>,
}

impl Webhooks {
    pub fn new(key: Option<String>) -> Webhooks {
        let client = reqwest::Client::builder().timeout(CALL_TIMEOUT).build().unwrap_or_default();
        Webhooks { cached: RwLock::new(None), client, key }
    }

    /// Forgets the cached hooks (after this server changed them).
    pub fn invalidate(&self) {
        *self.cached.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The registered hooks, read again when the copy is older than [`REFRESH_AFTER`].
    pub async fn hooks(&self, ctx: &Ctx<'_>) -> Result<Arc<Vec<Hook>>, ParseError> {
        let fresh = self
            .cached
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(|(read, hooks)| (read.elapsed() < REFRESH_AFTER).then(|| hooks.clone()));
        if let Some(hooks) = fresh {
            return Ok(hooks);
        }
        let master = ctx.with_auth(&MASTER);
        let hooks = match master
            .schema("_Hooks")
            .await
            .map_err(|error| ParseError::internal(format!("{error:?}")))?
        {
            Some(schema) => {
                let rows = master.store.find(&schema, &Query::matching(Filter::everything())).await?;
                rows.iter().filter_map(Hook::from_object).collect()
            }
            None => Vec::new(),
        };
        let hooks = Arc::new(hooks);
        *self.cached.write().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), hooks.clone()));
        Ok(hooks)
    }

    /// The webhook serving function `name`, if one is registered.
    pub async fn function(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
    ) -> Result<Option<Arc<dyn CloudCode>>, ParseError> {
        let hooks = self.hooks(ctx).await?;
        let hook = hooks.iter().find(|hook| hook.function_name.as_deref() == Some(name));
        Ok(hook.map(|hook| self.endpoint(hook)))
    }

    /// The webhook serving `trigger` on `class_name`, if one is registered.
    pub async fn trigger(
        &self,
        ctx: &Ctx<'_>,
        trigger: Trigger,
        class_name: &str,
    ) -> Result<Option<Arc<dyn CloudCode>>, ParseError> {
        let hooks = self.hooks(ctx).await?;
        let hook = hooks.iter().find(|hook| {
            hook.class_name.as_deref() == Some(class_name)
                && hook.trigger_name.as_deref() == Some(trigger.name())
        });
        Ok(hook.map(|hook| self.endpoint(hook)))
    }

    fn endpoint(&self, hook: &Hook) -> Arc<dyn CloudCode> {
        Arc::new(Endpoint { hook: hook.clone(), client: self.client.clone(), key: self.key.clone() })
    }
}

/// One hook's URL, called as cloud code.
struct Endpoint {
    hook: Hook,
    client: reqwest::Client,
    key: Option<String>,
}

impl Endpoint {
    /// POSTs the request and reads `{success}` or `{error}`.
    async fn post(&self, mut body: Map<String, Value>, context: CallContext) -> Result<Value, ParseError> {
        let caller = serde_json::to_value(&context).unwrap_or_default();
        if let Value::Object(caller) = caller {
            for (key, value) in caller {
                body.entry(key).or_insert(value);
            }
        }
        body.remove("userRoles");
        let mut request = self.client.post(&self.hook.url).json(&Value::Object(body));
        if let Some(key) = &self.key {
            request = request.header("X-Parse-Webhook-Key", key);
        }
        let failed = |why: String| ParseError::new(ErrorCode::ScriptFailed, why);
        let response = request
            .send()
            .await
            .map_err(|error| failed(format!("Webhook {} failed: {error}", self.hook.url)))?;
        let text = response
            .text()
            .await
            .map_err(|error| failed(format!("Webhook {} failed: {error}", self.hook.url)))?;
        let mut answer = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(answer)) => answer,
            _ => {
                let start: String = text.chars().take(100).collect();
                return Err(failed(format!("Malformed response from webhook {}: {start}", self.hook.url)));
            }
        };
        if let Some(error) = answer.remove("error").filter(|error| !error.is_null()) {
            return Err(webhook_error(error));
        }
        Ok(answer.remove("success").unwrap_or(Value::Null))
    }
}

/// What an endpoint's `error` means: a string is 141 with that message; `{code, error|message}`
/// keeps its code.
fn webhook_error(error: Value) -> ParseError {
    match error {
        Value::String(message) => ParseError::new(ErrorCode::ScriptFailed, message),
        Value::Object(map) => {
            let code = map.get("code").and_then(Value::as_i64).and_then(|code| i32::try_from(code).ok());
            let message = map
                .get("error")
                .or_else(|| map.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("Script failed.")
                .to_string();
            ParseError::new(code.map_or(ErrorCode::ScriptFailed, ErrorCode::from_any_number), message)
        }
        other => ParseError::new(ErrorCode::ScriptFailed, other.to_string()),
    }
}

/// The object a beforeSave webhook is shown: the stored object (if any) with the write applied.
fn object_after_write(input: &TriggerInput) -> Map<String, Value> {
    let mut object = input.original.clone().unwrap_or_default();
    let mut updates = Vec::new();
    for (key, value) in input.changes.iter().flatten() {
        match parse_field_update(value) {
            Ok(update) if !key.contains('.') => updates.push((FieldPath::top(key), update)),
            // Left for the write itself to refuse, with its own error.
            _ => {
                object.insert(key.clone(), value.clone());
            }
        }
    }
    let _ = apply_updates(&mut object, &updates);
    object
}

#[async_trait]
impl CloudCode for Endpoint {
    fn hooks(&self) -> Hooks {
        let mut hooks = Hooks::default();
        if let Some(name) = &self.hook.function_name {
            hooks.functions.insert(name.clone());
        }
        let trigger = self.hook.trigger_name.as_deref().and_then(Trigger::from_name);
        if let (Some(trigger), Some(class)) = (trigger, &self.hook.class_name) {
            hooks.triggers.insert((trigger, class.clone()));
        }
        hooks
    }

    async fn run_function(
        &self,
        name: &str,
        params: Map<String, Value>,
        context: CallContext,
    ) -> Result<Option<Value>, ParseError> {
        let body = json!({"params": params, "functionName": name});
        let result = self.post(body.as_object().cloned().unwrap_or_default(), context).await?;
        Ok(Some(result))
    }

    async fn run_job(
        &self,
        _: &str,
        _: Map<String, Value>,
        _: &str,
        _: CallContext,
    ) -> Result<Option<Value>, ParseError> {
        Err(ParseError::new(ErrorCode::ScriptFailed, "Invalid job."))
    }

    async fn run_trigger(
        &self,
        trigger: Trigger,
        input: TriggerInput,
        context: CallContext,
    ) -> Result<TriggerOutcome, ParseError> {
        let with_class = |mut object: Map<String, Value>| {
            object.insert("className".into(), json!(input.class_name));
            Value::Object(object)
        };
        let object = match trigger {
            Trigger::BeforeSave => Some(object_after_write(&input)),
            _ => input.object.clone(),
        };
        let mut body = Map::new();
        body.insert("triggerName".into(), json!(trigger.name()));
        if let Some(object) = object {
            body.insert("object".into(), with_class(object));
        }
        if let Some(original) = input.original.clone() {
            body.insert("original".into(), with_class(original));
        }
        if let Some(query) = &input.query {
            body.insert("query".into(), Value::Object(query.clone()));
        }
        if let Some(objects) = &input.objects {
            body.insert("objects".into(), Value::Array(objects.clone()));
        }
        let carried = context.context.clone();
        let result = self.post(body, context).await?;
        let mut outcome = TriggerOutcome { context: carried, ..TriggerOutcome::default() };
        match (trigger, result) {
            (Trigger::BeforeSave, Value::Object(mut object)) => {
                for key in ["objectId", "createdAt", "updatedAt", "className"] {
                    object.remove(key);
                }
                outcome.changes = Some(object);
            }
            (Trigger::AfterFind, Value::Array(objects)) => outcome.objects = Some(objects),
            (Trigger::BeforeFind, Value::Object(query)) => outcome.query = Some(query),
            _ => {}
        }
        Ok(outcome)
    }
}
