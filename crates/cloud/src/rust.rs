//! Cloud code as Rust closures, for applications that embed Reparse as a library: the same
//! registry `Parse.Cloud` fills, without Node.js.
//!
//! ```no_run
//! use reparse_cloud::{RustCloud, Trigger, TriggerOutcome};
//! use serde_json::json;
//!
//! let cloud = RustCloud::new()
//!     .define("hello", |request| async move {
//!         let name = request.params.get("name").and_then(|n| n.as_str()).unwrap_or("world").to_string();
//!         Ok(json!(format!("Hello, {name}!")))
//!     })
//!     .trigger(Trigger::BeforeSave, "Review", |request| async move {
//!         let mut changes = request.input.changes.unwrap_or_default();
//!         changes.insert("checked".into(), json!(true));
//!         Ok(TriggerOutcome { changes: Some(changes), context: request.context.context, ..Default::default() })
//!     });
//! // App::new(config, storage)?.with_cloud(std::sync::Arc::new(cloud))
//! ```
//!
//! A beforeSave handler gets the write's body (`input.changes`, operations as `__op` JSON) and
//! returns the body to write; beforeFind gets and returns `input.query`; afterFind
//! `input.objects`. Errors are Parse errors, answered as they are.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value};

use crate::{CallContext, CloudCode, Hooks, Trigger, TriggerInput, TriggerOutcome};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type FunctionHandler = Arc<dyn Fn(FunctionRequest) -> BoxFuture<Result<Value, ParseError>> + Send + Sync>;
type TriggerHandler =
    Arc<dyn Fn(TriggerRequest) -> BoxFuture<Result<TriggerOutcome, ParseError>> + Send + Sync>;

/// What a function or job handler gets.
#[derive(Debug, Clone)]
pub struct FunctionRequest {
    pub name: String,
    pub params: Map<String, Value>,
    /// For a job, its `_JobStatus` id.
    pub job_id: Option<String>,
    pub context: CallContext,
}

/// What a trigger handler gets.
#[derive(Debug, Clone)]
pub struct TriggerRequest {
    pub trigger: Trigger,
    pub input: TriggerInput,
    pub context: CallContext,
}

/// A registry of Rust handlers.
#[derive(Default, Clone)]
pub struct RustCloud {
    functions: HashMap<String, FunctionHandler>,
    jobs: HashMap<String, FunctionHandler>,
    triggers: HashMap<(Trigger, String), TriggerHandler>,
}

impl RustCloud {
    pub fn new() -> RustCloud {
        RustCloud::default()
    }

    /// `Parse.Cloud.define(name, handler)`.
    pub fn define<F, Fut>(mut self, name: &str, handler: F) -> RustCloud
    where
        F: Fn(FunctionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ParseError>> + Send + 'static,
    {
        self.functions.insert(name.to_string(), Arc::new(move |request| Box::pin(handler(request))));
        self
    }

    /// `Parse.Cloud.job(name, handler)`: what it returns, if text, becomes its status message.
    pub fn job<F, Fut>(mut self, name: &str, handler: F) -> RustCloud
    where
        F: Fn(FunctionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ParseError>> + Send + 'static,
    {
        self.jobs.insert(name.to_string(), Arc::new(move |request| Box::pin(handler(request))));
        self
    }

    /// `Parse.Cloud[trigger](className, handler)`.
    pub fn trigger<F, Fut>(mut self, trigger: Trigger, class_name: &str, handler: F) -> RustCloud
    where
        F: Fn(TriggerRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TriggerOutcome, ParseError>> + Send + 'static,
    {
        self.triggers
            .insert((trigger, class_name.to_string()), Arc::new(move |request| Box::pin(handler(request))));
        self
    }
}

#[async_trait]
impl CloudCode for RustCloud {
    fn hooks(&self) -> Hooks {
        Hooks {
            functions: self.functions.keys().cloned().collect(),
            jobs: self.jobs.keys().cloned().collect(),
            triggers: self.triggers.keys().cloned().collect::<BTreeSet<_>>(),
        }
    }

    async fn run_function(
        &self,
        name: &str,
        params: Map<String, Value>,
        context: CallContext,
    ) -> Result<Option<Value>, ParseError> {
        let handler = self.functions.get(name).ok_or_else(|| {
            ParseError::new(ErrorCode::ScriptFailed, format!("Invalid function: \"{name}\""))
        })?;
        let request = FunctionRequest { name: name.to_string(), params, job_id: None, context };
        handler(request).await.map(|value| (!value.is_null()).then_some(value))
    }

    async fn run_job(
        &self,
        name: &str,
        params: Map<String, Value>,
        job_id: &str,
        context: CallContext,
    ) -> Result<Option<Value>, ParseError> {
        let handler =
            self.jobs.get(name).ok_or_else(|| ParseError::new(ErrorCode::ScriptFailed, "Invalid job."))?;
        let request =
            FunctionRequest { name: name.to_string(), params, job_id: Some(job_id.to_string()), context };
        handler(request).await.map(Some)
    }

    async fn run_trigger(
        &self,
        trigger: Trigger,
        input: TriggerInput,
        context: CallContext,
    ) -> Result<TriggerOutcome, ParseError> {
        let Some(handler) = self.triggers.get(&(trigger, input.class_name.clone())) else {
            return Ok(TriggerOutcome { context: context.context, ..TriggerOutcome::default() });
        };
        handler(TriggerRequest { trigger, input, context }).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn closures_answer_as_cloud_code() {
        let cloud = RustCloud::new()
            .define("double", |request| async move {
                let n = request
                    .params
                    .get("n")
                    .and_then(Value::as_f64)
                    .ok_or_else(|| ParseError::new(ErrorCode::ValidationError, "n is required"))?;
                Ok(json!(n * 2.0))
            })
            .trigger(Trigger::BeforeSave, "Item", |request| async move {
                let mut changes = request.input.changes.unwrap_or_default();
                changes.insert("checked".into(), json!(true));
                Ok(TriggerOutcome { changes: Some(changes), ..TriggerOutcome::default() })
            });
        assert!(cloud.hooks().has_trigger(Trigger::BeforeSave, "Item"));
        let params = json!({"n": 4}).as_object().cloned().unwrap();
        assert_eq!(
            cloud.run_function("double", params, CallContext::default()).await.unwrap(),
            Some(json!(8.0))
        );
        let error = cloud.run_function("double", Map::new(), CallContext::default()).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::ValidationError);
        let missing = cloud.run_function("nope", Map::new(), CallContext::default()).await.unwrap_err();
        assert_eq!(missing.message, "Invalid function: \"nope\"");
        let input = TriggerInput {
            class_name: "Item".into(),
            changes: Some(json!({"a": 1}).as_object().cloned().unwrap()),
            ..TriggerInput::default()
        };
        let outcome = cloud.run_trigger(Trigger::BeforeSave, input, CallContext::default()).await.unwrap();
        assert_eq!(Value::Object(outcome.changes.unwrap()), json!({"a": 1, "checked": true}));
    }
}
