//! Cloud jobs: `POST /jobs/:name` (or `POST /jobs` with `jobName`), master key only, answers at
//! once with the new `_JobStatus` id in `X-Parse-Job-Status-Id` and runs the job in the
//! background; `GET /cloud_code/jobs/data` lists the jobs and the ones schedules use.
//! `/cloud_code/jobs` and `/cloud_code/jobs/:objectId` list, create, edit and delete the app's
//! `_JobSchedule` entries (parse-server's CloudCodeRouter, which Parse Dashboard's scheduled
//! jobs page uses); the scheduler runs them.
//!
//! A job's `_JobStatus` goes `running` → `succeeded` (with the job's returned text as its
//! `message`) or `failed` (with the error's message), with `finishedAt`; the job itself may set
//! `message` meanwhile (`request.message`). A worker that dies mid-job fails it.

use std::sync::Arc;

use chrono::Utc;
use reparse_cloud::CloudCode;
use reparse_core::query::{FieldPath, Filter};
use reparse_core::schema::ClassSchema;
use reparse_core::update::FieldUpdate;
use reparse_core::value::{encode_date, format_date};
use reparse_core::{ErrorCode, ParseError};
use reparse_storage::Storage;
use serde_json::{Map, Value, json};

use crate::context::{Ctx, MASTER};
use crate::controllers::functions::call_context;
use crate::controllers::objects;
use crate::controllers::query::{self, FindRequest};
use crate::error::{ApiError, ApiResult};
use crate::routes::ParseResponse;

/// `POST /jobs/:name`; `name` is `None` for `POST /jobs`, which names the job in `jobName`.
pub async fn start(
    ctx: &Ctx<'_>,
    name: Option<&str>,
    params: Map<String, Value>,
) -> ApiResult<ParseResponse> {
    if !ctx.auth.master {
        return Err(ApiError::master_key_required());
    }
    if ctx.auth.read_only {
        return Err(ParseError::new(
            ErrorCode::OperationForbidden,
            "read-only masterKey isn't allowed to run a job.",
        )
        .into());
    }
    // Like parse-server, the job's params are the whole body, `jobName` included.
    let body_name = params.get("jobName").and_then(Value::as_str).map(str::to_string);
    let name = name.map(str::to_string).or(body_name).unwrap_or_default();
    let mut call = call_context(ctx).await?;
    // A job runs as the master key, whoever started it (only the master key can).
    call.user = None;
    let job_id = launch(ctx, &name, params, "api", call).await?;
    Ok(ParseResponse { headers: vec![("X-Parse-Job-Status-Id", job_id)], ..ParseResponse::ok(json!({})) })
}

/// Records a `running` `_JobStatus` for job `name` and starts it in the background; returns
/// the status's id. `source` is `api` or `schedule`.
pub(crate) async fn launch(
    ctx: &Ctx<'_>,
    name: &str,
    params: Map<String, Value>,
    source: &str,
    call: reparse_cloud::CallContext,
) -> ApiResult<String> {
    let invalid = || ParseError::new(ErrorCode::ScriptFailed, "Invalid job.");
    let cloud = ctx.app.cloud.clone().ok_or_else(invalid)?;
    if !cloud.hooks().jobs.contains(name) {
        return Err(invalid().into());
    }
    let master = ctx.with_auth(&MASTER);
    let status = json!({"jobName": name, "source": source, "status": "running", "params": params});
    let created =
        objects::create(&master, "_JobStatus", status.as_object().cloned().unwrap_or_default()).await?;
    let job_id = created.body["objectId"].as_str().unwrap_or_default().to_string();
    let schema = master.schema("_JobStatus").await?.ok_or_else(ParseError::object_not_found)?;
    let run = JobRun {
        cloud,
        storage: ctx.app.storage.clone(),
        schema,
        job_id: job_id.clone(),
        app_id: ctx.app.config.app_id.clone(),
    };
    tokio::spawn(run.run(name.to_string(), params, call));
    Ok(job_id)
}

/// A job started in the background, with what it needs to record how it ended.
struct JobRun {
    cloud: Arc<dyn CloudCode>,
    storage: Arc<dyn Storage>,
    schema: Arc<ClassSchema>,
    job_id: String,
    app_id: String,
}

