//! The class list of the database browser: every class with how many objects it holds, from
//! the database's estimate where counting a large table would be slow (so that opening an app
//! with a class of millions never waits on counting it; the grid counts exactly on demand).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Dashboard;
use crate::apps::{find_app, running_app};
use crate::error::DashboardResult;
use crate::session::Signed;

pub(crate) async fn counts(
    State(dashboard): State<Arc<Dashboard>>,
    Path(app_id): Path<String>,
    _: Signed,
) -> DashboardResult<Response> {
    let app = running_app(&dashboard, &find_app(&dashboard, &app_id)?).await?;
    let schemas = app.schemas.all(app.storage.as_ref()).await?;
    // As `/schemas` lists them: the classes the server keeps for itself (job statuses and
    // schedules, Parse Config, hooks) have pages of their own.
    let mut schemas: Vec<_> = schemas
        .values()
        .filter(|schema| !reparse_core::schema::UNLISTED_CLASSES.contains(&schema.class_name.as_str()))
        .cloned()
        .collect();
    schemas.sort_by(|a, b| a.class_name.cmp(&b.class_name));
    let counts =
        futures::future::join_all(schemas.iter().map(|schema| app.storage.estimated_count(schema))).await;
    let mut results = Vec::with_capacity(schemas.len());
    for (schema, count) in schemas.iter().zip(counts) {
        let count = count?;
        results.push(json!({
            "className": schema.class_name,
            "count": count.objects,
            "estimated": count.estimated,
        }));
    }
    Ok(axum::Json(json!({ "results": Value::Array(results) })).into_response())
}
