//! `GET /aggregate/:className`: pipelines and `distinct`, for the master key only (parse-server's
//! `AggregateRouter`). The semantics live in `reparse_core::aggregate`; this module only reads
//! objects for it: the planned storage query, by pages of `Store::scan`, or `Store::distinct`.

use reparse_core::ParseResult;
use reparse_core::aggregate::{AggregateRequest, Evaluation, Plan, plan};
use reparse_core::query::Filter;
use reparse_core::schema::ClassSchema;
use reparse_core::value::Object;
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::controllers::objects::add_file_urls;
use crate::controllers::query::resolve;
use crate::error::{ApiError, ApiResult};
use crate::routes::ParseResponse;

/// Objects read per page when a pipeline scans a class: what streaming stages hold at a time.
const PAGE_SIZE: u64 = 1000;

/// `GET /aggregate/:className`
pub async fn aggregate(
    ctx: &Ctx<'_>,
    class_name: &str,
    params: Map<String, Value>,
) -> ApiResult<ParseResponse> {
    // parse-server checks the key before it reads anything (`promiseEnforceMasterKeyAccess`).
    if !ctx.auth.master {
        return Err(ApiError::master_key_required());
    }
    let request = AggregateRequest::from_params(&params)?;
    // As parse-server: a class that does not exist has nothing to aggregate.
    let Some(schema) = ctx.schema(class_name).await? else {
        return Ok(ParseResponse::ok(json!({"results": []})));
    };
    let mut results: Vec<Value> = match request {
        AggregateRequest::Distinct { path, filter } => {
            let filter = resolve(ctx, &schema, filter).await?;
            ctx.store.distinct(&schema, &filter, &path).await?
        }
        AggregateRequest::Pipeline { stages, filter } => {
            let filter = resolve(ctx, &schema, filter).await?;
            let mut plan = plan(stages, &schema);
            plan.query.filter = Filter::And(vec![filter, plan.query.filter]);
            run_pipeline(ctx, &schema, &plan).await?.into_iter().map(Value::Object).collect()
        }
    };
    for result in &mut results {
        add_file_urls(ctx, result);
    }
    Ok(ParseResponse::ok(json!({"results": results})))
}

/// Feeds the objects the plan's storage query selects to the in-memory stages: in one query
/// when storage sorts and limits, else by pages of a scan (each after the last id seen),
/// stopping early once a `$limit` is reached.
async fn run_pipeline(ctx: &Ctx<'_>, schema: &ClassSchema, plan: &Plan) -> ParseResult<Vec<Object>> {
    let mut evaluation = Evaluation::new(&plan.stages, plan.needed_fields.as_ref());
    if !plan.query.order.is_empty() {
        evaluation.feed(ctx.store.find(schema, &plan.query).await?)?;
        return evaluation.finish();
    }
    let mut last_id: Option<String> = None;
    loop {
        let objects = ctx.store.scan(schema, &plan.query.filter, last_id.as_deref(), PAGE_SIZE).await?;
        let more = objects.len() as u64 == PAGE_SIZE;
        last_id = objects
            .last()
            .and_then(|object| object.get("objectId"))
            .and_then(Value::as_str)
            .map(str::to_string);
        evaluation.feed(objects)?;
        if !more || last_id.is_none() || evaluation.is_saturated() {
            return evaluation.finish();
        }
    }
}