impl JobRun {
    async fn run(self, name: String, params: Map<String, Value>, call: reparse_cloud::CallContext) {
        let outcome = self.cloud.run_job(&name, params, &self.job_id, call).await;
        let now = Utc::now();
        let set = |field: &str, value: Value| (FieldPath::top(field), FieldUpdate::Set(value));
        let mut updates =
            vec![set("finishedAt", encode_date(now)), set("updatedAt", json!(format_date(now)))];
        match outcome {
            Ok(result) => {
                updates.push(set("status", json!("succeeded")));
                if let Some(Value::String(message)) = result {
                    updates.push(set("message", json!(message)));
                }
            }
            Err(error) => {
                tracing::warn!(target: "cloud", app = %self.app_id, "job {name} failed: {}", error.message);
                updates.push(set("status", json!("failed")));
                updates.push(set("message", json!(error.message)));
            }
        }
        let recorded = self.storage.update(&self.schema, &self.job_id, &Filter::everything(), &updates).await;
        if let Err(error) = recorded {
            tracing::error!(target: "cloud", app = %self.app_id, "job {name}: its status was not recorded: {}", error.message);
        }
    }
}

/// `GET /cloud_code/jobs/data` (master key): the defined jobs, and those schedules use.
pub async fn data(ctx: &Ctx<'_>) -> ApiResult<ParseResponse> {
    if !ctx.auth.master {
        return Err(ApiError::master_key_required());
    }
    let jobs: Vec<String> =
        ctx.app.cloud.as_ref().map(|cloud| cloud.hooks().jobs.into_iter().collect()).unwrap_or_default();
    let mut in_use = Vec::new();
    if let Some(schema) = ctx.schema("_JobSchedule").await? {
        let query = reparse_core::query::Query::matching(Filter::everything());
        for schedule in ctx.store.find(&schema, &query).await? {
            if let Some(Value::String(name)) = schedule.get("jobName") {
                in_use.push(name.clone());
            }
        }
    }
    Ok(ParseResponse::ok(json!({"jobs": jobs, "in_use": in_use})))
}

/// `GET /cloud_code/jobs` (master key): every `_JobSchedule`, as a bare array (parse-server's
/// `rest.find` with no options: no default limit, and the query string is ignored).
pub async fn schedules(ctx: &Ctx<'_>) -> ApiResult<ParseResponse> {
    if !ctx.auth.master {
        return Err(ApiError::master_key_required());
    }
    let mut request = FindRequest::from_params(ctx, Map::new(), query::FIND_PARAMS)?;
    request.limit = None;
    let (schedules, _) = query::find(ctx, "_JobSchedule", request).await?;
    Ok(ParseResponse::ok(Value::Array(schedules.into_iter().map(Value::Object).collect())))
}

/// `POST /cloud_code/jobs` (master key) with `{"job_schedule": {...}}`: creates the
/// `_JobSchedule`, answered like `POST /classes/_JobSchedule` (201, `objectId`, `createdAt`).
pub async fn create_schedule(ctx: &Ctx<'_>, params: Map<String, Value>) -> ApiResult<ParseResponse> {
    if !ctx.auth.master {
        return Err(ApiError::master_key_required());
    }
    let schedule = job_schedule(ctx, params)?;
    objects::create(ctx, "_JobSchedule", schedule).await
}

/// `PUT /cloud_code/jobs/:objectId` (master key) with `{"job_schedule": {...}}`. parse-server
/// wraps the update's answer once more: `{"response": {"updatedAt": ...}}`.
pub async fn update_schedule(
    ctx: &Ctx<'_>,
    object_id: &str,
    params: Map<String, Value>,
) -> ApiResult<ParseResponse> {
    if !ctx.auth.master {
        return Err(ApiError::master_key_required());
    }
    let schedule = job_schedule(ctx, params)?;
    let updated = objects::update(ctx, "_JobSchedule", object_id, schedule).await?;
    Ok(ParseResponse::ok(json!({"response": updated.body})))
}

/// `DELETE /cloud_code/jobs/:objectId` (master key): answers `{}`.
pub async fn delete_schedule(ctx: &Ctx<'_>, object_id: &str) -> ApiResult<ParseResponse> {
    if !ctx.auth.master {
        return Err(ApiError::master_key_required());
    }
    objects::delete(ctx, "_JobSchedule", object_id).await
}

/// The body's `job_schedule`, checked and completed like parse-server's: a `jobName` must be a
/// defined job (code 1), and `startAfter` defaults to now.
fn job_schedule(ctx: &Ctx<'_>, mut params: Map<String, Value>) -> ApiResult<Map<String, Value>> {
    let Some(Value::Object(mut schedule)) = params.remove("job_schedule") else {
        return Err(ParseError::new(ErrorCode::InvalidJson, "job_schedule must be an object").into());
    };
    if let Some(name) = schedule.get("jobName").filter(|name| !name.is_null()) {
        let defined = ctx.app.cloud.as_ref().map(|cloud| cloud.hooks().jobs).unwrap_or_default();
        if !name.as_str().is_some_and(|name| defined.contains(name)) {
            return Err(ParseError::new(
                ErrorCode::InternalServerError,
                "Cannot Schedule a job that is not deployed",
            )
            .into());
        }
    }
    schedule.entry("startAfter").or_insert_with(|| json!(format_date(ctx.now)));
    Ok(schedule)
}
