//! `POST /batch`: several requests in one, each answered `{"success": …}` or `{"error": …}`.
//! With `"transaction": true` they run in one storage transaction and all fail together.

use axum::http::Method;
use serde_json::{Map, Value, json};

use reparse_core::ParseError;

use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::live_query::PendingEvents;
use crate::routes::{self, ParseResponse, Route};
use crate::schema_cache::PendingSchemas;

struct SubRequest {
    method: Method,
    route: Route,
    params: Map<String, Value>,
}

/// Runs a batch.
pub async fn run(ctx: &Ctx<'_>, body: Map<String, Value>) -> ApiResult<ParseResponse> {
    let Some(requests) = body.get("requests").and_then(Value::as_array) else {
        return Err(ParseError::invalid_json("requests must be an array").into());
    };
    let transactional = body.get("transaction").and_then(Value::as_bool).unwrap_or(false);
    let parsed: Vec<Result<SubRequest, ApiError>> =
        requests.iter().map(|request| parse_sub_request(ctx, request)).collect();
    if !transactional {
        let mut results = Vec::with_capacity(parsed.len());
        for request in parsed {
            results.push(run_one(ctx, request).await);
        }
        return Ok(answer(results));
    }

    // The schema lock comes first, then the storage transaction: the order every schema change
    // follows, so the two never wait on each other.
    let guard = ctx.app.schemas.lock_changes().await;
    let pending = PendingSchemas::default();
    let events = PendingEvents::default();
    let transaction = ctx.app.storage.begin().await?;
    let outcomes = {
        let tx_ctx = Ctx {
            app: ctx.app,
            auth: ctx.auth,
            store: transaction.as_ref(),
            schema_guard: Some(&guard),
            pending_schemas: Some(&pending),
            pending_events: Some(&events),
            now: ctx.now,
            mount_path: ctx.mount_path,
            request: ctx.request,
        };
        let mut outcomes = Vec::with_capacity(parsed.len());
        for request in parsed {
            outcomes.push(run_one(&tx_ctx, request).await);
        }
        outcomes
    };
    // Classes or fields the batch created are dropped with it unless it commits.
    if let Some(error) = outcomes.iter().find_map(|outcome| outcome.as_ref().err()) {
        let error = ApiError::Parse(error.as_parse_error());
        transaction.rollback().await?;
        return Err(error);
    }
    transaction.commit().await?;
    pending.publish(&ctx.app.schemas, &guard);
    events.publish(&ctx.app.live_query);
    // Roles and sessions read while the transaction was open saw the old rows and may have
    // been cached since its writes cleared the caches: clear them again now that it is visible.
    ctx.app.roles.clear();
    ctx.app.sessions.clear();
    Ok(answer(outcomes))
}

async fn run_one(ctx: &Ctx<'_>, request: Result<SubRequest, ApiError>) -> Result<ParseResponse, ApiError> {
    let request = request?;
    if request.route == Route::Batch {
        return Err(ParseError::invalid_json("batch requests cannot be nested").into());
    }
    routes::dispatch(ctx, &request.method, &request.route, request.params).await
}

fn answer(outcomes: Vec<Result<ParseResponse, ApiError>>) -> ParseResponse {
    let entries: Vec<Value> = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Ok(response) => json!({"success": response.body}),
            Err(error) => json!({"error": error.batch_entry()}),
        })
        .collect();
    ParseResponse::ok(Value::Array(entries))
}

fn parse_sub_request(ctx: &Ctx<'_>, request: &Value) -> Result<SubRequest, ApiError> {
    let method = match request.get("method").and_then(Value::as_str).map(str::to_ascii_uppercase).as_deref() {
        Some("GET") => Method::GET,
        Some("POST") => Method::POST,
        Some("PUT") => Method::PUT,
        Some("DELETE") => Method::DELETE,
        _ => return Err(ParseError::invalid_json("batch request needs a method").into()),
    };
    let Some(path) = request.get("path").and_then(Value::as_str) else {
        return Err(ParseError::invalid_json("batch request needs a path").into());
    };
    let relative = routable_path(ctx.mount_path, path)
        .ok_or_else(|| ParseError::invalid_json(format!("cannot route batch path {path}")))?;
    let route = Route::parse(relative)
        .ok_or_else(|| ParseError::invalid_json(format!("cannot route batch path {path}")))?;
    let params = match request.get("body") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(body)) => body.clone(),
        Some(_) => {
            return Err(ParseError::invalid_json("batch request body must be an object").into());
        }
    };
    Ok(SubRequest { method, route, params })
}

/// A batch path is the mount path (or the legacy `/1`) followed by a route.
fn routable_path<'a>(mount_path: &str, path: &'a str) -> Option<&'a str> {
    let mount = mount_path.trim_end_matches('/');
    [mount, "/1"]
        .into_iter()
        .filter(|prefix| !prefix.is_empty())
        .find_map(|prefix| path.strip_prefix(prefix).filter(|rest| rest.starts_with('/')))
        .map(|rest| rest.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::routable_path;

    #[test]
    fn strips_the_mount_path_or_the_legacy_prefix() {
        assert_eq!(routable_path("/parse", "/parse/classes/A"), Some("classes/A"));
        assert_eq!(routable_path("/parse/", "/1/classes/A/x"), Some("classes/A/x"));
        assert_eq!(routable_path("/parse", "/other/classes/A"), None);
        assert_eq!(routable_path("/parse", "/parsed/classes/A"), None);
    }
}
